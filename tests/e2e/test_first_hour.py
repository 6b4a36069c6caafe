"""What a new user hit in the first hour, in a real browser: double submission, correcting a returned form,
a form sent back with its messages, closed items, paging and search of the inbox."""
from __future__ import annotations

import re

import pytest
from conftest import GOOD_FORM
from playwright.sync_api import expect
from sqlalchemy import func, select

from processes.forms.models import Form

from .helpers import fill_form, inbox_row, open_item, reload_until, shoot, submit_new_form


def _forms(live_server) -> int:
    with live_server.services.sessions() as session:
        return session.scalar(select(func.count()).select_from(Form))


def test_double_clicking_submit_sends_the_form_once(new_page, live_server):
    page = new_page("clerk")
    page.goto("/forms/new")
    fill_form(page, GOOD_FORM)
    # Count the submissions that would leave the page, and keep them here (as if the server were slow).
    page.evaluate("""() => { window.sent = 0; document.addEventListener("submit", ev => {
        if (!ev.defaultPrevented) window.sent += 1; ev.preventDefault(); }); }""")
    button = page.get_by_role("button", name="提交并移交")
    button.click()
    expect(button).to_be_disabled()
    shoot(page, "i12-03-submitting")
    button.click(force=True)
    page.evaluate("document.querySelector('form[data-once]').requestSubmit()")
    assert page.evaluate("window.sent") == 1


def test_double_clicking_submit_makes_one_form(new_page, live_server):
    page = new_page("clerk")
    page.goto("/forms/new")
    fill_form(page, GOOD_FORM)
    page.get_by_role("button", name="提交并移交").dblclick()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(page.locator(".flash")).to_contain_text("已提交")
    shoot(page, "i12-03-after-double-click")
    assert _forms(live_server) == 1


def test_correction_step_shows_the_reason_and_corrects_in_place(new_page, live_server):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)
    handler = new_page("handler")
    open_item(handler, reload_until(handler, inbox_row(handler, number, "信贷部办理"), url="/inbox"))
    handler.get_by_role("button", name="签收").click()
    handler.locator("#comment").fill("客户姓名与身份证不符, 请更正为张三丰")
    handler.get_by_role("button", name="退回补正").click()
    expect(handler.locator(".flash")).to_contain_text("已退回补正")

    open_item(clerk, reload_until(clerk, inbox_row(clerk, number, "营业部补正"), url="/inbox"))
    expect(clerk.locator(".returned")).to_contain_text("客户姓名与身份证不符")
    clerk.get_by_role("button", name="签收").click()
    expect(clerk.locator("#correct")).to_be_visible()
    clerk.locator("#c-field").select_option(label="客户名称")
    clerk.locator("#c-new_value").fill("张三丰")
    clerk.locator("#c-reason").fill("按身份证更正姓名")
    clerk.locator("#c-password").fill("guichet-demo")
    shoot(clerk, "i12-04-correction-step-after")
    clerk.get_by_role("button", name="签名并更正").click()
    expect(clerk.locator(".flash")).to_contain_text("已更正")
    expect(clerk.locator(".card").last).to_contain_text("张三丰")
    clerk.get_by_role("button", name="补正完成并移交").click()
    expect(clerk.locator(".flash")).to_be_visible()
    reload_until(handler, inbox_row(handler, number, "信贷部办理"), url="/inbox")


def test_an_incomplete_draft_submitted_from_its_page_comes_back_as_its_form(new_page, live_server):
    page = new_page("clerk")
    page.goto("/forms/new")
    fill_form(page, {**GOOD_FORM, "content": ""})
    page.get_by_role("button", name="保存草稿").click()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    page.get_by_role("button", name="提交并移交").click()
    field = page.locator('.field[data-field="content"]')
    expect(field.locator(".field-error")).to_contain_text("必填")
    expect(page.locator("#f-customer_name")).to_have_value("张三")
    shoot(page, "i12-06-incomplete-draft-after")
    page.locator("#f-content").fill("申请个人住房贷款 50 万元")
    page.get_by_role("button", name="提交并移交").click()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(page.locator(".flash")).to_contain_text("已提交")


