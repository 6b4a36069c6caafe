"""The Flask application factory."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from flask_babel import Babel, format_datetime, gettext as _
from flask_login import LoginManager, current_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.exc import SQLAlchemyError

import processes
from engine.config import ROOT, load_config
from engine.db import make_engine, make_session_factory
from engine.budget import Limits
from engine.runtime import Runtime
from processes.forms import personal
from processes.org import service as org

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
    app.session_interface = _CookieSessions()
    personal.keyring(config)  # the master key file is created on first run, outside the database
    engine = make_engine(config["database"]["url"], background_checkpoints=True)
    runtime = Runtime(limits=Limits.from_config(config))
    processes.register_all(runtime, config)
    services = Guichet(config=config, sessions=make_session_factory(engine), runtime=runtime)
    if clock is not None:
        services.clock = clock
    app.extensions["guichet"] = services
    app.extensions["guichet_engine"] = engine

    Babel(app, locale_selector=_select_locale, timezone_selector=lambda: config["app"]["timezone"])
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from .api import init_api
    from .pages import init_pages

    app.jinja_env.filters["localtime"] = lambda value: format_datetime(value, "yyyy-MM-dd HH:mm") if value else ""
    app.jinja_env.filters["person"] = _person
    init_api(app, csrf)
    init_pages(app)
    app.before_request(_refuse_nul)
    app.after_request(_commit_if_ok)
    app.teardown_request(_close_transaction)
    return app


@login_manager.user_loader
def _load_user(user_id: str):
    return org.get_user(db(), int(user_id))


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
    and leaves none (every API call: those carry a bearer token)."""

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
