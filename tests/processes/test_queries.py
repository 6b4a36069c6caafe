"""Query approval (R4.4.1-R4.4.2): apply, approve (with management when sensitive or copying), grant, expire, revoke."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

import processes
from engine.runtime import Runtime
from tests.conftest import KYC_FORM, approve_template


@pytest.fixture(params=["straight", "restore"])
def cold(request, services):
    """cold() before a step: in 'restore' mode the next step starts from a fresh runtime (state loaded from the DB)."""

    def _cold():
        if request.param == "restore":
            fresh = Runtime()
            processes.register_all(fresh, services.config)
            services.runtime = fresh

    return _cold


def items(client, auth, user):
    return client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "query_approval"}).json


def decide(client, auth, user, item_id, decision="approve", comment="同意查询"):
    return client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user),
                       json={"data": {"decision": decision, "comment": comment}})


def apply(client, auth, form_ids, user="archivist", **changes):
    body = {"kind": "internal", "form_ids": form_ids, "fields": ["customer_name"], "purpose": "核对归档材料",
            "days": 3, "copy": False, **changes}
    return client.post("/api/v1/queries", headers=auth(user), json=body)


@pytest.fixture
def kyc_form(client, auth):
    """A submitted form holding an ID number and a bank card, filled by the clerk (营业部)."""
    template_id = approve_template(client, auth)
    r = client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": template_id, "data": KYC_FORM, "submit": True})
    assert r.status_code == 201, r.json
    return r.json


def test_plain_query_needs_only_the_head_and_grants_the_fields(client, auth, submit_form, clock, cold):
    form = submit_form()
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 403
    r = apply(client, auth, [form["id"]])
    assert r.status_code == 201, r.json
    query = r.json
    assert query["status"] == "pending" and query["grant"] is None and query["special"] is False
    cold()
    (item,) = items(client, auth, "manager")  # 档案室 has no head: the applicant's superior approves
    assert item["assignee"] == "manager" and "赵档案员" in item["subject"] and "核对归档材料" in item["subject"]
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=auth("manager")).json["decisions"] == ["approve", "return"]
    assert decide(client, auth, "manager", item["id"], comment="").status_code == 422  # each decision has a comment
    cold()
    assert decide(client, auth, "manager", item["id"]).status_code == 200
    got = client.get(f"/api/v1/queries/{query['id']}", headers=auth("archivist")).json
    assert got["status"] == "approved" and got["grant"]["fields"] == ["customer_name"]
    assert got["grant"]["expires_at"].startswith((clock.now + timedelta(days=3)).date().isoformat())
    assert [d["step"] for d in got["decisions"]] == ["head_review"]
    seen = client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist"))
    assert seen.status_code == 200 and seen.json["grant_id"] == got["grant"]["id"]
    assert seen.json["data"]["customer_name"] == "张三" and seen.json["data"]["content"] == "******"
    assert seen.json["business_type"] == "******" and seen.json["number"] == form["number"]
    assert "grant_id" not in client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json
    mine = client.get("/api/v1/queries?mine=1", headers=auth("archivist")).json
    assert [q["id"] for q in mine] == [query["id"]]


def test_sensitive_fields_force_the_management_step(client, auth, kyc_form, cold):
    query = apply(client, auth, [kyc_form["id"]], fields=["customer_name", "customer_id"]).json
    assert query["special"] is True
    (item,) = items(client, auth, "manager")
    assert decide(client, auth, "manager", item["id"], comment="同意, 报管理层").status_code == 200
    cold()
    (special,) = [i for i in items(client, auth, "manager2")]
    assert special["queue"] == "公司管理层" and special["name"] == "公司管理层特别审批"
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("archivist")).json["status"] == "pending"
    cold()
    assert decide(client, auth, "manager2", special["id"], comment="批准特别查询").status_code == 200
    seen = client.get(f"/api/v1/forms/{kyc_form['id']}", headers=auth("archivist")).json
    assert seen["data"]["customer_id"] == "11010519491231002X"  # granted: in full
    assert seen["data"]["card_no"] == "6222***********5679"  # not granted: masked as stored
    assert seen["data"]["amount"] == "******"


def test_a_copy_forces_the_management_step(client, auth, submit_form):
    query = apply(client, auth, [submit_form()["id"]], copy=True).json
    assert query["special"] is True


def test_return_grants_nothing(client, auth, submit_form, cold):
    form = submit_form()
    query = apply(client, auth, [form["id"]]).json
    (item,) = items(client, auth, "manager")
    cold()
    assert decide(client, auth, "manager", item["id"], "return", "用途不明确").status_code == 200
    got = client.get(f"/api/v1/queries/{query['id']}", headers=auth("archivist")).json
    assert got["status"] == "returned" and got["grant"] is None
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 403


def granted(client, auth, form_ids, **changes):
    query = apply(client, auth, form_ids, **changes).json
    for user in ("manager", "manager2"):
        for item in items(client, auth, user):
            assert decide(client, auth, user, item["id"]).status_code == 200
    got = client.get(f"/api/v1/queries/{query['id']}", headers=auth("archivist")).json
    assert got["status"] == "approved", got
    return got


def test_grant_works_the_minute_before_expiry_and_not_the_minute_after(client, auth, submit_form, clock):
    form = submit_form()
    query = granted(client, auth, [form["id"]])
    expires = query["grant"]["expires_at"]
    clock.advance(days=3, minutes=-1)
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 200
    clock.advance(minutes=2)
    r = client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist"))
    assert r.status_code == 403 and "查询授权" in r.json["message"]
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("archivist")).json["status"] == "expired"
    assert expires


def test_revoke_stops_access_at_once(client, auth, submit_form):
    form = submit_form()
    query = granted(client, auth, [form["id"]])
    assert client.post(f"/api/v1/queries/{query['id']}/revoke", headers=auth("archivist")).status_code == 403
    assert client.post(f"/api/v1/queries/{query['id']}/revoke", headers=auth("clerk")).status_code == 403
    r = client.post(f"/api/v1/queries/{query['id']}/revoke", headers=auth("manager"))
    assert r.status_code == 200 and r.json["status"] == "revoked"
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 403
    assert client.post(f"/api/v1/queries/{query['id']}/revoke", headers=auth("manager")).status_code == 409


def test_one_access_log_row_per_view_readable_by_head_and_inspector(client, auth, submit_form):
    form = submit_form()
    query = granted(client, auth, [form["id"]])
    for _ in range(3):
        assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 200
    log = client.get(f"/api/v1/queries/{query['id']}/access-log", headers=auth("inspector"))
    assert log.status_code == 200 and len(log.json) == 3
    assert {(r["viewer"], r["form_id"], tuple(r["fields"]), r["channel"]) for r in log.json} == \
        {("archivist", form["id"], ("customer_name",), "api")}
    assert len(client.get(f"/api/v1/queries/{query['id']}/access-log", headers=auth("manager")).json) == 3
    assert client.get(f"/api/v1/queries/{query['id']}/access-log", headers=auth("archivist")).status_code == 403
    assert client.get(f"/api/v1/queries/{query['id']}/access-log", headers=auth("clerk")).status_code == 403
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json]
    assert actions.count("form.view_granted") == 3 and {"query.apply", "query.head_review", "query.grant"} <= set(actions)


def test_grant_is_read_only(client, auth, kyc_form):
    granted(client, auth, [kyc_form["id"]], fields=["customer_name", "customer_id"])
    fid = kyc_form["id"]
    r = client.post(f"/api/v1/forms/{fid}/corrections", headers=auth("archivist"),
                    json={"field": "customer_name", "new_value": "李四", "reason": "核对", "password": "guichet-demo"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/forms/{fid}/reveal", headers=auth("archivist"),
                    json={"field": "card_no", "reason": "核对卡号"})
    assert r.status_code == 403
    assert client.get(f"/api/v1/forms/{fid}/attachments", headers=auth("archivist")).status_code == 403


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_watermark_in_the_print(client, auth, submit_form):
    form = submit_form()
    query = granted(client, auth, [form["id"]], copy=True)
    gid = query["grant"]["id"]
    r = client.get(f"/api/v1/queries/{query['id']}/forms/{form['id']}/pdf", headers=auth("archivist"))
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = pdf_text(r.data)
    assert f"查询授权 #{gid}" in text and "赵档案员" in text and "张三" in text
    log = client.get(f"/api/v1/queries/{query['id']}/access-log", headers=auth("manager")).json
    assert [r["channel"] for r in log] == ["pdf"]


def test_export_without_the_copy_right_is_403(client, auth, submit_form):
    form = submit_form()
    query = granted(client, auth, [form["id"]])
    r = client.get(f"/api/v1/queries/{query['id']}/forms/{form['id']}/pdf", headers=auth("archivist"))
    assert r.status_code == 403 and "复制" in r.json["message"]


@pytest.mark.parametrize("days", [0, 31, "7", None, True])
def test_days_outside_1_to_30_are_refused(client, auth, submit_form, days):
    r = apply(client, auth, [submit_form()["id"]], days=days)
    assert r.status_code == 422 and "days" in r.json["fields"] and "1 至 30" in r.json["fields"]["days"]
    assert client.get("/api/v1/queries?mine=1", headers=auth("archivist")).json == []


def test_unknown_form_is_named(client, auth, submit_form):
    form = submit_form()
    r = apply(client, auth, [form["id"], 99999])
    assert r.status_code == 422 and "99999" in r.json["fields"]["form_ids"]
    r = apply(client, auth, [form["id"]], fields=["nope"], purpose="")
    assert r.status_code == 422 and set(r.json["fields"]) == {"fields", "purpose"}
    assert apply(client, auth, "x").status_code == 422
    assert client.get("/api/v1/queries?mine=1", headers=auth("archivist")).json == []


def test_approving_your_own_application_is_403(client, auth, submit_form):
    form = submit_form()
    apply(client, auth, [form["id"]], user="handler", copy=True)
    (item,) = items(client, auth, "head")
    assert decide(client, auth, "head", item["id"]).status_code == 200
    (special,) = items(client, auth, "manager")
    assert decide(client, auth, "handler", special["id"]).status_code == 403
    # a manager's own application reaches the management step too: that manager may not decide it
    apply(client, auth, [form["id"]], user="manager2", copy=True)
    (review,) = [i for i in items(client, auth, "manager") if "周副总" in i["subject"]]
    assert decide(client, auth, "manager2", review["id"]).status_code == 403
    assert decide(client, auth, "manager", review["id"]).status_code == 200
    (mine,) = [i for i in items(client, auth, "manager2") if "周副总" in i["subject"]]
    assert decide(client, auth, "manager2", mine["id"]).status_code == 403


def test_other_people_cannot_read_an_application(client, auth, submit_form):
    query = apply(client, auth, [submit_form()["id"]]).json
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("clerk")).status_code == 403
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("inspector")).status_code == 200
    assert client.get(f"/api/v1/queries/{query['id']}", headers=auth("manager")).status_code == 200
    assert client.get("/api/v1/queries/999", headers=auth("manager")).status_code == 404


def test_late_approval_escalates_to_the_approvers_superior(client, auth, submit_form, services, clock):
    from engine.db import unit_of_work

    apply(client, auth, [submit_form()["id"]], user="handler")
    (item,) = items(client, auth, "head")
    assert item["due_at"].startswith("2026-03-02T09:00")  # PT8H after 01:00 UTC
    clock.advance(hours=8, minutes=1)
    with unit_of_work(services.sessions) as session:
        from engine.models import ProcessInstance

        for instance in session.query(ProcessInstance).filter_by(status="running"):
            services.runtime.fire_timers(session, instance.id, clock.now)
    escalations = [i for i in client.get("/api/v1/tasks", headers=auth("manager")).json
                   if i["kind"] == "escalation" and i["process"] == "query_approval"]
    assert len(escalations) == 1 and escalations[0]["escalation_level"] == 1  # head's superior, like a handover
    esc = escalations[0]["id"]
    assert client.post(f"/api/v1/queries/escalations/{esc}/urge", headers=auth("head")).status_code == 403
    assert client.post(f"/api/v1/queries/escalations/{esc}/urge", headers=auth("manager")).json["assignee"] == "head"
    assert decide(client, auth, "manager", item["id"]).status_code == 403  # not theirs until taken over
    taken = client.post(f"/api/v1/queries/escalations/{esc}/take-over", headers=auth("manager"))
    assert taken.status_code == 200 and taken.json["assignee"] == "manager"
    assert decide(client, auth, "manager", item["id"], comment="上级接办, 同意").status_code == 200
    assert client.get("/api/v1/queries?mine=1", headers=auth("handler")).json[0]["status"] == "approved"
    assert client.post(f"/api/v1/queries/escalations/{esc}/urge", headers=auth("manager")).status_code in (404, 409)
    actions = [e["action"] for e in client.get("/api/v1/audit", headers=auth("manager")).json]
    assert {"query.urge", "query.take_over"} <= set(actions)


def test_demo_shows_one_pending_and_one_approved_query(services, client, auth, clock):
    from engine.db import unit_of_work
    from processes.demo import seed_stages

    services.config["app"]["demo_history_forms"] = 3
    with unit_of_work(services.sessions) as session:
        seed_stages(session, services.runtime, services.config)
    statuses = sorted(q["status"] for q in client.get("/api/v1/queries", headers=auth("manager")).json)
    assert statuses == ["approved", "pending"]
