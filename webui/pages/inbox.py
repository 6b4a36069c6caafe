"""The task inbox page: my items and my queues, overdue first, with an SLA countdown and filters."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import login_required

from processes.forms import service as forms
from processes.inbox import escalations
from processes.inbox import service as inbox

from ..auth import actor
from ..context import db, guichet, now

bp = Blueprint("inbox", __name__)


@bp.route("/")
def home():
    """Start at the inbox."""
    return redirect(url_for("inbox.index"))


@bp.route("/inbox")
@login_required
def index():
    """The inbox (or 我已办 with scope=done), a page at a time; with HX-Request only the item table (live refresh)."""
    session, user = db(), actor()
    scope = request.args.get("scope") if request.args.get("scope") in ("all", "mine", "queue", "done") else "all"
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 1000))
    text = (request.args.get("q") or "").strip()[:100] or None
    f = inbox.InboxFilter(scope="all" if scope == "done" else scope, process=request.args.get("process") or None,
                          overdue_only=request.args.get("overdue") == "1", text=text, limit=PER_PAGE, page=page,
                          people=inbox.people_named(session, text) if text else (),
                          forms=forms.ids_mentioning(session, guichet().config, text) if text else ())
    if scope == "done":
        items, more = inbox.done_by(session, actor=user, page=page, limit=PER_PAGE)
    else:
        items, more = inbox.list_page(session, actor=user, now=now(), f=f)
    urged = escalations.urge_counts(session, [i.id for i in items if i.kind == "task" and i.status == "open"])
    context = {"items": items, "urged": urged, "f": f, "scope": scope, "page": page, "more": more, "now": now(),
               "me": user, "counts": inbox.counts(session, actor=user, now=now())}
    if request.headers.get("HX-Request"):
        return render_template("_inbox_items.html", **context)
    return render_template("inbox.html", **context)


PER_PAGE = 50
