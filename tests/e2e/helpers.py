"""What the browser scenarios do again and again: log in, fill a form, find an inbox row, poll, screenshot."""
from __future__ import annotations

import re
import time
from pathlib import Path

from conftest import DEMO_PASSWORD, GOOD_FORM
from playwright.sync_api import Locator, Page, expect

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
FAILURES = ROOT / "test-artifacts" / "failures"


def login(page: Page, username: str, password: str = DEMO_PASSWORD) -> None:
    """Log in through the login page; ends on the inbox."""
    page.goto("/login")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(password)
    page.locator("form button.primary").click()
    page.wait_for_url(re.compile(r"/inbox(\?|$)"))
    expect(page.locator(".topbar .who")).to_be_visible()


def shoot(page: Page, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def fill_form(page: Page, values: dict) -> None:
    """Fill the new-form page's fields by their codes."""
    for code, value in values.items():
        page.locator(f"#f-{code}").fill(value)


def submit_new_form(page: Page, **changes) -> str:
    """As the logged-in clerk: fill GOOD_FORM (with changes) and submit; returns the form number."""
    page.goto("/forms/new")
    fill_form(page, {**GOOD_FORM, **changes})
    page.get_by_role("button", name="提交并移交").click()
    page.wait_for_url(re.compile(r"/forms/\d+$"))
    expect(page.locator(".flash")).to_contain_text("已提交")
    number = page.locator("h1").inner_text().split()[1]
    assert re.fullmatch(r"YW\d{8}\d{6}", number), number
    return number


def inbox_row(page: Page, number: str, title: str) -> Locator:
    """The inbox row of the item titled `title` on form `number` (the title cell starts with it)."""
    return page.locator("table.inbox tbody tr[data-item]").filter(has_text=number).filter(
        has=page.get_by_role("link", name=title, exact=True))


def reload_until(page: Page, locator: Locator, *, timeout: float = 15.0, interval: float = 0.25, url: str | None = None,
                 what: str = "") -> Locator:
    """Reload the page (or open `url`) until `locator` matches something; the timers run in real time."""
    deadline = time.monotonic() + timeout
    while True:
        if url is not None:
            page.goto(url)
        if locator.count() > 0:
            return locator
        if time.monotonic() >= deadline:
            raise AssertionError(f"not seen within {timeout}s: {what or locator}")
        page.wait_for_timeout(interval * 1000)
        if url is None:
            page.reload()


def open_item(page: Page, row: Locator) -> None:
    """Open an inbox row's task page."""
    row.locator("td:first-child a").first.click()
    page.wait_for_url(re.compile(r"/tasks/[0-9a-f-]+$"))


def wait_for_diagram(page: Page) -> Locator:
    """The bpmn-js diagram, once it has imported the XML and set its markers."""
    diagram = page.locator('#diagram[data-ready="1"]')
    expect(diagram).to_have_count(1, timeout=15_000)
    return diagram


def shape(page: Page, element_id: str) -> Locator:
    """The diagram's drawn shape of a BPMN element."""
    return page.locator(f'#diagram .djs-element.djs-shape[data-element-id="{element_id}"]')


# Fill colours app.css gives the diagram's markers (what the user actually sees, not just the class).
FILLS = {"current": "rgb(255, 216, 168)", "done": "rgb(211, 249, 216)"}


def shape_fill(page: Page, element_id: str) -> str:
    """The computed fill of a shape's outline (its first drawn child: the task's rect, the event's circle)."""
    return shape(page, element_id).locator(".djs-visual > :first-child").evaluate("el => getComputedStyle(el).fill")


def expect_step(page: Page, element_id: str, state: str | None) -> None:
    """A diagram step is drawn as current (orange), done (green) or neither."""
    fill = shape_fill(page, element_id)
    if state is None:
        assert fill not in FILLS.values(), f"{element_id} is highlighted ({fill})"
    else:
        expect(shape(page, element_id)).to_have_class(re.compile(rf"\b{state}\b"))
        assert fill == FILLS[state], f"{element_id} should look {state} ({FILLS[state]}), is {fill}"
