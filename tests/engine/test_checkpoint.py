"""WAL checkpoints run in a background thread, not inside the commit that happens to cross 1,000 pages."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text

from engine import checkpoint
from engine.db import make_engine, make_session_factory, unit_of_work


@pytest.fixture
def database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'c.db'}", background_checkpoints=True)
    with engine.begin() as conn:
        conn.execute(text("PRAGMA journal_mode=WAL"))
        conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)"))
    yield engine, str(tmp_path / "c.db")
    engine.dispose()


def test_commits_leave_checkpoints_to_the_background_thread(database):
    engine, path = database
    sessions = make_session_factory(engine)
    with unit_of_work(sessions) as session:
        assert session.execute(text("PRAGMA wal_autocheckpoint")).scalar() == checkpoint.FALLBACK_PAGES
    for i in range(50):
        with unit_of_work(sessions) as session:
            session.execute(text("INSERT INTO t (body) VALUES (:b)"), {"b": "x" * 3000})
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        watched = checkpoint.status(path)
        if watched.last is not None and watched.last[1] >= 50 and watched.last[1] == watched.last[2]:
            break
        time.sleep(0.05)
    busy, in_wal, copied = checkpoint.status(path).last
    assert busy == 0 and in_wal >= 50 and copied == in_wal  # every frame of the 50 commits is back in the database


def test_a_database_is_let_go_when_its_engines_are(tmp_path):
    path = str(tmp_path / "d.db")
    first = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    second = make_engine(f"sqlite:///{path}", background_checkpoints=True)
    assert checkpoint.status(str(tmp_path / "other.db")) is None  # engines are not watched unless asked
    assert checkpoint.status(path).engines == 2
    checkpoint.unwatch(path)
    assert checkpoint.status(path).engines == 1
    checkpoint.unwatch(path)
    assert checkpoint.status(path) is None
    first.dispose(), second.dispose()
    make_engine(f"sqlite:///{tmp_path / 'other.db'}").dispose()
    assert checkpoint.status(str(tmp_path / "other.db")) is None
