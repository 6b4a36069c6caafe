"""The 补正 step: its page heads with the return reason and carries the correction form (signed with the password)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import build_app


@pytest.fixture
def pages(make_config, demo_hash, clock):
    """login(username) -> a test client logged in as that user (CSRF checks off for brevity)."""
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def _returned_form(client, auth, submit_form) -> tuple[dict, str]:
    """A form the handler returned for correction; the clerk's 补正 item id."""
    form = submit_form()
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    r = client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth("handler"),
                    json={"data": {"decision": "return", "comment": "客户姓名与证件不符, 请更正"}})
    assert r.status_code == 200, r.json
    (fix,) = client.get("/api/v1/tasks", headers=auth("clerk")).json
    return form, fix["id"]


def test_the_correction_step_shows_the_reason_first_and_corrects_then_hands_over(pages, client, auth, submit_form):
    form, fix_id = _returned_form(client, auth, submit_form)
    login, _app = pages
    clerk = login("clerk")
    page = clerk.get(f"/tasks/{fix_id}").get_data(as_text=True)
    assert "退回原因" in page and "客户姓名与证件不符" in page
    assert page.index("客户姓名与证件不符") < page.index("交接记录")
    assert "签收后即可在本页更正业务单" in page
    clerk.post(f"/tasks/{fix_id}/claim")
    page = clerk.get(f"/tasks/{fix_id}").get_data(as_text=True)
    assert f'action="/tasks/{fix_id}/correct"' in page and "经办人签字" in page and "补正完成并移交" in page
    bad = clerk.post(f"/tasks/{fix_id}/correct", data={"field": "customer_name", "new_value": "张三丰",
                                                       "reason": "证件姓名为张三丰", "password": "wrong"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "密码不正确" in text and 'value="证件姓名为张三丰"' in text
    ok = clerk.post(f"/tasks/{fix_id}/correct", data={"field": "customer_name", "new_value": "张三丰",
                                                      "reason": "证件姓名为张三丰", "password": "guichet-demo"})
    assert ok.status_code == 302 and ok.location.endswith(f"/tasks/{fix_id}")
    assert client.get(f"/api/v1/forms/{form['id']}", headers=auth("clerk")).json["data"]["customer_name"] == "张三丰"
    assert clerk.post(f"/tasks/{fix_id}/complete", data={"decision": "complete"}).status_code == 302
    (again,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert again["step"] == "hop_credit"


def test_an_ordinary_step_has_no_correction_form(pages, client, auth, submit_form):
    submit_form()
    login, _app = pages
    handler = login("handler")
    item_id = re.search(r"/tasks/([0-9a-f-]{36})", handler.get("/inbox").get_data(as_text=True)).group(1)
    handler.post(f"/tasks/{item_id}/claim")
    page = handler.get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "退回原因" not in page and "/correct" not in page
    r = login("manager2").post(f"/tasks/{item_id}/correct", data={"field": "customer_name", "new_value": "李四", "reason": "试试看",
                                                        "password": "guichet-demo"})
    assert r.status_code == 403
