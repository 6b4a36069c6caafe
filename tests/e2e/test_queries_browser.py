"""End-to-end in a real browser: the archivist applies to see a form of another department (with a copy),
the manager approves as the applicant's superior, manager2 gives management's special approval, the archivist
reads the form under the watermark and downloads its print; the manager reads the access log and revokes."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import inbox_row, open_item, shoot, submit_new_form

pytestmark = pytest.mark.browser


def approve(page, subject: str, title: str, comment: str) -> None:
    page.goto("/inbox")
    row = inbox_row(page, subject, title)
    expect(row).to_have_count(1)
    open_item(page, row)
    expect(page.locator("h1")).to_contain_text(title)
    expect(page.locator("section.card h2").filter(has_text="查询申请")).to_be_visible()
    page.locator("#comment").fill(comment)
    page.get_by_role("button", name="批准", exact=True).click()
    page.wait_for_url(re.compile(r"/inbox"))


def test_apply_approve_read_under_watermark_and_revoke(new_page):
    clerk = new_page("clerk")
    number = submit_new_form(clerk)

    archivist = new_page("archivist")
    archivist.locator(".topbar nav").get_by_role("link", name="查询申请").click()
    archivist.get_by_role("link", name="申请查询业务单").click()
    archivist.get_by_role("textbox", name="客户名称").fill("张三")
    archivist.get_by_role("button", name="查找业务单").click()
    expect(archivist.locator("#numbers")).to_have_value(re.compile(number))
    archivist.locator("#numbers").fill(number)
    archivist.locator("#purpose").fill("核对归档材料是否齐全")
    archivist.locator("#days").fill("3")
    archivist.get_by_label("需要复制或打印").check()
    archivist.get_by_role("button", name="提交审批").click()  # no field ticked: refused, what was typed kept
    expect(archivist.locator(".field-error")).to_contain_text("请选择要查看的字段")
    expect(archivist.locator("#purpose")).to_have_value("核对归档材料是否齐全")
    shoot(archivist, "60-query-apply-error")
    archivist.get_by_role("checkbox", name="客户名称").check()
    archivist.get_by_role("button", name="提交审批").click()
    archivist.wait_for_url(re.compile(r"/queries/\d+$"))
    expect(archivist.locator("h1 .badge")).to_have_text("审批中")
    query_url = archivist.url

    manager = new_page("manager")
    approve(manager, "赵档案员", "部门负责人审批", "同意查询")
    shoot(manager, "61-query-approved-by-superior")
    manager2 = new_page("manager2")
    manager2.goto("/inbox")
    row = manager2.locator("table.inbox tbody tr[data-item]").filter(has_text="赵档案员")
    open_item(manager2, row)
    shoot(manager2, "62-query-special-approval-task")
    manager2.locator("#comment").fill("涉及复制, 特别批准")
    manager2.get_by_role("button", name="批准", exact=True).click()

    archivist.goto(query_url)
    expect(archivist.locator("h1 .badge")).to_have_text("已批准")
    archivist.locator(".granted-forms").get_by_role("link", name=number).click()
    expect(archivist.locator(".watermark span").first).to_contain_text("赵档案员(档案室)")
    expect(archivist.locator(".watermark span").first).to_contain_text("查询授权 #")
    expect(archivist.locator("td[data-granted]")).to_have_text("张三")
    expect(archivist.locator("table.kv[data-form]")).to_contain_text("******")
    shoot(archivist, "63-query-form-under-watermark")
    with archivist.expect_download(timeout=60_000) as download:  # WeasyPrint is slow on a busy machine
        archivist.get_by_role("link", name="打印 / 下载 PDF").click(no_wait_after=True)
    assert download.value.suggested_filename == f"{number}.pdf"

    manager.goto(query_url)
    expect(manager.locator("#access-log tbody tr")).to_have_count(2)  # the page view and the print
    shoot(manager, "64-query-access-log")
    manager.get_by_role("button", name="撤销授权").click()
    expect(manager.locator("h1 .badge")).to_have_text("已撤销")
    archivist.reload()
    expect(archivist.locator("body")).to_contain_text("请申请查询授权")
