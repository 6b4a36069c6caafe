"""A procedure that still fails when it runs (stored before these checks, or broken in a way no check sees):
the step is rolled back, the clerk's input is kept as a draft, the instance is marked failed, an incident is
raised and /healthz says so; the server keeps answering."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import incidents
from engine.db import unit_of_work
from engine.models import Incident, ProcessDefinition, ProcessInstance, Timer
from engine.scheduler import TimerScheduler
from processes.forms.models import Form
from webui import health
from webui.app import create_app

from tests.conftest import GOOD_FORM

CORPUS = Path(__file__).parent.parent / "engine" / "corpus"
SHIPPED = Path(__file__).parent.parent.parent / "bpmn" / "internal_transfer.bpmn"


def store_unchecked(services, xml: str, key: str = "internal_transfer") -> None:
    """A version stored as an older build did: without today's checks (no trial run, no cycle check)."""
    with unit_of_work(services.sessions) as s:
        version = s.scalar(select(func.max(ProcessDefinition.version)).where(ProcessDefinition.key == key)) + 1
        s.add(ProcessDefinition(key=key, version=version, name="试验", xml=xml, sha256=f"unchecked-{version}",
                                deployed_by="manager", deployed_at=services.clock()))


def general_template(client, auth) -> int:
    return next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json if t["code"] == "general")


@pytest.mark.parametrize("diagram", ["script_loop.bpmn", "self_call.bpmn"])
def test_a_procedure_that_fails_to_start_keeps_the_clerks_input_as_a_draft(client, auth, services, diagram):
    store_unchecked(services, (CORPUS / diagram).read_text("utf-8"))
    r = client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": general_template(client, auth), "data": GOOD_FORM, "submit": True})
    assert r.status_code == 503 and r.json["code"] == "procedure_failed"
    assert "已保存为草稿" in r.json["message"] and "管理层" in r.json["message"] and "超出单步预算" in r.json["message"]
    with unit_of_work(services.sessions) as s:
        (form,) = s.scalars(select(Form)).all()
        assert form.status == "draft" and form.values["customer_name"] == "张三" and form.process_instance_id is None
        assert s.scalar(select(func.count()).select_from(ProcessInstance)) == 0  # the step was rolled back
        (incident,) = incidents.open_incidents(s)
        assert incident.kind == "start_failed" and "超出单步预算" in incident.message and "Traceback" in incident.detail
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and any("流程故障" in reason for reason in body["reasons"])
    assert client.get("/api/v1/templates", headers=auth("clerk")).status_code == 200  # others keep working


def test_the_same_failure_again_counts_on_one_incident(client, auth, services):
    from engine.budget import Limits

    services.runtime.limits = Limits(max_step_seconds=600)  # the task budget stops both, however busy the machine
    store_unchecked(services, (CORPUS / "script_loop.bpmn").read_text("utf-8"))
    for _ in range(2):
        client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": general_template(client, auth), "data": GOOD_FORM, "submit": True})
    with unit_of_work(services.sessions) as s:
        (incident,) = incidents.open_incidents(s)
        assert incident.occurrences == 2


def test_the_form_page_says_the_procedure_failed_and_shows_the_kept_draft(app, services):
    from tests.webui.test_pages import csrf

    store_unchecked(services, (CORPUS / "script_loop.bpmn").read_text("utf-8"))
    clerk = app.test_client()
    page = clerk.get("/login").get_data(as_text=True)
    clerk.post("/login", data={"username": "clerk", "password": "guichet-demo", "csrf_token": csrf(page)})
    token = csrf(clerk.get("/forms/new").get_data(as_text=True))
    r = clerk.post("/forms/new", data={**GOOD_FORM, "csrf_token": token, "action": "submit"})
    assert r.status_code == 302
    html = clerk.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存为草稿" in html and "流程配置的问题" in html and "张三" in html
    with unit_of_work(services.sessions) as s:
        assert s.scalars(select(Form)).one().status == "draft"


