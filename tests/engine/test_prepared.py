"""Prepared statements: the same values, transactions, errors and listeners as Connection.execute, on both databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, event, select
from sqlalchemy.exc import IntegrityError

from engine.context import transaction
from engine.db import unit_of_work
from engine.deploy import latest_definition_id
from engine.models import Incident, Timer
from engine.prepared import Prepared, savepoint
from engine.rows import INSTANCE, TIMER

_INSERT = Prepared(TIMER.insert().returning(TIMER.c.id))
_SELECT = Prepared(select(TIMER.c.task_id, TIMER.c.fire_at, TIMER.c.status, TIMER.c.fence, TIMER.c.lease_until)
                   .where(TIMER.c.id == bindparam("b_id")))
_LEASE = Prepared(TIMER.update().where(TIMER.c.id == bindparam("b_id")).values(status="leased", fence=TIMER.c.fence + 1))
AT = datetime(2026, 3, 2, 9, 30, 0, tzinfo=timezone(timedelta(hours=8)))  # a whole second, not in UTC


def _instance(session) -> int:
    values = {c.name: None for c in INSTANCE.c if c.name != "id"}
    values.update(definition_id=latest_definition_id(session, "internal_transfer"), process_key="p", subject="", status="running", state="{}", serializer_version="v",
                  lock_version=1, started_by="t", started_at=AT, updated_at=AT)
    return session.connection().execute(INSTANCE.insert(), values).inserted_primary_key[0]


def _timer(session, instance_id, task_id="t1") -> int:
    ((timer_id,),) = _INSERT.execute(session, {
        "instance_id": instance_id, "task_id": task_id, "task_name": "late", "fire_at": AT, "status": "waiting",
        "fence": 0, "lease_owner": None, "lease_until": None, "attempts": 0, "last_error": None}).fetchall()
    return timer_id


@pytest.fixture
def instance_id(services):
    with unit_of_work(services.sessions) as session:
        return _instance(session)


def test_values_come_back_as_the_orm_reads_them(services, instance_id):
    with unit_of_work(services.sessions) as session:
        timer_id = _timer(session, instance_id)
        assert _LEASE.execute(session, {"b_id": timer_id, "lease_until": AT + timedelta(minutes=1)}).rowcount == 1
        task_id, fire_at, status, fence, lease_until = _SELECT.first(session, {"b_id": timer_id})
    assert (task_id, status, fence) == ("t1", "leased", 1)  # values the statement fixes itself are applied
    assert fire_at == AT and fire_at.tzinfo is not None and lease_until == AT + timedelta(minutes=1)
    with unit_of_work(services.sessions) as session:
        row = session.get(Timer, timer_id)
        assert (row.fire_at, row.status, row.fence) == (fire_at, "leased", 1)
    with unit_of_work(services.sessions) as session:
        assert _SELECT.first(session, {"b_id": -1}) is None


def test_it_runs_in_the_session_transaction_and_its_savepoints(services, instance_id):
    with services.sessions() as session:
        kept = _timer(session, instance_id, "kept")
        with pytest.raises(RuntimeError):
            with session.begin_nested():
                _timer(session, instance_id, "undone")
                raise RuntimeError
        session.commit()
        gone = _timer(session, instance_id, "gone")  # a new transaction, after the commit
        session.rollback()
    with unit_of_work(services.sessions) as session:
        names = set(session.scalars(select(Timer.task_id).where(Timer.instance_id == instance_id)))
    assert names == {"kept"} and gone != kept


def test_a_driver_error_is_sqlalchemys_error_and_a_listener_sees_each_statement(services, instance_id):
    seen = []
    engine = services.sessions.kw["bind"]
    listener = lambda _c, _cur, statement, *_rest: seen.append(statement.split()[0])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        with pytest.raises(IntegrityError):
            with unit_of_work(services.sessions) as session:
                _timer(session, instance_id, "twice")
                _timer(session, instance_id, "twice")  # (instance_id, task_id) is unique
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert seen.count("INSERT") == 2


def test_an_expanding_in_is_refused():
    statement = Prepared(select(TIMER.c.id).where(TIMER.c.id.in_(bindparam("b_ids", expanding=True))))
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="expanding IN"):
        statement._plan(sqlite.dialect(), {"b_ids": [1]})


def test_a_savepoint_keeps_what_its_block_wrote(services, instance_id):
    with unit_of_work(services.sessions) as session:
        with savepoint(session):
            timer_id = _timer(session, instance_id)
        assert _SELECT.first(session, {"b_id": timer_id})[0] == "t1"
    with unit_of_work(services.sessions) as session:
        assert _SELECT.first(session, {"b_id": timer_id}) is not None


def test_a_savepoint_that_raises_undoes_its_block_and_only_its_block(services, instance_id):
    with unit_of_work(services.sessions) as session:
        before = _timer(session, instance_id, "before")
        transaction(session).stage["kept"] = 1
        incident = Incident(kind="step_failed", message="前", first_seen_at=AT, last_seen_at=AT)
        session.add(incident)
        with pytest.raises(ValueError), savepoint(session):
            inside = _timer(session, instance_id, "inside")
            incident.message = "改"  # changed inside: expired, it reads the row again
            added = Incident(kind="step_failed", message="中", first_seen_at=AT, last_seen_at=AT)
            session.add(added)
            session.flush()
            pending = Incident(kind="step_failed", message="后", first_seen_at=AT, last_seen_at=AT)
            session.add(pending)
            raise ValueError("the step failed")
        assert _SELECT.first(session, {"b_id": inside}) is None
        assert _SELECT.first(session, {"b_id": before}) is not None
        assert transaction(session).stage == {}  # what a stage kept may no longer match the rows
        assert incident.message == "前"
        assert added not in session and pending not in session and incident in session
        _timer(session, instance_id, "after")  # the transaction goes on
    with unit_of_work(services.sessions) as session:
        assert [i.message for i in session.scalars(select(Incident))] == ["前"]
        assert sorted(r[0] for r in session.execute(select(TIMER.c.task_id))) == ["after", "before"]


def test_savepoints_nest(services, instance_id):
    with unit_of_work(services.sessions) as session:
        with savepoint(session):
            outer = _timer(session, instance_id, "outer")
            with pytest.raises(KeyError), savepoint(session):
                _timer(session, instance_id, "inner")
                raise KeyError("inner")
        assert sorted(r[0] for r in session.execute(select(TIMER.c.task_id))) == ["outer"]
        assert _SELECT.first(session, {"b_id": outer}) is not None


def _task_ids(session) -> list[str]:
    return sorted(r[0] for r in session.execute(select(TIMER.c.task_id)))


def test_a_failed_savepoint_goes_back_to_its_own_start_not_to_an_earlier_kept_one(services, instance_id):
    # A block that succeeds leaves its savepoint for the transaction's end to release; the next one at the same
    # depth, and one enclosing a kept one, must still go back exactly to where they began.
    with unit_of_work(services.sessions) as session:
        with savepoint(session):
            _timer(session, instance_id, "first")
        with pytest.raises(KeyError), savepoint(session):
            _timer(session, instance_id, "second")
            raise KeyError("second")
        assert _task_ids(session) == ["first"]
        with pytest.raises(KeyError), savepoint(session):
            _timer(session, instance_id, "outer")
            with savepoint(session):
                _timer(session, instance_id, "inner kept")
            with savepoint(session):
                _timer(session, instance_id, "inner kept too")
            raise KeyError("outer")
        assert _task_ids(session) == ["first"]
        with savepoint(session):
            with pytest.raises(KeyError), savepoint(session):
                _timer(session, instance_id, "inner")
                raise KeyError("inner")
            _timer(session, instance_id, "after the inner one")
        assert transaction(session).savepoints == 0
    with unit_of_work(services.sessions) as session:
        assert _task_ids(session) == ["after the inner one", "first"]
