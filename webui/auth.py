"""Who is calling: session login for pages (Flask-Login), bearer tokens for the API."""
from __future__ import annotations

from datetime import datetime
from threading import Lock

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from engine.db import utcnow
from processes.org import access
from processes.org import service as org
from processes.org.models import User

from .context import db, guichet
from .errors import error_response

_SALT = "guichet-api-token"


def session_clock() -> datetime:
    """Sessions and login delays run on the wall clock, not on the business clock that tests and demos move."""
    return utcnow()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: User) -> str:
    """A signed bearer token naming the user and their auth epoch (raised when their tokens are revoked)."""
    return _serializer().dumps({"uid": user.id, "e": user.auth_epoch or 0})


def forget_recent(user_id: int) -> None:
    """Drop this process's remembered tokens of a user (deactivated or revoked here)."""
    recent = guichet().recent_users
    with _recent_lock:
        for token in [t for t, u in recent.items() if u.id == user_id]:
            recent.pop(token, None)


RECENT_USER_SECONDS = 10.0
_recent_lock = Lock()


def user_from_token(token: str) -> User | None:
    """The active user a valid, unexpired token names, checked against the database on every request.

    A verified token's user is remembered for a few seconds (read-only, detached; a TTL cache built by
    create_app), so a client's burst of requests costs one signature check and one full user load. Each request
    still reads the user's row (active, auth epoch, role, department: one primary-key lookup), so a deactivation,
    revocation or password change made by any process ends the token at its next request, and a changed role or
    department is seen at once.
    """
    recent = guichet().recent_users
    with _recent_lock:
        hit = recent.get(token)
    if hit is not None:
        state = access.token_state(db(), hit.id)
        if state == (True, hit.auth_epoch or 0, hit.role, hit.department_id):
            return hit
        with _recent_lock:
            recent.pop(token, None)
        if state is None or not state[0] or state[1] != (hit.auth_epoch or 0):
            return None
    ttl = guichet().config["security"]["token_ttl_seconds"]
    try:
        payload = _serializer().loads(token, max_age=ttl)
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("uid"), int):
        return None
    user = org.get_user(db(), payload["uid"])
    if user is None or not user.active or payload.get("e", 0) != (user.auth_epoch or 0):
        return None
    # Detach it (and its department) so that no request's rollback can expire the shared copy.
    db().expunge(user)
    db().expunge(user.department)
    with _recent_lock:
        recent[token] = user
    return user


def require_bearer():
    """before_request for API blueprints: sets g.actor or answers 401."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return error_response(401, "unauthorized", "请先登录: 缺少 Authorization: Bearer <token>")
    user = user_from_token(header[7:].strip())
    if user is None:
        return error_response(401, "unauthorized", "登录已失效或令牌无效, 请重新登录")
    g.actor = user
    return None


def actor() -> User:
    """The calling user (API or page)."""
    if "actor" in g:
        return g.actor
    from flask_login import current_user

    return current_user._get_current_object()
