"""5. One inbox page for a 信贷部 handler, with 1,000,000 forms and 100,000 open work items (SQLite).

The data is bulk-inserted with recursive CTEs straight into form, process_instance and work_item (no
engine runs). Open items are spread over 10 departments and a few assignees, due times over ±3 days so
some are overdue. Times: GET /api/v1/tasks through Flask's test client (Flask + auth + schema + query),
and the bare processes.inbox.service.list_items; also counts() which the inbox page shows.
"""
from __future__ import annotations

import sqlite3
import time

from sqlalchemy import select

from . import frontend
from .common import build_app, make_config, median, percentile, say, size, sqlite_url, tempdir, utcnow

EXTRA_DEPARTMENTS = [(f"bench{i:02d}", f"基准部门{i:02d}") for i in range(6, 11)]
ASSIGNEES = ["handler", "head"]
TS = "strftime('%Y-%m-%d %H:%M:%S', :base, ({}) || ' seconds') || '.000000'"  # stored format of UTCDateTime


def _load(path: str, *, forms: int, open_items: int, done_items: int, definition_id: int, version_id: int,
          groups: list[str], base: str) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    p = {"base": base, "forms": forms, "open": open_items, "done": done_items, "def": definition_id,
         "ver": version_id, "ngroups": len(groups), "nassignees": len(ASSIGNEES)}
    db.execute("CREATE TEMP TABLE grp(k INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO grp VALUES (?, ?)", list(enumerate(groups)))
    db.execute("CREATE TEMP TABLE who(k INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO who VALUES (?, ?)", list(enumerate(ASSIGNEES)))
    start_id = db.execute("SELECT coalesce(max(id), 0) FROM process_instance").fetchone()[0]
    p["off"] = start_id
    # Forms 1..open are in transfer (one open item each); the rest are closed.
    seq = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :{})"
    say(f"  inbox data: {forms:,} process instances …")
    db.execute(seq.format("forms") + f"""
        INSERT INTO process_instance (id, definition_id, process_key, business_key, subject, ref_type, ref_id, status,
            state, serializer_version, lock_version, started_by, started_at, updated_at, ended_at)
        SELECT :off + i, :def, 'internal_transfer', printf('YW%08d', :off + i), printf('YW%08d 个人贷款申请', :off + i),
            'form', :off + i, CASE WHEN i <= :open THEN 'running' ELSE 'completed' END, '{{}}', 'bulk', 1, 'clerk',
            {TS.format("-i * 30")}, {TS.format("-i * 30")}, CASE WHEN i <= :open THEN NULL ELSE {TS.format("-i * 30 + 3600")} END
        FROM n""", p)
    db.commit()
    say(f"  inbox data: {forms:,} forms …")
    db.execute(seq.format("forms") + f"""
        INSERT INTO form (id, number, template_version_id, business_type, status, data, created_by, department_id,
            created_at, submitted_at, closed_at, process_instance_id)
        SELECT :off + i, printf('YW%08d', :off + i), :ver, '个人贷款申请', CASE WHEN i <= :open THEN 'in_transfer' ELSE 'closed' END,
            json_object('business_type', '个人贷款申请', 'customer_name', '客户' || i, 'content', '申请个人住房贷款',
                        'handled_at', '2026-03-02 09:30', 'handled_by', '陈柜员'),
            'clerk', 1, {TS.format("-i * 30")}, {TS.format("-i * 30")},
            CASE WHEN i <= :open THEN NULL ELSE {TS.format("-i * 30 + 3600")} END, :off + i
        FROM n""", p)
    db.commit()
    say(f"  inbox data: {open_items:,} open + {done_items:,} done work items …")
    # Open items: group by i % 10; one in five assigned (信贷部: handler or head; elsewhere a few names per
    # department); due over -3 days .. +3 days.
    db.execute(seq.format("open") + f"""
        INSERT INTO work_item (id, instance_id, parent_id, kind, task_id, task_name, title, process_key, lane,
            candidate_group, assignee, status, subject, ref_type, ref_id, due_at, sort_due, escalation_level,
            has_follow_ups, created_at)
        SELECT printf('00000000-0000-4000-8000-%012d', i), :off + i, NULL, 'task', printf('10000000-0000-4000-8000-%012d', i),
            'hop_credit', '信贷部办理', 'internal_transfer', g.name, g.name,
            CASE WHEN (i / 10) % 5 = 0 THEN CASE WHEN g.name = '信贷部' THEN (SELECT name FROM who WHERE who.k = (n.i / 50) % 2)
                 ELSE printf('user_%d_%d', g.k, (n.i / 50) % 3) END END,
            'open', printf('YW%08d 个人贷款申请', :off + i), 'form', :off + i,
            {TS.format("((i * 7919) % 518400) - 259200")}, {TS.format("((i * 7919) % 518400) - 259200")}, 0, 0,
            {TS.format("-i * 30")}
        FROM n JOIN grp g ON g.k = n.i % :ngroups""", p)
    db.execute(seq.format("done") + f"""
        INSERT INTO work_item (id, instance_id, parent_id, kind, task_id, task_name, title, process_key, lane,
            candidate_group, assignee, status, subject, ref_type, ref_id, due_at, sort_due, escalation_level,
            has_follow_ups, created_at, completed_at, completed_by)
        SELECT printf('00000000-0000-4000-9000-%012d', i), :off + :open + 1 + (i % (:forms - :open)), NULL, 'task',
            printf('10000000-0000-4000-9000-%012d', i), 'hop_credit', '信贷部办理', 'internal_transfer', g.name, g.name,
            (SELECT name FROM who WHERE who.k = n.i % :nassignees), 'done', '已办结', 'form', :off + :open + 1 + (i % (:forms - :open)),
            {TS.format("-i * 60")}, {TS.format("-i * 60")}, 0, 0, {TS.format("-i * 60 - 3600")}, {TS.format("-i * 60 - 60")},
            'handler'
        FROM n JOIN grp g ON g.k = n.i % :ngroups""", p)
    db.commit()
    db.close()