@pytest.mark.parametrize("live_server", [{"transfer": {"handover_sla": "PT50S"}, "engine": {"min_timer_interval": "PT1S"}}], indirect=True)
def test_under_a_minute_left_reads_in_words_and_a_closed_item_stops_counting(new_page, live_server):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)
    handler = new_page("handler")
    row = reload_until(handler, inbox_row(handler, number, "信贷部办理"), url="/inbox")
    expect(row.locator(".sla .left")).to_have_text("剩余 不足1分钟")
    open_item(handler, row)
    handler.get_by_role("button", name="签收").click()
    handler.get_by_role("button", name="办理完成并移交").click()
    expect(handler.locator(".flash")).to_be_visible()
    handler.go_back()
    handler.go_back()
    handler.reload()
    expect(handler.locator(".closed-at")).to_contain_text("按时办结")
    expect(handler.locator("[data-due]")).to_have_count(0)
    shoot(handler, "i12-07-closed-item-after")


def test_inbox_search_runs_on_paste_and_finds_customer_and_handler(new_page, live_server):
    clerk = new_page("clerk")
    first = submit_new_form(clerk, customer_name="李四")
    second = submit_new_form(clerk, customer_name="王五")
    handler = new_page("handler")
    reload_until(handler, inbox_row(handler, second, "信贷部办理"), url="/inbox")
    rows = handler.locator("table.inbox tbody tr[data-item]")
    expect(rows).to_have_count(2)
    handler.locator("input[name=q]").fill("李四")  # fill() is a paste: an input event, no key pressed
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(first)
    handler.locator("input[name=q]").fill("张经办")
    expect(rows).to_have_count(0)
    shoot(handler, "i12-13-inbox-search-after")
    handler.locator("input[name=q]").fill("")
    expect(rows).to_have_count(2)
    expect(handler.locator("input[name=q]")).to_have_attribute("placeholder", "搜索单号、业务类型、经办人或客户全名")
    hint_fits = handler.locator("input[name=q]").evaluate("""box => {  // the hint set in the box's own font
        const style = getComputedStyle(box), line = document.createElement("span");
        line.textContent = box.placeholder;
        Object.assign(line.style, {font: style.font, whiteSpace: "pre", position: "absolute", visibility: "hidden"});
        document.body.append(line);
        const width = line.getBoundingClientRect().width;
        line.remove();
        return [width, box.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight)];
    }""")
    assert hint_fits[0] + 16 <= hint_fits[1], f"the search box cuts its hint short: {hint_fits}"  # with room
    shoot(handler, "i12-14-inbox-search-hint", full_page=False)  # customers are found by a whole value: says so
    handler.locator("select[name=scope]").select_option("done")
    expect(handler.locator("td.empty")).to_have_text("暂无已办事项")


def test_a_new_form_starts_filled_and_a_form_prints_as_a_document(new_page, live_server):
    clerk = new_page("clerk")
    clerk.goto("/forms/new")
    expect(clerk.locator("#f-handled_by")).to_have_value("陈柜员")
    expect(clerk.locator("#f-handled_at")).to_have_value(re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$"))
    shoot(clerk, "i12-15-new-form-after")
    number = submit_new_form(clerk)
    clerk.emulate_media(media="print")
    expect(clerk.locator(".topbar")).to_be_hidden()
    expect(clerk.locator("h1")).to_contain_text(number)
    shoot(clerk, "i12-15-form-print-after")


@pytest.mark.parametrize("live_server", [{"procedures": {"deploy_needs_approval": True}}], indirect=True)
def test_the_deployment_approver_sees_the_change_and_both_diagrams(new_page, live_server):
    from tests.webui.test_api_processes import XML, with_review_hop

    from engine.db import unit_of_work
    from processes.org import service as org
    from processes.procedures import service as procedures

    services = live_server.services
    with unit_of_work(services.sessions) as session:
        procedures.deploy(session, services.runtime, services.config, key="internal_transfer",
                          xml=with_review_hop(XML.replace('"R2/" + handover_sla', '"R2/PT3M"', 1)),
                          note="信贷部时限改为 3 分钟", actor=org.get_by_username(session, "manager"),
                          now=services.clock())
    page = new_page("manager2")
    page.goto("/procedures")
    page.get_by_role("link", name="查看变更与审批").click()
    expect(page.locator(".deployment-change")).to_contain_text("申请人: 王总(管理层)")
    expect(page.locator(".deployment-change .diff li.added").first).to_contain_text("新增")
    expect(page.locator('#cmp-new[data-ready="1"]')).to_have_count(1, timeout=15_000)
    expect(page.locator('#cmp-old[data-ready="1"]')).to_have_count(1, timeout=15_000)
    expect(page.locator('#cmp-new .djs-element.diff-changed[data-element-id="late_credit"]')).to_have_count(1)
    shoot(page, "i12-02-deployment-approval-after")
