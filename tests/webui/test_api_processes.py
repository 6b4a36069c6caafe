"""Procedures over the API: versions, validation on elements, deployment, comparison, rollback, instances, safety."""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.engine.test_expressions import EVAL_PAYLOADS, SCRIPT_PAYLOADS

XML = Path("bpmn/internal_transfer.bpmn").read_text("utf-8")
BASE = "/api/v1/processes/internal_transfer"


def with_review_hop(xml: str = XML) -> str:
    """The shipped transfer with a 信贷部复核 hop between the credit hop and the close hop."""
    xml = xml.replace('<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="hop_close" />',
                      '<bpmn:sequenceFlow id="flow_credit_ok" name="移交" sourceRef="gw_credit" targetRef="review_credit" />'
                      '<bpmn:userTask id="review_credit" name="信贷部复核" />'
                      '<bpmn:sequenceFlow id="flow_reviewed" sourceRef="review_credit" targetRef="hop_close" />')
    return xml.replace("<bpmn:flowNodeRef>hop_credit</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>hop_credit</bpmn:flowNodeRef><bpmn:flowNodeRef>review_credit</bpmn:flowNodeRef>")


def post_xml(client, url, headers, xml, note="增加信贷部复核环节"):
    """POST a diagram; deployments carry a change note (a query parameter, the body being the XML)."""
    query = {"note": note} if note is not None else {}
    return client.post(url, headers={**headers, "Content-Type": "application/xml"}, data=xml.encode("utf-8"),
                       query_string=query)


def test_list_versions_and_xml(client, auth):
    listed = client.get("/api/v1/processes", headers=auth("manager")).json
    process = next(p for p in listed if p["key"] == "internal_transfer")  # template_approval is shipped too
    assert process["key"] == "internal_transfer" and process["latest_version"] == 1 and process["name"] == "内部移交"
    (version,) = client.get(f"{BASE}/versions", headers=auth("manager")).json
    assert version["version"] == 1 and version["deployed_by"] == "system"
    r = client.get(f"{BASE}/versions/1", headers=auth("head"))
    assert r.mimetype == "application/xml" and r.get_data(as_text=True) == XML
    assert client.get("/api/v1/processes", headers=auth("clerk")).status_code == 403
    assert client.get("/api/v1/processes/nope/versions", headers=auth("manager")).status_code == 404


def test_validate_names_the_element(client, auth):
    assert post_xml(client, f"{BASE}/validate", auth("manager"), XML).json == {"valid": True, "problems": []}
    broken = XML.replace('decision == "return"', "decision.__class__", 1)
    r = post_xml(client, f"{BASE}/validate", auth("manager"), broken)
    assert r.status_code == 422 and r.json["problems"][0]["element_id"] == "flow_credit_return"
    assert "条件无效" in r.json["problems"][0]["message"]


def test_a_new_hop_applies_to_new_forms_only(client, auth, submit_form):
    before = submit_form()
    r = post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop())
    assert r.status_code == 201 and r.json["version"] == 2
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop()).status_code == 200  # no new version
    after = submit_form()
    for form in (before, after):
        (item,) = [t for t in client.get("/api/v1/tasks", headers=auth("handler")).json if t["form_id"] == form["id"]]
        client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}})
    steps = {t["form_id"]: t["step"] for t in client.get("/api/v1/tasks", headers=auth("handler")).json
             + client.get("/api/v1/tasks", headers=auth("clerk")).json}
    assert steps == {before["id"]: "hop_close", after["id"]: "review_credit"}
    versions = client.get(f"{BASE}/versions", headers=auth("manager")).json
    assert [(v["version"], v["running_instances"]) for v in versions] == [(2, 1), (1, 1)]
    diff = client.get(f"{BASE}/compare?from=1&to=2", headers=auth("manager")).json
    assert {e["id"] for e in diff["added"]} == {"review_credit", "flow_reviewed"}
    assert [c["id"] for c in diff["changed"]] == ["Lane_credit", "flow_credit_ok"]
    r = client.post(f"{BASE}/versions/1/rollback", headers=auth("manager"), query_string={"note": "复核环节拖慢了移交"})
    assert r.status_code == 201 and r.json["version"] == 3
    assert client.get(f"{BASE}/versions/3", headers=auth("manager")).get_data(as_text=True) == XML


def test_only_management_deploys(client, auth):
    r = post_xml(client, f"{BASE}/versions", auth("head"), with_review_hop())
    assert r.status_code == 403 and "管理层" in r.json["message"]


@pytest.mark.parametrize("body,status,words", [
    ("<bpmn:definitions", 422, "XML 格式错误"),
    (XML.replace('id="internal_transfer"', 'id="template_approval"'), 422, "不一致"),
    (XML.replace("</bpmn:process>", "".join(f'<bpmn:task id="t{i}" />' for i in range(10_000)) + "</bpmn:process>"),
     422, "流程元素过多"),
])
def test_bad_uploads_are_refused_clearly(client, auth, body, status, words):
    r = post_xml(client, f"{BASE}/versions", auth("manager"), body)
    assert r.status_code == status and words in str(r.json)
    assert len(client.get(f"{BASE}/versions", headers=auth("manager")).json) == 1  # nothing half-deployed