def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def run() -> tuple[dict, dict]:
    from engine.db import unit_of_work
    from engine.models import ProcessDefinition
    from processes.forms.models import TemplateVersion
    from processes.inbox import service as inbox
    from processes.org.models import Department

    forms, open_items = size("inbox_forms", 1_000_000), size("inbox_open_items", 100_000)
    done_items, requests = size("inbox_done_items", 300_000), size("inbox_requests", 200)
    open_items = min(open_items, forms)
    folder = tempdir("inbox")
    config = make_config(sqlite_url(folder), folder)
    app = build_app(config)
    services = app.extensions["guichet"]
    with unit_of_work(services.sessions) as session:
        for code, name in EXTRA_DEPARTMENTS:
            session.add(Department(code=code, name=name))
        session.flush()
        groups = list(session.scalars(select(Department.name).order_by(Department.id)))
        definition_id = session.scalars(select(ProcessDefinition.id).where(ProcessDefinition.key == "internal_transfer")).one()
        version_id = session.scalars(select(TemplateVersion.id)).first()
    now = utcnow()
    start = time.perf_counter()
    say(f"inbox: loading {forms:,} forms, {open_items:,} open items over {len(groups)} departments ({folder}) …")
    _load(config["database"]["url"].split("///", 1)[1], forms=forms, open_items=open_items, done_items=done_items,
          definition_id=definition_id, version_id=version_id, groups=groups, base=now.strftime("%Y-%m-%d %H:%M:%S"))
    load_s = time.perf_counter() - start
    say(f"inbox: loaded in {load_s:.1f} s; {requests} requests each: GET /api/v1/tasks, list_items, counts …")

    client = frontend.FlaskClient(app)
    client.login("handler")
    with unit_of_work(services.sessions) as session:
        from processes.org.service import get_by_username

        handler = get_by_username(session, "handler")
        queue = inbox.counts(session, actor=handler, now=now)
    first = client.ok("GET", "/api/v1/tasks", user="handler")
    http_times = _timed(lambda: client.ok("GET", "/api/v1/tasks", user="handler"), requests)

    def bare(fn):
        def call():
            with unit_of_work(services.sessions) as session:
                fn(session, actor=handler, now=utcnow())  # detached, department loaded: as the view has it
        return call

    service_times = _timed(bare(inbox.list_items), requests)
    count_times = _timed(bare(inbox.counts), max(20, requests // 5))
    app.extensions["guichet_engine"].dispose()
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    overdue = sum(1 for i in first if i["overdue"])
    say(f"inbox: GET /tasks p50 {ms(median(http_times))} ms p95 {ms(percentile(http_times, 95))} ms; "
        f"list_items p95 {ms(percentile(service_times, 95))} ms; counts p95 {ms(percentile(count_times, 95))} ms")
    return {
        "inbox_p50_ms": ms(median(http_times)), "inbox_p95_ms": ms(percentile(http_times, 95)),
        "inbox_service_p50_ms": ms(median(service_times)), "inbox_service_p95_ms": ms(percentile(service_times, 95)),
        "inbox_counts_p95_ms": ms(percentile(count_times, 95)),
    }, {"inbox": f"{forms:,} forms, {open_items:,} open + {done_items:,} done items, {len(groups)} groups; handler sees "
                  f"{queue}; page of {len(first)} items, {overdue} overdue; load {load_s:.0f} s; no ANALYZE; "
                  f"{requests} requests; counts() is what the HTML inbox page adds"}
