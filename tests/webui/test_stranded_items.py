"""An item is never stranded: assignment offers only people allowed to complete it, and its holder can put it
back in its queue (退回队列)."""
from __future__ import annotations

import re

import pytest

from tests.conftest import KYC_FIELDS, build_app


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


def _review_item(client, auth) -> str:
    r = client.post("/api/v1/templates", headers=auth("handler"),
                    json={"name": "开户申请", "business_type": "开户", "fields": KYC_FIELDS, "submit": True})
    assert r.status_code == 201, r.json
    (item,) = client.get("/api/v1/tasks", headers=auth("head"), query_string={"process": "template_approval"}).json
    return item["id"]


def _options(page: str) -> list[str]:
    select = re.search(r'<select name="assignee" aria-label="指派给">(.*?)</select>', page, re.S)
    return re.findall(r'<option value="([^"]+)"', select.group(1)) if select else []


def test_a_template_review_cannot_be_assigned_to_someone_who_may_not_review_it(pages, client, auth):
    item_id = _review_item(client, auth)
    login, _app = pages
    head = login("head")
    page = head.get(f"/tasks/{item_id}").get_data(as_text=True)
    assert "handler" not in _options(page)
    r = head.post(f"/tasks/{item_id}/assign", data={"assignee": "handler"})
    assert r.status_code == 422 and "无权办理该事项" in r.get_data(as_text=True)
    r = client.post(f"/api/v1/tasks/{item_id}/assign", headers=auth("head"), json={"assignee": "handler"})
    assert r.status_code == 422 and "assignee" in r.json["fields"]
    assert client.get(f"/api/v1/tasks/{item_id}", headers=auth("head")).json["assignee"] == "head"


def test_the_holder_puts_an_item_back_in_its_queue_and_the_head_still_sees_it(pages, client, auth):
    item_id = _review_item(client, auth)
    login, _app = pages
    head = login("head")
    assert "退回队列" in head.get(f"/tasks/{item_id}").get_data(as_text=True)
    r = head.post(f"/tasks/{item_id}/release")
    assert r.status_code == 302 and r.location.endswith("/inbox")
    assert "已退回队列" in head.get("/inbox").get_data(as_text=True)
    page = head.get(f"/tasks/{item_id}")
    assert page.status_code == 200 and "签收" in page.get_data(as_text=True)
    assert head.post(f"/tasks/{item_id}/claim").status_code == 302
    assert head.post(f"/tasks/{item_id}/complete", data={"decision": "approve", "comment": "可以"}).status_code == 302


def test_a_hop_is_offered_to_the_department_only(pages, client, auth, submit_form):
    submit_form()
    login, _app = pages
    head = login("head")
    item_id = re.search(r"/tasks/([0-9a-f-]{36})", head.get("/inbox").get_data(as_text=True)).group(1)
    assert set(_options(head.get(f"/tasks/{item_id}").get_data(as_text=True))) == {"handler", "head"}
    assert head.post(f"/tasks/{item_id}/assign", data={"assignee": "handler"}).status_code == 302
    page = head.get(f"/tasks/{item_id}")  # given away, still followed by the head who gave it
    assert page.status_code == 200 and "张经办" in page.get_data(as_text=True)


def test_only_a_queued_item_is_offered_for_assignment(pages, client, auth, submit_form):
    """指派 gives out what waits in the queue: once a colleague holds the hop, the head's page offers no 指派 and
    a posted one is refused (a held item changes hands by release, or 改派/接办 once late)."""
    submit_form()
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    login, _app = pages
    head = login("head")
    assert "handler" in _options(head.get(f"/tasks/{hop['id']}").get_data(as_text=True))
    assert client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler")).status_code == 200
    assert _options(head.get(f"/tasks/{hop['id']}").get_data(as_text=True)) == []
    r = client.post(f"/api/v1/tasks/{hop['id']}/assign", headers=auth("head"), json={"assignee": "head"})
    assert r.status_code == 409 and r.json["code"] == "already_claimed"
    r = client.post(f"/api/v1/tasks/{hop['id']}/assign", headers=auth("manager"), json={"assignee": "head"})
    assert r.status_code == 403
    assert client.get(f"/api/v1/tasks/{hop['id']}", headers=auth("handler")).json["assignee"] == "handler"