def _looping_after_the_first_hop() -> str:
    """The shipped diagram, where finishing 信贷部办理 leads into a loop of script tasks."""
    xml = SHIPPED.read_text("utf-8")
    loop = ('<bpmn:scriptTask id="count" name="计数"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
            '<bpmn:exclusiveGateway id="again" name="再数一次?" default="f_more" />'
            '<bpmn:sequenceFlow id="f_c" sourceRef="count" targetRef="again" />'
            '<bpmn:sequenceFlow id="f_more" sourceRef="again" targetRef="count" />')
    xml = xml.replace('<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="hop_close" />',
                      '<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="count" />' + loop)
    return xml


def test_a_step_past_its_budget_is_rolled_back_and_the_instance_failed(client, auth, services, submit_form):
    store_unchecked(services, _looping_after_the_first_hop())
    form = submit_form()
    (item,) = [i for i in client.get("/api/v1/tasks", headers=auth("handler")).json if i["kind"] == "task"]
    r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {"decision": "complete"}})
    assert r.status_code == 503 and r.json["code"] == "process_failed" and "超出单步预算" in r.json["message"]
    with unit_of_work(services.sessions) as s:
        instance = s.get(ProcessInstance, form["process_instance_id"])
        assert instance.status == "failed"
        (incident,) = incidents.open_incidents(s)
        assert incident.instance_id == instance.id and incident.kind == "step_failed"
        assert all(t.status == "incident" for t in s.scalars(select(Timer).where(Timer.instance_id == instance.id)))
    again = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {"decision": "complete"}})
    assert again.status_code == 409 and again.json["code"] == "process_failed"


def test_a_timer_past_its_budget_is_an_incident_at_once(services, clock):
    # after the escalation: a loop of script tasks that never reaches a person
    xml = SHIPPED.read_text("utf-8").replace('<bpmn:sequenceFlow id="flow_escalated_credit" sourceRef="escalate_credit" targetRef="end_escalated_credit" />',
                      '<bpmn:sequenceFlow id="flow_escalated_credit" sourceRef="escalate_credit" targetRef="spin" />'
                      '<bpmn:scriptTask id="spin" name="空转"><bpmn:script>n = 1</bpmn:script></bpmn:scriptTask>'
                      '<bpmn:exclusiveGateway id="spin_again" default="f_spin" />'
                      '<bpmn:sequenceFlow id="f_s" sourceRef="spin" targetRef="spin_again" />'
                      '<bpmn:sequenceFlow id="f_spin" sourceRef="spin_again" targetRef="spin" />')
    store_unchecked(services, xml)
    with unit_of_work(services.sessions) as s:
        instance_id = services.runtime.start(s, "internal_transfer", data={"handover_sla": "PT1H"}, actor="t",
                                             now=clock()).instance.id
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, max_attempts=5)
    clock.advance(hours=1, seconds=1)
    assert scheduler.tick() == 0
    assert scheduler.tick() == 0  # not retried: it would only freeze the scheduler again
    with unit_of_work(services.sessions) as s:
        assert s.get(ProcessInstance, instance_id).status == "failed"
        timer = s.scalars(select(Timer).where(Timer.instance_id == instance_id)).one()
        assert timer.status == "incident" and timer.attempts == 1
        (incident,) = s.scalars(select(Incident)).all()
        assert incident.kind == "timer_failed" and "超出单步预算" in incident.message


def test_healthz_reports_a_failed_database_write_of_its_own_app_only(client, app, make_config, clock):
    assert client.get("/healthz").json["status"] == "ok"
    with app.app_context():
        health.note_write_failure("提交事务失败: OperationalError")
    body = client.get("/healthz").json
    assert body["status"] == "degraded" and "数据库写入失败" in body["reasons"][0]
    other = create_app(config=make_config(), clock=clock)  # another app in this process, on the same database
    try:
        assert other.test_client().get("/healthz").json["status"] == "ok"
    finally:
        other.extensions["guichet_engine"].dispose()


