"""Rectification notices (R5.2): issue → respond → re-inspect; fail loops with a new deadline; overdue escalates."""
from __future__ import annotations

from datetime import timedelta

import pytest

import processes
from engine.runtime import Runtime
from engine.scheduler import TimerScheduler
from tests.conftest import START


@pytest.fixture(params=["straight", "restore"])
def cold(request, services):
    """cold() before a step: in 'restore' mode the next step starts from a fresh runtime (state loaded from the DB)."""

    def _cold():
        if request.param == "restore":
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            services.runtime = fresh

    return _cold


def deadline(days=7):
    return (START + timedelta(days=days)).isoformat()


def issue(client, auth, user="inspector", **changes):
    body = {"department": "信贷部", "problem": "3 月有 5 笔交接逾期未说明原因", "requirement": "补充逾期原因并建立提醒机制",
            "deadline": deadline(), **changes}
    return client.post("/api/v1/rectifications", headers=auth(user), json=body)


def items(client, auth, user):
    return client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "rectification"}).json


def decide(client, auth, user, item_id, **data):
    return client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user), json={"data": data})


def test_fail_loops_back_then_pass_closes(client, auth, cold):
    r = issue(client, auth)
    assert r.status_code == 201, r.json
    notice = r.json
    assert notice["status"] == "issued" and notice["number"].startswith("ZG2026-")
    (item,) = items(client, auth, "head")
    assert item["name"] == "整改反馈" and item["assignee"] == "head" and item["due_at"]
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=auth("head")).json["decisions"] == ["respond", "pass", "fail"]
    cold()
    assert decide(client, auth, "head", item["id"], decision="respond", measures="已补充全部逾期原因").status_code == 200
    assert client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("inspector")).json["status"] == "responded"
    (check,) = items(client, auth, "inspector")
    assert check["name"] == "复查" and check["assignee"] == "inspector"
    cold()
    r = decide(client, auth, "inspector", check["id"], decision="fail", comment="提醒机制未建立", deadline=deadline(14))
    assert r.status_code == 200, r.json
    again = client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("inspector")).json
    assert again["status"] == "issued" and again["deadline"].startswith((START + timedelta(days=14)).date().isoformat())
    (item2,) = items(client, auth, "head")
    assert item2["name"] == "整改反馈" and item2["id"] != item["id"]
    cold()
    assert decide(client, auth, "head", item2["id"], decision="respond", measures="已建立每日提醒").status_code == 200
    (check2,) = items(client, auth, "inspector")
    cold()
    assert decide(client, auth, "inspector", check2["id"], decision="pass", comment="整改到位").status_code == 200
    done = client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("head")).json
    assert done["status"] == "passed" and done["task_id"] is None
    assert [(s["round"], s["decision"]) for s in done["steps"]] == [(1, "respond"), (1, "fail"), (2, "respond"), (2, "pass")]
    assert items(client, auth, "head") == [] and items(client, auth, "inspector") == []
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("inspector")).json]
    assert actions.count("rectification.respond") == 2 and actions.count("rectification.reinspect") == 2
    assert "rectification.issue" in actions


def test_wrong_people_are_refused(client, auth):
    assert issue(client, auth, user="head").status_code == 403
    notice = issue(client, auth).json
    (item,) = items(client, auth, "head")
    # an inspector responding for the department
    assert decide(client, auth, "inspector", item["id"], decision="respond", measures="代为反馈").status_code == 403
    assert decide(client, auth, "head", item["id"], decision="respond", measures="已整改").status_code == 200
    (check,) = items(client, auth, "inspector")
    # the department passing its own re-inspection
    assert decide(client, auth, "head", check["id"], decision="pass", comment="自己通过").status_code == 403
    assert client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("clerk")).status_code == 403
    assert client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("handler")).status_code == 200


def test_a_department_cannot_reinspect_itself(client, auth, services):
    """A notice to 风险合规部 itself: its own inspector may not pass it."""
    notice = issue(client, auth, department="风险合规部").json
    from engine.db import unit_of_work
    from processes.supervision import rectification
    from processes.org import service as org

    with unit_of_work(services.sessions) as session:
        assert rectification.get(session, notice["id"]).department == "风险合规部"
        inspector = org.get_by_username(session, "inspector")
        with pytest.raises(processes.errors.Forbidden):
            rectification.policy.ensure_reinspect(inspector, rectification.get(session, notice["id"]))


