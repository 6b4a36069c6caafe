"""Every page route through the Flask test client, as a logged-in person would use it (CSRF included)."""
from __future__ import annotations

import re

import pytest

from engine.scheduler import TimerScheduler
from tests.conftest import DEMO_PASSWORD, GOOD_FORM


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def login(app):
    def _login(username: str):
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": csrf(page)})
        assert r.status_code == 302, r.get_data(as_text=True)
        client.token = csrf(client.get("/inbox").get_data(as_text=True))
        return client

    return _login


def test_login_page_shows_demo_logins_and_refuses_bad_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert "演示账号" in page and "guichet-demo" in page and "<code>handler</code>" in page
    r = client.post("/login", data={"username": "clerk", "password": "x", "csrf_token": csrf(page)})
    assert r.status_code == 401 and "用户名或密码错误" in r.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client):
    r = client.post("/login", data={"username": "clerk", "password": DEMO_PASSWORD})
    assert r.status_code == 400 and "请求格式不正确" in r.get_data(as_text=True)


def test_pages_need_login(client):
    r = client.get("/inbox")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_fill_with_error_then_submit(login):
    clerk = login("clerk")
    page = clerk.get("/forms/new").get_data(as_text=True)
    assert "业务类型" in page and "经办人员" in page
    bad = {**GOOD_FORM, "customer_name": "", "csrf_token": clerk.token, "action": "submit"}
    r = clerk.post("/forms/new", data=bad)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'class="field-error"' in html and "必填项, 请填写" in html
    assert GOOD_FORM["content"] in html  # the other values are kept
    r = clerk.post("/forms/new", data={**GOOD_FORM, "csrf_token": clerk.token, "action": "submit"})
    assert r.status_code == 302
    detail = clerk.get(r.headers["Location"]).get_data(as_text=True)
    assert "已提交, 已移交下一环节" in detail and "待接收" in detail and 'id="diagram"' in detail


def test_draft_page_and_submit(login):
    clerk = login("clerk")
    r = clerk.post("/forms/new", data={"business_type": "挂失", "csrf_token": clerk.token, "action": "draft"})
    assert r.status_code == 302
    form_url = r.headers["Location"]
    assert "草稿" in clerk.get(form_url).get_data(as_text=True)
    r = clerk.post(form_url + "/submit", data={"csrf_token": clerk.token})
    assert r.status_code == 422 and "必填项" in r.get_data(as_text=True)
    assert "挂失" in clerk.get("/forms").get_data(as_text=True)


def test_inbox_claim_complete(login, submit_form):
    form = submit_form()
    handler = login("handler")
    inbox = handler.get("/inbox").get_data(as_text=True)
    assert "信贷部办理" in inbox and form["number"] in inbox and "签收" in inbox
    item_id = re.search(r'data-item="([^"]+)"', inbox).group(1)
    partial = handler.get("/inbox?scope=queue", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<table" in partial and "<html" not in partial
    assert handler.post(f"/tasks/{item_id}/claim", data={"csrf_token": handler.token}).status_code == 302
    task = handler.get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "办理完成并移交" in task and "退回补正" in task and form["number"] in task
    r = handler.post(f"/tasks/{item_id}/complete", data={"decision": "complete", "csrf_token": handler.token})
    assert r.status_code == 302
    assert "营业部办结" in login("clerk").get("/inbox").get_data(as_text=True)
    # People appear by name, not by login: the filler, and both sides of each handover.
    detail = handler.get(f"/forms/{form['id']}").get_data(as_text=True)
    assert "<dd>陈柜员(营业部)</dd>" in detail
    assert "<td>陈柜员(营业部) · 营业部</td>" in detail and "信贷部 · 张经办(信贷部)" in detail
    assert "<td>clerk" not in detail


def test_diagram_data_marks_current_and_done_steps(login, submit_form, client, auth):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("handler"), json={"data": {}})
    data = login("clerk").get(f"/forms/{form['id']}/diagram").json
    assert data["current"] == ["hop_close"] and data["done"] == ["hop_credit"]
    assert data["xml"].startswith("<?xml") and data["version"] == 1
    assert login("archivist").get(f"/forms/{form['id']}/diagram").status_code == 403


