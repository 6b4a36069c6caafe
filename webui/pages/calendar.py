"""工作日历 (admin): the extra holidays and working days for years the statutory calendar does not know yet."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import EngineError
from processes.calendar import service as calendar

from ..auth import actor
from ..context import db, guichet, now

bp = Blueprint("calendar", __name__)


def _page(*, errors=None, message=None, values=None, status=200):
    session, runtime = db(), guichet().runtime
    year = now().astimezone(runtime.working_days.base.zone).year
    return render_template("calendar.html", days=calendar.listed(session), kinds=calendar.KINDS,
                           coverage=calendar.coverage(session, runtime, year), errors=errors or {},
                           message=message, values=values or {}), status


@bp.route("/admin/calendar")
@login_required
def index():
    """The listed days and whether this year and the next are covered."""
    calendar.ensure_can_edit(actor())
    return _page()


@bp.route("/admin/calendar", methods=["POST"])
@login_required
def put():
    """List a day as a holiday or a working day."""
    values = {k: request.form.get(k, "") for k in ("day", "kind", "note")}
    try:
        entry = calendar.put_day(db(), guichet().runtime, actor=actor(), now=now(), **values)
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        return _page(errors=(exc.details or {}).get("fields", {}), message=exc.message, values=values, status=422)
    flash(_("已保存: %(day)s %(kind)s", day=entry.day.isoformat(), kind=_(calendar.KINDS[entry.kind])))
    return redirect(url_for("calendar.index"))


@bp.route("/admin/calendar/<day>/remove", methods=["POST"])
@login_required
def remove(day: str):
    """Take a day off the list."""
    calendar.remove_day(db(), guichet().runtime, day=day, actor=actor(), now=now())
    flash(_("已删除: %(day)s", day=day))
    return redirect(url_for("calendar.index"))
