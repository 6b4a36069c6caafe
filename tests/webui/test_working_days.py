"""SLAs in working days: a hop's due time and escalation timer counted on the 2026 statutory calendar; /healthz
warns when next year's holidays are not known."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from engine.scheduler import TimerScheduler
from tests.conftest import FixedClock, build_app

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def working_days_app(make_config, demo_hash):
    clock = FixedClock(datetime(2026, 9, 30, 16, 0, tzinfo=SH))  # the last working day before National Day
    app = build_app(make_config(transfer={"handover_sla": "2WD"}), demo_hash, clock)
    yield app, clock
    app.extensions["guichet_engine"].dispose()


def test_a_hop_due_in_two_working_days_falls_after_the_holiday(working_days_app, submit_form_on):
    app, clock = working_days_app
    client, auth = submit_form_on(app)
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    assert datetime.fromisoformat(hop["due_at"]).astimezone(SH) == datetime(2026, 10, 9, 16, 0, tzinfo=SH)
    services = app.extensions["guichet"]
    clock.now = datetime(2026, 10, 9, 15, 59, tzinfo=SH)  # through the holiday, nothing escalates
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    escalations = lambda: [t for t in client.get("/api/v1/tasks", headers=auth("head")).json  # noqa: E731
                           if t["kind"] == "escalation"]
    assert escalations() == []
    clock.now = datetime(2026, 10, 9, 16, 1, tzinfo=SH)
    TimerScheduler(services.runtime, services.sessions, clock=clock).tick()
    (escalation,) = escalations()
    assert escalation["escalation_level"] == 1


def test_healthz_warns_when_next_year_is_not_covered(working_days_app):
    app, clock = working_days_app
    client = app.test_client()
    report = client.get("/healthz").json["calendar"]
    assert report["this_year_covered"] is True and report["next_year_covered"] is False
    assert "2027 年的法定节假日尚未收录" in report["warning"]


@pytest.fixture
def submit_form_on():
    from tests.conftest import DEMO_PASSWORD, GOOD_FORM

    def _submit(app):
        client = app.test_client()
        tokens = {}

        def auth(user):
            if user not in tokens:
                r = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
                tokens[user] = {"Authorization": f"Bearer {r.json['token']}"}
            return tokens[user]

        template_id = next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json
                           if t["code"] == "general")
        r = client.post("/api/v1/forms", headers=auth("clerk"),
                        json={"template_id": template_id, "data": GOOD_FORM, "submit": True})
        assert r.status_code == 201, r.json
        return client, auth

    return _submit


def test_each_hop_counts_its_own_working_days_from_when_it_starts(working_days_app, submit_form_on):
    app, clock = working_days_app
    client, auth = submit_form_on(app)
    (hop,) = client.get("/api/v1/tasks", headers=auth("handler")).json
    clock.now = datetime(2026, 10, 9, 15, 0, tzinfo=SH)
    client.post(f"/api/v1/tasks/{hop['id']}/claim", headers=auth("handler"))
    r = client.post(f"/api/v1/tasks/{hop['id']}/complete", headers=auth("handler"), json={"data": {"decision": "complete"}})
    assert r.status_code == 200, r.json
    (close,) = client.get("/api/v1/tasks", headers=auth("clerk")).json
    # Friday 15:00: two hours, the worked Saturday 10-10, then six hours of Monday.
    assert datetime.fromisoformat(close["due_at"]).astimezone(SH) == datetime(2026, 10, 12, 15, 0, tzinfo=SH)
