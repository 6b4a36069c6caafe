"""End-to-end in a real browser: fill and submit a 业务单, hand it between departments, return it for
correction, let the real SLA timer escalate it to the superiors, and switch the UI language."""
from __future__ import annotations

import re
import warnings

import pytest
from conftest import GOOD_FORM
from playwright.sync_api import Page, expect

from .helpers import (
    ROOT,
    expect_step,
    fill_form,
    inbox_row,
    login,
    open_item,
    reload_until,
    shoot,
    submit_new_form,
    wait_for_diagram,
)

pytestmark = pytest.mark.browser

FORM_URL = re.compile(r"/forms/(\d+)$")
ENGLISH_CATALOG = ROOT / "webui" / "translations" / "en" / "LC_MESSAGES" / "messages.mo"


def handover_rows(page: Page):
    return page.locator("table.handovers tbody tr")


def test_clerk_fills_form_fixes_error_and_sees_diagram(page: Page):
    # The login page lists the demo logins in demo mode.
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("登录")
    demo = page.locator(".demo")
    expect(demo).to_contain_text("guichet-demo")
    for username in ("clerk", "handler", "head", "manager"):
        expect(demo.locator("code", has_text=re.compile(rf"^{username}$"))).to_have_count(1)
    shoot(page, "01-login")

    login(page, "clerk")
    expect(page.locator(".topbar .who")).to_contain_text("营业部")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")  # Babel says zh_Hans_CN; the page must not
    expect(page.locator(".topbar .right a.active")).to_have_text("中文")
    expect(page.locator("table.inbox td.empty")).to_have_text("暂无待办事项")
    shoot(page, "02-inbox-clerk-empty")

    page.locator(".topbar nav").get_by_role("link", name="填写业务单").click()
    page.wait_for_url(re.compile(r"/forms/new$"))
    values = {**GOOD_FORM, "customer_name": ""}
    fill_form(page, values)
    with page.expect_response(lambda r: r.request.method == "POST" and "/forms/new" in r.url) as response:
        page.get_by_role("button", name="提交并移交").click()
    assert response.value.status == 422

    # The error stands next to the empty field; the other values are kept.
    bad = page.locator(".field.has-error")
    expect(bad).to_have_count(1)
    expect(bad.locator("label")).to_contain_text("客户名称")
    expect(bad.locator(".field-error")).to_contain_text("必填项")
    for code, value in values.items():
        expect(page.locator(f"#f-{code}")).to_have_value(value)
    shoot(page, "03-form-new-validation-error")

    page.locator("#f-customer_name").fill("张三")
    page.get_by_role("button", name="提交并移交").click()
    page.wait_for_url(FORM_URL)
    expect(page.locator(".flash")).to_contain_text("已提交, 已移交下一环节")
    expect(page.locator("h1 .badge")).to_have_text("流转中")
    expect(page.locator("dl.grid")).to_contain_text("张三")

    rows = handover_rows(page)
    expect(rows).to_have_count(1)
    cells = rows.first.locator("td")
    expect(cells.nth(0)).to_contain_text("信贷部办理")
    expect(cells.nth(1)).to_contain_text("营业部")
    expect(cells.nth(2)).to_contain_text("信贷部")
    expect(cells.nth(6)).to_contain_text("待接收")

    diagram = wait_for_diagram(page)
    expect(diagram).to_have_attribute("data-current", "hop_credit")
    expect_step(page, "hop_credit", "current")
    expect_step(page, "hop_close", None)
    shoot(page, "04-form-diagram-submitted")


