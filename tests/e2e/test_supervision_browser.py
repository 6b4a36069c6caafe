"""Supervision in the browser: HR's KPI dashboard draws its charts; a rectification notice goes from the inspector
to the department head (through the inbox) and back for re-inspection."""
from __future__ import annotations

import re

import pytest
from conftest import DEMO_PASSWORD, GOOD_FORM
from playwright.sync_api import expect

from .helpers import shoot

pytestmark = pytest.mark.browser


def seed_month(app) -> None:
    """Four forms this month: 信贷部 hands on three and returns one for correction."""
    client = app.test_client()

    def token(user):
        r = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {r.json['token']}"}

    clerk, handler = token("clerk"), token("handler")
    for i in range(4):
        r = client.post("/api/v1/forms", headers=clerk, json={"template_id": 1, "data": {**GOOD_FORM, "customer_name": f"客户{i}"},
                                                               "submit": True})
        assert r.status_code == 201, r.json
    for i, item in enumerate(client.get("/api/v1/tasks", headers=handler).json):
        r = client.post(f"/api/v1/tasks/{item['id']}/complete", headers=handler,
                        json={"data": {"decision": "return" if i == 0 else "complete"}})
        assert r.status_code == 200, r.json


def chart_has_pixels(page, canvas_id: str) -> bool:
    """Whether Chart.js painted something on the canvas (not all transparent)."""
    return page.evaluate("""id => { const c = document.getElementById(id); const d = c.getContext('2d')
        .getImageData(0, 0, c.width, c.height).data; for (let i = 3; i < d.length; i += 4) { if (d[i]) return true; }
        return false; }""", canvas_id)


def test_hr_dashboard_draws_the_charts(new_page, live_server):
    seed_month(live_server.app)
    page = new_page("hr")
    page.get_by_role("link", name="监督考核").click()
    expect(page.locator("h1")).to_contain_text("考核指标")
    expect(page.locator('#chart-trend[data-ready="1"]')).to_be_attached()
    expect(page.locator('#chart-ranking[data-ready="1"]')).to_be_attached()
    assert chart_has_pixels(page, "chart-trend") and chart_has_pixels(page, "chart-ranking")
    filling = page.locator('.kpi[data-metric="filling_accuracy"]')
    expect(filling).to_contain_text("75.0%")
    expect(filling).to_contain_text("3 / 4")
    expect(page.locator('.kpi[data-metric="storage_security"]')).to_contain_text("无数据")
    expect(page.locator(".definitions")).to_contain_text("期间内提交的业务单数")
    shoot(page, "60-kpi-dashboard")
    page.locator("table.ranking").get_by_role("link", name="信贷部").click()
    expect(page.locator('#chart-people[data-ready="1"]')).to_be_attached()
    assert chart_has_pixels(page, "chart-people")
    shoot(page, "61-kpi-department-people")
    page.locator('.kpi[data-metric="on_time_circulation"]').get_by_role("link", name="明细").click()
    expect(page.locator("#records-total")).to_contain_text("共 4 条记录")
    shoot(page, "62-kpi-drill-down")


def test_notice_from_inspector_to_head_and_back(new_page, live_server):
    inspector = new_page("inspector")
    inspector.goto("/supervision/notices")
    inspector.locator("select[name=department]").select_option("信贷部")
    inspector.locator("textarea[name=problem]").fill("本月两笔交接逾期且未说明原因")
    inspector.locator("textarea[name=requirement]").fill("补充逾期原因, 建立到期提醒")
    inspector.locator("input[name=deadline]").fill("2099-12-31T18:00")
    inspector.get_by_role("button", name="下发").click()
    inspector.wait_for_url(re.compile(r"/supervision/notices/\d+$"))
    expect(inspector.locator("h1")).to_contain_text("待整改")
    notice_url = inspector.url
    shoot(inspector, "63-notice-issued")

    head = new_page("head")
    head.get_by_role("link", name="整改反馈").first.click()
    head.wait_for_url(notice_url)
    head.locator("input[name=file]").set_input_files(files=[{"name": "提醒机制.txt", "mimeType": "text/plain",
                                                             "buffer": "每日到期提醒".encode()}])
    head.get_by_role("button", name="上传佐证").click()
    expect(head.locator("body")).to_contain_text("提醒机制.txt")
    head.locator("textarea[name=measures]").fill("已补充全部逾期原因, 启用每日到期提醒")
    head.get_by_role("button", name="反馈整改情况").click()
    expect(head.locator("h1")).to_contain_text("待复查")
    expect(head.get_by_role("button", name="复查通过")).to_have_count(0)  # no one passes their own

    inspector.reload()
    inspector.locator("textarea[name=comment]").fill("整改到位")
    shoot(inspector, "64-notice-reinspection")
    inspector.get_by_role("button", name="复查通过").click()
    expect(inspector.locator("h1")).to_contain_text("已通过复查")
    shoot(inspector, "65-notice-passed")
