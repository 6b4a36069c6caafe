"""Finding work: inbox paging, 我已办, 本部门业务单 of forms that passed through the department, search by
customer and handler."""
from __future__ import annotations

import re

import pytest

from tests.conftest import build_app


@pytest.fixture
def pages(make_config, demo_hash, clock):
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def _items(page: str) -> list[str]:
    return re.findall(r'data-item="([0-9a-f-]{36})"', page)


def test_the_inbox_pages(pages, submit_form, monkeypatch):
    import webui.pages.inbox

    monkeypatch.setattr(webui.pages.inbox, "PER_PAGE", 3)
    for name in ("甲", "乙", "丙", "丁"):
        submit_form(customer_name=name)
    handler = pages[0]("handler")
    first = handler.get("/inbox").get_data(as_text=True)
    assert len(_items(first)) == 3 and 'rel="next"' in first and 'rel="prev"' not in first
    second = handler.get("/inbox?scope=all&page=2").get_data(as_text=True)
    assert len(_items(second)) == 1 and 'rel="prev"' in second and 'rel="next"' not in second
    assert not set(_items(first)) & set(_items(second))
    assert handler.get("/inbox?page=0").status_code == 200 and handler.get("/inbox?page=x").status_code == 200


def test_done_list_and_department_forms_show_what_passed_through(pages, client, auth, submit_form):
    form = submit_form()
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth("handler"), json={"data": {"decision": "complete"}})
    login = pages[0]
    handler = login("handler")
    done = handler.get("/inbox?scope=done").get_data(as_text=True)
    assert _items(done) == [hop["id"]] and "按时办结" in done and "我已办" in done
    assert _items(handler.get("/inbox?scope=done", headers={"HX-Request": "true"}).get_data(as_text=True)) == [hop["id"]]
    assert form["number"] in handler.get("/forms").get_data(as_text=True)  # filled by 营业部, handled by 信贷部
    assert form["number"] in login("head").get("/forms").get_data(as_text=True)
    assert form["number"] not in login("archivist").get("/forms").get_data(as_text=True)


def test_search_finds_customer_and_handler(pages, client, auth, submit_form):
    submit_form(customer_name="李四")
    submit_form(customer_name="王五")
    (a, b) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{a['id']}/claim", headers=auth("handler"))
    handler = pages[0]("handler")
    assert len(_items(handler.get("/inbox").get_data(as_text=True))) == 2
    assert len(_items(handler.get("/inbox?q=李四").get_data(as_text=True))) == 1
    assert _items(handler.get("/inbox?q=张经办").get_data(as_text=True)) == [a["id"]]
    assert len(_items(handler.get("/inbox?q=%").get_data(as_text=True))) == 0  # taken literally
    page = handler.get("/inbox").get_data(as_text=True)
    assert 'input changed delay:400ms from:input[name=q]' in page  # pasting searches too, not only typing
