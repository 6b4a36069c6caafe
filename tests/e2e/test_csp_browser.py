"""The pages work under the Content-Security-Policy: diagrams (bpmn-js), the modeler, htmx and the
form pages run with no policy violation in a real Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .helpers import shoot, submit_new_form, wait_for_diagram

pytestmark = pytest.mark.browser

WATCH = """() => { window.__violations = [];
  document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI)); }"""


def watched(page):
    """Record CSP violations and console errors on every page the test opens."""
    messages = []
    page.add_init_script(WATCH)
    page.on("console", lambda m: messages.append(m.text) if m.type == "error" else None)
    return messages


def violations(page) -> list[str]:
    return page.evaluate("window.__violations || []")


def test_pages_run_under_the_csp(new_page):
    clerk = new_page("clerk")
    errors = watched(clerk)
    clerk.goto("/forms/new")
    assert violations(clerk) == []
    number = submit_new_form(clerk)
    wait_for_diagram(clerk)
    assert clerk.locator("#diagram svg").count() >= 1
    assert violations(clerk) == [], violations(clerk)
    shoot(clerk, "csp-form-detail")

    manager = new_page("manager")
    errors += watched(manager)
    manager.goto("/procedures/internal_transfer")
    expect(manager.locator("table.versions tr[data-version]")).to_have_count(1)
    assert violations(manager) == []
    manager.get_by_role("link", name="在建模器中编辑最新版本").click()
    expect(manager.locator('#canvas[data-ready="1"]')).to_be_attached()
    assert violations(manager) == [], violations(manager)
    manager.goto("/instances/1")
    wait_for_diagram(manager)
    manager.goto("/inbox")
    manager.wait_for_url(re.compile(r"/inbox"))
    assert violations(manager) == []
    assert not [m for m in errors if "Content Security Policy" in m], errors
    assert number
