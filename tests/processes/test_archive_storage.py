"""Archive storage: gap-free numbering under concurrency, backups taken while writing and restored, verification,
keeping, the nightly jobs claimed once, integrity checks catching an altered row, and loans escalating."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, inspect, select, text

import processes
from engine.db import unit_of_work
from engine.runtime import Runtime
from engine.scheduler import TimerScheduler
from processes.archive import backups, custody, integrity, volumes
from processes.archive import service as archive
from processes.archive.models import Backup, Filing, Loan, StorageIncident
from processes.audit import service as audit
from processes.demo_history import seed_history
from processes.forms import service as forms
from processes.forms.models import Form, FormTemplate
from processes.org import service as org
from tests.conftest import PG_URL, GOOD_FORM

KEY = dict(fonds="G001", category="YW", year=2025, retention="D10", org_code="YY")


def _closed(services, count=8):
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=count)
    with services.sessions() as session:
        return list(session.scalars(select(Form.id).order_by(Form.closed_at)))


def _file_all(services, ids, now):
    with unit_of_work(services.sessions) as session:
        archivist = org.get_by_username(session, "archivist")
        return [f.archival_code for f in archive.file_forms(session, services.config, actor=archivist, form_ids=ids,
                                                            now=now)]


@pytest.mark.timeout(120)
def test_item_numbers_have_no_gaps_when_filings_race_and_one_rolls_back(services):
    taken, errors = [], []
    barrier = threading.Barrier(6)

    def filer(n):
        try:
            barrier.wait(timeout=30)
            for i in range(5):
                with unit_of_work(services.sessions) as session:
                    number = archive.next_item_no(session, **KEY)
                    if n == 0 and i == 2:
                        raise RuntimeError("rolled back")  # its number goes back with it
                    taken.append(number)
        except RuntimeError:
            pass
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=filer, args=(n,), daemon=True) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert not any(t.is_alive() for t in threads) and not errors
    assert sorted(taken) == list(range(1, len(taken) + 1)) and len(taken) == 27


@pytest.mark.timeout(120)
def test_two_archivists_filing_at_once_get_distinct_gap_free_codes(services, clock):
    ids = _closed(services, 10)
    halves, codes, errors = (ids[::2], ids[1::2]), [], []
    barrier = threading.Barrier(2)

    def file(part):
        try:
            barrier.wait(timeout=30)
            codes.extend(_file_all(services, part, clock()))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=file, args=(h,), daemon=True) for h in halves]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=100)
    assert not errors and len(codes) == len(set(codes)) == 10
    series = {}
    for code in codes:
        head, _, number = code.rpartition("-")
        series.setdefault(head, []).append(int(number))
    assert all(sorted(n) == list(range(1, len(n) + 1)) for n in series.values())


def _rows(url: str) -> dict[str, set]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {t: {tuple(map(str, r)) for r in conn.execute(text(f'SELECT * FROM "{t}"'))}
                    for t in inspect(engine).get_table_names() if t != "alembic_version"}
    finally:
        engine.dispose()


@pytest.fixture
def empty_url(tmp_path):
    """An empty database to restore into."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path}/restored.db"
        return
    base, _, name = PG_URL.rpartition("/")
    target = f"guichet_test_{__import__('os').environ.get('GUICHET_TEST_DB_PREFIX', '')}restored"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}"'))
    yield f"{base}/{target}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.timeout(300)