def test_a_20_mb_upload_is_refused(client, auth):
    r = post_xml(client, f"{BASE}/versions", auth("manager"), XML + " " * (20 * 1024 * 1024))
    assert r.status_code == 413 and r.json["code"] == "too_large"


def test_instance_view_and_stats(client, auth, submit_form, clock):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    clock.advance(minutes=30)
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}})
    view = client.get(f"/api/v1/instances/{form['process_instance_id']}", headers=auth("manager")).json
    assert (view["process"], view["version"], view["status"], view["current"]) == \
        ("internal_transfer", 1, "running", ["hop_close"])
    assert [(p["step"], p["status"], p["seconds"]) for p in view["path"]] == \
        [("hop_credit", "done", 1800.0), ("hop_close", "open", None)]
    stats = client.get(f"{BASE}/stats", headers=auth("manager")).json
    assert stats["hop_credit"]["avg_seconds"] == 1800.0 and stats["hop_close"]["waiting"] == 1
    assert client.get("/api/v1/instances/999", headers=auth("manager")).status_code == 404


SCRIPT_TASK = ('<bpmn:scriptTask id="payload_script" name="脚本"><bpmn:incoming>flow_start</bpmn:incoming>'
               '<bpmn:outgoing>flow_after_script</bpmn:outgoing><bpmn:script>{}</bpmn:script></bpmn:scriptTask>'
               '<bpmn:sequenceFlow id="flow_after_script" sourceRef="payload_script" targetRef="hop_credit" />')


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\x00", "")


def with_script(script: str) -> str:
    xml = XML.replace('<bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="hop_credit" />',
                      '<bpmn:sequenceFlow id="flow_start" sourceRef="start" targetRef="payload_script" />'
                      + SCRIPT_TASK.format(_escape(script)))
    return xml.replace("<bpmn:flowNodeRef>start</bpmn:flowNodeRef>",
                       "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>payload_script</bpmn:flowNodeRef>")


def with_condition(condition: str) -> str:
    return XML.replace('<bpmn:conditionExpression>decision == "return"</bpmn:conditionExpression>',
                       f"<bpmn:conditionExpression>{_escape(condition)}</bpmn:conditionExpression>", 1)


PAYLOADS = [("script", s) for s in SCRIPT_PAYLOADS] + [("script", f"y = {e}") for e in EVAL_PAYLOADS[:20]] + \
    [("condition", e) for e in EVAL_PAYLOADS]


def test_escape_payloads_are_refused_or_fail_harmlessly(client, auth, submit_form):
    assert len(PAYLOADS) >= 30
    outcomes = {"refused": 0, "failed_harmlessly": 0}
    for where, payload in PAYLOADS:
        xml = with_script(payload) if where == "script" else with_condition(payload)
        started = time.monotonic()
        r = post_xml(client, f"{BASE}/versions", auth("manager"), xml)
        if r.status_code == 422:
            outcomes["refused"] += 1
        else:
            assert r.status_code == 201, (payload, r.json)
            template_id = client.get("/api/v1/templates", headers=auth("clerk")).json[0]["id"]
            from tests.conftest import GOOD_FORM

            created = client.post("/api/v1/forms", headers=auth("clerk"),
                                  json={"template_id": template_id, "data": GOOD_FORM, "submit": True})
            if created.status_code == 201 and where == "condition":
                item = client.get("/api/v1/tasks", headers=auth("handler")).json[0]
                created = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"),
                                      json={"data": {"decision": "return"}})
            assert created.status_code in (409, 422), (payload, created.status_code, created.json)
            outcomes["failed_harmlessly"] += 1
            client.post(f"{BASE}/versions/1/rollback", headers=auth("manager"), query_string={"note": "回滚"})
        assert time.monotonic() - started < 5, payload
    health = client.get("/healthz").json
    assert health["status"] == "ok", health["reasons"]
    assert outcomes["refused"] >= 30


def test_lanes_must_be_known_departments_or_roles(client, auth):
    r = post_xml(client, f"{BASE}/validate", auth("manager"), XML.replace('name="信贷部"', 'name="外星部"', 1))
    assert r.status_code == 422
    (problem,) = r.json["problems"]
    assert problem["element_id"] == "Lane_credit" and "外星部" in problem["message"] and "信贷部" in problem["message"]
    moved = XML.replace('name="信贷部"', 'name="风险合规部"', 1)
    assert post_xml(client, f"{BASE}/validate", auth("manager"), moved).status_code == 200
    r = post_xml(client, f"{BASE}/versions", auth("manager"), XML.replace('name="信贷部"', 'name="外星部"', 1))
    assert r.status_code == 422 and r.json["problems"][0]["element_id"] == "Lane_credit"
