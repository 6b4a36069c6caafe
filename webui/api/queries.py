"""Query approval over HTTP: apply, read, list, revoke, the access log, prints and disclosure packages (R4.4)."""
from __future__ import annotations

from flask import Response, request as http_request
from flask_smorest import Blueprint

from processes.errors import Forbidden, ValidationFailed
from processes.queries import escalation, external, policy, prints, scans
from processes.queries import service as queries
from processes.queries.schemas import (
    AccessLogReadSchema,
    HandoverCreateSchema,
    QueryCreateSchema,
    QueryListQuerySchema,
    QueryReadSchema,
)

from ..auth import actor, require_bearer
from ..context import db, guichet, now, writing
from ..downloads import attachment_response

blp = Blueprint("api_queries", __name__, url_prefix="/api/v1/queries", description="查询审批 · Query approval")
blp.before_request(require_bearer)


@blp.route("", methods=["POST"])
@blp.arguments(QueryCreateSchema())
@blp.response(201, QueryReadSchema)
def create(body):
    """File an internal query application, or register an external authority's request; approval starts at once."""
    services, session = guichet(), db()
    if body["kind"] == "external":
        request = external.file_external(session, services.runtime, services.config, actor=actor(),
                                         data={**body, "fields": body["fields_"]}, now=now())
    else:
        request = queries.file_internal(session, services.runtime, services.config, actor=actor(),
                                        form_ids=body["form_ids"], fields=body["fields_"], purpose=body["purpose"],
                                        days=body["days"], copy=body["copy"], now=now())
    return queries.summary(session, request, now())


@blp.route("", methods=["GET"])
@blp.arguments(QueryListQuerySchema(), location="query")
@blp.response(200, QueryReadSchema(many=True))
def list_queries(query):
    """My applications (mine=1), or every application I may see."""
    session, user = db(), actor()
    found = queries.mine(session, user) if query["mine"] else queries.visible(session, user)
    return [queries.summary(session, r, now()) for r in found]


def _visible(request_id: int):
    request = queries.get(db(), request_id)
    policy.ensure_may_see(db(), actor(), request)
    return request


@blp.route("/<int:request_id>", methods=["GET"])
@blp.response(200, QueryReadSchema)
def read(request_id):
    """One application: status (pending, approved, returned, expired, revoked), its grant and decisions."""
    return queries.summary(db(), _visible(request_id), now())


@blp.route("/<int:request_id>/revoke", methods=["POST"])
@blp.response(200, QueryReadSchema)
def revoke(request_id):
    """End the grant early (approvers and management); the next request under it is refused."""
    request = _visible(request_id)
    queries.revoke(db(), request=request, actor=actor(), now=now())
    return queries.summary(db(), request, now())


@blp.route("/<int:request_id>/access-log", methods=["GET"])
@blp.response(200, AccessLogReadSchema(many=True))
def access_log(request_id):
    """Every view under the grant, newest first (the applicant's head, management and inspectors)."""
    request = _visible(request_id)
    if not policy.may_read_access_log(db(), actor(), request):
        raise Forbidden("只有申请人的部门负责人、管理层和稽核人员可以查看查询记录")
    return queries.access_log(db(), request)


@blp.route("/<int:request_id>/forms/<int:form_id>/pdf", methods=["GET"])
def form_pdf(request_id, form_id):
    """A print of one form under the grant, watermarked; only where the grant allows copying (else 403)."""
    writing()  # each print is logged
    pdf, name = prints.form_pdf(db(), guichet().config, request=_visible(request_id), form_id=form_id, actor=actor(),
                                now=now())
    return attachment_response(name, "application/pdf", pdf)


@blp.route("/<int:request_id>/disclosure.<fmt>", methods=["GET"])
def disclosure(request_id, fmt):
    """The disclosure package of an approved external request, as PDF or JSON (only the approved fields)."""
    if fmt not in ("pdf", "json"):
        return Response(status=404)
    writing()  # each download is audited
    content, kind, name = external.package_files(db(), guichet().config, _visible(request_id), actor=actor(),
                                                 now=now(), fmt=fmt)
    return attachment_response(name, kind, content)


@blp.route("/<int:request_id>/handover", methods=["POST"])
@blp.arguments(HandoverCreateSchema())
def handover(body, request_id):
    """Record the hand-over of the disclosure package to one of the registered officials."""
    handed = external.record_handover(db(), guichet().config, request=_visible(request_id), actor=actor(),
                                      received_by=body["received_by"], note=body["note"], now=now())
    return {"id": handed.id, "package_sha256": handed.package_sha256, "received_by": handed.received_by,
            "handed_at": handed.handed_at.isoformat()}, 201



def _scan_json(scan) -> dict:
    return {"id": scan.id, "filename": scan.filename, "content_type": scan.content_type, "size": scan.size,
            "uploaded_by": scan.uploaded_by, "uploaded_at": scan.uploaded_at.isoformat()}


@blp.route("/<int:request_id>/scans", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}})
def add_scan(request_id):
    """Add a scan of the authority's documents to an external request being approved (multipart `file`)."""
    upload = http_request.files.get("file")
    if upload is None:
        raise ValidationFailed({"file": "请选择要上传的文件"})
    scan = scans.add(db(), guichet().config, request=_visible(request_id), actor=actor(), filename=upload.filename or "",
                     content_type=upload.mimetype or "", content=upload.read(scans.MAX_BYTES + 1), now=now())
    return _scan_json(scan), 201


@blp.route("/<int:request_id>/scans", methods=["GET"])
def list_scans(request_id):
    """The request's scans (names and sizes)."""
    return [_scan_json(s) for s in scans.scans_of(db(), _visible(request_id))]


@blp.route("/<int:request_id>/scans/<int:scan_id>", methods=["GET"])
def get_scan(request_id, scan_id):
    """One scan's file; audited."""
    writing()  # each opening is audited
    scan, content = scans.open_scan(db(), guichet().config, request=_visible(request_id), scan_id=scan_id,
                                    actor=actor(), now=now())
    return attachment_response(scan.filename, scan.content_type, content)


@blp.route("/escalations/<item_id>/urge", methods=["POST"])
def urge(item_id):
    """催办: the superior of a late approval step reminds whoever holds it."""
    step = escalation.urge(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    return {"step_item_id": step.id, "assignee": step.assignee}


@blp.route("/escalations/<item_id>/take-over", methods=["POST"])
def take_over(item_id):
    """接办: the superior of a late approval step takes it over and decides it."""
    step = escalation.take_over(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
    return {"step_item_id": step.id, "assignee": step.assignee}
