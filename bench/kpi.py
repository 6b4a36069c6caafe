"""KPIs (R5.4) over a company-year of 1,000,000 forms and 3,000,000 handovers (SQLite).

The data is bulk-inserted with recursive CTEs straight into form, handover and correction (no engine runs),
spread over one past year and ten departments with three people each: one hop in ten late, one in 33 a
return for correction, one form in 20 corrected. Times (p95):
- kpi_ms_department_month: the three KPIs of one department for one month, computed fresh (no snapshot);
- kpi_ms_company_year: the whole company for the year once the monthly job has frozen its months — what the
  dashboard and the API read (goal ≤ 200 ms);
- kpi_ms_company_year_fresh: the same year recomputed from the records (what `compare` costs), for reference;
- kpi_freeze_month_s: the monthly snapshot job for one month.
The first read of a cold database is slower (the pages come from disk); it is in the notes.
"""
from __future__ import annotations

import sqlite3
import time
from datetime import datetime, timezone

from sqlalchemy import select

from .common import build_app, make_config, median, percentile, say, size, sqlite_url, tempdir

EXTRA_DEPARTMENTS = [(f"bench{i:02d}", f"基准部门{i:02d}") for i in range(1, 5)]
TS = "strftime('%Y-%m-%d %H:%M:%S', :base, ({}) || ' seconds') || '.000000'"  # stored format of UTCDateTime


def _load(path: str, *, forms: int, hops_per_form: int, version_id: int, departments: list[tuple[int, str]],
          base: str) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    db.execute("CREATE TEMP TABLE dept(k INTEGER PRIMARY KEY, id INTEGER, name TEXT)")
    db.executemany("INSERT INTO dept VALUES (?, ?, ?)", [(k, i, n) for k, (i, n) in enumerate(departments)])
    p = {"base": base, "forms": forms, "hops": forms * hops_per_form, "per": hops_per_form, "nd": len(departments),
         "step": 365 * 86400 / forms, "ver": version_id}
    seq = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :{})"
    say(f"  kpi data: {forms:,} forms …")
    db.execute(seq.format("forms") + f"""
        INSERT INTO form (id, number, template_version_id, business_type, status, data, created_by, department_id,
            created_at, submitted_at, closed_at, process_instance_id)
        SELECT 1000 + i, printf('KB%09d', i), :ver, '个人贷款申请', 'closed', '{{}}',
            printf('user_%d_%d', d.k, (i / :nd) % 3), d.id, {TS.format("CAST(i * :step AS INTEGER)")},
            {TS.format("CAST(i * :step AS INTEGER)")}, {TS.format("CAST(i * :step AS INTEGER) + 86400")}, NULL
        FROM n JOIN dept d ON d.k = n.i % :nd""", p)
    db.commit()
    say(f"  kpi data: {forms * hops_per_form:,} handovers …")
    db.execute(seq.format("hops") + f"""
        INSERT INTO handover (form_id, instance_id, work_item_id, kind, step, step_name, from_department, from_user,
            to_department, to_user, handed_at, received_at, due_at, completed_at, completed_by, status, overdue,
            late_reason, comment)
        SELECT 1000 + 1 + (i - 1) / :per, 1, 'bench', CASE WHEN i % 33 = 0 THEN 'return' ELSE 'handover' END,
            'hop', '办理', '营业部', 'clerk', d.name, printf('user_%d_%d', d.k, i % 3),
            {TS.format("CAST(((i - 1) / :per) * :step AS INTEGER) + (i % :per) * 3600")}, NULL,
            {TS.format("CAST(((i - 1) / :per) * :step AS INTEGER) + (i % :per) * 3600 + 14400")},
            {TS.format("CAST(((i - 1) / :per) * :step AS INTEGER) + (i % :per) * 3600 + 7200")},
            printf('user_%d_%d', d.k, i % 3), CASE WHEN i % 33 = 0 THEN 'returned' ELSE 'completed' END,
            CASE WHEN (i / 7) % 10 = 0 THEN 1 ELSE 0 END, CASE WHEN (i / 7) % 10 = 0 THEN '客户补件' END, NULL
        FROM n JOIN dept d ON d.k = ((i - 1) / :per + i) % :nd""", p)
    db.commit()
    say("  kpi data: corrections …")
    db.execute("""
        INSERT INTO correction (form_id, seq, field, old_value, new_value, reason, corrected_by, corrected_at, signature)
        SELECT id, 1, 'content', 'a', 'b', '填错', created_by, submitted_at, 'bench' FROM form WHERE (id / 7) % 20 = 0""")
    db.commit()
    db.execute("ANALYZE")
    db.close()


