"""Four-eyes deployment: with the switch on, a manager's diagram waits for a second manager's approval."""
from __future__ import annotations

import pytest

from tests.conftest import build_app
from tests.webui.test_api_processes import BASE, post_xml, with_review_hop


@pytest.fixture
def app(make_config, demo_hash, clock):
    app = build_app(make_config(procedures={"deploy_needs_approval": True}), demo_hash, clock)
    yield app
    app.extensions["guichet_engine"].dispose()


def versions(client, auth):
    return [v["version"] for v in client.get(f"{BASE}/versions", headers=auth("manager")).json]


def approval_item(client, auth, user):
    items = [t for t in client.get("/api/v1/tasks", headers=auth(user)).json if t["process"] == "deployment_approval"]
    assert len(items) == 1, items
    return items[0]


def test_second_manager_approves(client, auth):
    r = post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop())
    assert r.status_code == 202 and r.json["status"] == "pending_approval"
    assert versions(client, auth) == [1]  # nothing deployed yet
    item = approval_item(client, auth, "manager2")
    assert item["subject"] == "部署审批: 内部移交"  # the process by its name; the key is no word for a manager
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=auth("manager2")).json["decisions"] == ["approve", "return"]
    own = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager"), json={"data": {"decision": "approve"}})
    assert own.status_code == 403 and "另一位" in own.json["message"]
    done = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager2"), json={"data": {"decision": "approve"}})
    assert done.status_code == 200
    assert versions(client, auth) == [2, 1]
    (latest, _) = client.get(f"{BASE}/versions", headers=auth("manager")).json
    assert latest["deployed_by"] == "manager"
    events = client.get("/api/v1/audit", headers=auth("manager"), query_string={"action": "bpmn.deploy"}).json
    assert any(e["actor"] == "manager2" and e["details"]["version"] == 2 for e in events)


def test_second_manager_returns_with_a_reason(client, auth):
    post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop())
    item = approval_item(client, auth, "manager2")
    r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager2"), json={"data": {"decision": "return"}})
    assert r.status_code == 422 and "comment" in r.json["fields"]
    r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager2"),
                    json={"data": {"decision": "return", "comment": "复核环节请放在信贷部以外"}})
    assert r.status_code == 200
    assert versions(client, auth) == [1]
    assert [t for t in client.get("/api/v1/tasks", headers=auth("manager2")).json
            if t["process"] == "deployment_approval"] == []


def test_the_same_diagram_needs_no_approval(client, auth):
    xml = client.get(f"{BASE}/versions/1", headers=auth("manager")).get_data(as_text=True)
    assert post_xml(client, f"{BASE}/versions", auth("manager"), xml).status_code == 200


def test_invalid_diagrams_are_refused_before_any_request(client, auth):
    r = post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop().replace('decision == "return"', "x ==", 1))
    assert r.status_code == 422
    assert [t for t in client.get("/api/v1/tasks", headers=auth("manager2")).json
            if t["process"] == "deployment_approval"] == []


def test_only_the_holder_completes_the_approval(app, client, auth):
    """Completion obeys the holder rules of every item: held by one manager, the other may not complete it."""
    post_xml(client, f"{BASE}/versions", auth("manager2"), with_review_hop())
    item = approval_item(client, auth, "manager")
    assert client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("manager2")).status_code == 200
    assert client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("manager")).status_code == 409
    assert client.get(f"/api/v1/tasks/{item['id']}", headers=auth("manager")).status_code == 403
    r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=auth("manager"), json={"data": {"decision": "approve"}})
    assert r.status_code == 403
    assert versions(client, auth) == [1]