def test_handler_claims_and_hands_on_then_clerk_closes(new_page):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)

    handler = new_page("handler")
    row = inbox_row(handler, number, "信贷部办理")
    expect(row).to_have_count(1)
    expect(row.locator("td").nth(2).locator(".badge")).to_have_text("信贷部")  # unclaimed, in the 信贷部 queue
    expect(row.locator(".sla .left")).to_contain_text(re.compile(r"剩余 3小时5\d分"))  # PT4H, counted down
    expect(handler.locator(".stat.overdue b")).to_have_text("0")
    expect(handler.locator(".stat.overdue")).not_to_have_class(re.compile(r"\bwarn\b"))  # 0 overdue is not red
    shoot(handler, "05-inbox-handler-queue")

    row.get_by_role("button", name="签收").click()
    handler.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))
    expect(handler.locator(".flash")).to_have_text("已签收")
    handler.goto("/inbox")
    row = inbox_row(handler, number, "信贷部办理")
    expect(row.locator("td").nth(2)).to_have_text("张经办(信贷部)")  # claimed: shown by name
    expect(row.get_by_role("button", name="签收")).to_have_count(0)
    open_item(handler, row)
    expect(handler.locator("h1")).to_contain_text("信贷部办理")
    expect(handler.locator("p.muted")).to_contain_text("办理人: 张经办(信贷部)")
    wait_for_diagram(handler)
    expect_step(handler, "hop_credit", "current")
    handler.locator("#comment").fill("材料齐全, 同意")
    handler.get_by_role("button", name="办理完成并移交").click()
    handler.wait_for_url(re.compile(r"/inbox$"))
    expect(handler.locator(".flash")).to_have_text("已办理完成, 已移交下一环节")
    expect(inbox_row(handler, number, "信贷部办理")).to_have_count(0)

    clerk.goto("/inbox")
    row = inbox_row(clerk, number, "营业部办结")
    expect(row).to_have_count(1)
    open_item(clerk, row)
    wait_for_diagram(clerk)
    expect_step(clerk, "hop_close", "current")
    expect_step(clerk, "hop_credit", "done")
    shoot(clerk, "06-task-clerk-close")
    clerk.get_by_role("button", name="办结", exact=True).click()  # the last step closes, it hands nothing over
    clerk.wait_for_url(re.compile(r"/inbox$"))
    expect(clerk.locator(".flash")).to_have_text("已办结")
    expect(inbox_row(clerk, number, "营业部办结")).to_have_count(0)

    clerk.goto("/forms")
    clerk.get_by_role("link", name=number).click()
    clerk.wait_for_url(FORM_URL)
    expect(clerk.locator("h1 .badge")).to_have_text("已办结")
    rows = handover_rows(clerk)
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator("td").nth(6)).to_contain_text("已移交")
    expect(rows.nth(1).locator("td").nth(6)).to_contain_text("已办结")
    expect(rows.nth(0).locator("td").nth(7)).to_contain_text("材料齐全, 同意")
    expect(rows.nth(1).locator("td").nth(0)).to_contain_text("营业部办结")
    wait_for_diagram(clerk)
    expect(clerk.locator("#diagram")).to_have_attribute("data-current", "")
    expect_step(clerk, "hop_close", "done")
    shoot(clerk, "07-form-closed")


def test_return_for_correction_goes_back_to_clerk_and_again_to_credit(new_page):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)
    form_url = clerk.url

    handler = new_page("handler")
    open_item(handler, inbox_row(handler, number, "信贷部办理"))
    handler.get_by_role("button", name="签收").click()
    expect(handler.locator(".flash")).to_have_text("已签收")
    handler.locator("#comment").fill("缺少收入证明")
    handler.get_by_role("button", name="退回补正").click()
    handler.wait_for_url(re.compile(r"/inbox$"))
    expect(handler.locator(".flash")).to_have_text("已退回补正")

    clerk.goto("/inbox")
    row = inbox_row(clerk, number, "营业部补正")
    expect(row).to_have_count(1)
    open_item(clerk, row)
    expect(clerk.get_by_role("button", name="退回补正")).to_have_count(0)  # the fix step has no return path
    clerk.locator("#comment").fill("已补收入证明")
    clerk.get_by_role("button", name="补正完成并移交").click()
    clerk.wait_for_url(re.compile(r"/inbox$"))
    expect(clerk.locator(".flash")).to_have_text("已办理完成, 已移交下一环节")

    handler.goto("/inbox")
    expect(inbox_row(handler, number, "信贷部办理")).to_have_count(1)

    clerk.goto(form_url)
    rows = handover_rows(clerk)
    expect(rows).to_have_count(3)
    expect(rows.nth(0).locator("td").nth(6)).to_contain_text("已退回")
    expect(rows.nth(1).locator("td").nth(0)).to_contain_text("营业部补正")
    expect(rows.nth(1).locator(".badge.amber")).to_have_text("退回")
    expect(rows.nth(1).locator("td").nth(1)).to_contain_text("张经办(信贷部) · 信贷部")
    expect(rows.nth(2).locator("td").nth(0)).to_contain_text("信贷部办理")
    expect(rows.nth(2).locator(".badge.amber")).to_have_count(0)
    expect(rows.nth(2).locator("td").nth(6)).to_contain_text("待接收")
    wait_for_diagram(clerk)
    expect_step(clerk, "hop_credit", "current")
    expect_step(clerk, "fix_intake", "done")
    shoot(clerk, "08-form-after-return")


