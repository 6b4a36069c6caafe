"""The task inbox page: my items and my queues, overdue first, with an SLA countdown and filters."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required

from processes.inbox import service as inbox
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, now

bp = Blueprint("inbox", __name__)


@bp.route("/")
def home():
    """Start at the inbox."""
    return redirect(url_for("inbox.index"))


@bp.route("/inbox")
@login_required
def index():
    """The inbox; with HX-Request only the item table (for live refresh)."""
    f = inbox.InboxFilter(
        scope=request.args.get("scope", "all") if request.args.get("scope") in ("all", "mine", "queue") else "all",
        process=request.args.get("process") or None,
        overdue_only=request.args.get("overdue") == "1",
        text=(request.args.get("q") or "").strip() or None,
        limit=100,
    )
    user = actor()
    items = inbox.list_items(db(), actor=user, now=now(), f=f)
    urged = transfer.urge_counts(db(), [i.id for i in items if i.kind == "task"])
    context = {"items": items, "urged": urged, "f": f, "now": now(), "me": user,
               "counts": inbox.counts(db(), actor=user, now=now())}
    if request.headers.get("HX-Request"):
        return render_template("_inbox_items.html", **context)
    return render_template("inbox.html", **context)

