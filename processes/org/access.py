"""Who may sign in, and for how long: login throttling, page sessions, deactivation and revocation.

Everything here is in the database, so it holds across web processes: a lockout counted by one process
stops the next attempt in another, and a session ended in one is ended in all.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..audit import service as audit
from ..errors import ValidationFailed
from . import rows
from . import service as org
from .models import LoginSession, LoginThrottle, User

# A session's last-seen time is written at most this often: a page view is not a write each time.
_SEEN_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Limits:
    """[security] settings of sign-in: free failures, first delay, lockout, session timeouts."""

    free_failures: int = 3
    delay_seconds: float = 1.0
    lockout_failures: int = 10
    lockout_minutes: float = 15
    idle_minutes: float = 30
    absolute_hours: float = 12

    @classmethod
    def of(cls, config: dict) -> "Limits":
        """The limits set in [security]; defaults for those not set."""
        sec = config.get("security", {})
        keys = {"free_failures": "login_free_failures", "delay_seconds": "login_delay_seconds",
                "lockout_failures": "login_lockout_failures", "lockout_minutes": "login_lockout_minutes",
                "idle_minutes": "session_idle_minutes", "absolute_hours": "session_absolute_hours"}
        return cls(**{name: sec[key] for name, key in keys.items() if key in sec})


# --- signing in ---------------------------------------------------------------------------------
def sign_in(session: Session, username: str, password: str, *, ph: PasswordHasher, limits: Limits,
            now: datetime) -> User | None:
    """The active user with these credentials, unless the account name is waiting out a delay or a lockout.

    Locked, waiting, unknown and wrong all give None, so a caller cannot tell them apart. A failure is written
    here; the caller commits it even though it answers 401.
    """
    throttle = _throttle(session, username)
    if throttle is not None and _waiting(throttle, limits, now):
        ph.hash("timing-equaliser")  # as slow as a real check
        if not _locked(throttle, now):  # an attempt that did not wait counts: a burst ends in the lockout
            _count_failure(session, username, throttle, limits, now)
        return None
    user = org.authenticate(session, username, password, ph=ph)
    if user is not None:
        if throttle is not None:
            session.delete(throttle)
        return user
    _count_failure(session, username, throttle, limits, now)
    return None


def _throttle(session: Session, username: str) -> LoginThrottle | None:
    return session.scalars(select(LoginThrottle).where(LoginThrottle.username == username).with_for_update()).first()


def _locked(throttle: LoginThrottle, now: datetime) -> bool:
    return throttle.locked_until is not None and now < throttle.locked_until


def _waiting(throttle: LoginThrottle, limits: Limits, now: datetime) -> bool:
    if _locked(throttle, now):
        return True
    over = throttle.failures - limits.free_failures
    if over < 0:
        return False
    delay = min(limits.delay_seconds * 2 ** over, limits.lockout_minutes * 60)  # 1 s, 2 s, 4 s … after the free ones
    return now < throttle.last_failure_at + timedelta(seconds=delay)


def _count_failure(session: Session, username: str, throttle: LoginThrottle | None, limits: Limits,
                   now: datetime) -> None:
    if throttle is None:
        try:
            with session.begin_nested():
                session.add(LoginThrottle(username=username, failures=1, last_failure_at=now))
            return
        except IntegrityError:  # another process counted this name's first failure meanwhile
            throttle = _throttle(session, username)
    if throttle.locked_until is not None and now >= throttle.locked_until:
        throttle.failures, throttle.locked_until = 0, None  # a lockout served starts the count again
    throttle.failures += 1
    throttle.last_failure_at = now
    if throttle.failures >= limits.lockout_failures:
        throttle.locked_until = now + timedelta(minutes=limits.lockout_minutes)
        user = org.get_by_username(session, username)
        # The typed name is recorded only when it is an account: a mistyped password can land in that field.
        audit.record(session, actor="system", action="auth.lockout", object_type="user",
                     object_id=user.id if user is not None else "unknown", now=now,
                     details={"username": user.username if user is not None else "(unknown)",
                              "failures": throttle.failures, "until": throttle.locked_until.isoformat()})
    session.flush()


# --- page sessions ------------------------------------------------------------------------------
def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def begin_session(session: Session, user: User, *, now: datetime) -> str:
    """Open a page session for `user`; returns the key the cookie carries (only its hash is stored)."""
    key = secrets.token_urlsafe(32)
    session.add(LoginSession(id=_digest(key), user_id=user.id, created_at=now, seen_at=now))
    session.flush()
    return key


def session_user(session: Session, key: str | None, *, user_id: int, limits: Limits, now: datetime) -> User | None:
    """The active user of a session that still holds (not ended, not idle too long, not too old), or None."""
    if not key or not isinstance(key, str):
        return None
    row = session.get(LoginSession, _digest(key))
    if row is None or row.ended_at is not None or row.user_id != user_id:
        return None
    if now - row.seen_at > timedelta(minutes=limits.idle_minutes):
        _end(row, now, "idle")
        return None
    if now - row.created_at > timedelta(hours=limits.absolute_hours):
        _end(row, now, "expired")
        return None
    user = org.get_user(session, user_id)
    if user is None or not user.active:
        _end(row, now, "deactivated")
        return None
    if now - row.seen_at >= _SEEN_EVERY:
        row.seen_at = now
    return user


def end_session(session: Session, key: str | None, *, now: datetime, reason: str = "logout") -> None:
    """End the page session with this key (logout)."""
    if key and isinstance(key, str):
        row = session.get(LoginSession, _digest(key))
        if row is not None and row.ended_at is None:
            _end(row, now, reason)


def _end(row: LoginSession, now: datetime, reason: str) -> None:
    row.ended_at, row.end_reason = now, reason


def end_all_sessions(session: Session, user: User, *, now: datetime, reason: str) -> None:
    """End every page session of `user` and invalidate the API tokens issued to them."""
    session.execute(update(LoginSession).where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
                    .values(ended_at=now, end_reason=reason))
    user.auth_epoch = (user.auth_epoch or 0) + 1
    session.flush()


def token_state(session: Session, user_id: int) -> tuple[bool, int, str, int] | None:
    """What decides whether a remembered API token still holds: (active, auth epoch, role, department), or None.

    One primary-key lookup, read on every API request, so an epoch raised by any process ends the token at once.
    A prepared statement on the request's connection (rows.py): a fraction of the CPU of the same columns
    through the ORM or through Connection.execute."""
    row = rows.token_state_row(session, user_id)
    return None if row is None else (bool(row[0]), row[1] or 0, row[2], row[3])


# --- administration -----------------------------------------------------------------------------
def deactivate(session: Session, *, username: str, actor: str, now: datetime) -> User:
    """停用: the user can no longer sign in; their sessions and tokens end at once."""
    user = _user(session, username)
    user.active = False
    end_all_sessions(session, user, now=now, reason="deactivated")
    audit.record(session, actor=actor, action="user.deactivate", object_type="user", object_id=user.id, now=now,
                 details={"username": user.username})
    return user


def revoke(session: Session, *, username: str, actor: str, now: datetime) -> User:
    """Sign a user out everywhere: page sessions and API tokens (the account stays active)."""
    user = _user(session, username)
    end_all_sessions(session, user, now=now, reason="revoked")
    audit.record(session, actor=actor, action="user.revoke", object_type="user", object_id=user.id, now=now,
                 details={"username": user.username})
    return user


def set_password(session: Session, *, username: str, password: str, ph: PasswordHasher, actor: str,
                 now: datetime) -> User:
    """A new password (8 to 200 characters); every session and token of the user ends."""
    if not isinstance(password, str) or not 8 <= len(password) <= 200:
        raise ValidationFailed({"password": "密码须为 8 到 200 个字符"})
    user = _user(session, username)
    user.password_hash = ph.hash(password)
    end_all_sessions(session, user, now=now, reason="password")
    audit.record(session, actor=actor, action="user.password", object_type="user", object_id=user.id, now=now,
                 details={"username": user.username})
    return user


def _user(session: Session, username: str) -> User:
    user = org.get_by_username(session, username or "")
    if user is None:
        raise ValidationFailed({"username": "找不到该用户"})
    return user
