"""The second manager reviews a deployment in the browser: who asked and why, the change in words, both diagrams
with the changes marked, the trial run's paths; then the audit log says it all in words."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.webui.test_api_processes import XML, with_review_hop

from .helpers import shoot

pytestmark = pytest.mark.browser
APPROVAL = {"procedures": {"deploy_needs_approval": True}}


def _request(live_server):
    client = live_server.app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "manager", "password": "guichet-demo"}).json["token"]
    changed = with_review_hop(XML.replace('"R2/" + handover_sla', '"R2/PT3M"', 1))
    r = client.post("/api/v1/processes/internal_transfer/versions", data=changed.encode(),
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
                    query_string={"note": "大额贷款须经信贷部复核; 信贷部时限改为 3 分钟"})
    assert r.status_code == 202, r.json


@pytest.mark.parametrize("live_server", [APPROVAL], indirect=True)
def test_the_approver_sees_the_change_marked_and_the_trial_paths(new_page, live_server):
    _request(live_server)
    page = new_page("manager2")
    page.get_by_role("link", name="流程管理").click()
    expect(page.locator(".pending-deployments")).to_contain_text("王总(管理层)")
    page.get_by_role("link", name="查看变更与审批").click()
    review = page.locator(".deployment-change")
    expect(review.locator(".note")).to_have_text("大额贷款须经信贷部复核; 信贷部时限改为 3 分钟")
    expect(review.locator("ul.diff")).to_contain_text("每 3分钟 一次, 共 2 次")
    expect(page.locator('#cmp-new[data-ready="1"]')).to_be_attached()
    expect(page.locator('#cmp-new [data-element-id="late_credit"]').first).to_have_class(re.compile(r"\bdiff-changed\b"))
    expect(page.locator('#cmp-old [data-element-id="late_credit"]').first).to_have_class(re.compile(r"\bdiff-changed\b"))
    expect(review.locator(".trial-paths li.completed")).to_contain_text("营业部办结 (营业部): 办理完成")
    # who asked may not approve: the 指派 list never offers them
    options = page.locator('select[aria-label="指派给"] option')
    assert "王总(管理层)" not in [options.nth(i).inner_text() for i in range(options.count())]
    shoot(page, "p12-after-deployment-review")
    page.locator("#comment").fill("同意")
    page.get_by_role("button", name="批准").click()
    page.wait_for_url(re.compile(r"/inbox"))

    page.goto("/audit")
    table = page.locator("table.audit")
    expect(table).to_contain_text("申请部署新版本")
    expect(table).to_contain_text("部署申请 1")
    expect(table).not_to_contain_text("bpmn.deploy_requested")
    expect(table).not_to_contain_text("deployment_request:")
    expect(table.locator('td[title="bpmn.deploy_requested"]')).to_have_count(1)  # the code on hover
    for name in ("筛选", "校验审计链"):  # buttons keep their words on one line
        box = page.get_by_role("button", name=name).bounding_box()
        assert box["height"] < 50 and box["width"] > box["height"], (name, box)
    shoot(page, "p12-after-audit")
