"""对外移交 in a real browser: the handler asks, the head checks, the package goes out, the recipient signs on the
one-time link in a fresh browser without logging in, and the form page says 已签收."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, GOOD_FORM

from .helpers import shoot

pytestmark = pytest.mark.browser


@pytest.mark.timeout(180)
def test_start_check_send_sign_and_see_it_signed(new_page, live_server):
    client = live_server.app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "clerk", "password": DEMO_PASSWORD}).json["token"]
    form = client.post("/api/v1/forms", headers={"Authorization": f"Bearer {token}"},
                       json={"template_id": 1, "data": GOOD_FORM, "submit": True}).json

    handler = new_page("handler")
    handler.goto(f"/forms/{form['id']}")
    handler.get_by_role("link", name="申请对外移交").click()
    handler.locator("#x-recipient_unit").fill("某某人民法院")
    handler.locator("#x-recipient_name").fill("孙法官")
    handler.locator("#x-recipient_contact").fill("010-12345678")
    handler.locator("#x-purpose").fill("协助调查")
    handler.locator("#x-receipt_days").fill("100")
    handler.get_by_role("button", name="提交核对").click()
    expect(handler.locator(".field-error")).to_contain_text("1 至 90 天")  # refused, what was typed is kept
    expect(handler.locator("#x-recipient_unit")).to_have_value("某某人民法院")
    shoot(handler, "external-01-request-refused", full_page=False)
    handler.locator("#x-receipt_days").fill("7")
    handler.get_by_role("button", name="提交核对").click()
    handler.wait_for_url(re.compile(r"/external-transfers/\d+$"))
    expect(handler.locator("h1 .badge")).to_have_text("待核对")

    head = new_page("head")
    head.locator("table.inbox tbody tr").filter(has_text="对外移交至 某某人民法院").get_by_role("link", name="核对移交内容").click()
    expect(head.get_by_role("link", name="查看移交内容")).to_be_visible()
    shoot(head, "external-02-check")
    head.get_by_role("button", name="批准").click()
    head.wait_for_url(re.compile(r"/inbox"))

    handler.reload()
    expect(handler.locator("h1 .badge")).to_have_text("已发出, 待签收")
    digest = handler.locator("code[data-hash]").inner_text().strip()
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    with handler.expect_download(timeout=60_000) as info:  # the first PDF loads WeasyPrint
        handler.get_by_role("link", name="下载移交包 (PDF)").click(timeout=60_000)
    assert info.value.suggested_filename.endswith(".pdf")
    handler.get_by_role("button", name="生成签收链接").click()
    url = handler.locator("[data-receipt-url]").inner_text().strip()
    code = handler.locator("[data-receipt-code]").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code)
    shoot(handler, "external-03-sent-with-link")

    recipient = new_page()  # a fresh context: no login, no cookies
    recipient.goto(url)
    expect(recipient.locator("code[data-hash]")).to_have_text(digest)
    expect(recipient.locator("body")).not_to_contain_text("孙法官")
    recipient.locator("#r-name").fill("孙某")
    recipient.locator("#r-position").fill("书记员")
    recipient.locator("#r-unit").fill("某某人民法院")
    recipient.locator("#r-code").fill("000000" if code != "000000" else "111111")
    recipient.get_by_role("button", name="确认签收").click()
    expect(recipient.locator(".field-error")).to_contain_text("还可尝试 4 次")
    recipient.locator("#r-code").fill(code)
    shoot(recipient, "external-04-receipt-page")
    recipient.get_by_role("button", name="确认签收").click()
    expect(recipient.locator("h1[data-signed]")).to_have_text("已签收")
    shoot(recipient, "external-05-signed")
    recipient.goto(url)
    expect(recipient.locator(".error")).to_contain_text("已使用")

    handler.goto(f"/forms/{form['id']}")
    expect(handler.locator("#external .external-transfer")).to_contain_text("已签收")
    expect(handler.locator("#external .external-transfer")).to_contain_text("某某人民法院")
    shoot(handler, "external-06-form-page")
    handler.locator("#external a").first.click()
    expect(handler.locator("#receipt")).to_contain_text("孙某")
    shoot(handler, "external-07-transfer-received")
