"""Login, logout and the language switch."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from processes.demo import DEMO_PASSWORD, USERS
from processes.org import access
from processes.org import service as org

from ..auth import session_clock
from ..context import db, guichet

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The login page; in demo mode it lists the demo logins."""
    error = None
    if request.method == "POST":
        config, now = guichet().config, session_clock()
        user = access.sign_in(db(), request.form.get("username", "").strip(), request.form.get("password", ""),
                              ph=org.hasher(config), limits=access.Limits.of(config), now=now)
        if user is None:
            db().commit()  # the failure counts although the answer is 401 (which rolls back)
        else:
            # A new session on every login: whatever session cookie came with the request is ended, not reused.
            access.end_session(db(), session.get("sid"), now=now, reason="replaced")
            session.clear()
            session["sid"] = access.begin_session(db(), user, now=now)
            login_user(user)
            target = request.args.get("next") or ""
            return redirect(target if target.startswith("/") and not target.startswith("//") else url_for("inbox.index"))
        error = _("用户名或密码错误")
    demo = [(u, d, r) for u, d, r, _dep, _s in USERS] if guichet().config["app"]["demo"] else []
    return render_template("login.html", error=error, demo_users=demo, demo_password=DEMO_PASSWORD), (401 if error else 200)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End the session, in the database too: a copy of the cookie opens nothing afterwards."""
    access.end_session(db(), session.get("sid"), now=session_clock())
    logout_user()
    session.clear()
    flash(_("您已退出登录"))
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>")
def set_language(code: str):
    """Switch the UI language (zh_CN or en), remembered in a cookie."""
    response = redirect(request.referrer or url_for("inbox.index"))
    if code in ("zh_CN", "en"):
        response.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax")
    return response
