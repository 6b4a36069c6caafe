"""A clerk attaches a scanned document while filling a form; an allowed viewer downloads it from the form page."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import DEMO_PASSWORD, KYC_FORM, approve_template

from .helpers import fill_form, shoot

pytestmark = pytest.mark.browser
SCAN = b"%PDF-1.4 scanned contract"


def test_clerk_attaches_a_file(new_page, live_server, tmp_path):
    client = live_server.app.test_client()
    tokens = {}

    def auth(user):
        if user not in tokens:
            token = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD}).json["token"]
            tokens[user] = {"Authorization": f"Bearer {token}"}
        return tokens[user]

    template_id = approve_template(client, auth)
    scan = tmp_path / "合同扫描件.pdf"
    scan.write_bytes(SCAN)
    page = new_page("clerk")
    page.goto(f"/forms/new?template_id={template_id}")
    fill_form(page, {k: v for k, v in KYC_FORM.items() if k not in ("proof", "term")})
    page.locator("#f-term").select_option(KYC_FORM["term"])
    page.locator("#f-proof").set_input_files(str(scan))
    page.get_by_role("button", name="提交并移交").click()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(page.locator(".flash")).to_contain_text("已提交")
    link = page.locator("a[data-attachment]")
    expect(page.locator("ul.attachments")).to_contain_text("合同扫描件.pdf")
    shoot(page, "37-form-with-attachment")
    with page.expect_download(timeout=30000) as info:  # a loaded machine serves the file slowly
        link.click()
    assert info.value.suggested_filename == "合同扫描件.pdf"
    assert open(info.value.path(), "rb").read() == SCAN
