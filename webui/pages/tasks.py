"""A task page: the form it concerns and the actions its step offers (claim, complete, return; urge, reassign, take over)."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine import EngineError, Item
from processes.forms import amendments
from processes.forms.models import Form
from processes.inbox import actions, escalations
from processes.org import service as org
from processes.procedures import review as deployment_review
from processes.procedures.models import DeploymentRequest
from processes.transfer import policy
from processes.transfer import service as transfer

from ..auth import actor
from ..context import db, guichet, now
from .task_panels import panel_for

bp = Blueprint("tasks", __name__)


def _page(item: Item, *, errors=None, message=None, values=None, status=200, correction=None, esc_message=None):
    """The task page: the item's actions (its step's, or a superior's 督办 actions) above the panel its stage
    registered for the item's reference (task_panels)."""
    session, services, user = db(), guichet(), actor()
    hop = services.runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    decisions = actions.decisions(session, services.runtime, item) if item.status == "open" else []
    closes = item.status == "open" and item.kind == "task" and services.runtime.closes(session, item)
    # A superior's escalation item: who 改派 may choose and what the stage refuses, from the stage's hooks.
    esc = (escalations.choices(session, item, hop, user)
           if item.kind == "escalation" and item.status == "open" and hop is not None and hop.status == "open"
           and item.assignee == user.username else None)
    can_assign = policy.may_assign(session, user, item) and item.assignee is None
    members = actions.assignable(session, item) if can_assign else []
    pending = session.get(DeploymentRequest, item.ref_id) if item.ref_type == "deployment" else None
    deployment = deployment_review.of_request(session, pending) if pending is not None else None
    context = dict(item=item, hop=hop, decisions=decisions, esc=esc, esc_message=esc_message,
                   esc_actions=escalations.actions_on(session, [hop.id]) if esc else [],
                   deployment=deployment, can_assign=can_assign, members=members,
                   form=None, returned=None, may_correct=False, query=None,
                   errors=errors or {}, message=message, values=values or {}, now=now(), user=user,
                   correction=correction or {}, closes=closes)
    panel = panel_for(session, item, user)
    if panel is not None:
        context.update(panel.context)
    return render_template("task.html", panel=panel, **context), status


def _item(item_id: str) -> Item:
    item = guichet().runtime.get_item(db(), item_id, open_only=False)
    user = actor()
    if not policy.may_assign(db(), user, item):  # the head who gave it away still follows it
        policy.ensure_may_view_item(user, item)
    return item


@bp.route("/tasks/<item_id>")
@login_required
def detail(item_id: str):
    """The task page; a rectification step is worked on its notice's page (its 督办 item here)."""
    item = _item(item_id)
    if item.ref_type == "rectification" and item.kind == "task":
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
    """催办, on the escalation item of any stage."""
    escalations.urge(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已催办"))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/reassign", methods=["POST"])
@login_required
def reassign(item_id: str):
    """改派, on the escalation item of any stage; a person who may not be chosen re-shows the page with why."""
    try:
        step = escalations.reassign(db(), guichet().runtime, item_id=item_id, actor=actor(),
                                    assignee=request.form.get("assignee", ""), now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        fields = (exc.details or {}).get("fields", {})
        return _page(_item(item_id), esc_message=fields.get("assignee") or exc.message, status=422)
    flash(_("已改派给 %(who)s", who=org.display_name(db(), step.assignee)))
    return redirect(url_for("tasks.detail", item_id=item_id))


@bp.route("/tasks/<item_id>/take-over", methods=["POST"])
@login_required
def take_over(item_id: str):
    """接办, on the escalation item of any stage: the late step opens in the superior's hands."""
    step = escalations.take_over(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    flash(_("已接办, 该事项已转入您的待办"))
    return redirect(url_for("tasks.detail", item_id=step.id))
