"""Destruction: executing a batch of 10,000 forms, and the nightly retention scan over 1,000,000 filed forms.

- destroy_per_s: forms destroyed per second by processes.destruction.execution.execute (the checks against the
  approved list, holds, grants and transfers; two supervisors' argon2 checks; sensitive values, attachments and
  corrections deleted; tombstones; seals of the filings; the register's content hash; the keys destroyed in the key
  store), on 10,000 closed, filed forms bulk-inserted with a sealed value each and their keys in the key store,
  proposed and approved through the services and the diagram.
- retention_scan_s: processes.destruction.service.scan (forms past retention, not held, in no open batch, into a
  proposal of at most [destruction] proposal_limit forms) over 1,000,000 archive_filing rows loaded as the
  archive bench loads them (11 years, 4 retention codes), with 1,000 holds.
"""
from __future__ import annotations

import os
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone

from .common import build_app, make_config, say, size, sqlite_url, tempdir, utcnow

NOW = datetime(2036, 6, 1, 2, 0, tzinfo=timezone.utc)  # D10 forms of 2025 and before are past retention


def _forms(app, count: int) -> list[int]:
    """`count` closed, filed forms of 2015 with one sealed value each and a key in the key store."""
    from sqlalchemy import func, insert, select

    from engine.db import unit_of_work
    from processes.archive.models import Filing
    from processes.forms import personal
    from processes.forms.models import Form, SensitiveValue, TemplateVersion

    services = app.extensions["guichet"]
    ring = personal.keyring(services.config)
    closed = datetime(2015, 6, 1, 2, 0, tzinfo=timezone.utc)
    with unit_of_work(services.sessions) as session:
        version = session.scalars(select(TemplateVersion)).first()
        first = (session.scalar(select(func.max(Form.id))) or 0) + 1
        ids = list(range(first, first + count))
        session.execute(insert(Form), [dict(id=i, number=f"XB{i:08d}", template_version_id=version.id,
                                            business_type="资料变更", status="closed", data={"content": "基准"},
                                            created_by="clerk", department_id=1, created_at=closed,
                                            submitted_at=closed, closed_at=closed, key_id=ring.primary_id)
                                       for i in ids])
        keys = {i: os.urandom(32) for i in ids}
        ring.store.put_many([(i, *ring.wrap(keys[i])) for i in ids])
        session.execute(insert(SensitiveValue), [dict(form_id=i, field="customer_id", seq=0,
                                                      ciphertext=personal.encrypt(keys[i], i, "customer_id", "x"))
                                                 for i in ids])
        session.execute(insert(Filing), [dict(
            form_id=i, archival_code=f"G001-YW·2015-D10-YY-{n + 1:04d}", fonds="G001", category="YW", year=2015,
            retention="D10", org_code="YY", item_no=n + 1, business_type="资料变更", department_id=1,
            title=f"资料变更 · XB{i:08d}", responsible="clerk", closed_at=closed, pages=1, filed_by="archivist",
            filed_at=closed, seal="0" * 64, checked_at=closed, retention_ends_on=date(2025, 12, 31)) for n, i in enumerate(ids)])
    return ids


def _approved(app, form_ids: list[int]) -> int:
    from engine.db import unit_of_work
    from engine.models import WorkItem
    from processes.destruction import service as destruction
    from processes.org.service import get_by_username

    services = app.extensions["guichet"]
    with unit_of_work(services.sessions) as session:
        batch = destruction.create(session, services.runtime, services.config, now=NOW,
                                   actor=get_by_username(session, "archivist"),
                                   body={"kind": "retention", "form_ids": form_ids, "reason": "保管期满"})
        batch_id, instance_id = batch.id, batch.process_instance_id
    for _round in range(2):  # the archive head and the department appraise at once, then management approves
        with unit_of_work(services.sessions) as session:
            open_ids = [i.id for i in session.query(WorkItem).filter_by(instance_id=instance_id, status="open",
                                                                         kind="task")]
        for item_id in open_ids:
            with unit_of_work(services.sessions) as session:
                item = services.runtime.get_item(session, item_id)
                destruction.complete_item(session, services.runtime, item=item, now=NOW,
                                          actor=get_by_username(session, item.assignee or "manager"),
                                          data={"decision": "approve", "comment": "同意"})
    return batch_id


