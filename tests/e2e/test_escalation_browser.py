"""督办 of a stage other than the transfer in the browser: a rectification notice goes late for real (the live
scheduler fires its deadline), the manager opens the escalation item from the inbox, urges, sees that the stage
refuses 接办 and reassigns the response to another member of the department, who then finds it in the inbox."""
from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from conftest import DEMO_PASSWORD
from playwright.sync_api import expect

from .helpers import shoot

pytestmark = pytest.mark.browser


def issue_notice(app, seconds: int) -> None:
    client = app.test_client()
    r = client.post("/api/v1/auth/token", json={"username": "inspector", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {r.json['token']}"}
    deadline = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    r = client.post("/api/v1/rectifications", headers=headers, json={
        "department": "信贷部", "problem": "三月交接逾期未说明原因", "requirement": "补充逾期原因并建立提醒机制",
        "deadline": deadline.isoformat()})
    assert r.status_code == 201, r.json


def test_a_late_rectification_is_urged_and_reassigned_from_its_escalation_item(new_page, live_server):
    issue_notice(live_server.app, seconds=2)
    page = new_page("manager")
    row = page.locator("tr.escalation", has_text="整改通知书")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and row.count() == 0:  # the live scheduler fires the deadline
        time.sleep(0.5)
        page.goto("/inbox")
    expect(row).to_have_count(1)
    row.get_by_role("link", name="处理").click()
    page.wait_for_url(re.compile(r"/tasks/"))
    expect(page.locator(".escalation-actions")).to_contain_text("只有被通知部门可以反馈整改情况")
    expect(page.get_by_role("button", name="接办")).to_have_count(0)
    expect(page.locator("section.card h2", has_text="整改通知书")).to_be_visible()
    page.get_by_role("button", name="催办").click()
    expect(page.locator(".flash")).to_contain_text("已催办")
    expect(page.locator(".escalation-log")).to_contain_text("催办")
    page.locator("select[name=assignee]").select_option("handler")
    shoot(page, "80-escalation-rectification")
    page.get_by_role("button", name="改派").click()
    expect(page.locator(".flash")).to_contain_text("已改派给 张经办")
    expect(page.locator(".escalation-log")).to_contain_text("改派")
    handler = new_page("handler")
    mine = handler.locator("table.inbox tr", has_text="整改通知书")
    expect(mine.first).to_be_visible()
    expect(mine.first).to_contain_text("被催办")
    shoot(handler, "81-escalation-reassigned-inbox")
