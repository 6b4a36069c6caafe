"""What a request works with: the app's services, the request's database session, the actor and the time."""
from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from datetime import datetime

from flask import current_app, g, request
from sqlalchemy.orm import Session, sessionmaker

from engine.db import read_only, utcnow
from engine import Runtime


@dataclass
class Guichet:
    """Application-wide services, built once by create_app."""

    config: dict
    sessions: sessionmaker[Session]
    runtime: Runtime
    scheduler: object | None = None
    clock: object = utcnow
    recent_users: MutableMapping = field(default_factory=dict)  # bearer token -> user, see auth.py


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


def now() -> datetime:
    """The request's time (one value for the whole request)."""
    if "now" not in g:
        g.now = guichet().clock()
    return g.now
