"""Every API route through the Flask test client: success, and the clear 4xx a user can cause."""
from __future__ import annotations

import pytest

from tests.conftest import GOOD_FORM


def test_token_and_bad_credentials(client):
    assert client.post("/api/v1/auth/token", json={"username": "clerk", "password": "nope"}).json == \
        {"code": "bad_credentials", "message": "用户名或密码错误"}
    r = client.post("/api/v1/auth/token", json={"username": "clerk"})
    assert r.status_code == 422 and r.json["fields"] == {"password": "必填项, 请填写"}


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
def test_api_needs_a_valid_token(client, header):
    headers = {"Authorization": header} if header else {}
    r = client.get("/api/v1/tasks", headers=headers)
    assert r.status_code == 401 and r.json["code"] == "unauthorized" and "登录" in r.json["message"]


def test_templates_list_the_general_template(client, auth):
    (template,) = client.get("/api/v1/templates", headers=auth("clerk")).json
    assert template["name"] == "通用业务单"
    assert [f["code"] for f in template["fields"]] == ["business_type", "customer_name", "content", "handled_at",
                                                       "handled_by"]


def test_create_form_validation_names_each_field(client, auth):
    tid = client.get("/api/v1/templates", headers=auth("clerk")).json[0]["id"]
    r = client.post("/api/v1/forms", headers=auth("clerk"),
                    json={"template_id": tid, "data": {**GOOD_FORM, "handled_at": "昨天", "customer_name": "",
                                                       "extra": 1}, "submit": True})
    assert r.status_code == 422
    assert set(r.json["fields"]) == {"handled_at", "customer_name", "extra"}
    assert "日期时间格式不正确" in r.json["fields"]["handled_at"]
    assert client.get("/api/v1/tasks", headers=auth("handler")).json == []  # nothing half-written


@pytest.mark.parametrize("body,status", [
    ({"data": GOOD_FORM}, 422),
    ({"template_id": "x", "data": GOOD_FORM}, 422),
    ({"template_id": 999, "data": GOOD_FORM, "submit": True}, 404),
    ({"template_id": 1, "data": "text"}, 422),
])
def test_create_form_bad_bodies(client, auth, body, status):
    r = client.post("/api/v1/forms", headers=auth("clerk"), json=body)
    assert r.status_code == status and r.json["message"]


def test_bad_json_is_a_400(client, auth):
    r = client.post("/api/v1/forms", headers={**auth("clerk"), "Content-Type": "application/json"}, data="{oops")
    assert r.status_code == 400 and r.json["code"] == "bad_request"


def test_draft_then_submit(client, auth):
    tid = client.get("/api/v1/templates", headers=auth("clerk")).json[0]["id"]
    draft = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": tid, "data": {"business_type": "挂失"}, "submit": False}).json
    assert draft["status"] == "draft" and draft["process_instance_id"] is None
    r = client.post(f"/api/v1/forms/{draft['id']}/submit", headers=auth("clerk"))
    assert r.status_code == 422 and "customer_name" in r.json["fields"]
    assert client.post(f"/api/v1/forms/{draft['id']}/submit", headers=auth("handler")).status_code == 403


def test_form_read_and_visibility(client, auth, submit_form):
    form = submit_form()
    r = client.get(f"/api/v1/forms/{form['id']}", headers=auth("handler"))
    assert r.status_code == 200 and r.json["process_instance_id"] == form["process_instance_id"]
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("archivist")).status_code == 403
    assert client.get("/api/v1/forms/9999", headers=auth("clerk")).json["code"] == "form_not_found"
    assert client.get(f"/api/v1/forms/{form['id']}/handovers", headers=auth("archivist")).status_code == 403


def test_task_detail_claim_release(client, auth, submit_form):
    submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    detail = client.get(f"/api/v1/tasks/{item['id']}", headers=auth("handler")).json
    assert detail["decisions"] == ["complete", "return"] and detail["process"] == "internal_transfer"
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=auth("clerk")).status_code == 403
    assert client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler")).json["assignee"] == "handler"
    assert client.get("/api/v1/tasks", headers=auth("handler"), query_string={"scope": "mine"}).json[0]["id"] == item["id"]
    assert client.post(f"/api/v1/tasks/{item['id']}/release", headers=auth("head")).status_code == 403
    assert client.post(f"/api/v1/tasks/{item['id']}/release", headers=auth("handler")).json["assignee"] is None
    assert client.get("/api/v1/tasks/does-not-exist", headers=auth("handler")).status_code == 404


def test_task_filters(client, auth, submit_form):
    submit_form(business_type="开户")
    submit_form(business_type="挂失")
    names = lambda **q: [t["subject"].split(" ", 1)[1] for t in  # noqa: E731
                         client.get("/api/v1/tasks", headers=auth("handler"), query_string=q).json]
    assert sorted(names()) == ["开户", "挂失"]
    assert names(q="挂失") == ["挂失"]
    assert names(q="%") == [] and names(q="_") == []  # LIKE wildcards in the search text are taken literally
    assert names(process="template_approval") == []
    assert names(overdue="true") == []
    assert names(scope="mine") == []


def test_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/auth/token", "/api/v1/templates", "/api/v1/forms", "/api/v1/forms/{form_id}",
                 "/api/v1/forms/{form_id}/handovers", "/api/v1/tasks", "/api/v1/tasks/{item_id}/claim",
                 "/api/v1/tasks/{item_id}/complete"):
        assert path in spec["paths"], path


def test_healthz(client):
    body = client.get("/healthz").json
    assert body["status"] == "ok" and body["database"] == "ok" and "incidents" in body["scheduler"]


def test_type_errors_read_in_chinese(client, auth):
    r = client.post("/api/v1/forms", headers={**auth("clerk"), "Content-Type": "application/json"},
                    data='{"template_id": 1e400, "data": {}, "submit": true}')
    assert r.status_code == 422 and r.json["fields"] == {"template_id": "须为模板编号 (1 至 2147483647 之间的整数)"}
    r = client.get("/api/v1/audit", headers=auth("manager"), query_string={"since": "yesterday"})
    assert r.status_code == 422 and r.json["fields"] == {"since": "须为日期时间 (ISO 8601)"}


def test_an_unknown_inbox_scope_is_refused(client, auth):
    r = client.get("/api/v1/tasks", headers=auth("handler"), query_string={"scope": "everything"})
    assert r.status_code == 422 and r.json["fields"] == {"scope": "须为 mine、queue 或 all"}


def test_unknown_api_path_is_json_404(client, auth):
    r = client.get("/api/v1/nothing", headers=auth("clerk"))
    assert r.status_code == 404 and r.json == {"code": "not_found", "message": "您访问的内容不存在"}


@pytest.mark.parametrize("where", ["json", "query", "form"])
def test_nul_characters_are_refused_up_front(client, auth, where):
    if where == "json":
        r = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": 1, "data": {**GOOD_FORM, "customer_name": "张\x00三"}, "submit": True})
    elif where == "query":
        r = client.get("/api/v1/tasks?q=%00", headers=auth("handler"))
    else:
        import re

        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        r = client.post("/login", data={"username": "clerk\x00", "password": "x", "csrf_token": token})
    assert r.status_code == 400 and "NUL" in (r.json["message"] if r.is_json else r.get_data(as_text=True))
    assert client.get("/api/v1/tasks", headers=auth("handler")).json == []