def test_late_completion_page_asks_for_the_reason(login, submit_form, clock, services):
    submit_form()
    clock.advance(hours=5)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    handler = login("handler")
    item_id = re.search(r'data-item="([^"]+)"', handler.get("/inbox").get_data(as_text=True)).group(1)
    r = handler.post(f"/tasks/{item_id}/complete", data={"decision": "complete", "csrf_token": handler.token})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "已超过办理时限, 请填写逾期原因" in html and 'id="late_reason"' in html
    r = handler.post(f"/tasks/{item_id}/complete",
                     data={"decision": "complete", "late_reason": "系统维护", "csrf_token": handler.token})
    assert r.status_code == 302


def test_escalation_page_actions(login, submit_form, clock, services):
    submit_form()
    clock.advance(hours=4, seconds=1)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    head = login("head")
    inbox = head.get("/inbox").get_data(as_text=True)
    assert "逾期督办(一级)" in inbox and "督办" in inbox
    esc_id = re.search(r'class="[^"]*escalation[^"]*" data-item="([^"]+)"', inbox).group(1)
    page = head.get(f"/tasks/{esc_id}").get_data(as_text=True)
    assert "催办" in page and "改派" in page and "接办" in page
    assert head.post(f"/tasks/{esc_id}/urge", data={"csrf_token": head.token}).status_code == 302
    assert "被催办" in login("handler").get("/inbox").get_data(as_text=True)
    assert head.post(f"/tasks/{esc_id}/reassign", data={"assignee": "handler", "csrf_token": head.token}).status_code == 302
    r = head.post(f"/tasks/{esc_id}/take-over", data={"csrf_token": head.token})
    assert r.status_code == 302
    assert "信贷部办理" in head.get(r.headers["Location"]).get_data(as_text=True)


def test_language_switch_and_logout(login):
    clerk = login("clerk")
    r = clerk.get("/lang/en", headers={"Referer": "/inbox"})
    assert r.status_code == 302 and "lang=en" in r.headers["Set-Cookie"]
    english = clerk.get("/inbox").get_data(as_text=True)
    assert "New form" in english and "My items" in english and "填写业务单" not in english
    assert "填写业务单" in clerk.get("/lang/zh_CN", follow_redirects=True).get_data(as_text=True)
    assert clerk.post("/logout", data={"csrf_token": clerk.token}).status_code == 302
    assert clerk.get("/inbox").status_code == 302


def test_vendor_files_are_served_and_fenced(client):
    assert client.get("/vendor/bpmn-js/dist/bpmn-navigated-viewer.production.min.js").status_code == 200
    assert client.get("/vendor/htmx.org/dist/htmx.min.js").status_code == 200
    assert client.get("/vendor/bpmn-js/package.json").status_code == 404
    assert client.get("/vendor/bpmn-js/dist/../../../package.json").status_code == 404


def test_unknown_page_is_a_friendly_404(client):
    r = client.get("/no-such-page")
    assert r.status_code == 404 and "您访问的内容不存在" in r.get_data(as_text=True)


def test_head_assigns_from_the_task_page(login, submit_form):
    submit_form()
    head = login("head")
    item_id = re.search(r'data-item="([^"]+)"', head.get("/inbox").get_data(as_text=True)).group(1)
    page = head.get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "指派" in page and 'value="handler"' in page
    r = head.post(f"/tasks/{item_id}/assign", data={"assignee": "handler", "csrf_token": head.token})
    assert r.status_code == 302
    assert r.headers["Location"] == "/inbox"
    back = head.get("/inbox")
    assert back.status_code == 200 and "已指派给 张经办" in back.get_data(as_text=True)
    page = login("handler").get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "办理人: 张经办" in page and f'action="/tasks/{item_id}/assign"' not in page
