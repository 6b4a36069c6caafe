"""What a request works with: the app's services, the request's database session, the actor and the time."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from engine.db import READ_ONLY, read_only, utcnow
from engine.runtime import Runtime


@dataclass
class Guichet:
    """Application-wide services, built once by create_app."""

    config: dict
    sessions: sessionmaker[Session]
    runtime: Runtime
    scheduler: object | None = None
    clock: object = utcnow
    recent_users: dict = field(default_factory=dict)  # bearer token -> (valid until, user), see auth.py


def guichet() -> Guichet:
    """The services of the current app."""
    return current_app.extensions["guichet"]


def db() -> Session:
    """The request's session; the request commits it at its end (one transaction per request)."""
    if "db" not in g:
        g.db = guichet().sessions()
        if request.method in ("GET", "HEAD"):
            read_only(g.db)
    return g.db


def writing() -> Session:
    """The request's session, able to write even on a GET (a view that must be logged, e.g. under a query grant).

    A GET's transaction is read-only (SQLite: deferred); one that turned out to write would fail with "database is
    locked" when another writer holds the lock, so it is ended here and the next statement begins a writing one
    (which waits its turn). Objects read so far stay in the session and are read again."""
    session = db()
    if request.method in ("GET", "HEAD") and not g.get("db_writing"):
        if session.in_transaction():
            session.rollback()
        session.connection(execution_options={READ_ONLY: False})
        g.db_writing = True
    return session


def now() -> datetime:
    """The request's time (one value for the whole request)."""
    if "now" not in g:
        g.now = guichet().clock()
    return g.now
