"""The engine's pool: a connection idle long enough is pinged (and replaced when dead); a busy one is not."""
from __future__ import annotations

import pytest
from sqlalchemy import event, text

from engine import db
from engine.db import make_engine
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="the ping on checkout is PostgreSQL's (SQLite has no server)")


def _pings(engine, monkeypatch) -> list:
    seen = []
    ping = engine.dialect.do_ping
    monkeypatch.setattr(engine.dialect, "do_ping", lambda conn: seen.append(conn) or ping(conn))
    return seen


def test_a_connection_used_just_now_is_not_pinged(database_url, monkeypatch):
    engine = make_engine(database_url, pool_size=1)
    pings = _pings(engine, monkeypatch)
    for _ in range(3):
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar_one() == 1
    assert pings == []
    engine.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced(database_url, monkeypatch):
    monkeypatch.setattr(db, "IDLE_PING_SECONDS", 0.0)
    engine = make_engine(database_url, pool_size=1)
    pings = _pings(engine, monkeypatch)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = make_engine(database_url, pool_size=1)
    with killer.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
    killer.dispose()
    connects = []
    event.listen(engine, "connect", lambda *_: connects.append(1))
    with engine.connect() as conn:  # no error: the dead connection failed its ping and a new one took its place
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    assert len(pings) == 1 and connects == [1]
    engine.dispose()