def test_a_backup_taken_while_a_writer_runs_restores_to_a_consistent_copy(services, clock, empty_url):
    stop, written, errors = threading.Event(), [], []

    def writer():
        try:
            while not stop.is_set() and len(written) < 400:
                with unit_of_work(services.sessions) as session:
                    clerk = org.get_by_username(session, "clerk")
                    template = session.scalar(select(FormTemplate.id).where(FormTemplate.code == "general"))
                    written.append(forms.create_form(session, services.runtime, services.config, actor=clerk,
                                                     template_id=template, data=dict(GOOD_FORM), submit=False,
                                                     now=clock()).id)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    while len(written) < 5 and thread.is_alive():
        threading.Event().wait(0.05)
    with unit_of_work(services.sessions) as session:
        backup = backups.backup_now(session, services.config, actor="archivist", now=clock())
        assert backup.verified is True, backup.verify_detail
        manifest = backup.manifest
    stop.set()
    thread.join(timeout=120)
    assert not thread.is_alive() and not errors
    path = backups.backup_dir(services.config) / manifest["file"]
    backups.restore(path, empty_url)
    restored, source = _rows(empty_url), _rows(services.config["database"]["url"])
    assert {t: len(r) for t, r in restored.items() if t in manifest["tables"]} == manifest["tables"]
    for table, rows in restored.items():  # drafts and audit events are only ever appended: the copy is a prefix
        if table != "audit_head":  # the one row moved in place; compared with the manifest instead
            assert rows <= source[table], table
    ((seq, digest),) = {(int(r[1]), r[2]) for r in restored["audit_head"]}
    assert {"seq": seq, "hash": digest} == manifest["audit_head"]
    assert 0 < len(restored["form"]) <= len(source["form"])
    from engine.db import make_engine, make_session_factory

    engine = make_engine(empty_url)
    try:
        with make_session_factory(engine)() as session:
            assert audit.verify(session).ok
    finally:
        engine.dispose()


def test_restore_refuses_a_database_that_is_not_empty_or_an_altered_file(services, clock):
    with unit_of_work(services.sessions) as session:
        backup = backups.backup_now(session, services.config, actor="archivist", now=clock())
    path = backups.backup_dir(services.config) / backup.filename
    with pytest.raises(backups.BackupError, match="不是空的"):
        backups.restore(path, services.config["database"]["url"])
    with open(path, "r+b") as fh:
        fh.seek(200)
        fh.write(b"\x00\x01")
    with pytest.raises(backups.BackupError, match="SHA-256"):
        backups.restore(path, services.config["database"]["url"])
    ok, detail = backups.verify_file(path, services.config)
    assert not ok and "SHA-256" in detail


def test_an_unwritable_backup_directory_is_a_clear_error_and_leaves_nothing(services, clock, tmp_path):
    (tmp_path / "plain-file").write_text("x")
    config = {**services.config, "backup": {**services.config["backup"], "dir": str(tmp_path / "plain-file" / "b")}}
    with pytest.raises(backups.BackupError, match="备份目录不可写"):
        backups.take_backup(config, now=clock())
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("guichet-")] == []


def test_only_keep_backups_are_kept_and_deletions_are_recorded(services, clock):
    config = {**services.config, "backup": {**services.config["backup"], "keep": 2}}
    for _ in range(3):
        with unit_of_work(services.sessions) as session:
            backups.backup_now(session, config, actor="system", now=clock())
        clock.advance(days=1)
    folder = backups.backup_dir(config)
    with services.sessions() as session:
        rows = session.scalars(select(Backup).order_by(Backup.id)).all()
        assert [b.deleted_at is not None for b in rows] == [True, False, False]
        assert not (folder / rows[0].filename).exists() and (folder / rows[2].filename).exists()
        assert all(b.verified for b in rows)
        events = audit.list_events(session, audit.AuditFilter(action="archive.backup_delete"))
        assert [e.object_id for e in events] == [str(rows[0].id)]


def test_the_nightly_backup_runs_once_with_two_schedulers(services, clock):
    clock.now = clock.now.replace(hour=18)  # 02:00 in Shanghai
    first, second = (TimerScheduler(services.runtime, services.sessions, clock=clock) for _ in range(2))
    run = first.run_job("archive.backup")
    assert run.status == "done" and "verified" in run.detail, run.detail
    assert second.run_job("archive.backup") is None
    with services.sessions() as session:
        assert session.scalar(select(Backup.verified)) is True
        assert len(session.scalars(select(Backup)).all()) == 1


