"""The deployment approver sees who asked and why (the change note), what changes in words, both diagrams with
the changes marked, and the paths the trial run went through; the note is required at deployment."""
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
    assert post_xml(client, f"{BASE}/versions", auth("manager"), changed, note="信贷部复核大额业务").status_code == 202
    (item,) = [t for t in client.get("/api/v1/tasks", headers=auth("manager2")).json
               if t["process"] == "deployment_approval"]
    page = _login(app, "manager2").get(f"/tasks/{item['id']}").get_data(as_text=True)
    assert "申请人: <b>王总(管理层)</b>" in page and "与当前第 1 版相比" in page
    assert "新增人工环节“信贷部复核”" in page
    assert "修改时限事件“办理超时”: 时限 按系统默认时限, 共 2 次 → 每 3分钟 一次, 共 2 次" in page
    assert "handover_sla" not in page and "&#34;R2" not in page
    assert "attachedToRef" not in page and 'id="cmp-old"' in page and 'data-added="' in page
    assert '<h2>部署申请: <span title="internal_transfer">内部移交</span></h2>' in page
    assert '<p class="note">信贷部复核大额业务</p>' in page  # why, in the requester's words
    # the trial run's paths, as stored with the request: the approver does not re-run anything
    assert "试运行通过" in page and 'class="trial-paths"' in page
    assert "信贷部办理 (信贷部): 退回" in page and "营业部办结 (营业部): 办理完成" in page and "走到结束" in page
    assert 'data-added="flow_reviewed,review_credit"' in page
    xml = _login(app, "manager2").get(page.split('data-src="')[2].split('"')[0])
    assert xml.status_code == 200 and "review_credit" in xml.get_data(as_text=True)
    assert _login(app, "clerk").get(page.split('data-src="')[2].split('"')[0]).status_code == 403


def test_procedures_page_lists_pending_deployments(app, client, auth):
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop()).status_code == 202
    page = _login(app, "manager2").get("/procedures").get_data(as_text=True)
    assert "待审批的部署" in page and "王总(管理层)" in page and "查看变更与审批" in page


def test_a_deployment_without_a_change_note_is_refused_in_words(app, client, auth):
    r = post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop(), note="   ")
    assert r.status_code == 422 and "请填写变更说明" in r.json["message"]
    assert r.json["fields"]["note"].startswith("请填写变更说明")
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop(), note=None).status_code == 422
    r = client.post(f"{BASE}/versions/1/rollback", headers=auth("manager"))
    assert r.status_code == 422 and "请填写变更说明" in r.json["message"]
    assert client.get("/api/v1/tasks", headers=auth("manager2")).json == []  # nothing was filed


def test_the_modeler_page_refuses_a_deployment_without_a_note(app):
    manager = _login(app, "manager")
    r = manager.post("/procedures/internal_transfer/deploy", data=with_review_hop().encode(),
                     headers={"Content-Type": "application/xml"})
    assert r.status_code == 422 and "请填写变更说明" in r.json["message"] and r.json["valid"]
    page = manager.get("/procedures/internal_transfer/modeler").get_data(as_text=True)
    assert 'id="change-note"' in page and "变更说明" in page
    r = manager.post("/procedures/internal_transfer/versions/1/rollback", data={"note": ""})
    assert r.status_code == 302
    assert "请填写变更说明" in manager.get(r.headers["Location"]).get_data(as_text=True)


def test_the_request_keeps_the_note_and_the_trial_run(app, client, auth):
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop(), note="加复核").status_code == 202
    from processes.procedures.models import DeploymentRequest

    services = app.extensions["guichet"]
    with services.sessions() as session:
        (pending,) = session.query(DeploymentRequest).all()
        assert pending.note == "加复核"
        paths = pending.trial["paths"]
        assert pending.trial["complete"] and paths and all(p["outcome"] != "failed" for p in paths)
        assert {"review_credit", "hop_credit"} <= {s["element_id"] for p in paths for s in p["steps"]}


def test_the_assign_list_never_offers_the_requester(app, client, auth):
    assert post_xml(client, f"{BASE}/versions", auth("manager"), with_review_hop()).status_code == 202
    (item,) = [t for t in client.get("/api/v1/tasks", headers=auth("manager2")).json
               if t["process"] == "deployment_approval"]
    page = _login(app, "manager2").get(f"/tasks/{item['id']}").get_data(as_text=True)
    assign = page.split('aria-label="指派给"')[1].split("</select>")[0] if 'aria-label="指派给"' in page else ""
    assert 'value="manager"' not in assign  # who asked may not approve, so is never offered (nor preselected)
