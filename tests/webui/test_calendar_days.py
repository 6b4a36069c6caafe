"""工作日历: management lists extra holidays and working days for years the statutory calendar does not know
(2027 here); working-day SLAs count with them at once, each change is audited, /healthz stops warning."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import GOOD_FORM, FixedClock, build_app
from tests.webui.test_working_days import submit_form_on  # noqa: F401 - the fixture

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def app_2027(make_config, demo_hash):
    clock = FixedClock(datetime(2027, 1, 29, 16, 0, tzinfo=SH))  # a Friday afternoon; 2027 is not published yet
    app = build_app(make_config(transfer={"handover_sla": "2WD"}), demo_hash, clock)
    yield app
    app.extensions["guichet_engine"].dispose()


def _due(client, auth):
    hops = [t for t in client.get("/api/v1/tasks", headers=auth("handler")).json if t["kind"] == "task"]
    return max(datetime.fromisoformat(h["due_at"]).astimezone(SH) for h in hops)


def test_a_listed_holiday_moves_a_two_working_day_due_date(app_2027, submit_form_on):  # noqa: F811
    client, auth = submit_form_on(app_2027)
    # Friday 16:00 + 2 working days of office hours (09:00-17:00), Monday to Friday: Tuesday 16:00
    assert _due(client, auth) == datetime(2027, 2, 2, 16, 0, tzinfo=SH)
    r = client.put("/api/v1/calendar/days/2027-02-01", headers=auth("manager"), json={"kind": "holiday", "note": "春节调整"})
    assert r.status_code == 200 and r.json["kind"] == "holiday" and r.json["changed_by"] == "manager"
    template_id = next(t["id"] for t in client.get("/api/v1/templates", headers=auth("clerk")).json
                       if t["code"] == "general")
    assert client.post("/api/v1/forms", headers=auth("clerk"),
                       json={"template_id": template_id, "data": GOOD_FORM, "submit": True}).status_code == 201
    assert _due(client, auth) == datetime(2027, 2, 3, 16, 0, tzinfo=SH)  # Monday off: Wednesday 16:00
    # a Saturday listed as a working day (调休) counts again
    assert client.put("/api/v1/calendar/days/2027-01-30", headers=auth("manager"),
                      json={"kind": "workday"}).status_code == 200
    listed = client.get("/api/v1/calendar/days", headers=auth("manager")).json
    assert [(d["day"], d["kind"]) for d in listed] == [("2027-01-30", "workday"), ("2027-02-01", "holiday")]
    events = client.get("/api/v1/audit", headers=auth("manager"), query_string={"action": "calendar.day_set"}).json
    assert {e["object_id"] for e in events} == {"2027-01-30", "2027-02-01"}
    assert client.delete("/api/v1/calendar/days/2027-01-30", headers=auth("manager")).status_code == 204
    assert client.delete("/api/v1/calendar/days/2027-01-30", headers=auth("manager")).status_code == 404


def test_bad_input_and_other_roles_are_refused_in_words(app_2027, submit_form_on):  # noqa: F811
    client, auth = submit_form_on(app_2027)
    r = client.put("/api/v1/calendar/days/2027-13-01", headers=auth("manager"), json={"kind": "holiday"})
    assert r.status_code == 422 and "请选择日期" in r.json["message"]
    r = client.put("/api/v1/calendar/days/2027-02-01", headers=auth("manager"), json={"kind": "party"})
    assert r.status_code == 422 and "放假" in r.json["message"]
    r = client.put("/api/v1/calendar/days/2027-02-01", headers=auth("clerk"), json={"kind": "holiday"})
    assert r.status_code == 403 and "工作日历" in r.json["message"]
    assert client.get("/api/v1/calendar/days", headers=auth("manager")).json == []


def test_healthz_stops_warning_once_next_year_is_listed(app_2027, submit_form_on):  # noqa: F811
    client, auth = submit_form_on(app_2027)
    report = client.get("/healthz").json["calendar"]
    assert report["this_year_covered"] is False and "2028 年的法定节假日尚未收录" in report["warning"]
    assert "工作日历" in report["warning"]
    for day in ("2027-01-01", "2028-01-01"):
        assert client.put(f"/api/v1/calendar/days/{day}", headers=auth("manager"), json={"kind": "holiday"}).status_code == 200
    report = client.get("/healthz").json["calendar"]
    assert report["this_year_covered"] is True and report["next_year_covered"] is True and "warning" not in report


def test_the_calendar_page(app_2027):
    app_2027.config["WTF_CSRF_ENABLED"] = False
    manager = app_2027.test_client()
    assert manager.post("/login", data={"username": "manager", "password": "guichet-demo"}).status_code == 302
    page = manager.get("/admin/calendar").get_data(as_text=True)
    assert "工作日历" in page and "2027 年: 未收录" in page and "尚未列出任何日子" in page
    r = manager.post("/admin/calendar", data={"day": "", "kind": "holiday", "note": ""})
    assert r.status_code == 422 and "请选择日期" in r.get_data(as_text=True)
    r = manager.post("/admin/calendar", data={"day": "2027-02-01", "kind": "holiday", "note": "春节调整"})
    assert r.status_code == 302
    page = manager.get("/admin/calendar").get_data(as_text=True)
    assert 'data-day="2027-02-01"' in page and "春节调整" in page and "已保存: 2027-02-01 放假" in page
    assert manager.post("/admin/calendar/2027-02-01/remove").status_code == 302
    assert 'data-day="2027-02-01"' not in manager.get("/admin/calendar").get_data(as_text=True)
    clerk = app_2027.test_client()
    assert clerk.post("/login", data={"username": "clerk", "password": "guichet-demo"}).status_code == 302
    assert clerk.get("/admin/calendar").status_code == 403
    assert "工作日历" not in clerk.get("/inbox").get_data(as_text=True)
    assert "/admin/calendar" in manager.get("/admin/users").get_data(as_text=True)  # beside the accounts
