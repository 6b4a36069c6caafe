"""流程管理 pages through the test client: list, versions with comparison and rollback, heat map data, modeler, instance."""
from __future__ import annotations

import pytest

from tests.webui.test_api_processes import XML, with_review_hop
from tests.webui.test_pages import csrf, login  # noqa: F401 - fixture


@pytest.fixture
def manager(login):  # noqa: F811
    return login("manager")


def test_list_and_detail(manager):
    page = manager.get("/procedures").get_data(as_text=True)
    assert "流程管理" in page and "内部移交" in page and "internal_transfer" in page
    detail = manager.get("/procedures/internal_transfer").get_data(as_text=True)
    assert 'data-version="1"' in detail and 'id="heat"' in detail and "在建模器中编辑最新版本" in detail


def test_clerks_do_not_see_procedures(login):  # noqa: F811
    clerk = login("clerk")
    assert "流程管理" not in clerk.get("/inbox").get_data(as_text=True)
    assert clerk.get("/procedures").status_code == 403


def test_modeler_validate_and_deploy(manager):
    page = manager.get("/procedures/internal_transfer/modeler").get_data(as_text=True)
    assert 'id="canvas"' in page and "escalate" in page and "信贷部" in page
    token = csrf(page)
    headers = {"X-CSRFToken": token, "Content-Type": "application/xml"}
    assert manager.get("/procedures/internal_transfer/versions/1.bpmn").get_data(as_text=True) == XML
    bad = XML.replace('decision == "return"', "decision ==", 1)
    r = manager.post("/procedures/internal_transfer/validate", data=bad.encode(), headers=headers)
    assert r.status_code == 422 and r.json["problems"][0]["element_id"] == "flow_credit_return"
    assert manager.post("/procedures/internal_transfer/validate", data=XML.encode(), headers=headers).json["valid"]
    r = manager.post("/procedures/internal_transfer/deploy", data=with_review_hop().encode(), headers=headers,
                     query_string={"note": "增加信贷部复核"})
    assert r.status_code == 201 and r.json["version"] == 2 and r.json["redirect"] == "/procedures/internal_transfer"
    detail = manager.get("/procedures/internal_transfer?from=1&to=2").get_data(as_text=True)
    assert "已部署为版本 2" in detail and "review_credit" in detail and "新增" in detail
    r = manager.post("/procedures/internal_transfer/versions/1/rollback", data={"csrf_token": token, "note": "撤销复核"})
    assert r.status_code == 302
    assert 'data-version="3"' in manager.get("/procedures/internal_transfer").get_data(as_text=True)


def test_heat_and_instance_pages(manager, submit_form, client, auth):
    form = submit_form()
    (item,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    client.post(f"/api/v1/tasks/{item['id']}/claim", headers=auth("handler"))
    heat = manager.get("/procedures/internal_transfer/heat").json
    assert heat["stats"]["hop_credit"]["waiting"] == 1 and heat["version"] == 1
    page = manager.get(f"/instances/{form['process_instance_id']}").get_data(as_text=True)
    assert "信贷部办理" in page and "v1" in page and form["number"] in page
    assert "<td>张经办(信贷部)</td>" in page  # who holds the step, by name
    data = manager.get(f"/instances/{form['process_instance_id']}/diagram").json
    assert data["current"] == ["hop_credit"] and data["done"] == []
