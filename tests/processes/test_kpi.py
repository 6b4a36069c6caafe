"""The three KPIs (R5.4) from records seeded with known counts, their drill-down, snapshots and exports."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from openpyxl import load_workbook

from engine import cron
from engine.db import unit_of_work
from processes.supervision import kpi, periods

PERIOD = "2026-03"


def tasks(client, auth, user):
    return client.get("/api/v1/tasks", headers=auth(user), query_string={"process": "internal_transfer"}).json


def complete(client, auth, user, item_id, **data):
    r = client.post(f"/api/v1/tasks/{item_id}/complete", headers=auth(user), json={"data": data})
    assert r.status_code == 200, r.json
    return r


@pytest.fixture
def march(client, auth, submit_form, clock):
    """8 forms filled by clerk (营业部); 信贷部 completes their 8 hops: handler 4 (one late), head 4; one form is
    returned for correction and one corrected. Expected: on time 7/8 (handler 3/4, head 4/4); accuracy 6/8."""
    forms = [submit_form(customer_name=f"客户{i}") for i in range(8)]
    hops = {h["form_id"]: h for h in tasks(client, auth, "head")}
    order = [f["id"] for f in forms]
    for form_id in order[:3]:
        complete(client, auth, "handler", hops[form_id]["id"], decision="return" if form_id == order[1] else "complete")
    for form_id in order[3:7]:
        complete(client, auth, "head", hops[form_id]["id"])
    r = client.post(f"/api/v1/forms/{order[4]}/corrections", headers=auth("clerk"),
                    json={"field": "content", "new_value": "申请个人住房贷款 60 万元", "reason": "金额填错",
                          "password": "guichet-demo"})
    assert r.status_code in (200, 201), r.json
    clock.advance(hours=5)
    complete(client, auth, "handler", hops[order[7]]["id"], late_reason="客户补件")
    return order


def get_kpis(client, auth, user="hr", **query):
    return client.get("/api/v1/kpis", headers=auth(user), query_string={"period": PERIOD, **query})


def test_exact_rates_for_department_and_person(client, auth, march):
    credit = get_kpis(client, auth, department="信贷部").json
    assert credit["on_time_circulation"] == {"rate": 0.875, "numerator": 7, "denominator": 8}
    assert credit["filling_accuracy"] == {"rate": None, "numerator": 0, "denominator": 0}
    counter = get_kpis(client, auth, department="营业部").json
    assert counter["filling_accuracy"] == {"rate": 0.75, "numerator": 6, "denominator": 8}
    assert get_kpis(client, auth, person="handler").json["on_time_circulation"] == \
        {"rate": 0.75, "numerator": 3, "denominator": 4}
    assert get_kpis(client, auth, person="head", department="信贷部").json["on_time_circulation"]["rate"] == 1.0
    assert get_kpis(client, auth, person="clerk").json["filling_accuracy"]["rate"] == 0.75
    company = get_kpis(client, auth).json
    assert company["on_time_circulation"]["denominator"] == 8
    # storage security has no records yet: no data, never 100%
    assert company["storage_security"] == {"rate": None, "numerator": 0, "denominator": 0}
    for period in ("2026Q1", "2026"):
        assert get_kpis(client, auth, period=period, department="信贷部").json["on_time_circulation"]["rate"] == 0.875
    assert get_kpis(client, auth, period="2026-04", department="信贷部").json["on_time_circulation"]["denominator"] == 0


def test_drill_down_counts_equal_the_denominators(client, auth, march):
    for metric, department, expected in (("on_time_circulation", "信贷部", 8), ("filling_accuracy", "营业部", 8)):
        r = client.get("/api/v1/kpis/records", headers=auth("hr"),
                       query_string={"period": PERIOD, "department": department, "metric": metric})
        assert r.status_code == 200, r.json
        assert r.json["total"] == expected == len(r.json["records"])
        counted = sum(1 for rec in r.json["records"] if rec["counts"])
        figure = get_kpis(client, auth, department=department).json[metric]
        assert counted == figure["numerator"] and r.json["total"] == figure["denominator"]
    late = [rec for rec in client.get("/api/v1/kpis/records", headers=auth("hr"), query_string={
        "period": PERIOD, "person": "handler", "metric": "on_time_circulation"}).json["records"] if not rec["counts"]]
    assert [rec["late_reason"] for rec in late] == ["客户补件"]


def test_bad_periods_and_other_peoples_figures_are_refused(client, auth):
    for bad in ("2026-13", "2026Q5", "26", "2026-1", "明年"):
        r = get_kpis(client, auth, period=bad)
        assert r.status_code == 422 and "period" in r.json["fields"] and "2026" in r.json["message"], bad
    assert get_kpis(client, auth, user="clerk", department="信贷部").status_code == 403
    assert get_kpis(client, auth, user="clerk").status_code == 403
    assert get_kpis(client, auth, user="clerk", person="clerk").status_code == 200
    assert get_kpis(client, auth, user="head", department="信贷部").status_code == 200
    assert get_kpis(client, auth, user="head", department="营业部").status_code == 403
    assert client.get("/api/v1/kpis/export.xlsx", headers=auth("handler"), query_string={"period": PERIOD}).status_code == 403
    r = client.get("/api/v1/kpis/records", headers=auth("hr"), query_string={"period": PERIOD, "metric": "speed"})
    assert r.status_code == 422 and "metric" in r.json["fields"]
    assert client.get("/api/v1/kpis", query_string={"period": PERIOD}).status_code == 401


def test_snapshot_freezes_a_month_and_says_when_it_differs(client, auth, march, services, submit_form):
    job = services.runtime.cron.jobs["supervision.kpi_snapshot"]
    first_of_april = datetime(2026, 3, 31, 17, 30, tzinfo=timezone.utc)  # 01:30 on 1 April in Shanghai
    run = cron.run_once(services.sessions, job, owner="test", clock=lambda: first_of_april,
                        zone=kpi.zone_of(services.config))
    assert run.status == "done" and run.period == PERIOD, run.detail
    assert cron.run_once(services.sessions, job, owner="again", clock=lambda: first_of_april,
                         zone=kpi.zone_of(services.config)) is None  # claimed once per period
    frozen = get_kpis(client, auth, department="营业部", compare=1).json
    assert frozen["snapshot"]["months"] == [PERIOD] and frozen["snapshot"]["differs"] is False
    # a later correction of a March form changes a fresh computation, not the frozen month
    form_id = march[0]
    r = client.post(f"/api/v1/forms/{form_id}/corrections", headers=auth("clerk"),
                    json={"field": "content", "new_value": "改", "reason": "补正内容", "password": "guichet-demo"})
    assert r.status_code in (200, 201)
    after = get_kpis(client, auth, department="营业部", compare=1).json
    assert after["filling_accuracy"] == {"rate": 0.75, "numerator": 6, "denominator": 8}
    assert after["snapshot"]["differs"] is True
    assert after["snapshot"]["fresh"]["filling_accuracy"]["numerator"] == 5
    # the ranking and the person figures read the same snapshot
    with unit_of_work(services.sessions) as session:
        ranking = kpi.ranking(session, services.config, periods.parse(PERIOD), department="信贷部")
        assert {r["person"]: r["on_time_circulation"]["rate"] for r in ranking} == {"handler": 0.75, "head": 1.0}
        assert kpi.freeze_month(session, services.config, month=PERIOD, now=first_of_april) == 0


def test_exports_open_with_the_same_figures(client, auth, march):
    r = client.get("/api/v1/kpis/export.xlsx", headers=auth("hr"), query_string={"period": PERIOD})
    assert r.status_code == 200 and "attachment" in r.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(r.data))["考核指标"]
    rows = {(row[1], row[2] or ""): row for row in sheet.iter_rows(min_row=2, values_only=True)}
    company, credit = rows[("全公司", "")], rows[("信贷部", "")]
    assert credit[6:9] == (0.875, 7, 8) and credit[3] == "无数据"
    assert rows[("营业部", "")][3:6] == (0.75, 6, 8)
    assert company[9] == "无数据" and company[6:9] == (0.875, 7, 8)
    r = client.get("/api/v1/kpis/export.csv", headers=auth("hr"), query_string={"period": PERIOD, "department": "信贷部"})
    lines = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert lines[0][:3] == ["期间", "部门", "人员"]
    by_person = {line[2]: line for line in lines[1:]}
    assert by_person[""][6:9] == ["0.875", "7", "8"]
    assert any("张经办" in name for name in by_person) and by_person[next(n for n in by_person if "张经办" in n)][6] == "0.75"


def test_storage_security_counts_integrity_runs_and_backup_verifications(services, client, auth):
    """Three checks in March, two passed: 2/3 for the company; departments and people have no storage figure."""
    from processes.archive.models import Backup, IntegrityRun

    at = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
    with unit_of_work(services.sessions) as s:
        s.add_all([IntegrityRun(started_at=at, finished_at=at, checked=10, mismatches=0, total=10),
                   IntegrityRun(started_at=at, finished_at=at, checked=10, mismatches=1, total=10),
                   Backup(created_at=at, filename="b.db", sha256="0" * 64, size=1, manifest={}, created_by="system",
                          verified=True, verified_at=at),
                   Backup(created_at=at, filename="c.db", sha256="1" * 64, size=1, manifest={}, created_by="system",
                          verified=None)])
    assert get_kpis(client, auth).json["storage_security"] == {"rate": 0.6667, "numerator": 2, "denominator": 3}
    assert get_kpis(client, auth, department="档案室").json["storage_security"]["rate"] is None
    assert get_kpis(client, auth, period="2026-04").json["storage_security"]["rate"] is None
