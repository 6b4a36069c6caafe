"""Who is calling: session login for pages (Flask-Login), bearer tokens for the API."""
from __future__ import annotations

from threading import Lock

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from processes.org import service as org
from processes.org.models import User

from .context import db, guichet
from .errors import error_response

_SALT = "guichet-api-token"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def issue_token(user: User) -> str:
    """A signed bearer token naming the user."""
    return _serializer().dumps({"uid": user.id})


RECENT_USER_SECONDS = 10.0
_recent_lock = Lock()


def user_from_token(token: str) -> User | None:
    """The active user a valid, unexpired token names.

    A verified token's user is remembered for a few seconds (read-only, detached; a TTL cache built by
    create_app), so a client's burst of requests costs one signature check and one user lookup; a
    deactivation takes effect within that time.
    """
    recent = guichet().recent_users
    with _recent_lock:
        hit = recent.get(token)
    if hit is not None:
        return hit
    ttl = guichet().config["security"]["token_ttl_seconds"]
    try:
        payload = _serializer().loads(token, max_age=ttl)
    except (SignatureExpired, BadSignature):
        return None
    user = org.get_user(db(), int(payload.get("uid", 0)))
    if user is None or not user.active:
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