def _times(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def run() -> tuple[dict, dict]:
    from engine.db import unit_of_work
    from processes.forms.models import TemplateVersion
    from processes.org.models import Department
    from processes.supervision import kpi, periods

    forms, hops_per_form, repeats = size("kpi_forms", 1_000_000), 3, size("kpi_requests", 100)
    folder = tempdir("kpi")
    config = make_config(sqlite_url(folder), folder)
    app = build_app(config)
    services = app.extensions["guichet"]
    with unit_of_work(services.sessions) as session:
        for code, name in EXTRA_DEPARTMENTS:
            session.add(Department(code=code, name=name))
        session.flush()
        departments = [(d.id, d.name) for d in session.scalars(select(Department).order_by(Department.id))]
        version_id = session.scalars(select(TemplateVersion.id)).first()
    year = datetime.now(timezone.utc).year - 1
    start = time.perf_counter()
    say(f"kpi: loading {forms:,} forms and {forms * hops_per_form:,} handovers over {len(departments)} departments …")
    _load(config["database"]["url"].split("///", 1)[1], forms=forms, hops_per_form=hops_per_form, version_id=version_id,
          departments=departments, base=f"{year - 1}-12-31 16:00:00")  # 1 January 00:00 in Shanghai
    load_s = time.perf_counter() - start
    month, whole = periods.parse(f"{year}-06"), periods.parse(str(year))
    credit = departments[1][1]

    def figures(period, **scope):
        with unit_of_work(services.sessions) as session:
            return kpi.figures(session, config, period, **scope)

    say(f"kpi: loaded in {load_s:.1f} s; {repeats} × one department-month (fresh) …")
    dept_month = _times(lambda: figures(month, department=credit), repeats)
    say("kpi: 3 × the company-year (fresh) …")
    year_fresh = _times(lambda: figures(whole), 3)
    say("kpi: freezing 12 months …")
    freeze = []
    for m in whole.months:
        t = time.perf_counter()
        with unit_of_work(services.sessions) as session:
            kpi.freeze_month(session, config, month=m, now=datetime.now(timezone.utc))
        freeze.append(time.perf_counter() - t)
    say(f"kpi: {repeats} × the company-year (frozen) …")
    year_frozen = _times(lambda: figures(whole), repeats)
    dept_year_frozen = _times(lambda: figures(whole, department=credit), repeats)
    sample = figures(whole)
    app.extensions["guichet_engine"].dispose()
    metrics = {
        "kpi_ms_department_month": round(percentile(dept_month, 95), 2),
        "kpi_ms_company_year": round(percentile(year_frozen, 95), 2),
        "kpi_ms_department_year": round(percentile(dept_year_frozen, 95), 2),
        "kpi_ms_company_year_fresh": round(percentile(year_fresh, 95), 1),
        "kpi_freeze_month_s": round(max(freeze), 2),
    }
    notes = {"kpi": {"forms": forms, "handovers": forms * hops_per_form, "load_s": round(load_s, 1),
                     "median_ms": {"department_month": round(median(dept_month), 2),
                                   "company_year": round(median(year_frozen), 2),
                                   "first_department_month": round(dept_month[0], 1)},
                     "company_year": {k: v for k, v in sample.items() if k != "snapshot"}}}
    return metrics, notes
