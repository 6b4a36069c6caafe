"""Archive: the archive list at 1,000,000 filed forms, filings per second, and backup plus verification time.

- archive_page_p95_ms: GET /archive (the HTML page the archivist reads) and GET /api/v1/archive/filings through
  Flask's test client, over 1,000,000 archive_filing rows bulk-inserted with a recursive CTE (11 years, 8
  business types, 5 departments, 4 retention codes, volumes of 50 items), with each filter, a 档号 prefix, and
  keyset pages deep into the list. No ANALYZE.
- filings_per_s: closed forms filed through processes.archive.service.file_forms in batches of 100 (档号 from
  the counter row, seal over the stored form, audit event), on a database of forms bulk-inserted as closed.
- backup_verify_s: `guichet backup`'s work (online copy, manifest, SHA-256, restore into a scratch database and
  compare) on that bench database.
"""
from __future__ import annotations

import sqlite3
import time

from .common import build_app, make_config, percentile, say, size, sqlite_url, tempdir, utcnow
from .inbox import TS

TYPES = ["个人贷款申请", "个人开户", "挂失补办", "转账汇款", "信用卡申请", "对公开户", "贷款展期", "资料变更"]
RETENTIONS = ["Y", "D30", "D10", "D5"]


def _load_filings(path: str, *, filings: int, base: str) -> None:
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-200000")
    db.execute("CREATE TEMP TABLE kind(k INTEGER PRIMARY KEY, name TEXT)")
    db.executemany("INSERT INTO kind VALUES (?, ?)", list(enumerate(TYPES)))
    db.execute("CREATE TEMP TABLE ret(k INTEGER PRIMARY KEY, code TEXT)")
    db.executemany("INSERT INTO ret VALUES (?, ?)", list(enumerate(RETENTIONS)))
    off = db.execute("SELECT coalesce(max(id), 0) FROM archive_filing").fetchone()[0]
    p = {"n": filings, "base": base, "volumes": filings // 50, "off": off}
    seq = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :{})"
    say(f"  archive data: {filings // 50:,} volumes …")
    db.execute(seq.format("volumes") + f"""
        INSERT INTO archive_volume (id, title, business_type, year, status, created_by, created_at, room, cabinet,
            shelf, box)
        SELECT i, printf('卷 %d', i), (SELECT name FROM kind WHERE k = i % 8), 2016 + (i * 11 / (:volumes + 1)), 'closed',
            'archivist', {TS.format("-i * 60")}, '一号档案室', printf('A%02d', i % 40), printf('%d', i % 6), printf('%d', i % 20)
        FROM n""", p)
    say(f"  archive data: {filings:,} filed forms …")
    db.execute(seq.format("n") + f"""
        INSERT INTO archive_filing (id, form_id, archival_code, fonds, category, year, retention, org_code, item_no,
            business_type, department_id, title, responsible, closed_at, pages, filed_by, filed_at, volume_id,
            volume_seq, seal, checked_at)
        SELECT :off + i, 10000000 + i, printf('G001-YW·%d-%s-%s-%07d', 2016 + (i * 11 / (:n + 1)), r.code, d.code, i),
            'G001', 'YW', 2016 + (i * 11 / (:n + 1)), r.code, d.code, i, t.name, d.id, printf('%s · YW%08d', t.name, i),
            'clerk', {TS.format("-(:n - i) * 300")}, 1, 'archivist', {TS.format("-(:n - i) * 300 + 86400")},
            1 + (i - 1) / 50, 1 + (i - 1) % 50, printf('%064d', i), {TS.format("-(i % 2419200)")}
        FROM n JOIN kind t ON t.k = (i / 50) % 8 JOIN ret r ON r.k = (i / 7) % 4
        JOIN (SELECT id, upper(code) AS code, row_number() OVER (ORDER BY id) - 1 AS k FROM department) d
          ON d.k = i % (SELECT count(*) FROM department)""", p)
    db.commit()
    db.close()


def _timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _signed_in(app, username: str):
    """A test client signed in through the login page, as a browser is."""
    import re

    from .common import DEMO_PASSWORD

    web = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', web.get("/login").get_data(as_text=True)).group(1)
    assert web.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token}).status_code == 302
    return web