def test_an_altered_row_is_caught_by_the_rotating_integrity_check(services, clock, client, auth):
    ids = _closed(services, 6)
    _file_all(services, ids, clock())
    assert client.get("/healthz").json["status"] == "ok"
    with services.sessions.kw["bind"].begin() as conn:
        conn.execute(text("UPDATE form SET data = :d WHERE id = :id"), {"d": '{"content": "被悄悄改过"}', "id": ids[2]})
    config = {**services.config, "archive": {**services.config["archive"], "integrity_cycle_days": 3}}
    checked = 0
    for _night in range(3):  # 1/3 a night: every form checked within three nights
        clock.advance(days=1)
        with unit_of_work(services.sessions) as session:
            run = integrity.check_slice(session, config, now=clock())
            checked += run.checked
            assert run.checked == 2
    assert checked == 6
    with services.sessions() as session:
        (incident,) = session.scalars(select(StorageIncident)).all()
        filing = session.get(Filing, incident.filing_id)
        assert filing.form_id == ids[2] and filing.archival_code in incident.detail
    health = client.get("/healthz").json
    assert health["status"] == "degraded" and health["storage"]["incidents"] == 1
    state = client.get("/api/v1/archive/integrity", headers=auth("inspector")).json
    assert state["incidents"][0]["filing_id"] == incident.filing_id and len(state["runs"]) == 3
    with unit_of_work(services.sessions) as session:  # checking again does not open a second incident
        integrity.check_slice(session, config, now=clock(), limit=10)
    with services.sessions() as session:
        assert len(session.scalars(select(StorageIncident)).all()) == 1
        # 存储安全率 for supervision: the runs that found the altered form did not pass
        passed, performed = integrity.storage_checks(session, clock() - timedelta(days=10), clock() + timedelta(days=1))
        assert performed == 4 and passed == 4 - 2  # the night it was found and the re-check


@pytest.fixture(params=["straight", "restore"])
def loan_runtime(request, services):
    """The loan scenario's runtime: the app's, or a cold one per step (restored from the stored state)."""
    def runtime() -> Runtime:
        if request.param == "straight":
            return services.runtime
        fresh = Runtime()
        processes.register_all(fresh, services.config)
        return fresh
    return runtime


def _bound_volume(services, clock):
    ids = _closed(services, 4)
    _file_all(services, ids, clock())
    with unit_of_work(services.sessions) as session:
        archivist = org.get_by_username(session, "archivist")
        filing = session.scalars(select(Filing)).first()
        volume = volumes.create_volume(session, actor=archivist, title="测试卷", business_type=filing.business_type,
                                       year=filing.year, now=clock())
        volumes.add_items(session, actor=archivist, volume=volume, form_ids=[filing.form_id], now=clock())
        return volume.id


def test_an_overdue_loan_escalates_to_the_borrowers_superior_and_the_return_closes_it(services, clock, loan_runtime):
    from engine.models import WorkItem

    volume_id = _bound_volume(services, clock)
    with unit_of_work(services.sessions) as session:
        archivist = org.get_by_username(session, "archivist")
        loan = custody.lend(session, loan_runtime(), services.config, actor=archivist,
                            volume=volumes.get_volume(session, volume_id), borrower="handler",
                            due_date=(clock() + timedelta(days=2)).date().isoformat(), now=clock())
        assert loan.status == "lent"
        loan_id = loan.id
    with services.sessions() as session:
        (item,) = session.scalars(select(WorkItem).where(WorkItem.ref_type == "archive_loan")).all()
        assert item.candidate_group == "档案室" and item.due_at is not None
    clock.advance(days=3)
    TimerScheduler(loan_runtime(), services.sessions, clock=clock).tick()
    with services.sessions() as session:
        assert session.get(Loan, loan_id).overdue is True
        (escalation,) = session.scalars(select(WorkItem).where(WorkItem.kind == "escalation")).all()
        assert escalation.assignee == "head" and escalation.status == "open"
    with unit_of_work(services.sessions) as session:
        archivist = org.get_by_username(session, "archivist")
        custody.return_loan(session, loan_runtime(), actor=archivist, loan=session.get(Loan, loan_id), now=clock())
    with services.sessions() as session:
        loan = session.get(Loan, loan_id)
        assert (loan.status, loan.received_by) == ("returned", "archivist")
        assert {i.status for i in session.scalars(select(WorkItem).where(WorkItem.ref_type == "archive_loan"))} \
            <= {"done", "closed"}
        assert session.scalar(select(WorkItem.status).where(WorkItem.kind == "escalation")) != "open"
