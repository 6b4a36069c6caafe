"""Staff accounts (账号管理) for management: deactivate a user, or sign them out everywhere."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from processes.errors import Forbidden
from processes.org import access
from processes.org.models import User

from ..auth import actor, forget_recent, session_clock
from ..context import db

bp = Blueprint("users", __name__)


def _ensure_manager() -> None:
    if actor().role != "manager":
        raise Forbidden("只有公司管理层可以管理账号")


@bp.route("/admin/users")
@login_required
def index():
    """Every staff account, with its state and the actions on it."""
    _ensure_manager()
    users = db().scalars(select(User).order_by(User.department_id, User.username)).all()
    return render_template("users.html", users=users)


@bp.route("/admin/users/<username>/deactivate", methods=["POST"])
@login_required
def deactivate(username: str):
    """停用: the account can no longer sign in; its sessions and tokens end now."""
    _ensure_manager()
    if username == actor().username:
        raise Forbidden("不能停用自己的账号")
    user = access.deactivate(db(), username=username, actor=actor().username, now=session_clock())
    forget_recent(user.id)
    flash(_("已停用 %(who)s, 其会话与令牌已失效", who=user.display_name))
    return redirect(url_for("users.index"))


@bp.route("/admin/users/<username>/revoke", methods=["POST"])
@login_required
def revoke(username: str):
    """Sign the user out everywhere (page sessions and API tokens); the account stays active."""
    _ensure_manager()
    user = access.revoke(db(), username=username, actor=actor().username, now=session_clock())
    forget_recent(user.id)
    flash(_("%(who)s 的所有会话与令牌已失效", who=user.display_name))
    return redirect(url_for("users.index"))
