"""In a real browser, the archivist files closed forms (档号), binds a volume, prints its catalogue (the PDF holds the
档号), shelves and moves it; the 存储安全 page shows a verified backup."""
from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from engine.db import unit_of_work
from processes.demo_history import seed_history

from .helpers import SCREENSHOTS, shoot

pytestmark = pytest.mark.browser
CODE = re.compile(r"G001-YW·\d{4}-D\d+-YY-\d{4}")


def test_archivist_files_binds_prints_and_moves_a_volume(new_page, live_server):
    services = live_server.services
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=8)
    page = new_page("archivist")
    page.get_by_role("link", name="档案管理").click()
    expect(page.locator("h1")).to_have_text("档案检索")
    page.get_by_role("link", name="待归档").click()
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(8)
    shoot(page, "archive-01-queue")
    page.get_by_label("全选").check()
    page.get_by_role("button", name="归档所选 (分配档号)").click()
    expect(page.locator(".flash")).to_contain_text("已归档 8 份")
    expect(page.locator("td.empty")).to_have_text("没有待归档的业务单")

    page.get_by_role("link", name="档案检索").click()
    codes = [c for c in page.locator("table tbody td:first-child").all_inner_texts() if CODE.fullmatch(c)]
    assert len(codes) == 8
    shoot(page, "archive-02-list")
    first = page.locator("table tbody tr").last  # the first filed: oldest
    kind = first.locator("td").nth(1).inner_text().split(" · ")[0]
    year = first.locator("td").nth(0).inner_text().split("·")[1][:4]
    code = first.locator("td").nth(0).inner_text()

    page.get_by_role("link", name="案卷").click()
    page.get_by_label("案卷题名").fill(f"{year}年度{kind}业务单")
    page.get_by_label("业务类型").fill(kind)
    page.get_by_label("年度").fill(year)
    page.get_by_role("button", name="立卷").click()
    expect(page.locator("h1")).to_contain_text(f"{year}年度{kind}业务单")
    page.get_by_label(re.compile(re.escape(code))).check()
    page.get_by_role("button", name="加入本卷").click()
    expect(page.locator(".flash")).to_contain_text("本卷现有")
    expect(page.locator("table").first).to_contain_text(code)
    page.get_by_role("button", name="装订 (此后不能再加入)").click()
    expect(page.locator(".flash")).to_have_text("案卷已装订")

    page.get_by_label("柜号").fill("A01")
    page.get_by_label("层号").fill("2")
    page.get_by_label("盒号").fill("3")
    page.get_by_role("button", name="保存位置").click()
    expect(page.locator(".flash")).to_contain_text("一号档案室 · A01柜 · 2层 · 3盒")
    page.get_by_label("柜号").fill("B02")
    page.get_by_role("button", name="保存位置").click()
    moves = page.locator("table").nth(1).locator("tbody tr")
    expect(moves).to_have_count(2)
    expect(moves.nth(1)).to_contain_text("一号档案室 · B02柜 · 2层 · 3盒")
    shoot(page, "archive-03-volume")

    with page.expect_download(timeout=30000) as info:  # a loaded machine serves the file slowly
        page.get_by_role("link", name="打印卷内目录 (PDF)").click()
    pdf = open(info.value.path(), "rb").read()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "卷内目录" in text and code in text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "archive-04-catalogue.pdf").write_bytes(pdf)

    page.locator("table").first.get_by_role("link", name=code).click()
    expect(page.locator("dd.archival-code")).to_contain_text(code)
    shoot(page, "archive-05-form")
    page.locator(".topbar nav").get_by_role("link", name="存储安全").click()
    page.get_by_role("button", name="立即备份并校验").click()
    expect(page.locator(".flash")).to_contain_text("备份完成")
    expect(page.locator("table").first).to_contain_text("通过")
    shoot(page, "archive-06-storage")
