"""Database plumbing: the declarative base, engines tuned per backend, and the unit of work."""
from __future__ import annotations

import time
import weakref
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import DateTime, MetaData, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from . import checkpoint

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


READ_ONLY = "guichet_read_only"


def read_only(session: Session) -> Session:
    """Mark a fresh session's transaction as read-only (SQLite: no write lock taken)."""
    session.connection(execution_options={READ_ONLY: True})
    return session


class Base(DeclarativeBase):
    """Declarative base shared by the engine and every stage."""

    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC times")
        value = value.astimezone(timezone.utc)
        # SQLite has no time zones: store naive UTC so text ordering is time ordering.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(timezone.utc)


def database_now(factory: sessionmaker[Session]) -> datetime:
    """The database's clock (UTC): schedulers on several hosts agree on what is due."""
    with factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            value = session.execute(text("SELECT now()")).scalar_one()
        else:
            value = datetime.fromisoformat(
                session.execute(text("SELECT strftime('%Y-%m-%dT%H:%M:%f', 'now')")).scalar_one())
        session.rollback()
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def make_engine(url: str, *, background_checkpoints: bool = False, **kwargs) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and write transactions that begin IMMEDIATE.

    With `background_checkpoints` (the long-running server and scheduler), a SQLite database's WAL is
    checkpointed by a background thread instead of inside commits (engine/checkpoint.py).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs)
        watched = background_checkpoints and bool(path) and path != ":memory:"
        _tune_sqlite(engine, autocheckpoint=checkpoint.FALLBACK_PAGES if watched else None)
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        if watched:
            checkpoint.watch(path)
            weakref.finalize(engine, checkpoint.unwatch, path)
        return engine
    kwargs.setdefault("pool_size", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        _ping_when_idle(engine, IDLE_PING_SECONDS)
    return engine


# A pooled connection idle at least this long is pinged before use (see _ping_when_idle).
IDLE_PING_SECONDS = 1.0
_IDLE_SINCE = "guichet_idle_since"


def _ping_when_idle(engine: Engine, after: float) -> None:
    """Ping a pooled connection on checkout only when it has been idle `after` seconds or more.

    What drops a connection (a server restart or failover, an idle timeout in the server or on the network) happens
    to connections at rest in the pool; `pool_pre_ping` pings on every checkout, which on a busy pool is a round trip
    more per transaction for connections used a few milliseconds ago. A connection that fails the ping is replaced
    (DisconnectionError makes the pool connect anew), as with pool_pre_ping.
    """
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn, record):
        if record is not None:
            record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn, record, _proxy):
        since = record.info.get(_IDLE_SINCE)  # None: connected just now (the record's info goes with the connection)
        if since is None or time.monotonic() - since < after:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"the pooled connection failed its ping: {error}") from error


def _tune_sqlite(engine: Engine, autocheckpoint: int | None) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Take over transaction control from pysqlite so BEGIN IMMEDIATE can be issued.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if autocheckpoint is not None:  # a background thread checkpoints; commits only past this many pages
            cur.execute(f"PRAGMA wal_autocheckpoint={autocheckpoint}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A write lock up front: two writers queue instead of failing with SQLITE_BUSY mid-way,
        # which is what makes "one of two concurrent completions wins" hold on SQLite.
        # Read-only work (marked by the caller) takes a plain snapshot and queues behind nobody.
        # Sent straight to the driver: through exec_driver_sql it cost more than the rest of a short transaction.
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, info: dict | None = None) -> sessionmaker[Session]:
    """A session factory whose sessions keep loaded objects usable after commit; `info` is given to each session
    (the stages keep what their records need to be read there, e.g. the keyring that opens sealed values)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False, info=info)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]):
    """One transaction: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
