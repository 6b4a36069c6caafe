"""督办 on every stage with a late step: each step is driven late at the fixed clock, then the superior urges,
reassigns and takes over from the task page (test client) and the API; anyone else gets 403, nothing 404/500.

Transfer, external receipt, query approval, archive loan, destruction approval, rectification notice.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.db import unit_of_work
from engine.models import WorkItem
from engine.scheduler import TimerScheduler
from processes.inbox import service as inbox
from processes.inbox.models import EscalationAction
from processes.org import service as org
from tests.conftest import GOOD_FORM, START
from tests.processes.test_external_transfer import send
from tests.webui.test_pages import login  # noqa: F401 - fixture

NEVER = {404, 500}


def late(services, clock, **delta) -> None:
    """Move the clock and let the scheduler fire what fell due."""
    clock.advance(**delta)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()


def escalation_of(services, process: str, superior: str) -> tuple[str, str]:
    """(escalation item id, late step id) of the one open 督办 item of `process` held by `superior`."""
    with services.sessions() as session:
        (esc,) = session.scalars(select(WorkItem).where(WorkItem.kind == "escalation", WorkItem.status == "open",
                                                        WorkItem.process_key == process)).all()
        assert esc.assignee == superior, esc.assignee
        return esc.id, esc.parent_id


def holder(services, step_id: str) -> str | None:
    with services.sessions() as session:
        return session.get(WorkItem, step_id).assignee


def recorded(services, step_id: str) -> list[tuple[str, str, str | None]]:
    with services.sessions() as session:
        return [(a.action, a.actor, a.target) for a in session.scalars(
            select(EscalationAction).where(EscalationAction.step_item_id == step_id).order_by(EscalationAction.id))]


@dataclass
class Case:
    process: str
    superior: str
    outsider: str  # logged in, not the superior: 403 everywhere
    reassign_to: str | None  # None: the stage forbids 改派 (403)
    may_take_over: bool
    refused_words: tuple[str, ...] = ()  # what the page says instead of a refused button


def exercise(client, auth, login, services, case: Case) -> None:  # noqa: F811
    esc_id, step_id = escalation_of(services, case.process, case.superior)
    before = holder(services, step_id)
    boss, other = login(case.superior), login(case.outsider)
    page = boss.get(f"/tasks/{esc_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "催办" in html and f"/tasks/{esc_id}/urge" in html
    assert (f"/tasks/{esc_id}/reassign" in html) == (case.reassign_to is not None)
    assert (f"/tasks/{esc_id}/take-over" in html) == case.may_take_over
    for words in case.refused_words:
        assert words in html
    detail = client.get(f"/api/v1/tasks/{esc_id}", headers=auth(case.superior)).json
    assert detail["escalation"]["step_id"] == step_id and detail["escalation"]["urged"] == 0
    assert (case.reassign_to in detail["escalation"]["reassign_to"]) if case.reassign_to else \
        "reassign" in detail["escalation"]["refused"] or detail["escalation"]["reassign_to"] == []
    assert ("take_over" in detail["escalation"]["refused"]) != case.may_take_over
    # someone else: 403 on the page and over the API, and nothing recorded
    assert other.get(f"/tasks/{esc_id}").status_code == 403
    for action in ("urge", "reassign", "take-over"):
        assert other.post(f"/tasks/{esc_id}/{action}", data={"csrf_token": other.token, "assignee": case.superior}
                          ).status_code == 403
        assert client.post(f"/api/v1/tasks/{esc_id}/{action}", headers=auth(case.outsider),
                           json={"assignee": case.superior}).status_code == 403
    assert recorded(services, step_id) == []
    # 催办 from the page and the API: counted on the step
    r = boss.post(f"/tasks/{esc_id}/urge", data={"csrf_token": boss.token})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/tasks/{esc_id}")
    assert client.post(f"/api/v1/tasks/{esc_id}/urge", headers=auth(case.superior)).status_code == 204
    assert recorded(services, step_id) == [("urge", case.superior, None)] * 2
    assert "督办记录" in boss.get(f"/tasks/{esc_id}").get_data(as_text=True)
    # 改派
    if case.reassign_to is None:
        assert boss.post(f"/tasks/{esc_id}/reassign", data={"csrf_token": boss.token, "assignee": case.outsider}
                         ).status_code == 403
        assert client.post(f"/api/v1/tasks/{esc_id}/reassign", headers=auth(case.superior),
                           json={"assignee": case.outsider}).status_code == 403
        assert holder(services, step_id) == before
    else:
        bad = boss.post(f"/tasks/{esc_id}/reassign", data={"csrf_token": boss.token, "assignee": "nobody"})
        assert bad.status_code == 422 and "找不到该人员" in bad.get_data(as_text=True)
        r = client.post(f"/api/v1/tasks/{esc_id}/reassign", headers=auth(case.superior), json={"assignee": "hr"})
        assert r.status_code == 422 and "无权办理" in r.json["fields"]["assignee"]  # not allowed to complete it
        r = boss.post(f"/tasks/{esc_id}/reassign", data={"csrf_token": boss.token, "assignee": case.reassign_to})
        assert r.status_code == 302 and holder(services, step_id) == case.reassign_to
        again = client.post(f"/api/v1/tasks/{esc_id}/reassign", headers=auth(case.superior),
                            json={"assignee": case.reassign_to})
        assert again.status_code == 422  # already theirs
    # 接办
    if case.may_take_over:
        r = client.post(f"/api/v1/tasks/{esc_id}/take-over", headers=auth(case.superior))
        assert r.status_code == 200 and r.json["assignee"] == case.superior and r.json["id"] == step_id
        r = boss.post(f"/tasks/{esc_id}/take-over", data={"csrf_token": boss.token})
        assert r.status_code == 302 and f"/tasks/{step_id}" in r.headers["Location"]
        assert holder(services, step_id) == case.superior
    else:
        held = holder(services, step_id)
        assert boss.post(f"/tasks/{esc_id}/take-over", data={"csrf_token": boss.token}).status_code == 403
        assert client.post(f"/api/v1/tasks/{esc_id}/take-over", headers=auth(case.superior)).status_code == 403
        assert holder(services, step_id) == held
    # the step's own item is not an escalation item: the actions refuse it with a message, never 404/500
    r = client.post(f"/api/v1/tasks/{step_id}/urge", headers=auth(case.superior))
    assert r.status_code in (403, 422) and r.status_code not in NEVER
    assert client.post("/api/v1/tasks/no-such-item/urge", headers=auth(case.superior)).status_code == 404


# --- the stages -----------------------------------------------------------------------------------------------
def test_internal_transfer(client, auth, login, services, clock, submit_form):  # noqa: F811
    submit_form()
    late(services, clock, hours=4, seconds=1)
    exercise(client, auth, login, services, Case("internal_transfer", "head", "manager", reassign_to="handler",
                                                 may_take_over=True))
    with services.sessions() as session:  # the transfer's own record of the escalation still follows
        from processes.transfer.models import Escalation

        (esc,) = session.scalars(select(Escalation)).all()
        assert esc.urge_count == 2 and "接办" in esc.last_action


def test_external_receipt(client, auth, login, services, clock, submit_form):  # noqa: F811
    send(client, auth, submit_form()["id"], receipt_days=2)
    late(services, clock, days=2, seconds=1)
    # 信贷部 has nobody but its head beside the sender, who holds the wait: nobody to reassign to
    esc_id, step_id = escalation_of(services, "external_transfer", "head")
    boss = login("head")
    html = boss.get(f"/tasks/{esc_id}").get_data(as_text=True)
    assert "暂无其他可改派的人员" in html and f"/tasks/{esc_id}/take-over" in html and "对外移交" in html
    r = client.post(f"/api/v1/tasks/{esc_id}/reassign", headers=auth("head"), json={"assignee": "handler"})
    assert r.status_code == 422 and "已由" in r.json["fields"]["assignee"]
    manager = login("manager")
    assert manager.post(f"/tasks/{esc_id}/urge", data={"csrf_token": manager.token}).status_code == 403
    assert boss.post(f"/tasks/{esc_id}/urge", data={"csrf_token": boss.token}).status_code == 302
    r = client.post(f"/api/v1/tasks/{esc_id}/take-over", headers=auth("head"))
    assert r.status_code == 200 and r.json["assignee"] == "head"
    assert recorded(services, step_id) == [("urge", "head", None), ("take_over", "head", "head")]
    with services.sessions() as session:
        from processes.transfer.models import Handover

        (wait,) = session.scalars(select(Handover).where(Handover.work_item_id == step_id)).all()
        assert wait.to_user == "head"  # the handover of the wait lies with whoever took it over


def test_query_approval(client, auth, login, services, clock, submit_form):  # noqa: F811
    form = submit_form()
    r = client.post("/api/v1/queries", headers=auth("handler"), json={
        "form_ids": [form["id"]], "fields": ["customer_name"], "purpose": "复核", "days": 1})
    assert r.status_code == 201, r.json
    late(services, clock, hours=8, minutes=1)
    exercise(client, auth, login, services, Case("query_approval", "manager", "head", reassign_to=None,
                                                 may_take_over=True, refused_words=("不能改派",)))
    actions = {e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json}
    assert {"query.urge", "query.take_over"} <= actions


def test_query_approval_the_applicant_never_takes_over_their_own(client, auth, login, services, clock):  # noqa: F811
    r = client.post("/api/v1/forms", headers=auth("clerk"), json={"template_id": 1, "data": GOOD_FORM, "submit": True})
    r = client.post("/api/v1/queries", headers=auth("handler"), json={
        "form_ids": [r.json["id"]], "fields": ["customer_name"], "purpose": "复核", "days": 1})
    assert r.status_code == 201, r.json
    late(services, clock, hours=8, minutes=1)
    esc_id, step_id = escalation_of(services, "query_approval", "manager")
    with unit_of_work(services.sessions) as session:  # the applicant is the one the late step is escalated to
        session.get(WorkItem, esc_id).assignee = "handler"
    r = client.post(f"/api/v1/tasks/{esc_id}/take-over", headers=auth("handler"))
    assert r.status_code == 403 and "自己的查询申请" in r.json["message"]
    r = client.post(f"/api/v1/queries/escalations/{esc_id}/take-over", headers=auth("handler"))
    assert r.status_code == 403 and holder(services, step_id) == "head"
    page = login("handler").get(f"/tasks/{esc_id}").get_data(as_text=True)
    assert "自己的查询申请" in page and f"/tasks/{esc_id}/take-over" not in page


def test_archive_loan(client, auth, login, services, clock, submit_form):  # noqa: F811
    form = submit_form()
    for user in ("handler", "clerk"):
        (item,) = [t for t in client.get("/api/v1/tasks", headers=auth(user)).json if t["kind"] == "task"]
        assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                           json={"data": {"decision": "complete"}}).status_code == 200
    assert client.post("/api/v1/archive/filings", headers=auth("archivist"), json={"form_ids": [form["id"]]}
                       ).status_code == 201
    volume = client.post("/api/v1/archive/volumes", headers=auth("archivist"),
                         json={"title": "借阅测试卷", "business_type": form["business_type"], "year": 2026}).json
    assert client.post(f"/api/v1/archive/volumes/{volume['id']}/items", headers=auth("archivist"),
                       json={"form_ids": [form["id"]]}).status_code == 200
    loan = client.post("/api/v1/archive/loans", headers=auth("archivist"),
                       json={"volume_id": volume["id"], "borrower": "handler", "due_date": "2026-03-04"}).json
    if loan["status"] == "awaiting_approval":
        assert client.post(f"/api/v1/archive/loans/{loan['id']}/approve", headers=auth("manager")).status_code == 200
    late(services, clock, days=3)
    exercise(client, auth, login, services, Case("archive_loan", "head", "manager", reassign_to=None,
                                                 may_take_over=False, refused_words=("请催办借阅人", "借阅测试卷")))


def test_destruction_approval(client, auth, login, services, clock, submit_form):  # noqa: F811
    from processes.forms.models import Attachment

    ids = [submit_form()["id"] for _ in range(2)]
    for _ in ids:
        for user in ("handler", "clerk"):
            item = [t for t in client.get("/api/v1/tasks", headers=auth(user)).json if t["kind"] == "task"][0]
            assert client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth(user),
                               json={"data": {"decision": "complete"}}).status_code == 200
    with unit_of_work(services.sessions) as session:
        evidence = Attachment(form_id=ids[1], field_code="content", filename_sealed="原单.pdf", content_type="application/pdf",
                              size=1, sealed=b"x", uploaded_by="clerk", uploaded_at=START)
        session.add(evidence)
        session.flush()
        evidence_id = evidence.id
    r = client.post("/api/v1/destructions", headers=auth("clerk"),
                    json={"kind": "duplicate", "form_ids": [ids[0]], "reason": "重复录入", "evidence": [evidence_id]})
    assert r.status_code == 201, r.json
    (review,) = client.get("/api/v1/tasks", headers=auth("manager"), query_string={"process": "destruction_approval"}).json
    assert client.post(f"/api/v1/tasks/{review['id']}/complete", headers=auth("manager"),
                       json={"data": {"decision": "approve", "comment": "确属重复"}}).status_code == 200
    late(services, clock, days=5, seconds=1)  # management's approval is late
    exercise(client, auth, login, services, Case("destruction_approval", "manager", "head", reassign_to="manager2",
                                                 may_take_over=True, refused_words=("销毁清单",)))


def test_rectification_notice(client, auth, login, services, clock):  # noqa: F811
    r = client.post("/api/v1/rectifications", headers=auth("inspector"), json={
        "department": "信贷部", "problem": "交接逾期未说明原因", "requirement": "补充逾期原因",
        "deadline": (START + timedelta(hours=2)).isoformat()})
    assert r.status_code == 201, r.json
    late(services, clock, hours=2, seconds=1)
    # the manager is the head's superior but not of 信贷部: the department answers for itself
    exercise(client, auth, login, services, Case("rectification", "manager", "inspector", reassign_to="handler",
                                                 may_take_over=False, refused_words=("只有被通知部门可以反馈整改情况",)))
    (item,) = client.get("/api/v1/tasks", headers=auth("handler"), query_string={"process": "rectification"}).json
    done = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"),
                       json={"data": {"decision": "respond", "measures": "已补充逾期原因"}})
    assert done.status_code == 200  # the person it was reassigned to can answer it
    assert [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json if i["kind"] == "escalation"] == []


# --- counts -------------------------------------------------------------------------------------------------------
def test_escalation_items_are_not_counted_as_overdue_work(services, clock, submit_form):
    submit_form()
    late(services, clock, hours=4, seconds=1)
    with services.sessions() as session:
        head, handler = org.get_by_username(session, "head"), org.get_by_username(session, "handler")
        counted = inbox.counts(session, actor=head, now=clock.now)
        assert counted["mine"] == 1 and counted["mine_overdue"] == 0  # the head's 督办 item is not late work
        assert inbox.counts(session, actor=handler, now=clock.now)["queue_overdue"] == 1  # the late hop is


@pytest.mark.parametrize("action", ["urge", "reassign", "take-over"])
def test_a_closed_escalation_is_a_conflict_not_an_error(client, auth, services, clock, submit_form, action):
    submit_form()
    late(services, clock, hours=4, seconds=1)
    esc_id, step_id = escalation_of(services, "internal_transfer", "head")
    assert client.post(f"/api/v1/tasks/{step_id}/claim", headers=auth("handler")).status_code == 200
    assert client.post(f"/api/v1/tasks/{step_id}/complete", headers=auth("handler"),
                       json={"data": {"decision": "complete", "late_reason": "系统维护"}}).status_code == 200
    r = client.post(f"/api/v1/tasks/{esc_id}/{action}", headers=auth("head"), json={"assignee": "handler"})
    assert r.status_code == 409 and "已办结" in r.json["message"]
