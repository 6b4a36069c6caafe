"""Inspections, rectification notices, training and appraisal over HTTP (R5.1-R5.3, R6.3).

A notice's response and re-inspection go through the task API (process `rectification`, decisions
respond / pass / fail); this module issues notices, reads them and prints them.
"""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from processes.documents import render_pdf
from processes.supervision import inspections, policy, rectification, training
from processes.supervision.schemas import (
    AppraisalCreateSchema,
    AppraisalReadSchema,
    EvaluationSchema,
    FindingCreateSchema,
    FindingReadSchema,
    InspectionCreateSchema,
    InspectionReadSchema,
    OverdueTrainingSchema,
    RectificationCreateSchema,
    RectificationReadSchema,
    TrainingCreateSchema,
    TrainingReadSchema,
)

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from ..downloads import attachment_response

blp = Blueprint("api_supervision", __name__, url_prefix="/api/v1", description="监督检查 · Supervision")
blp.before_request(require_bearer)


def _inspection(inspection):
    inspection.findings = inspections.findings_of(db(), inspection.id)
    return inspection


@blp.route("/inspections", methods=["POST"])
@blp.arguments(InspectionCreateSchema())
@blp.response(201, InspectionReadSchema)
def start_inspection(body):
    """An ad hoc inspection of a department's stage; answers with the automatic findings."""
    return _inspection(inspections.start(db(), guichet().config, actor=actor(), data=body, now=now()))


@blp.route("/inspections", methods=["GET"])
@blp.response(200, InspectionReadSchema(many=True))
def list_inspections():
    """Inspections, newest first (without findings)."""
    policy.ensure_oversight(actor())
    return [setattr(i, "findings", []) or i for i in inspections.list_inspections(db())]


@blp.route("/inspections/<int:inspection_id>", methods=["GET"])
@blp.response(200, InspectionReadSchema)
def read_inspection(inspection_id):
    """One inspection with its findings and the records they link to."""
    policy.ensure_oversight(actor())
    return _inspection(inspections.get(db(), inspection_id))


@blp.route("/inspections/<int:inspection_id>/findings", methods=["POST"])
@blp.arguments(FindingCreateSchema())
@blp.response(201, FindingReadSchema)
def add_finding(body, inspection_id):
    """A finding the inspector writes."""
    return inspections.add_finding(db(), inspection=inspections.get(db(), inspection_id), actor=actor(), data=body,
                                   now=now())


@blp.route("/inspections/<int:inspection_id>/evaluation", methods=["POST"])
@blp.arguments(EvaluationSchema())
@blp.response(200, InspectionReadSchema)
def evaluate(body, inspection_id):
    """The inspector's evaluation closes the inspection."""
    inspection = inspections.evaluate(db(), inspection=inspections.get(db(), inspection_id), actor=actor(), data=body,
                                      now=now())
    return _inspection(inspection)


@blp.route("/rectifications", methods=["POST"])
@blp.arguments(RectificationCreateSchema())
@blp.response(201, RectificationReadSchema)
def issue(body):
    """下发整改通知书: the department head gets the response item; the deadline is its escalation timer."""
    notice = rectification.issue(db(), guichet().runtime, actor=actor(), data=body, now=now(),
                                 finding_id=body.get("finding_id"))
    return rectification.describe(db(), notice)


@blp.route("/rectifications", methods=["GET"])
@blp.response(200, RectificationReadSchema(many=True))
def list_notices():
    """Notices the caller may read (oversight: all; a department: its own), newest first."""
    return [rectification.describe(db(), n) for n in rectification.list_notices(db(), actor(),
                                                                                 status=request.args.get("status"))]


def _notice(notice_id: int):
    notice = rectification.get(db(), notice_id)
    rectification.ensure_readable(db(), actor(), notice)
    return notice


@blp.route("/rectifications/<int:notice_id>", methods=["GET"])
@blp.response(200, RectificationReadSchema)
def read_notice(notice_id):
    """A notice with its responses, re-inspections, evidence and open task."""
    return rectification.describe(db(), _notice(notice_id))


@blp.route("/rectifications/<int:notice_id>/notice.pdf", methods=["GET"])
def notice_pdf(notice_id):
    """整改通知书 as a PDF."""
    notice = _notice(notice_id)
    config = guichet().config
    context = rectification.notice_document(db(), notice, issuer="风险合规部", zone=config["app"]["timezone"], now=now())
    return attachment_response(f"整改通知书-{notice.number}.pdf", "application/pdf",
                               render_pdf("supervision_notice.html", **context))


@blp.route("/rectifications/<int:notice_id>/evidence", methods=["POST"])
@blp.response(201, RectificationReadSchema)
def add_evidence(notice_id):
    """整改佐证: a file (multipart field `file`) the department attaches to its response."""
    notice = _notice(notice_id)
    upload = request.files.get("file")
    rectification.add_evidence(db(), notice=notice, actor=actor(), filename=upload.filename if upload else "",
                               content_type=upload.mimetype if upload else "",
                               content=upload.read() if upload else b"", now=now())
    return rectification.describe(db(), notice)


@blp.route("/trainings", methods=["POST"])
@blp.arguments(TrainingCreateSchema())
@blp.response(201, TrainingReadSchema)
def record_training(body):
    """A training session held, and who attended (HR)."""
    session = training.record_session(db(), actor=actor(), data=body, now=now())
    session.attendees = training.attendees_of(db(), [session.id])[session.id]
    return session


@blp.route("/trainings", methods=["GET"])
@blp.response(200, TrainingReadSchema(many=True))
def list_trainings():
    """Training sessions, newest first."""
    policy.ensure_oversight(actor())
    found = training.sessions(db())
    attendees = training.attendees_of(db(), [s.id for s in found])
    for s in found:
        s.attendees = attendees[s.id]
    return found


@blp.route("/trainings/overdue", methods=["GET"])
@blp.response(200, OverdueTrainingSchema(many=True))
def overdue_training():
    """Staff without training in the last 12 months (?department= to narrow)."""
    policy.ensure_oversight(actor())
    return training.overdue(db(), now=now(), department=request.args.get("department") or None)


@blp.route("/appraisals", methods=["POST"])
@blp.arguments(AppraisalCreateSchema())
@blp.response(201, AppraisalReadSchema)
def record_appraisal(body):
    """表彰 / 通报批评 of a department or person for a quarter (HR)."""
    return training.record_appraisal(db(), actor=actor(), data=body, now=now())


@blp.route("/appraisals", methods=["GET"])
@blp.response(200, AppraisalReadSchema(many=True))
def list_appraisals():
    """Ratings (?quarter= to narrow)."""
    policy.ensure_oversight(actor())
    return training.appraisals(db(), request.args.get("quarter") or None)