def _destroy_rate(app, forms: int) -> float:
    from engine.db import unit_of_work
    from processes.destruction import execution
    from processes.org.service import get_by_username

    from .common import DEMO_PASSWORD

    ids = _forms(app, forms)
    batch_id = _approved(app, ids)
    services = app.extensions["guichet"]
    start = time.perf_counter()
    with unit_of_work(services.sessions) as session:
        batch = execution.execute(session, services.config, actor=get_by_username(session, "archivist"),
                                  destruction_id=batch_id, now=NOW, body={"supervisors": [
                                      {"username": "inspector", "password": DEMO_PASSWORD},
                                      {"username": "manager2", "password": DEMO_PASSWORD}]})
        assert batch.status == "executed"
    return forms / (time.perf_counter() - start)


def _scan_seconds(app, filings: int) -> tuple[float, int]:
    from engine.db import unit_of_work
    from processes.destruction import service as destruction

    from .archive import _load_filings

    services = app.extensions["guichet"]
    path = services.config["database"]["url"].split("///", 1)[1]
    _load_filings(path, filings=filings, base=utcnow().strftime("%Y-%m-%d %H:%M:%S"))
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    say(f"  {filings:,} closed forms behind the filings …")
    db.execute("""INSERT INTO form (id, number, template_version_id, business_type, status, data, created_by,
                      department_id, created_at, closed_at)
                  SELECT form_id, printf('YW%08d', form_id), (SELECT min(id) FROM template_version), business_type,
                      'closed', '{}', 'clerk', department_id, closed_at, closed_at
                  FROM archive_filing WHERE form_id >= 10000000""")
    db.execute("""UPDATE archive_filing SET retention_ends_on = printf('%04d-12-31', year + CAST(substr(retention, 2) AS
                  INTEGER)) WHERE form_id >= 10000000 AND retention LIKE 'D%'""")  # as filing sets it
    db.execute("""INSERT INTO archive_sequence (fonds, category, year, retention, org_code, last_no)
                  SELECT DISTINCT fonds, category, year, retention, org_code, 1 FROM archive_filing WHERE true
                  ON CONFLICT DO NOTHING""")
    db.execute("""INSERT INTO destruction_hold (form_id, reason, placed_by, placed_at)
                  SELECT form_id, '审计', 'inspector', '2030-01-01 00:00:00.000000' FROM archive_filing
                  WHERE id % 1000 = 7""")
    db.commit()
    db.close()
    start = time.perf_counter()
    with unit_of_work(services.sessions) as session:
        batch = destruction.scan(session, services.runtime, services.config, now=NOW + timedelta(days=1))
        count = len(destruction.item_form_ids(session, batch.id)) if batch else 0
    return time.perf_counter() - start, count


def run() -> tuple[dict, dict]:
    forms, filings = size("destroy_forms", 10_000), size("retention_filings", 1_000_000)
    folder = tempdir("destruction")
    config = make_config(sqlite_url(folder), folder)
    app = build_app(config)
    say(f"destruction: {forms:,} forms proposed, approved and destroyed …")
    rate = _destroy_rate(app, forms)
    say(f"destruction: {rate:.0f} forms/s; loading {filings:,} filed forms for the scan …")
    seconds, proposed = _scan_seconds(app, filings)
    app.extensions["guichet_engine"].dispose()
    say(f"destruction: scan {seconds:.2f} s, proposal of {proposed:,} forms")
    return {"destroy_per_s": round(rate, 1), "retention_scan_s": round(seconds, 2)}, {
        "destruction": f"one batch of {forms:,} filed forms with a sealed value and a key each, executed with two "
                       f"supervisors; the scan over {filings:,} filed forms (+{forms:,} destroyed) with "
                       f"{filings // 1000:,} holds, proposing {proposed:,} (the limit a night)"}
