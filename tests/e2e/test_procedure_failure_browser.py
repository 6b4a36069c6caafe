"""In a real browser: a procedure version that cannot run (stored before today's checks) — the clerk's form is
kept as a draft with a message saying the procedure is at fault; management sees the incident on 流程管理,
marks it handled, and /healthz goes from degraded back to ok."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import GOOD_FORM
from playwright.sync_api import expect

from engine.db import unit_of_work
from engine.models import ProcessDefinition

from .helpers import fill_form, shoot

pytestmark = pytest.mark.browser
LOOP = Path(__file__).parent.parent / "engine" / "corpus" / "script_loop.bpmn"


def test_a_broken_procedure_keeps_the_draft_and_management_sees_the_incident(new_page, live_server):
    services = live_server.services
    with unit_of_work(services.sessions) as s:  # as an older build stored it: no trial run
        s.add(ProcessDefinition(key="internal_transfer", version=2, name="内部移交", xml=LOOP.read_text("utf-8"),
                                sha256="unchecked", deployed_by="manager", deployed_at=services.clock()))
    clerk = new_page("clerk")
    clerk.goto("/forms/new")
    fill_form(clerk, GOOD_FORM)
    clerk.get_by_role("button", name="提交并移交").click()
    clerk.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(clerk.locator(".flash")).to_contain_text("已保存为草稿, 但未能移交")
    expect(clerk.locator(".flash")).to_contain_text("已通知管理层")
    expect(clerk.locator("main")).to_contain_text(GOOD_FORM["customer_name"])
    shoot(clerk, "19-procedure-failed-draft-kept")
    assert clerk.request.get("/healthz").json()["status"] == "degraded"

    manager = new_page("manager")
    manager.goto("/procedures")
    row = manager.locator("#incidents tr[data-incident]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("流程无法启动")
    expect(row).to_contain_text("超出单步预算")
    shoot(manager, "19-procedure-incidents")
    row.get_by_role("button", name="已处理").click()
    expect(manager.locator("#incidents")).to_contain_text("没有未处理的流程故障")
    assert manager.request.get("/healthz").json()["status"] == "ok"