def test_healthz_reports_a_scheduler_whose_tick_does_not_complete(client, services, clock):
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, tick_seconds=0.1)
    scheduler._apscheduler = type("Running", (), {"running": True})()  # as if ticking in this process
    scheduler.last_tick_done -= 60
    services.scheduler = scheduler
    try:
        body = client.get("/healthz").json
    finally:
        services.scheduler = None
    assert body["status"] == "degraded" and "没有完成一轮" in body["reasons"][0]
    assert body["scheduler"]["stalled_seconds"] >= 60


def test_validations_run_one_at_a_time_while_the_server_answers(client, auth, monkeypatch):
    import engine.validation as validation

    running, most, lock = [0], [0], threading.Lock()
    real = validation._check

    def counted(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(validation, "_check", counted)
    xml = SHIPPED.read_text("utf-8")
    headers = {**auth("manager"), "Content-Type": "application/xml"}
    app = client.application
    answers = []

    def validate():
        with app.test_client() as c:
            answers.append(c.post("/api/v1/processes/internal_transfer/validate", data=xml, headers=headers).status_code)

    threads = [threading.Thread(target=validate, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    assert client.get("/healthz").status_code == 200
    for t in threads:
        t.join(timeout=120)
    assert answers == [200] * 8 and most[0] == 1


def test_management_sees_open_incidents_and_marks_one_handled(app, client, auth, services):
    from tests.webui.test_pages import csrf

    store_unchecked(services, (CORPUS / "script_loop.bpmn").read_text("utf-8"))
    client.post("/api/v1/forms", headers=auth("clerk"),
                json={"template_id": general_template(client, auth), "data": GOOD_FORM, "submit": True})
    manager = app.test_client()
    page = manager.get("/login").get_data(as_text=True)
    manager.post("/login", data={"username": "manager", "password": "guichet-demo", "csrf_token": csrf(page)})
    html = manager.get("/procedures").get_data(as_text=True)
    assert "流程故障" in html and "流程无法启动" in html and "超出单步预算" in html
    incident_id = int(html.split('data-incident="')[1].split('"')[0])
    r = manager.post(f"/procedures/incidents/{incident_id}/resolve", data={"csrf_token": csrf(html)})
    assert r.status_code == 302
    assert "没有未处理的流程故障" in manager.get("/procedures").get_data(as_text=True)
    assert client.get("/healthz").json["status"] == "ok"
    again = manager.post(f"/procedures/incidents/{incident_id}/resolve", data={"csrf_token": csrf(html)})
    assert again.status_code == 404


def test_an_sla_typed_without_quotes_deploys_and_every_new_form_still_starts(client, auth):
    """Issue 12: R2/PT3M typed without quotes passed 校验, then every submission failed ("未知名称: R2")."""
    xml = SHIPPED.read_text("utf-8").replace('"R2/" + handover_sla', "R2/PT3M", 1)
    headers = {**auth("manager"), "Content-Type": "application/xml"}
    assert client.post("/api/v1/processes/internal_transfer/validate", data=xml, headers=headers).json["valid"]
    assert client.post("/api/v1/processes/internal_transfer/versions", data=xml, headers=headers,
                       query_string={"note": "信贷部时限 3 分钟"}).status_code == 201
    r = client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": general_template(client, auth), "data": GOOD_FORM, "submit": True})
    assert r.status_code == 201, r.json
    (item,) = [i for i in client.get("/api/v1/tasks", headers=auth("handler")).json if i["kind"] == "task"]
    assert item["due_at"].startswith("2026-03-02T01:03:00")  # three minutes after the fixed clock


def test_a_camunda_candidate_group_must_be_a_known_department(client, auth):
    xml = (CORPUS / "camunda_candidate_groups.bpmn").read_text("utf-8")
    headers = {**auth("manager"), "Content-Type": "application/xml"}
    assert client.post("/api/v1/processes/internal_transfer/validate", data=xml, headers=headers).json["valid"]
    r = client.post("/api/v1/processes/internal_transfer/validate", data=xml.replace("信贷部", "贷款组"), headers=headers)
    assert r.status_code == 422 and "候选组“贷款组”不是已知的部门或角色" in r.json["problems"][0]["message"]