@pytest.mark.slow
@pytest.mark.parametrize("live_server", [{"transfer": {"handover_sla": "PT2S"}, "engine": {"min_timer_interval": "PT1S"}}], indirect=True)
def test_late_hop_escalates_to_head_then_manager(new_page):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)
    head = new_page("head")
    handler = new_page("handler")
    manager = new_page("manager")

    # Level 1: after one SLA the handler's superior gets a 督办 item.
    esc1 = inbox_row(head, number, "逾期督办(一级): 信贷部办理")
    reload_until(head, esc1, url="/inbox", what="head's level-1 escalation")
    expect(esc1.locator(".badge.red")).to_have_text("督办")
    expect(esc1).to_have_class(re.compile(r"\bescalation\b"))
    shoot(head, "09-inbox-head-escalation")

    handler.goto("/inbox")
    hop = inbox_row(handler, number, "信贷部办理")
    expect(hop).to_have_count(1)
    expect(hop.locator(".badge.red")).to_have_text(re.compile(r"^[一二]级督办$"))  # level 2 may be reached already
    expect(hop).to_have_class(re.compile(r"\boverdue\b"))
    expect(hop.locator(".sla")).to_have_class(re.compile(r"\blate\b"))
    expect(hop.locator(".sla .left")).to_have_text(re.compile(r"^已超时 [1-9]\d*分$"))  # never "0分" late
    expect(handler.locator(".stat.overdue.warn b")).to_have_text("1")  # the overdue count turns red

    open_item(head, esc1)
    expect(head.locator("h1")).to_contain_text("逾期督办(一级)")
    head.get_by_role("button", name="催办").click()
    expect(head.locator(".flash")).to_have_text("已催办")

    handler.goto("/inbox")
    expect(hop.locator(".badge.amber")).to_contain_text("被催办 ×1")
    shoot(handler, "10-inbox-handler-urged")

    # Level 2: after the second SLA the next one up.
    esc2 = inbox_row(manager, number, "逾期督办(二级): 信贷部办理")
    reload_until(manager, esc2, url="/inbox", what="manager's level-2 escalation")
    expect(esc2.locator(".badge.red")).to_have_text("督办")

    # Completing late needs the reason.
    handler.goto("/inbox")
    expect(hop.locator(".badge.red")).to_have_text("二级督办")
    open_item(handler, hop)
    expect(handler.locator("h1 .badge.red")).to_have_text("已超时")
    expect(handler.locator("#late_reason")).to_be_visible()
    with handler.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/complete")) as response:
        handler.get_by_role("button", name="办理完成并移交").click()
    assert response.value.status == 422
    field = handler.locator(".field.has-error")
    expect(field.locator("label")).to_contain_text("逾期原因")
    expect(field.locator(".field-error")).to_have_text("已超过办理时限, 请填写逾期原因")
    expect(handler.locator("p.error")).to_contain_text("逾期原因")
    shoot(handler, "11-task-late-reason-error")

    handler.locator("#late_reason").fill("系统故障, 延误处理")
    handler.get_by_role("button", name="办理完成并移交").click()
    handler.wait_for_url(re.compile(r"/inbox$"))
    expect(handler.locator(".flash")).to_have_text("已办理完成, 已移交下一环节")
    expect(hop).to_have_count(0)

    head.goto("/inbox")
    expect(inbox_row(head, number, "逾期督办(一级): 信贷部办理")).to_have_count(0)
    expect(head.locator("table.inbox tr.escalation")).to_have_count(0)
    manager.goto("/inbox")
    expect(inbox_row(manager, number, "逾期督办(二级): 信贷部办理")).to_have_count(0)

    clerk.reload()
    rows = handover_rows(clerk)
    expect(rows.nth(0).locator("td").nth(6)).to_contain_text("已移交")
    expect(rows.nth(0).locator(".badge.red")).to_have_text("超时")
    expect(rows.nth(0).locator("td").nth(7)).to_contain_text("逾期原因: 系统故障, 延误处理")
    escalations = clerk.locator("h3:has-text('逾期升级') + ul li")
    expect(escalations).to_have_count(2)
    expect(escalations.nth(0)).to_contain_text("一级督办 → 李主任(信贷部负责人)")
    expect(escalations.nth(0)).to_contain_text("催办")
    expect(escalations.nth(1)).to_contain_text("二级督办 → 王总(管理层)")


def test_language_switch_to_english(new_page):
    page = new_page("clerk")
    nav = page.locator(".topbar nav")
    expect(nav).to_contain_text("待办")
    page.locator(".topbar .right").get_by_role("link", name="English").click()
    page.wait_for_url(re.compile(r"/inbox$"))
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("lang") == "en"
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".topbar .right a.active")).to_have_text("English")
    shoot(page, "12-inbox-english")
    if ENGLISH_CATALOG.exists():
        for label in ("待办", "填写业务单", "本部门业务单"):
            expect(nav).not_to_contain_text(label)
    elif "待办" in nav.inner_text():  # no compiled English catalog yet: report it, do not fail on it
        warnings.warn("no compiled English catalog (webui/translations/en/LC_MESSAGES/messages.mo): UI stays Chinese")
    page.locator(".topbar .right").get_by_role("link", name="中文").click()
    page.wait_for_url(re.compile(r"/inbox$"))
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(nav).to_contain_text("待办")
