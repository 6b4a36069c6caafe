"""A task page: the form it concerns and the actions its step offers (claim, complete, return; urge, reassign, take over)."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import EngineError
from engine.models import WorkItem
from processes.errors import Forbidden
from processes.external import service as external
from processes.external.models import ExternalTransfer
from processes.forms.models import Form, TemplateVersion
from processes.inbox import actions
from processes.org import service as org
from processes.queries import scans
from processes.queries import service as queries
from processes.queries.models import QueryRequest
from processes.templates import service as templates
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, guichet, now

bp = Blueprint("tasks", __name__)


def _page(item: WorkItem, *, errors=None, message=None, values=None, status=200):
    session, services, user = db(), guichet(), actor()
    form = session.get(Form, item.ref_id) if item.ref_type == "form" else None
    version = session.get(TemplateVersion, item.ref_id) if item.ref_type == "template_version" else None
    reviews = templates.reviews_of(session, [version.id])[version.id] if version else []
    hop = session.get(WorkItem, item.parent_id) if item.parent_id else None
    query = session.get(QueryRequest, item.ref_id) if item.ref_type == "query_request" else None
    query_forms = queries.forms_of(session, query) if query else []
    decisions = actions.decisions(session, services.runtime, item) if item.status == "open" else []
    sending = session.get(ExternalTransfer, item.ref_id) if item.ref_type == "external_transfer" else None
    if sending is not None and item.task_name == external.RECEIPT_STEP:
        decisions = []  # only the receiving unit's receipt ends this wait
    colleagues = org.members_of(session, hop.candidate_group) if item.kind == "escalation" and hop is not None else []
    can_assign = transfer.may_assign(session, user, item)
    members = org.members_of(session, item.candidate_group) if can_assign else []
    return render_template("task.html", item=item, form=form, hop=hop, decisions=decisions, colleagues=colleagues,
                           can_assign=can_assign, members=members,
                           version=version, reviews=reviews, sending=sending, query=query,
                           query_forms=query_forms, query_field_labels=queries.field_labels(query_forms, query.fields)
                           if query else [], query_scans=scans.scans_of(session, query) if query else [],
                           handovers=transfer.handovers_of(session, form.id) if form else [], errors=errors or {},
                           message=message, values=values or {}, now=now(), user=user), status


def _item(item_id: str) -> WorkItem:
    item = guichet().runtime.get_item(db(), item_id, open_only=False)
    user = actor()
    if not (transfer.may_work_on(user, item) or item.assignee == user.username or item.completed_by == user.username):
        raise Forbidden("您无权查看该事项")
    return item


@bp.route("/tasks/<item_id>")
@login_required
def detail(item_id: str):
    """The task page; a rectification step is worked on its notice's page."""
    item = _item(item_id)
    if item.ref_type == "rectification":
        return redirect(url_for("inspections.notice", notice_id=item.ref_id))
    return _page(item)


@bp.route("/tasks/<item_id>/claim", methods=["POST"])
@login_required
def claim(item_id: str):
    """Claim from the queue."""
    transfer.claim(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已签收"))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/complete", methods=["POST"])
@login_required
def complete(item_id: str):
    """Complete (hand on), return for correction, or approve / return an approval; a late completion needs its reason."""
    data = {k: request.form.get(k, "") for k in ("decision", "comment", "late_reason")}
    try:
        actions.complete(db(), guichet().runtime, item_id=item_id, actor=actor(), data=data, now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        fields = (exc.details or {}).get("fields", {})
        return _page(_item(item_id), errors=fields, message=exc.message, values=data, status=422)
    approval = data["decision"] == "approve" or "approve" in actions.decisions(db(), guichet().runtime, _item(item_id))
    done = {"return": _("已退回") if approval else _("已退回补正"), "approve": _("已批准")}
    flash(done.get(data["decision"], _("已办理完成并移交")))
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<item_id>/assign", methods=["POST"])
@login_required
def assign(item_id: str):
    """指派."""
    item = transfer.assign(db(), guichet().runtime, item_id=item_id, actor=actor(),
                           assignee=request.form.get("assignee", ""), now=now())
    flash(_("已指派给 %(who)s", who=org.display_name(db(), item.assignee)))
    return redirect(url_for("inbox.index"))  # the item has left the assigner's inbox and may be closed to them


@bp.route("/tasks/<item_id>/urge", methods=["POST"])
@login_required
def urge(item_id: str):
    """催办."""
    transfer.urge(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已催办"))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/reassign", methods=["POST"])
@login_required
def reassign(item_id: str):
    """改派."""
    transfer.reassign(db(), guichet().runtime, item_id=item_id, actor=actor(), assignee=request.form.get("assignee", ""),
                      now=now())
    flash(_("已改派"))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/take-over", methods=["POST"])
@login_required
def take_over(item_id: str):
    """接办."""
    hop = transfer.take_over(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已接办, 该事项已转入您的待办"))
    return redirect(url_for("tasks.detail", item_id=hop.id))
