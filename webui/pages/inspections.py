"""Inspections (监督检查) and rectification notices (整改通知书): the inspector's and the notified department's pages."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from processes.documents import render_html, render_pdf
from processes.inbox import actions
from processes.errors import ValidationFailed
from processes.inputs import id_or_none
from processes.org.models import Department
from processes.supervision import inspections, policy, rectification
from processes.supervision.models import STAGES, RectificationEvidence, RectificationNotice

from ..auth import actor
from ..context import db, guichet, now
from ..downloads import attachment_response
from .task_panels import Panel, task_panel

bp = Blueprint("inspections", __name__, url_prefix="/supervision")


def _departments() -> list[str]:
    return list(db().scalars(select(Department.name).order_by(Department.id)))


def _local_deadline(text: str):
    """A datetime-local value from a page is a time in the business zone; anything else goes to the service as is."""
    try:
        return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(guichet().config["app"]["timezone"])).isoformat() \
            if text and "T" in text and "+" not in text else text
    except ValueError:
        return text


@bp.route("/inspections")
@login_required
def index():
    """Inspections, newest first; inspectors open one here."""
    policy.ensure_oversight(actor())
    return render_template("supervision_inspections.html", inspections=inspections.list_inspections(db()),
                           plans=inspections.plans(db()), stages=STAGES, departments=_departments(),
                           is_inspector=actor().role in policy.INSPECTORS)


@bp.route("/inspections", methods=["POST"])
@login_required
def start():
    """Open an ad hoc inspection (its automatic findings are read at once)."""
    inspection = inspections.start(db(), guichet().config, actor=actor(),
                                   data={k: request.form.get(k, "") for k in ("department", "stage")}, now=now())
    flash(_("已开展检查 %(number)s", number=inspection.number))
    return redirect(url_for("inspections.detail", inspection_id=inspection.id))


@bp.route("/plans", methods=["POST"])
@login_required
def add_plan():
    """A monthly inspection plan."""
    inspections.add_plan(db(), actor=actor(), data={k: request.form.get(k, "") for k in ("department", "stage")}, now=now())
    flash(_("已添加检查计划"))
    return redirect(url_for("inspections.index"))


@bp.route("/inspections/<int:inspection_id>")
@login_required
def detail(inspection_id: int):
    """An inspection: checklist, findings with their records, evaluation; notices are issued from findings."""
    policy.ensure_oversight(actor())
    inspection = inspections.get(db(), inspection_id)
    return render_template("supervision_inspection.html", inspection=inspection,
                           findings=inspections.findings_of(db(), inspection.id),
                           is_inspector=actor().role in policy.INSPECTORS)


@bp.route("/inspections/<int:inspection_id>/findings", methods=["POST"])
@login_required
def add_finding(inspection_id: int):
    """A manual finding."""
    inspections.add_finding(db(), inspection=inspections.get(db(), inspection_id), actor=actor(),
                            data={k: request.form.get(k, "") for k in ("title", "detail")}, now=now())
    flash(_("已添加检查发现"))
    return redirect(url_for("inspections.detail", inspection_id=inspection_id))


@bp.route("/inspections/<int:inspection_id>/evaluation", methods=["POST"])
@login_required
def evaluate(inspection_id: int):
    """The evaluation closes the inspection; ticked checklist items pass."""
    inspection = inspections.get(db(), inspection_id)
    ticks = {c["item"]: c["item"] in request.form.getlist("checklist") for c in inspection.checklist}
    inspections.evaluate(db(), inspection=inspection, actor=actor(),
                         data={"evaluation": request.form.get("evaluation", ""), "checklist": ticks}, now=now())
    flash(_("检查已结束"))
    return redirect(url_for("inspections.detail", inspection_id=inspection_id))


@bp.route("/notices")
@login_required
def notices():
    """Notices the user may read; inspectors issue one here."""
    return render_template("supervision_notices.html", notices=rectification.list_notices(db(), actor()),
                           departments=_departments(), is_inspector=actor().role in policy.INSPECTORS,
                           finding_id=request.args.get("finding_id", ""), prefill=request.args)


@bp.route("/notices", methods=["POST"])
@login_required
def issue():
    """下发整改通知书."""
    data = {k: request.form.get(k, "") for k in ("department", "problem", "requirement")}
    data["deadline"] = _local_deadline(request.form.get("deadline", ""))
    finding = request.form.get("finding_id", "").strip()
    if finding and id_or_none(finding) is None:
        raise ValidationFailed({"finding_id": "找不到该检查发现"})
    notice = rectification.issue(db(), guichet().runtime, actor=actor(), data=data, now=now(),
                                 finding_id=id_or_none(finding))
    flash(_("已下发整改通知书 %(number)s", number=notice.number))
    return redirect(url_for("inspections.notice", notice_id=notice.id))


def _notice(notice_id: int):
    notice = rectification.get(db(), notice_id)
    rectification.ensure_readable(db(), actor(), notice)
    return notice


@bp.route("/notices/<int:notice_id>")
@login_required
def notice(notice_id: int):
    """A notice: its rounds, evidence, and the form of its open step for whoever may act on it."""
    found = _notice(notice_id)
    described = rectification.describe(db(), found)
    user = actor()
    may_respond = described["task_name"] == rectification.RESPOND_STEP and _allowed(policy.ensure_respond, user, found)
    may_reinspect = described["task_name"] == rectification.REINSPECT_STEP and _allowed(policy.ensure_reinspect, user, found)
    return render_template("supervision_notice_page.html", notice=found, d=described, may_respond=may_respond,
                           may_reinspect=may_reinspect, decisions=rectification.DECISIONS)


def _allowed(check, user, notice) -> bool:
    try:
        check(user, notice)
        return True
    except Exception:  # noqa: BLE001 - Forbidden: the form is simply not offered
        return False


@bp.route("/notices/<int:notice_id>/decide", methods=["POST"])
@login_required
def decide(notice_id: int):
    """Respond, or re-inspect (pass / fail with a new deadline), through the notice's open task."""
    found = _notice(notice_id)
    item = rectification.open_item(db(), found)
    if item is None:
        abort(409)
    data = {k: request.form.get(k, "") for k in ("decision", "measures", "comment")}
    data["deadline"] = _local_deadline(request.form.get("deadline", ""))
    actions.complete(db(), guichet().runtime, item_id=item.id, actor=actor(), data=data, now=now())
    flash(_(rectification.DECISIONS.get(data["decision"], data["decision"])) + " · " + _("已提交"))
    return redirect(url_for("inspections.notice", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/evidence", methods=["POST"])
@login_required
def add_evidence(notice_id: int):
    """Attach an evidence file."""
    found = _notice(notice_id)
    upload = request.files.get("file")
    rectification.add_evidence(db(), notice=found, actor=actor(), filename=upload.filename if upload else "",
                               content_type=upload.mimetype if upload else "", content=upload.read() if upload else b"",
                               now=now())
    flash(_("已上传整改佐证"))
    return redirect(url_for("inspections.notice", notice_id=notice_id))


@bp.route("/notices/<int:notice_id>/evidence/<int:evidence_id>")
@login_required
def evidence(notice_id: int, evidence_id: int):
    """Download an evidence file."""
    _notice(notice_id)
    found = db().get(RectificationEvidence, evidence_id)
    if found is None or found.notice_id != notice_id:
        abort(404)
    return attachment_response(found.filename, found.content_type, found.content)


def _document(found):
    config = guichet().config
    return rectification.notice_document(db(), found, issuer=_("风险合规部"), zone=config["app"]["timezone"], now=now())


@bp.route("/notices/<int:notice_id>/print")
@login_required
def notice_print(notice_id: int):
    """整改通知书 as the page that prints."""
    return render_html("supervision_notice.html", **_document(_notice(notice_id)))


@bp.route("/notices/<int:notice_id>/notice.pdf")
@login_required
def notice_pdf(notice_id: int):
    """整改通知书 as a PDF."""
    found = _notice(notice_id)
    return attachment_response(f"整改通知书-{found.number}.pdf", "application/pdf",
                               render_pdf("supervision_notice.html", **_document(found)))


@task_panel("rectification")
def _task_panel(session, item, user) -> Panel:
    """A rectification notice (its steps are worked on the notice's page; its 督办 item on the task page)."""
    found = session.get(RectificationNotice, item.ref_id)
    return Panel("_task_rectification.html", {"notice": found}) if found is not None else Panel(None)
