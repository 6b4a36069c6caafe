"""A task page: the form it concerns and the actions its step offers (claim, complete, return; urge, reassign, take over)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import EngineError, Item
from processes.external import service as external
from processes.external.models import ExternalTransfer
from processes.forms import amendments
from processes.forms.models import Form, TemplateVersion
from processes.inbox import actions
from processes.org import service as org
from processes.procedures import review as deployment_review
from processes.procedures.models import DeploymentRequest
from processes.queries import scans
from processes.queries import service as queries
from processes.queries.models import QueryRequest
from processes.templates import service as templates
from processes.transfer import policy
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, guichet, now

bp = Blueprint("tasks", __name__)


def _page(item: Item, *, errors=None, message=None, values=None, status=200, correction=None):
    session, services, user = db(), guichet(), actor()
    form = session.get(Form, item.ref_id) if item.ref_type == "form" else None
    returned = transfer.returned_by(session, item) if form is not None and item.kind == "task" else None
    # A 补正 step is where the form is corrected: its page carries the return reason and the correction form.
    may_correct = (returned is not None and item.status == "open" and form.status == "in_transfer"
                   and item.assignee == user.username)
    version = session.get(TemplateVersion, item.ref_id) if item.ref_type == "template_version" else None
    reviews = templates.reviews_of(session, [version.id])[version.id] if version else []
    hop = services.runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    query = session.get(QueryRequest, item.ref_id) if item.ref_type == "query_request" else None
    query_forms = queries.forms_of(session, query) if query else []
    decisions = actions.decisions(session, services.runtime, item) if item.status == "open" else []
    sending = session.get(ExternalTransfer, item.ref_id) if item.ref_type == "external_transfer" else None
    if sending is not None and item.task_name == external.RECEIPT_STEP:
        decisions = []  # only the receiving unit's receipt ends this wait
    closes = item.status == "open" and item.kind == "task" and services.runtime.closes(session, item)
    # 改派 offers the department's other staff: not the superior (接办 is for that), not who holds it now.
    colleagues = ([m for m in actions.assignable(session, hop) if m.username not in (user.username, hop.assignee)]
                  if item.kind == "escalation" and hop is not None else [])
    can_assign = policy.may_assign(session, user, item) and item.assignee is None
    members = actions.assignable(session, item) if can_assign else []
    pending = session.get(DeploymentRequest, item.ref_id) if item.ref_type == "deployment" else None
    deployment = deployment_review.of_request(session, pending) if pending is not None else None
    return render_template("task.html", item=item, form=form, hop=hop, decisions=decisions, colleagues=colleagues,
                           deployment=deployment,
                           can_assign=can_assign, members=members,
                           version=version, reviews=reviews, sending=sending, query=query,
                           query_forms=query_forms, query_field_labels=queries.field_labels(query_forms, query.fields)
                           if query else [], query_scans=scans.scans_of(session, query) if query else [],
                           handovers=transfer.handovers_of(session, form.id) if form else [], errors=errors or {},
                           message=message, values=values or {}, now=now(), user=user, returned=returned,
                           may_correct=may_correct, correction=correction or {}, closes=closes), status


def _item(item_id: str) -> Item:
    item = guichet().runtime.get_item(db(), item_id, open_only=False)
    user = actor()
    if not policy.may_assign(db(), user, item):  # the head who gave it away still follows it
        policy.ensure_may_view_item(user, item)
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
        result = actions.complete(db(), guichet().runtime, item_id=item_id, actor=actor(), data=data, now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        fields = (exc.details or {}).get("fields", {})
        return _page(_item(item_id), errors=fields, message=exc.message, values=data, status=422)
    approval = data["decision"] == "approve" or "approve" in actions.decisions(db(), guichet().runtime, _item(item_id))
    done = {"return": _("已退回") if approval else _("已退回补正"), "approve": _("已批准")}
    closed = result.instance.status == "completed"
    flash(done.get(data["decision"], _("已办结") if closed else _("已办理完成, 已移交下一环节")))
    return redirect(url_for("inbox.index"))


@bp.route("/tasks/<item_id>/correct", methods=["POST"])
@login_required
def correct(item_id: str):
    """更正 from a 补正 step: the amendment is signed with the password; the page stays on the step."""
    item = _item(item_id)
    if item.ref_type != "form":
        abort(404)
    services = guichet()
    form = db().get(Form, item.ref_id)
    values = {k: request.form.get(k, "") for k in ("field", "new_value", "reason")}
    try:
        done = amendments.correct(db(), services.config, form=form, actor=actor(), field=values["field"],
                                  new_value=values["new_value"], reason=values["reason"],
                                  password=request.form.get("password", ""), ph=org.hasher(services.config), now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        fields = (exc.details or {}).get("fields", {})
        return _page(_item(item_id), status=422, correction={"errors": fields, "values": values, "message": exc.message})
    flash(_("已更正 (第 %(seq)s 号更正章); 改完后请点“补正完成并移交”", seq=done.seq))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/assign", methods=["POST"])
@login_required
def assign(item_id: str):
    """指派."""
    item = actions.assign(db(), guichet().runtime, item_id=item_id, actor=actor(),
                          assignee=request.form.get("assignee", ""), now=now())
    flash(_("已指派给 %(who)s", who=org.display_name(db(), item.assignee)))
    return redirect(url_for("inbox.index"))  # the item has left the assigner's inbox and may be closed to them


@bp.route("/tasks/<item_id>/release", methods=["POST"])
@login_required
def release(item_id: str):
    """退回队列: the holder puts the item back in its queue, for whoever may take it."""
    item = transfer.release(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已退回队列 (%(queue)s)", queue=item.candidate_group or ""))
    return redirect(url_for("inbox.index"))


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
