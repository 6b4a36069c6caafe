"""End-to-end in a real browser: handler designs a template, head and manager approve it, the clerk fills a form
with a bad ID number (Chinese error next to the field), fixes it, submits, and corrects a field with a signature."""
from __future__ import annotations

import re

import pytest
from conftest import GOOD_FORM
from playwright.sync_api import Page, expect

from .helpers import fill_form, inbox_row, open_item, shoot

pytestmark = pytest.mark.browser

NAME = "个人贷款申请单"


def add_row(page: Page, index: int, label: str, code: str, kind: str, required: bool = True) -> None:
    """Fill designer row `index` (1-based, as labelled on the page)."""
    page.get_by_label(f"字段名称 {index}", exact=True).fill(label)
    page.get_by_label(f"代码 {index}", exact=True).fill(code)
    page.get_by_label(f"类型 {index}", exact=True).select_option(kind)
    page.get_by_label(f"必填 {index}", exact=True).select_option("1" if required else "0")


def decide(page: Page, title: str, button: str, comment: str) -> None:
    page.goto("/inbox")
    row = inbox_row(page, NAME, title)
    expect(row).to_have_count(1)
    open_item(page, row)
    expect(page.locator("h1")).to_contain_text(title)
    expect(page.locator(".template-fields")).to_contain_text("身份证号码")
    expect(page.get_by_role("button", name="办理完成并移交")).to_have_count(0)
    page.locator("#comment").fill(comment)
    return page.get_by_role("button", name=button, exact=True)


def test_design_approve_fill_fix_submit_and_correct(new_page):
    # 1. handler (信贷部) designs the template; the R4.1.1 fields come filled in.
    handler = new_page("handler")
    handler.locator(".topbar nav").get_by_role("link", name="模板管理").click()
    handler.get_by_role("link", name="设计新模板").click()
    handler.wait_for_url(re.compile(r"/templates/new$"))
    handler.locator("#t-name").fill(NAME)
    handler.locator("#t-business_type").fill("个人贷款")
    expect(handler.get_by_label("代码 1", exact=True)).to_have_value("business_type")
    add_row(handler, 6, "身份证号码", "customer_id", "id_card")
    add_row(handler, 7, "银行卡号", "card_no", "bank_card", required=False)
    shoot(handler, "30-template-design")
    handler.get_by_role("button", name="提交审批").click()
    handler.wait_for_url(re.compile(r"/templates/\d+$"))
    expect(handler.locator(".flash")).to_contain_text("模板已提交审批")
    expect(handler.locator(".version .status").first).to_have_text("审批中")
    template_url = handler.url

    # 2. head reviews it from the inbox: 批准 / 退回 with a comment box.
    head = new_page("head")
    approve = decide(head, "部门负责人审核", "批准", "字段齐全, 同意")
    expect(head.get_by_role("button", name="退回", exact=True)).to_be_visible()
    shoot(head, "31-template-review-task")
    approve.click()
    head.wait_for_url(re.compile(r"/inbox"))
    expect(head.locator(".flash")).to_contain_text("已批准")

    # 3. management approves; only now is the version active.
    manager = new_page("manager")
    decide(manager, "公司管理层批准", "批准", "同意启用").click()
    expect(manager.locator(".flash")).to_contain_text("已批准")
    manager.goto(template_url)
    expect(manager.locator(".version .status").first).to_have_text("已启用")
    expect(manager.locator(".reviews").first).to_contain_text("字段齐全, 同意")
    shoot(manager, "32-template-active-with-approvals")

    # 4. the clerk fills a form on it with a bad ID number: the Chinese error stands next to the field.
    clerk = new_page("clerk")
    clerk.goto("/forms/new")
    clerk.locator("select[name=template_id]").select_option(label=NAME)
    clerk.wait_for_url(re.compile(r"template_id=\d+"))
    fill_form(clerk, {**GOOD_FORM, "customer_id": "110105194912310021", "card_no": "6222020200112345679"})
    clerk.get_by_role("button", name="提交并移交").click()
    bad = clerk.locator(".field.has-error")
    expect(bad).to_have_count(1)
    expect(bad.locator("label")).to_contain_text("身份证号码")
    expect(bad.locator(".field-error")).to_have_text("身份证号码校验位不正确, 请核对")
    assert "/forms/new" in clerk.url  # the browser caught it; nothing was sent
    shoot(clerk, "33-form-bad-id-number")

    # the server says the same when the browser check is bypassed (the server is the authority)
    with clerk.expect_response(lambda r: r.request.method == "POST" and "/forms/new" in r.url) as response:
        # form.submit() sends the form without a submit event, so the browser check does not run
        clerk.locator("form[data-validate]").evaluate("f => HTMLFormElement.prototype.submit.call(f)")
    assert response.value.status == 422
    expect(clerk.locator(".field.has-error .field-error")).to_have_text("身份证号码校验位不正确, 请核对")

    # 5. fix it and submit: the form page shows the ID masked.
    clerk.locator("#f-customer_id").fill("11010519491231002X")
    clerk.get_by_role("button", name="提交并移交").click()
    clerk.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(clerk.locator(".flash")).to_contain_text("已提交")
    expect(clerk.locator('dd[data-field="customer_id"] .value')).to_have_text("110105********002X")
    expect(clerk.locator('dd[data-field="card_no"] .value')).to_have_text("6222***********5679")
    expect(clerk.locator("main")).not_to_contain_text("11010519491231002X")
    shoot(clerk, "34-form-submitted-masked")

    # 6. correct the customer's name: wrong password refused, then signed with the right one.
    clerk.locator("#c-field").select_option("customer_name")
    clerk.locator("#c-new_value").fill("张三丰")
    clerk.locator("#c-reason").fill("客户姓名笔误")
    clerk.locator("#c-password").fill("not-my-password")
    clerk.get_by_role("button", name="签名并更正").click()
    expect(clerk.locator("#corrections .field-error")).to_have_text("密码不正确, 签名未通过")
    clerk.locator("#c-password").fill("guichet-demo")
    clerk.get_by_role("button", name="签名并更正").click()
    expect(clerk.locator(".flash")).to_contain_text("第 1 号更正章")
    expect(clerk.locator('dd[data-field="customer_name"]')).to_contain_text("张三丰")
    expect(clerk.locator('dd[data-field="customer_name"] .stamp')).to_have_text("更正 #1")
    clerk.locator("details.amendments summary").click()
    row = clerk.locator("table.corrections tbody tr")
    expect(row).to_have_count(1)
    expect(row.locator("del")).to_have_text("张三")
    expect(row.locator("ins")).to_have_text("张三丰")
    expect(row).to_contain_text("签名有效")
    shoot(clerk, "35-form-corrected-with-stamp")

    # 7. reveal the ID with a reason (audited), as the clerk who filled it.
    clerk.locator('dd[data-field="customer_id"] details.reveal summary').click()
    clerk.locator('dd[data-field="customer_id"] input[name=reason]').fill("客户来电核对")
    clerk.locator('dd[data-field="customer_id"]').get_by_role("button", name="查看").click()
    expect(clerk.locator('dd[data-field="customer_id"] .revealed')).to_have_text("11010519491231002X")

    # management sees all of it in the audit page
    manager.goto("/audit?verify=1")
    expect(manager.locator(".flash")).to_contain_text("审计链完整")
    for label in ("设计模板", "模板审核", "模板批准", "填单", "更正", "查看敏感信息", "移交"):
        expect(manager.locator("table.audit")).to_contain_text(label)
    shoot(manager, "36-audit-page")
