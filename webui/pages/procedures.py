"""流程管理 pages: processes and versions, the heat map, the modeler, instance views."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from sqlalchemy import select

from engine import EngineError, incidents
from engine.deploy import DeploymentError
from engine.models import WorkItem
from processes.inputs import id_or_none
from processes.org.models import Department
from processes.procedures import service as procedures
from processes.procedures.models import DeploymentRequest

from ..auth import actor
from ..context import db, guichet, now

bp = Blueprint("procedures", __name__)


@bp.route("/procedures")
@login_required
def index():
    """Every process with its newest version."""
    procedures.ensure_can_view(actor())
    session = db()
    pending = session.scalars(select(DeploymentRequest).where(DeploymentRequest.status == "pending")
                              .order_by(DeploymentRequest.id)).all()
    items = {i.ref_id: i.id for i in session.scalars(select(WorkItem).where(
        WorkItem.ref_type == "deployment", WorkItem.status == "open", WorkItem.kind == "task"))}
    processes = procedures.list_processes(session)
    return render_template("procedures.html", processes=processes, pending=pending, approval_items=items,
                           process_names={p["key"]: p["name"] for p in processes},
                           incidents=incidents.open_incidents(session), incident_kinds=INCIDENT_KINDS,
                           can_resolve=actor().role in procedures.DEPLOYERS)


INCIDENT_KINDS = {"step_failed": _l("流程步骤失败"), "start_failed": _l("流程无法启动"), "timer_failed": _l("定时器失败")}


@bp.route("/procedures/incidents/<int:incident_id>/resolve", methods=["POST"])
@login_required
def resolve_incident(incident_id: int):
    """Management marks an incident handled (the procedure was fixed or the instance dealt with)."""
    procedures.ensure_can_deploy(actor())
    if incidents.resolve(db(), incident_id, actor=actor().username, now=now()) is None:
        abort(404)
    flash(_("已标记为已处理"))
    return redirect(url_for("procedures.index") + "#incidents")


@bp.route("/procedures/<key>")
@login_required
def detail(key: str):
    """A process: its versions, a comparison, and where work waits now (heat map)."""
    procedures.ensure_can_view(actor())
    versions = procedures.versions_of(db(), key)
    old, new = id_or_none(request.args.get("from")), id_or_none(request.args.get("to"))
    diff = procedures.compare(db(), key, old, new) if old and new else None
    return render_template("procedure.html", key=key, versions=versions, diff=diff, old=old, new=new,
                           can_deploy=actor().role in procedures.DEPLOYERS)


@bp.route("/procedures/<key>/heat")
@login_required
def heat(key: str):
    """The newest diagram with, per step, the items waiting and the average time (for the viewer)."""
    procedures.ensure_can_view(actor())
    latest = procedures.versions_of(db(), key)[0]["version"]
    definition = procedures.get_version(db(), key, id_or_none(request.args.get("version")) or latest)
    return jsonify({"xml": definition.xml, "version": definition.version,
                    "stats": procedures.step_stats(db(), key, now())})


@bp.route("/procedures/<key>/modeler")
@login_required
def modeler(key: str):
    """Edit a version in the browser (bpmn-js) and validate or deploy it."""
    procedures.ensure_can_deploy(actor())
    versions = procedures.versions_of(db(), key)
    version = request.args.get("version", versions[0]["version"], type=int)
    departments = [d.name for d in db().scalars(select(Department).order_by(Department.id))]
    return render_template("modeler.html", key=key, name=versions[0]["name"], version=version, departments=departments,
                           operations=sorted(guichet().runtime.operations))


@bp.route("/procedures/<key>/versions/<int:version>.bpmn")
@login_required
def version_xml(key: str, version: int):
    """One version's XML, for the modeler and viewer."""
    procedures.ensure_can_view(actor())
    return procedures.get_version(db(), key, version).xml, 200, {"Content-Type": "application/xml; charset=utf-8"}


@bp.route("/procedures/requests/<int:request_id>.bpmn")
@login_required
def request_xml(request_id: int):
    """The diagram a deployment request asks for, for the approver's viewer."""
    procedures.ensure_can_view(actor())
    pending = db().get(DeploymentRequest, request_id)
    if pending is None:
        abort(404)
    return pending.xml, 200, {"Content-Type": "application/xml; charset=utf-8"}


@bp.route("/procedures/<key>/validate", methods=["POST"])
@login_required
def validate(key: str):
    """Validate the modeler's diagram; problems come back with their element ids."""
    procedures.ensure_can_deploy(actor())
    problems = procedures.validate(db(), guichet().runtime, key, request.get_data(as_text=True))
    return jsonify({"valid": not problems, "problems": problems}), (422 if problems else 200)


@bp.route("/procedures/<key>/deploy", methods=["POST"])
@login_required
def deploy(key: str):
    """Deploy the modeler's diagram as the newest version."""
    services = guichet()
    try:
        outcome = procedures.deploy(db(), services.runtime, services.config, key=key,
                                    xml=request.get_data(as_text=True), note=request.args.get("note"), actor=actor(),
                                    now=now())
    except DeploymentError as exc:
        return jsonify({"valid": False, "problems": [{"element_id": p.element_id, "message": p.message}
                                                     for p in exc.problems]}), 422
    except EngineError as exc:  # the change note is missing or too long
        if exc.status != 422:
            raise
        return jsonify({"valid": True, "message": exc.message, "fields": (exc.details or {}).get("fields", {})}), 422
    redirect_to = url_for("procedures.detail", key=key)
    if outcome.request is not None:
        flash(_("已提交部署审批, 待另一位管理层成员批准"))
        return jsonify({"pending": True, "request_id": outcome.request.id, "redirect": redirect_to}), 202
    flash(_("已部署为版本 %(v)s", v=outcome.definition.version) if outcome.created
          else _("与最新版本相同, 未产生新版本"))
    return jsonify({"version": outcome.definition.version, "created": outcome.created, "redirect": redirect_to}), (
        201 if outcome.created else 200)


@bp.route("/procedures/<key>/versions/<int:version>/rollback", methods=["POST"])
@login_required
def rollback(key: str, version: int):
    """Deploy an earlier version again as the newest (with a change note saying why)."""
    services = guichet()
    try:
        outcome = procedures.rollback(db(), services.runtime, services.config, key=key, version=version,
                                      note=request.form.get("note"), actor=actor(), now=now())
    except EngineError as exc:
        if exc.status != 422:
            raise
        db().rollback()
        flash(exc.message)
        return redirect(url_for("procedures.detail", key=key))
    if outcome.request is not None:
        flash(_("已提交部署审批, 待另一位管理层成员批准"))
    else:
        flash(_("已回滚: 版本 %(old)s 重新部署为版本 %(v)s", old=version, v=outcome.definition.version)
              if outcome.created else _("与最新版本相同, 未产生新版本"))
    return redirect(url_for("procedures.detail", key=key))


@bp.route("/instances/<int:instance_id>")
@login_required
def instance(instance_id: int):
    """An instance: its diagram with the current step and the path taken, with times per step."""
    procedures.ensure_can_view(actor())
    view = procedures.instance_view(db(), instance_id)
    return render_template("instance.html", view=view)


@bp.route("/instances/<int:instance_id>/diagram")
@login_required
def instance_diagram(instance_id: int):
    """Diagram data for the instance page's viewer."""
    procedures.ensure_can_view(actor())
    view = procedures.instance_view(db(), instance_id)
    done = sorted({p["step"] for p in view["path"] if p["status"] == "done"})
    return jsonify({"xml": view["xml"], "current": view["current"], "done": done, "status": view["status"]})
