"""Escalation with real timers: SLAs of a second, a running scheduler thread, and a scheduler restart."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.db import unit_of_work
from engine.models import WorkItem
from engine.scheduler import TimerScheduler
from tests.conftest import GOOD_FORM, build_app

pytestmark = [pytest.mark.slow, pytest.mark.timeout(60)]  # starts scheduler threads


@pytest.fixture
def live(make_config, demo_hash):
    app = build_app(make_config(transfer={"handover_sla": "PT1S"}, engine={"min_timer_interval": "PT1S"}), demo_hash)  # the real clock
    services = app.extensions["guichet"]
    yield app, services
    if services.scheduler is not None:
        services.scheduler.shutdown()
    app.extensions["guichet_engine"].dispose()


def escalations(services):
    with unit_of_work(services.sessions) as s:
        return sorted((i.escalation_level, i.assignee) for i in s.scalars(
            select(WorkItem).where(WorkItem.kind == "escalation", WorkItem.status == "open")))


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def submit(app):
    client = app.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "clerk", "password": "guichet-demo"}).json["token"]
    r = client.post("/api/v1/forms", headers={"Authorization": f"Bearer {token}"},
                    json={"template_id": 1, "data": GOOD_FORM, "submit": True})
    assert r.status_code == 201


def test_level_one_then_level_two(live):
    app, services = live
    services.scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=0.1)
    services.scheduler.start()
    submit(app)
    assert escalations(services) == []
    assert wait_for(lambda: escalations(services) == [(1, "head")], 5)
    assert wait_for(lambda: escalations(services) == [(1, "head"), (2, "manager")], 5)


def test_a_timer_fires_when_due_not_at_the_next_tick(live):
    app, services = live
    submit(app)  # its hop's SLA passes in a second
    started = time.monotonic()
    services.scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=30)
    services.scheduler.start()  # ticks now, then in 30 s: in between it wakes when the timer falls due
    assert wait_for(lambda: escalations(services) == [(1, "head")], 5)
    assert time.monotonic() - started < 5
    assert wait_for(lambda: escalations(services) == [(1, "head"), (2, "manager")], 5)  # and so does level 2


def test_scheduler_restart_fires_what_was_missed_once(live):
    app, services = live
    submit(app)
    submit(app)
    time.sleep(1.2)  # the SLA passes while no scheduler runs
    assert escalations(services) == []
    services.scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=0.1)
    services.scheduler.start()
    assert wait_for(lambda: len(escalations(services)) >= 2, 5)
    time.sleep(0.3)
    levels = [level for level, _ in escalations(services)]
    assert levels.count(1) == 2 and len(levels) <= 4  # each first-level escalation exactly once


@pytest.fixture
def live_external(make_config, demo_hash):
    app = build_app(make_config(external={"receipt_day_seconds": 1}), demo_hash)  # a receipt day of one second
    services = app.extensions["guichet"]
    yield app, services
    if services.scheduler is not None:
        services.scheduler.shutdown()
    app.extensions["guichet_engine"].dispose()


@pytest.mark.timeout(60)
def test_a_missing_external_receipt_escalates_on_a_real_timer(live_external):
    app, services = live_external
    client = app.test_client()
    tokens = {u: client.post("/api/v1/auth/token", json={"username": u, "password": "guichet-demo"}).json["token"]
              for u in ("clerk", "handler", "head")}
    form = client.post("/api/v1/forms", headers={"Authorization": f"Bearer {tokens['clerk']}"},
                       json={"template_id": 1, "data": GOOD_FORM, "submit": True}).json
    r = client.post(f"/api/v1/forms/{form['id']}/external-transfers", headers={"Authorization": f"Bearer {tokens['handler']}"},
                    json={"recipient_unit": "某某银行", "recipient_name": "钱经理", "recipient_contact": "021-1234",
                          "purpose": "联合授信", "receipt_days": 1})
    assert r.status_code == 201, r.json
    head = {"Authorization": f"Bearer {tokens['head']}"}
    (check,) = client.get("/api/v1/tasks", headers=head, query_string={"process": "external_transfer"}).json
    assert client.post(f"/api/v1/tasks/{check['id']}/complete", headers=head,
                       json={"data": {"decision": "approve"}}).status_code == 200
    services.scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=0.1)
    services.scheduler.start()
    assert wait_for(lambda: (1, "head") in escalations(services)), escalations(services)
    assert wait_for(lambda: (2, "manager") in escalations(services)), escalations(services)
