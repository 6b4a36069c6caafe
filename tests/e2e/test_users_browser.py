"""账号管理 in a real browser: the manager signs a user out everywhere and that user's page is closed."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import shoot

pytestmark = pytest.mark.browser


def test_manager_signs_a_clerk_out_everywhere(new_page):
    clerk = new_page("clerk")
    manager = new_page("manager")
    manager.get_by_role("link", name="账号管理").click()
    manager.wait_for_url(re.compile(r"/admin/users$"))
    row = manager.locator('tr[data-user="clerk"]')
    expect(row).to_contain_text("陈柜员")
    shoot(manager, "users-admin")
    row.get_by_role("button", name="注销全部会话").click()
    expect(manager.locator(".flash")).to_contain_text("已失效")
    clerk.goto("/inbox")
    clerk.wait_for_url(re.compile(r"/login"))
