"""Forms: create (and submit), read, handover history."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint

from processes.archive import service as archive
from processes.errors import ValidationFailed
from processes.forms import amendments, attachments
from processes.forms import service as forms
from processes.forms.schemas import (
    CorrectionCreateSchema,
    CorrectionReadSchema,
    FormCreateSchema,
    FormDraftSchema,
    FormReadSchema,
    RevealSchema,
)
from processes.org import service as org
from processes.queries import service as queries
from processes.transfer import service as transfer

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from ..downloads import attachment_response
from ..permissions import ensure_can_view_form, form_access
from .schemas import HandoverReadSchema

blp = Blueprint("api_forms", __name__, url_prefix="/api/v1/forms", description="业务单 · Forms")
blp.before_request(require_bearer)


@blp.route("", methods=["POST"])
@blp.arguments(FormCreateSchema())
@blp.response(201, FormReadSchema)
def create(body):
    """Fill a form on a template; with "submit": true it is handed to the internal transfer at once."""
    services = guichet()
    return forms.create_form(db(), services.runtime, services.config, actor=actor(), template_id=body["template_id"],
                             data=body["data"], submit=body["submit"], now=now())


@blp.route("/<int:form_id>", methods=["GET"])
@blp.response(200, FormReadSchema)
def read(form_id):
    """One form, with its process instance id; under a query grant, the granted fields in full and its grant_id."""
    form = forms.get_form(db(), form_id)
    grant = form_access(db(), actor(), form, now())  # query grant (R4.4.1): read-only, logged
    filing = archive.filing_of_form(db(), form.id)
    form.archival_code, form.volume_id = (filing.archival_code, filing.volume_id) if filing else (None, None)
    if grant is not None:
        values = queries.view_under_grant(db(), guichet().config, form=form, given=grant, actor=actor(), channel="api",
                                          now=now())
        return queries.GrantedView(form, values, grant.id)
    return form


@blp.route("/<int:form_id>/submit", methods=["POST"])
@blp.response(200, FormReadSchema)
def submit(form_id):
    """Submit a saved draft."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    return forms.submit_form(db(), services.runtime, services.config, form=form, actor=actor(), now=now())


@blp.route("/<int:form_id>/handovers", methods=["GET"])
@blp.response(200, HandoverReadSchema(many=True))
def handovers(form_id):
    """The form's handover records, oldest first (R4.2.1)."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    return transfer.handovers_of(db(), form.id)


@blp.route("/<int:form_id>", methods=["PUT"])
@blp.arguments(FormDraftSchema())
@blp.response(200, FormReadSchema)
def update_draft(body, form_id):
    """Resume a draft: replace its values; "submit": true validates it and hands it on."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    return forms.update_draft(db(), services.runtime, services.config, form=form, actor=actor(), data=body["data"],
                              submit=body["submit"], now=now())


@blp.route("/<int:form_id>/reveal", methods=["POST"])
@blp.arguments(RevealSchema())
def reveal(body, form_id):
    """One sensitive value in clear, for the filling clerk, the current handler and management; audited with the reason."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    return amendments.reveal(db(), guichet().config, form=form, actor=actor(), field=body["field"],
                             reason=body["reason"], seq=body["seq"], now=now())


@blp.route("/<int:form_id>/corrections", methods=["POST"])
@blp.arguments(CorrectionCreateSchema())
@blp.response(201, CorrectionReadSchema)
def correct(body, form_id):
    """更正: append an amendment, signed by re-entering the password (R4.1.3)."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    correction = amendments.correct(db(), services.config, form=form, actor=actor(), field=body["field"],
                                    new_value=body["new_value"], reason=body["reason"], password=body["password"],
                                    ph=org.hasher(services.config), now=now())
    return next(c for c in amendments.corrections_of(db(), services.config, form) if c["seq"] == correction.seq)


@blp.route("/<int:form_id>/corrections", methods=["GET"])
@blp.response(200, CorrectionReadSchema(many=True))
def corrections(form_id):
    """The form's corrections as diffs (sensitive values masked), each with its stamp and signature check."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    return amendments.corrections_of(db(), guichet().config, form)


def _attachment_json(a) -> dict:
    return {"id": a.id, "field": a.field_code, "filename": a.filename, "content_type": a.content_type, "size": a.size,
            "uploaded_by": a.uploaded_by, "uploaded_at": a.uploaded_at.isoformat()}


@blp.route("/<int:form_id>/attachments", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"field": {"type": "string"}, "file": {"type": "string", "format": "binary"}}}}}})
def add_attachment(form_id):
    """Attach a file to a draft's attachment field (multipart: `field`, `file`); it is stored encrypted."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed({"file": "请选择要上传的文件"})
    form = forms.get_form(db(), form_id)
    found = attachments.add(db(), guichet().config, form=form, actor=actor(), field=request.form.get("field", ""),
                            filename=upload.filename or "", content_type=upload.mimetype or "",
                            content=upload.read(attachments.MAX_BYTES + 1), now=now())
    return _attachment_json(found), 201


@blp.route("/<int:form_id>/attachments", methods=["GET"])
def list_attachments(form_id):
    """The form's attachments (names and sizes)."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    return [_attachment_json(a) for a in attachments.of_form(db(), form)]


@blp.route("/<int:form_id>/attachments/<int:attachment_id>", methods=["GET"])
def get_attachment(form_id, attachment_id):
    """One attachment's file, for those who may see the form's personal data; audited."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    found, content = attachments.open_file(db(), guichet().config, form=form, attachment_id=attachment_id,
                                           actor=actor(), now=now())
    return attachment_response(found.filename, found.content_type, content)
