"""The head's inbox: 督办 items come first with how late their task is; 改派 offers the department's other staff."""
from __future__ import annotations

import re

import pytest

from engine.scheduler import TimerScheduler
from tests.conftest import build_app


@pytest.fixture
def pages(make_config, demo_hash, clock):
    app = build_app(make_config(), demo_hash, clock)
    app.config["WTF_CSRF_ENABLED"] = False

    def _login(username):
        c = app.test_client()
        assert c.post("/login", data={"username": username, "password": "guichet-demo"}).status_code == 302
        return c

    yield _login, app
    app.extensions["guichet_engine"].dispose()


def test_escalations_come_first_with_how_late_and_reassign_offers_other_staff(pages, clock):
    login, app = pages
    services = app.extensions["guichet"]
    clerk, head = login("clerk"), login("head")
    assert clerk.post("/forms/new", data={"business_type": "贷款", "customer_name": "张三", "content": "甲",
                                          "handled_at": "2026-03-02 09:30", "handled_by": "陈柜员",
                                          "action": "submit"}).status_code == 302
    handler = login("handler")
    late_hop = re.search(r"/tasks/([0-9a-f-]{36})", handler.get("/inbox").get_data(as_text=True)).group(1)
    handler.post(f"/tasks/{late_hop}/claim")
    clock.advance(hours=4, minutes=5)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    # a fresh form later: its hop waits in the head's queue with time left
    clerk.post("/forms/new", data={"business_type": "贷款", "customer_name": "李四", "content": "乙",
                                   "handled_at": "2026-03-02 13:30", "handled_by": "陈柜员", "action": "submit"})
    mine = handler.get("/inbox").get_data(as_text=True)
    assert '<span class="badge red" title="L1">一级督办</span>' in mine and "已升级" not in mine
    inbox = head.get("/inbox").get_data(as_text=True)
    rows = re.findall(r'<tr class="([^"]*)" data-item="([^"]+)">(.*?)</tr>', inbox, re.S)
    assert "escalation" in rows[0][0], [r[0] for r in rows]
    first = rows[0][2]
    assert 'class="sla late"' in first and "data-due=" in first and "—" not in first
    page = head.get(f"/tasks/{rows[0][1]}").get_data(as_text=True)
    select = re.search(r'<select name="assignee" aria-label="改派给">(.*?)</select>', page, re.S)
    offered = re.findall(r'<option value="([^"]+)"', select.group(1)) if select else []
    assert "head" not in offered and "handler" not in offered  # not himself, not who holds it already
    assert offered or "信贷部 暂无其他可改派的人员" in page
