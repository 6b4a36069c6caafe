"""Inspections with automatic findings (R5.1), training (R6.3) and appraisal (R5.3)."""
from __future__ import annotations

from engine.db import unit_of_work
from processes.supervision import inspections


def test_inspection_finds_overdue_hops_and_untrained_staff(client, auth, submit_form, clock):
    form = submit_form()
    (hop,) = [h for h in client.get("/api/v1/tasks", headers=auth("handler")).json if h["form_id"] == form["id"]]
    clock.advance(hours=5)
    client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth("handler"),
                json={"data": {"decision": "complete", "late_reason": "系统故障"}})
    r = client.post("/api/v1/trainings", headers=auth("hr"), json={
        "topic": "pipl", "title": "个人信息保护法培训", "held_on": "2026-03-01", "trainer": "外聘律师", "attendees": ["head"]})
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/inspections", headers=auth("inspector"), json={"department": "信贷部", "stage": "circulation"})
    assert r.status_code == 201, r.json
    inspection = r.json
    found = {f["kind"]: f for f in inspection["findings"]}
    assert found["overdue_handovers"]["count"] == 1
    (record,) = found["overdue_handovers"]["records"]
    assert record["form_id"] == form["id"] and "系统故障" in record["label"]
    assert [rec["id"] for rec in found["untrained"]["records"]] == ["handler"]  # head was trained
    r = client.post(f"/api/v1/inspections/{inspection['id']}/findings", headers=auth("inspector"),
                    json={"title": "交接登记不完整", "detail": "纸质登记簿缺页"})
    assert r.status_code == 201
    r = client.post("/api/v1/rectifications", headers=auth("inspector"), json={
        "department": "信贷部", "problem": "交接逾期", "requirement": "说明原因", "deadline": "2026-03-20T18:00:00+08:00",
        "finding_id": found["overdue_handovers"]["id"]})
    assert r.status_code == 201 and r.json["finding_id"] == found["overdue_handovers"]["id"]
    r = client.post(f"/api/v1/inspections/{inspection['id']}/evaluation", headers=auth("inspector"),
                    json={"evaluation": "流转基本及时, 个别逾期", "checklist": {"交接记录完整": True}})
    assert r.status_code == 200 and r.json["status"] == "closed"
    assert r.json["checklist"][0] == {"item": "交接记录完整", "ok": True}
    again = client.post(f"/api/v1/inspections/{inspection['id']}/findings", headers=auth("inspector"), json={"title": "再加"})
    assert again.status_code == 409
    read = client.get(f"/api/v1/inspections/{inspection['id']}", headers=auth("manager")).json
    assert len(read["findings"]) == 3
    assert client.get(f"/api/v1/inspections/{inspection['id']}", headers=auth("clerk")).status_code == 403


def test_inspections_refuse_bad_input_and_other_roles(client, auth):
    assert client.post("/api/v1/inspections", headers=auth("head"), json={"department": "信贷部", "stage": "storage"}).status_code == 403
    r = client.post("/api/v1/inspections", headers=auth("inspector"), json={"department": "无此部门", "stage": "later"})
    assert r.status_code == 422 and {"department", "stage"} <= set(r.json["fields"])
    assert client.get("/api/v1/inspections", headers=auth("inspector")).json == []
    assert client.get("/api/v1/inspections/999", headers=auth("inspector")).status_code == 404


def test_training_overdue_list_and_bad_input(client, auth):
    overdue = client.get("/api/v1/trainings/overdue", headers=auth("hr")).json
    assert {"clerk", "handler", "head"} <= {o["username"] for o in overdue}
    r = client.post("/api/v1/trainings", headers=auth("hr"), json={
        "topic": "regulation", "title": "业务单管理办法", "held_on": "2026-02-20", "trainer": "刘稽核",
        "attendees": ["clerk", "handler"]})
    assert r.status_code == 201 and r.json["attendees"] == ["clerk", "handler"]
    overdue = {o["username"] for o in client.get("/api/v1/trainings/overdue", headers=auth("hr")).json}
    assert "clerk" not in overdue and "head" in overdue
    r = client.post("/api/v1/trainings", headers=auth("hr"), json={
        "topic": "tax", "title": "", "held_on": "昨天", "trainer": "x", "attendees": ["nobody"]})
    assert r.status_code == 422 and {"topic", "title", "held_on", "attendees"} <= set(r.json["fields"])
    assert client.post("/api/v1/trainings", headers=auth("clerk"), json={
        "topic": "pipl", "title": "x", "held_on": "2026-02-20", "trainer": "x"}).status_code == 403
    assert client.get("/api/v1/trainings/overdue", headers=auth("clerk")).status_code == 403
    assert len(client.get("/api/v1/trainings", headers=auth("manager")).json) == 1


def test_appraisal_by_hr(client, auth):
    body = {"quarter": "2026Q1", "subject_type": "department", "subject": "信贷部", "rating": "commend", "note": "流转及时"}
    r = client.post("/api/v1/appraisals", headers=auth("hr"), json=body)
    assert r.status_code == 201 and r.json["rating_label"] == "表彰"
    r = client.post("/api/v1/appraisals", headers=auth("hr"), json={**body, "rating": "criticise"})
    assert r.status_code == 201 and r.json["id"] == r.json["id"]
    (only,) = client.get("/api/v1/appraisals", headers=auth("manager"), query_string={"quarter": "2026Q1"}).json
    assert only["rating"] == "criticise"
    assert client.post("/api/v1/appraisals", headers=auth("inspector"), json=body).status_code == 403
    r = client.post("/api/v1/appraisals", headers=auth("hr"), json={**body, "quarter": "2026-1", "rating": "praise"})
    assert r.status_code == 422 and {"quarter", "rating"} <= set(r.json["fields"])


def test_plans_run_by_the_monthly_job(client, auth, services, clock):
    from processes.org import service as org

    with unit_of_work(services.sessions) as session:
        inspections.add_plan(session, actor=org.get_by_username(session, "inspector"),
                             data={"department": "营业部", "stage": "generation"}, now=clock())
    job = services.runtime.cron.jobs["supervision.inspection_plans"]
    from engine import cron
    from processes.supervision import kpi

    run = cron.run_once(services.sessions, job, owner="t", clock=clock, zone=kpi.zone_of(services.config))
    assert run.status == "done" and run.detail == "1 inspections"
    (done,) = client.get("/api/v1/inspections", headers=auth("inspector")).json
    assert done["kind"] == "scheduled" and done["department"] == "营业部" and done["inspector"] == "system"

