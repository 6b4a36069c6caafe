"""Fixtures of the browser suite: a live server (waitress + the real timer scheduler, real wall clock),
one headless Chromium per session, and logged-in pages per user (one browser context each)."""
from __future__ import annotations

import threading
from dataclasses import dataclass

import pytest
import waitress
from conftest import build_app
from flask import Flask

from engine.scheduler import TimerScheduler

from .helpers import FAILURES, login

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1280, "height": 900}
DEFAULT_SLA = "PT4H"  # long enough that no timer fires unless a test asks for a short one


@dataclass
class LiveServer:
    """The app served over HTTP on a free local port, with its timer scheduler ticking."""

    app: Flask
    server: object
    thread: threading.Thread
    scheduler: TimerScheduler
    url: str

    @property
    def services(self):
        return self.app.extensions["guichet"]

    @classmethod
    def start(cls, app: Flask) -> "LiveServer":
        services = app.extensions["guichet"]
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, name="waitress-live-server", daemon=True)
        thread.start()
        scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=0.2, clock=services.clock)
        services.scheduler = scheduler
        scheduler.start()
        return cls(app=app, server=server, thread=thread, scheduler=scheduler,
                   url=f"http://127.0.0.1:{server.effective_port}")

    def stop(self) -> None:
        self.scheduler.shutdown()
        self.services.scheduler = None
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=2)
        self.thread.join(timeout=3)
        self.app.extensions["guichet_engine"].dispose()


@pytest.fixture
def live_server(request, make_config, demo_hash):
    """The app on a fresh database, real clock, served by waitress, timers fired by a real TimerScheduler.

    The hop SLA is PT4H unless a test chooses settings by indirect parametrization, e.g.
    @pytest.mark.parametrize("live_server", [{"transfer": {"handover_sla": "PT2S"}}], indirect=True)
    """
    sections = {"transfer": {"handover_sla": DEFAULT_SLA}}  # fixed, whatever config.toml says
    for section, values in (getattr(request, "param", None) or {}).items():
        sections.setdefault(section, {}).update(values)
    server = LiveServer.start(build_app(make_config(**sections), demo_hash, clock=None))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_driver():
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="session")
def browser(playwright_driver):
    """One headless Debian Chromium for the whole session."""
    browser = playwright_driver.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def new_page(request, browser, live_server):
    """new_page(username=None) -> a page in a fresh zh-CN context (own cookies); logged in when a user is named.

    On failure every page opened in the test is saved under test-artifacts/failures/."""
    contexts = []

    def _open(username: str | None = None):
        context = browser.new_context(locale="zh-CN", viewport=VIEWPORT, base_url=live_server.url)
        context.set_default_timeout(10_000)
        contexts.append((username or "anonymous", context))
        page = context.new_page()
        if username:
            login(page, username)
        return page

    yield _open
    rep = getattr(request.node, "rep_call", None)
    failed = rep is not None and rep.failed
    for i, (who, context) in enumerate(contexts):
        if failed:
            FAILURES.mkdir(parents=True, exist_ok=True)
            for j, page in enumerate(context.pages):
                try:
                    page.screenshot(path=str(FAILURES / f"{request.node.name}-{i}-{who}-{j}.png"), full_page=True)
                except Exception:  # noqa: BLE001 - diagnostics only
                    pass
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh, not logged-in page (locale zh-CN) on the live server."""
    return new_page()
