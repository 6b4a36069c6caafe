"""Destruction pages (销毁管理): forms past retention, proposals and batches, holds and rules; a batch's page with
its approvals, the two supervisors' confirmation at execution, and the 销毁清册."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from engine.errors import EngineError
from processes.destruction import execution, holds, policy, register, retention
from processes.destruction import service as destruction
from processes.destruction.models import Destruction

from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response
from .task_panels import Panel, task_panel

bp = Blueprint("destruction", __name__, url_prefix="/destruction")


@bp.route("")
@login_required
def index():
    """Forms past retention, batches, live holds and the retention rules."""
    policy.ensure_reader(actor())
    session, config = db(), guichet().config
    return render_template("destruction/index.html", due=retention.due(session, config, now=now(), limit=100),
                           batches=destruction.list_batches(session), holds=holds.list_holds(session, live_only=True),
                           rules=retention.rules(session, config, now()), user=actor())


def _batch_page(batch, *, message=None, status=200):
    session = db()
    items = destruction.items_of(session, batch.id, limit=500)
    return render_template("destruction/batch.html", batch=batch, items=items,
                           count=destruction.count_items(session, batch.id), steps=destruction.steps_of(session, batch.id),
                           problems=execution.check(session, batch, now=now()) if batch.status == "approved" else [],
                           volumes=execution.paper_volumes(session, batch) if batch.status == "approved" else [],
                           methods=execution.PAPER_METHODS, step_labels=destruction.STEPS, message=message,
                           user=actor()), status


@bp.route("/<int:destruction_id>")
@login_required
def batch(destruction_id: int):
    """One batch: its forms, approvals and, once approved, execution."""
    policy.ensure_reader(actor())
    return _batch_page(destruction.get(db(), destruction_id))


@bp.route("/<int:destruction_id>/submit", methods=["POST"])
@login_required
def submit(destruction_id: int):
    """The archivist submits the scan's proposal into approval."""
    services = guichet()
    made = destruction.submit_proposal(db(), services.runtime, services.config, actor=actor(),
                                       destruction_id=destruction_id, body={}, now=now())
    flash(_("已提交审批"))
    return redirect(url_for("destruction.batch", destruction_id=made.id))


@bp.route("/apply", methods=["POST"])
@login_required
def apply():
    """A department applies to destroy an erroneous or duplicate form (by its number), with evidence."""
    services, session = guichet(), db()
    numbers = [n.strip() for n in request.form.get("numbers", "").replace("，", ",").split(",") if n.strip()]
    evidence = [int(i) for i in request.form.get("evidence", "").replace("，", ",").split(",") if i.strip().isdigit()]
    body = {"kind": request.form.get("kind", ""), "reason": request.form.get("reason", ""), "evidence": evidence,
            "form_ids": destruction.ids_of_numbers(session, numbers)}
    made = destruction.create(session, services.runtime, services.config, actor=actor(), body=body, now=now())
    flash(_("已提交销毁申请"))
    return redirect(url_for("destruction.batch", destruction_id=made.id))


@bp.route("/<int:destruction_id>/execute", methods=["POST"])
@login_required
def execute(destruction_id: int):
    """Execute with the two supervisors' passwords; a refusal shows on the batch page."""
    supervisors = [{"username": request.form.get(f"supervisor{n}", "").strip(),
                    "password": request.form.get(f"password{n}", "")} for n in (1, 2)]
    volume_ids = [int(v) for v in request.form.getlist("volume_id") if v.isdigit()]
    paper = [{"volume_id": v, "method": request.form.get(f"method-{v}", ""), "place": request.form.get(f"place-{v}", "")}
             for v in volume_ids]
    try:
        execution.execute(db(), guichet().config, actor=actor(), destruction_id=destruction_id, now=now(),
                          body={"supervisors": supervisors, "paper": paper})
    except EngineError as exc:
        if exc.status not in (403, 409, 422):
            raise
        db().rollback()
        fields = (exc.details or {}).get("fields") or {}
        detail = "; ".join(v if isinstance(v, str) else "; ".join(v) for v in fields.values())
        return _batch_page(destruction.get(db(), destruction_id), message=detail or exc.message, status=exc.status)
    flash(_("已销毁"))
    return redirect(url_for("destruction.batch", destruction_id=destruction_id))


@bp.route("/<int:destruction_id>/register.pdf")
@login_required
def register_pdf(destruction_id: int):
    """销毁清册 as a PDF."""
    policy.ensure_reader(actor())
    batch = destruction.get(db(), destruction_id)
    pdf = register.register_pdf(db(), guichet().config, batch, now=now())
    return attachment_response(f"destruction-register-{batch.id}.pdf", "application/pdf", pdf)


@task_panel("destruction")
def _task_panel(session, item, user) -> Panel:
    """An approval step of a destruction batch: a link to its list (档号 and titles only)."""
    batch = session.get(Destruction, item.ref_id)
    return Panel("_task_destruction.html", {"batch": batch}) if batch is not None else Panel(None)