def _page_figures(app, requests: int) -> dict:
    from . import frontend

    client = frontend.FlaskClient(app)
    client.login("archivist", "inspector")
    queries = ["", "year=2021", "business_type=挂失补办", "department_id=2", "retention=D30", "volume_id=4321",
               "code=G001-YW·2024-D10", "year=2025&business_type=个人开户"]
    deep = client.ok("GET", "/api/v1/archive/filings?limit=50", user="archivist")
    for _ in range(200):  # walk 200 pages down: the keyset cursor there
        deep = client.ok("GET", f"/api/v1/archive/filings?limit=50&before={deep['next_before']}", user="archivist")
    queries.append(f"before={deep['next_before']}")
    prefix_page = client.ok("GET", "/api/v1/archive/filings?limit=50&code=G001-YW·2024", user="archivist")
    queries.append(f"code=G001-YW·2024&before={prefix_page['next_before']}")
    web = _signed_in(app, "archivist")
    api_times, page_times = [], []
    for i in range(requests):
        q = queries[i % len(queries)]
        start = time.perf_counter()
        client.ok("GET", "/api/v1/archive/filings?" + q, user="archivist")
        api_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        r = web.get("/archive?" + q)
        page_times.append(time.perf_counter() - start)
        assert r.status_code == 200, r.status_code
    ms = lambda v: round(v * 1000, 2)  # noqa: E731
    return {"archive_page_p95_ms": ms(percentile(page_times, 95)), "archive_api_p95_ms": ms(percentile(api_times, 95)),
            "archive_page_p50_ms": ms(percentile(page_times, 50))}


def _filing_rate(app, forms: int) -> float:
    from sqlalchemy import select

    from engine.db import unit_of_work
    from processes.archive import service as archive
    from processes.forms.models import Form, TemplateVersion
    from processes.org.service import get_by_username

    services = app.extensions["guichet"]
    with unit_of_work(services.sessions) as session:
        version = session.scalars(select(TemplateVersion)).first()
        base = utcnow()
        for i in range(forms):
            session.add(Form(number=f"BENCH{i:08d}", template_version_id=version.id, business_type=TYPES[i % 8],
                             status="closed", data={"business_type": TYPES[i % 8], "content": "基准"}, created_by="clerk",
                             department_id=1, created_at=base, submitted_at=base, closed_at=base))
    with services.sessions() as session:
        ids = list(session.scalars(select(Form.id).where(Form.number.like("BENCH%")).order_by(Form.id)))
    start = time.perf_counter()
    for k in range(0, len(ids), 100):
        with unit_of_work(services.sessions) as session:
            archive.file_forms(session, services.config, actor=get_by_username(session, "archivist"),
                               form_ids=ids[k:k + 100], now=utcnow())
    return len(ids) / (time.perf_counter() - start)


def _backup_verify_s(app) -> tuple[float, dict]:
    from engine.db import unit_of_work
    from processes.archive import backups

    services = app.extensions["guichet"]
    start = time.perf_counter()
    with unit_of_work(services.sessions) as session:
        made = backups.backup_now(session, services.config, actor="bench", now=utcnow())
        assert made.verified, made.verify_detail
        facts = {"file_mb": round(made.size / 1e6, 1), "rows": sum(made.manifest["tables"].values())}
    return time.perf_counter() - start, facts


def run() -> tuple[dict, dict]:
    filings, requests, forms = size("archive_filings", 1_000_000), size("archive_requests", 200), size("archive_forms", 2000)
    folder = tempdir("archive")
    config = make_config(sqlite_url(folder), folder)
    app = build_app(config)
    start = time.perf_counter()
    say(f"archive: filing {forms:,} closed forms in batches of 100 …")
    rate = _filing_rate(app, forms)
    say(f"archive: {rate:.0f} filings/s; loading {filings:,} filed forms ({folder}) …")
    _load_filings(config["database"]["url"].split("///", 1)[1], filings=filings, base=utcnow().strftime("%Y-%m-%d %H:%M:%S"))
    load_s = time.perf_counter() - start
    say(f"archive: loaded in {load_s:.1f} s; {requests} requests each of GET /archive and /api/v1/archive/filings …")
    figures = _page_figures(app, requests)
    say(f"archive: page p95 {figures['archive_page_p95_ms']} ms, API p95 {figures['archive_api_p95_ms']} ms; backup …")
    seconds, facts = _backup_verify_s(app)
    app.extensions["guichet_engine"].dispose()
    say(f"archive: backup + verify {seconds:.1f} s ({facts})")
    return {**figures, "filings_per_s": round(rate, 1), "backup_verify_s": round(seconds, 1)}, {
        "archive": f"{filings:,} filed forms in 11 years, filters and a 档号 prefix and a cursor 200 pages deep, "
                   f"{requests} requests each; filing {forms} forms in batches of 100; backup of {facts['file_mb']} MB "
                   f"({facts['rows']:,} rows) with its verification by restore; no ANALYZE"}
