"""What a new user hit in the first hour, in a real browser: double submission, correcting a returned form,
a form sent back with its messages, closed items, paging and search of the inbox."""
from __future__ import annotations

import re

from conftest import GOOD_FORM
from playwright.sync_api import expect
from sqlalchemy import func, select

from processes.forms.models import Form

from .helpers import fill_form, shoot


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