def test_bad_input_is_refused_with_nothing_written(client, auth):
    r = issue(client, auth, deadline=(START - timedelta(hours=1)).isoformat())
    assert r.status_code == 422 and "期限" in r.json["message"] and "deadline" in r.json["fields"]
    r = issue(client, auth, deadline="下周一")
    assert r.status_code == 422 and "deadline" in r.json["fields"]
    r = issue(client, auth, finding_id=999)
    assert r.status_code == 422 and "finding_id" in r.json["fields"]
    r = issue(client, auth, department="不存在的部门", problem="")
    assert r.status_code == 422 and {"department", "problem"} <= set(r.json["fields"])
    r = issue(client, auth, deadline="2026-03-10T10:00:00")
    assert r.status_code == 422 and "时区" in r.json["fields"]["deadline"]
    assert client.get("/api/v1/rectifications", headers=auth("inspector")).json == []
    assert items(client, auth, "head") == []
    issue(client, auth)
    (item,) = items(client, auth, "head")
    r = decide(client, auth, "head", item["id"], decision="pass", measures="x")
    assert r.status_code == 422 and "decision" in r.json["fields"]
    r = decide(client, auth, "head", item["id"], decision="respond", measures="")
    assert r.status_code == 422 and "measures" in r.json["fields"]
    decide(client, auth, "head", item["id"], decision="respond", measures="已整改")
    (check,) = items(client, auth, "inspector")
    r = decide(client, auth, "inspector", check["id"], decision="fail", comment="未到位", deadline=(START - timedelta(days=1)).isoformat())
    assert r.status_code == 422 and "deadline" in r.json["fields"]
    assert items(client, auth, "inspector")[0]["id"] == check["id"]  # nothing half-written


def test_overdue_notice_escalates_to_the_heads_superior(client, auth, clock, services, cold):
    notice = issue(client, auth, deadline=(START + timedelta(hours=2)).isoformat()).json
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    clock.advance(hours=1)
    scheduler.tick()
    assert [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json if i["kind"] == "escalation"] == []
    cold()
    clock.advance(hours=1, seconds=1)
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock)
    scheduler.tick()
    (escalation,) = [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json if i["kind"] == "escalation"]
    assert escalation["escalation_level"] == 1 and escalation["assignee"] == "manager"
    assert client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("manager")).status_code == 200
    assert client.get(f"/api/v1/rectifications/{notice['id']}", headers=auth("inspector")).json["overdue"] is True
    (item,) = items(client, auth, "head")
    assert item["escalation_level"] == 1
    assert decide(client, auth, "head", item["id"], decision="respond", measures="已整改, 迟报原因已说明").status_code == 200
    assert [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json if i["kind"] == "escalation"] == []


@pytest.mark.slow
def test_overdue_notice_escalates_in_real_time(make_config, demo_hash):
    """A deadline two seconds away, a running scheduler thread, the real clock."""
    import time
    from datetime import datetime, timezone

    from sqlalchemy import select

    from engine.db import unit_of_work
    from engine.models import WorkItem
    from tests.conftest import build_app

    app = build_app(make_config(), demo_hash)
    services = app.extensions["guichet"]
    services.scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=0.1)
    try:
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "inspector", "password": "guichet-demo"}).json["token"]
        soon = (datetime.now(timezone.utc) + timedelta(seconds=2)).isoformat()
        r = client.post("/api/v1/rectifications", headers={"Authorization": f"Bearer {token}"},
                        json={"department": "信贷部", "problem": "逾期未说明", "requirement": "补充说明", "deadline": soon})
        assert r.status_code == 201, r.json
        services.scheduler.start()

        def escalated():
            with unit_of_work(services.sessions) as s:
                return s.scalars(select(WorkItem.assignee).where(WorkItem.kind == "escalation",
                                                                 WorkItem.status == "open")).all()

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not escalated():
            time.sleep(0.05)
        assert escalated() == ["manager"]
    finally:
        services.scheduler.shutdown()
        app.extensions["guichet_engine"].dispose()
