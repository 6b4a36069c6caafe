"""The Flask application factory."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter
from flask_babel import Babel, format_datetime, gettext as _
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

from cachetools import TTLCache

from engine.config import ROOT, load_config
from processes.inputs import MAX_ID
from processes.org import access
from processes.org import service as org
from processes.services import compose

from .auth import RECENT_USER_SECONDS, session_clock
from . import health
from .context import Guichet, db
from .errors import error_response

log = logging.getLogger("guichet")
csrf = CSRFProtect()
login_manager = LoginManager()
LOCALES = ("zh_CN", "en")


def create_app(overrides: dict | None = None, *, config: dict | None = None, clock=None) -> Flask:
    """Build the app: settings (config.toml < environment < overrides), database, runtime, blueprints."""
    config = config or load_config(overrides=overrides)
    app = Flask(__name__, instance_path=config["app"]["instance_path"], static_folder="static")
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        SECRET_KEY=config["app"]["secret_key"] or _instance_secret(Path(app.instance_path)),
        BABEL_DEFAULT_LOCALE=config["app"]["default_locale"],
        BABEL_DEFAULT_TIMEZONE=config["app"]["timezone"],
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).parent / "translations"),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        JSON_AS_ASCII=False,
        NODE_MODULES=str(ROOT / "node_modules"),
    )
    app.json.ensure_ascii = False
    app.url_map.converters["int"] = IdConverter  # before any route is registered
    app.session_interface = _CookieSessions()
    _protect(app, config["server"])
    built = compose(config, background_checkpoints=True)
    # A verified token's user is remembered for a few seconds (webui/auth.py), never past the token's own life.
    recent = TTLCache(maxsize=10_000, ttl=min(RECENT_USER_SECONDS, config["security"]["token_ttl_seconds"]))
    services = Guichet(config=config, sessions=built.sessions, runtime=built.runtime, recent_users=recent)
    if clock is not None:
        services.clock = clock
    app.extensions["guichet"] = services
    app.extensions["guichet_engine"] = built.engine
    health.install(app)

    Babel(app, locale_selector=_select_locale, timezone_selector=lambda: config["app"]["timezone"])
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from .api import init_api
    from .pages import init_pages

    app.jinja_env.filters["localtime"] = lambda value: format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""
    app.jinja_env.filters["person"] = _person
    app.jinja_env.filters["duration"] = _duration
    app.jinja_env.filters["supervision"] = _supervision
    init_api(app, csrf)
    init_pages(app)
    _limit_logins(app, config["security"])
    app.before_request(_refuse_nul)
    app.after_request(_commit_if_ok)
    app.teardown_request(_close_transaction)
    return app


@login_manager.user_loader
def _load_user(user_id: str):
    """The user of a page session that still holds in the database (see processes/org/access.py)."""
    from flask import session

    from .context import guichet

    if not user_id.isdigit():
        return None
    return access.session_user(db(), session.get("sid"), user_id=int(user_id), limits=access.Limits.of(guichet().config),
                               now=session_clock())


def _digits_at_most(limit: int) -> str:
    """A regular expression for the decimal numbers 0 … limit."""
    text = str(limit)
    options = [rf"\d{{1,{len(text) - 1}}}"] if len(text) > 1 else []
    for i, digit in enumerate(text):
        if digit != "0":
            rest = len(text) - i - 1
            options.append(text[:i] + f"[0-{int(digit) - 1}]" + (rf"\d{{{rest}}}" if rest else ""))
    return "(?:" + "|".join(options + [text]) + ")"


class IdConverter(IntegerConverter):
    """`<int:…>` in a URL: an id within the id columns' range (0 … 2³¹-1); any other number does not match
    the route, so it is a 404, never an overflow in the database. The range is in the pattern itself:
    werkzeug asks about methods before it converts, so a range check alone would make some 405s."""

    regex = _digits_at_most(MAX_ID)

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits, 0 if min is None else min, MAX_ID if max is None else max, signed)


def id_parameter_schema(converter: IdConverter) -> dict:
    """How the OpenAPI document declares an id path parameter."""
    return {"type": "integer", "format": "int32", "minimum": converter.min, "maximum": converter.max}


# What pages may load: only this origin's scripts (no inline script, no eval), its styles (bpmn-js and htmx set
# style attributes, hence 'unsafe-inline' for styles only), data:/blob: images (diagram exports), no framing.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "font-src": ["'self'", "data:"],
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _protect(app: Flask, server: dict) -> None:
    """Security headers (flask-talisman): CSP, frame denial, nosniff, referrer policy; HSTS and Secure cookies
    when [server] https says the site is served over HTTPS. Behind [server] trusted_proxies reverse proxies,
    their X-Forwarded-For/-Proto/-Host are believed, so a request that came in over HTTPS is known as one."""
    proxies = int(server.get("trusted_proxies", 0) or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    https = bool(server.get("https", False))
    _SecurityHeaders(app, force_https=False, strict_transport_security=https, session_cookie_secure=https,
             content_security_policy=CSP, frame_options="DENY", referrer_policy="same-origin")


class _SecurityHeaders(Talisman):
    """Talisman with the options of views that have none of their own (every view here) gathered once, and the
    CSP header, which has no nonce, written once: Talisman rebuilt both several times per request."""

    _shared_options: dict | None = None
    _csp_header: str | None = None

    def _get_local_options(self):
        view = self.app.view_functions.get(request.endpoint)
        if getattr(view, "talisman_view_options", None) is not None:
            return super()._get_local_options()
        if self._shared_options is None:
            self._shared_options = super()._get_local_options()
        return self._shared_options

    def _parse_policy(self, policy):
        if policy is not self.content_security_policy or self.content_security_policy_nonce_in:
            return super()._parse_policy(policy)
        if self._csp_header is None:
            self._csp_header = super()._parse_policy(policy)
        return self._csp_header


def _limit_logins(app: Flask, security: dict) -> None:
    """Per-client rate limits on the two ways to sign in (flask-limiter; one Limiter per app, so each app counts
    on its own). The per-account delay and lockout (processes/org/access.py) hold whatever the client address."""
    limiter = _SignInLimiter(get_remote_address, app=app, storage_uri=security.get("rate_limit_storage", "memory://"),
                      headers_enabled=True)
    rate = security.get("login_rate_limit", "30 per minute")
    for endpoint in ("auth.login", "api_auth.token"):
        app.view_functions[endpoint] = limiter.limit(rate, methods=["POST"])(app.view_functions[endpoint])


class _SignInLimiter(Limiter):
    """A Limiter whose only limits sit on the sign-in views, where their decorators check them. Its before-request
    pass over every request looks for default, application, blueprint and meta limits; with none set it finds
    nothing, so it is skipped (it cost more than the bearer token's check on each API call)."""

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and not self._limits_beyond_views():
            return
        super()._check_request_limit(callable_name, in_middleware)

    def _limits_beyond_views(self) -> bool:
        manager = self.limit_manager
        return bool(manager.default_limits or manager.application_limits or manager._blueprint_limits
                    or self._meta_limits)


def _select_locale() -> str:
    chosen = request.cookies.get("lang")
    if chosen in LOCALES:
        return chosen
    user = getattr(g, "actor", None) or (current_user if current_user and current_user.is_authenticated else None)
    if user is not None and getattr(user, "locale", None) in LOCALES:
        return user.locale
    return "zh_CN"


def _person(username: str | None) -> str:
    """Template filter: a login name as staff read it (陈柜员, not clerk); the system's own actions as 系统."""
    if username == "system":
        return _("系统")
    return org.display_name(db(), username)


def _duration(delta) -> str:
    """A span of time as a clerk reads it: 1天2小时5分; under a minute is 不足1分钟."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return _("不足1分钟")
    days, hours, mins = minutes // 1440, minutes % 1440 // 60, minutes % 60
    parts = ([_("%(n)s天", n=days)] if days else []) + ([_("%(n)s小时", n=hours)] if days or hours else [])
    return "".join(parts) + _("%(n)s分", n=mins)


def _supervision(level: int) -> str:
    """An escalation level as staff say it: 一级督办, 二级督办."""
    names = {1: _("一级督办"), 2: _("二级督办"), 3: _("三级督办"), 4: _("四级督办"), 5: _("五级督办")}
    return names.get(level) or _("%(n)s级督办", n=level)


def _refuse_nul():
    """NUL characters are never part of a business form, and PostgreSQL cannot store them: refuse them up front.

    A query string can only write one as %00, JSON only as \\u0000 or a raw byte. A urlencoded form is read
    decoded (the CSRF check has parsed it already). Multipart bodies carry binary uploads: not checked here."""
    found = b"%00" in request.query_string
    environ = request.environ
    has_body = environ.get("CONTENT_LENGTH", "0") not in ("", "0") or "HTTP_TRANSFER_ENCODING" in environ
    if not found and has_body:  # a GET has none: no Content-Type to parse, no stream to read
        mimetype = request.mimetype
        if mimetype.startswith("multipart/"):
            return None
        if mimetype == "application/x-www-form-urlencoded":
            found = any("\x00" in v for v in request.form.values())
        else:
            raw = request.get_data(cache=True)
            found = b"\x00" in raw or b"\\u0000" in raw.lower()
    if found:
        return error_response(400, "bad_request", "请求含有不允许的控制字符 (NUL), 请检查输入")
    return None


def _commit_if_ok(response):
    """The request is the transaction boundary: commit when it succeeded, roll back when it did not."""
    session = g.get("db")
    if session is None:
        return response
    if response.status_code >= 400 and not g.get("commit_despite_error"):
        session.rollback()
        return response
    try:
        session.commit()
    except SQLAlchemyError as exc:
        session.rollback()
        log.exception("commit failed")
        health.note_write_failure(f"提交事务失败: {type(exc).__name__}")
        return error_response(409, "commit_failed", "保存失败: 数据已被他人同时修改, 请刷新后重试")
    return response


def _close_transaction(exc) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()  # rolls back whatever was not committed


class _CookieSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, without the signing work for a request that brings no session cookie
    and leaves none (every API call: those carry a bearer token). The cookie is Secure when the site is
    configured as HTTPS or the request came over HTTPS (directly or through a trusted proxy)."""

    def get_cookie_secure(self, app) -> bool:
        return bool(super().get_cookie_secure(app) or request.is_secure)

    def open_session(self, app, request):
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not session and not session.modified:
            if session.accessed:  # as Flask does, without parsing the Vary header when there is none yet
                if "Vary" in response.headers:
                    response.vary.add("Cookie")
                else:
                    response.headers["Vary"] = "Cookie"
            return
        super().save_session(app, session, response)


def _instance_secret(instance: Path) -> str:
    path = instance / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
