"""The deployment approver sees who asked, what changes in words, and both diagrams with the changes marked."""
from __future__ import annotations

import pytest

from tests.conftest import build_app
from tests.webui.test_api_processes import BASE, XML, post_xml, with_review_hop


@pytest.fixture
def app(make_config, demo_hash, clock):
    app = build_app(make_config(procedures={"deploy_needs_approval": True}), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False
    yield app
    app.extensions["guichet_engine"].dispose()


def _login(app, username):
    c = app.test_client()
    assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
    return c


def test_the_approver_reads_the_change_in_words(app, client, auth):
    changed = with_review_hop(XML.replace('"R2/" + handover_sla', '"R2/PT3M"', 1))
    assert post_xml(client, f"{BASE}/versions", auth("manager"), changed).status_code == 202
    (item,) = [t for t in client.get("/api/v1/tasks", headers=auth("manager2")).json
               if t["process"] == "deployment_approval"]
    page = _login(app, "manager2").get(f"/tasks/{item['id']}").get_data(as_text=True)
    assert "申请人: <b>王总(管理层)</b>" in page and "与当前第 1 版相比" in page
    assert "新增人工环节“信贷部复核”" in page
    assert "修改时限事件“办理超时”: 时限 &#34;R2/&#34; + handover_sla → &#34;R2/PT3M&#34;" in page
    assert "attachedToRef" not in page and 'id="cmp-old"' in page and 'data-added="' in page
    assert 'data-added="flow_reviewed,review_credit"' in page
    xml = _login(app, "manager2").get(page.split('data-src="')[2].split('"')[0])
    assert xml.status_code == 200 and "review_credit" in xml.get_data(as_text=True)
    assert _login(app, "clerk").get(page.split('data-src="')[2].split('"')[0]).status_code == 403


def test_procedures_page_lists_pending_deployments(app, client, auth):
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop()).status_code == 202
    page = _login(app, "manager2").get("/procedures").get_data(as_text=True)
    assert "待审批的部署" in page and "王总(管理层)" in page and "查看变更与审批" in page
