"""External transfers (对外移交): start one from a form, read it, receipt links, paper receipts, the package."""
from __future__ import annotations

from flask import Response, request, url_for
from flask_smorest import Blueprint

from processes.errors import ValidationFailed
from processes.external import package, policy, receipts
from processes.external import service as external
from processes.external.schemas import (
    ExternalTransferCreateSchema,
    ExternalTransferReadSchema,
    ReceiptLinkReadSchema,
)
from processes.forms import service as forms

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from ..downloads import pdf_response
from ..permissions import ensure_can_view_form

blp = Blueprint("api_external", __name__, url_prefix="/api/v1", description="对外移交 · External transfers")
blp.before_request(require_bearer)


def read_model(transfer) -> dict:
    """A transfer as the API shows it: its status as of now, and its receipt."""
    receipt = receipts.receipt_of(db(), transfer)
    return {**{c.name: getattr(transfer, c.name) for c in transfer.__table__.c}, "status": transfer.status_at(now()),
            "status_label": transfer.status_label, "receipt": receipt}


def verify_url(transfer) -> str:
    """The public verification page of a transfer's snapshot."""
    if transfer.snapshot_sha256 is None:
        return ""  # nothing to verify yet: the package answers 409
    return url_for("public.verify", sha256=transfer.snapshot_sha256, _external=True)


@blp.route("/forms/<int:form_id>/external-transfers", methods=["POST"])
@blp.arguments(ExternalTransferCreateSchema())
@blp.response(201, ExternalTransferReadSchema)
def start(body, form_id):
    """对外移交: ask to send a form (or selected fields) to an outside unit; a second person checks it first."""
    services = guichet()
    form = forms.get_form(db(), form_id)
    transfer = external.start(db(), services.runtime, services.config, form=form, actor=actor(), data=body, now=now())
    return read_model(transfer)


@blp.route("/forms/<int:form_id>/external-transfers", methods=["GET"])
@blp.response(200, ExternalTransferReadSchema(many=True))
def of_form(form_id):
    """A form's external transfers, newest first."""
    form = forms.get_form(db(), form_id)
    ensure_can_view_form(db(), actor(), form)
    return [read_model(t) for t in external.of_form(db(), form.id)]


def _transfer(transfer_id: int):
    transfer = external.get(db(), transfer_id)
    policy.ensure_may_view(db(), actor(), transfer)
    return transfer


@blp.route("/external-transfers/<int:transfer_id>", methods=["GET"])
@blp.response(200, ExternalTransferReadSchema)
def read(transfer_id):
    """One transfer: status, snapshot hash, receipt deadline and receipt."""
    return read_model(_transfer(transfer_id))


@blp.route("/external-transfers/<int:transfer_id>/receipt-link", methods=["POST"])
@blp.response(201, ReceiptLinkReadSchema)
def issue_link(transfer_id):
    """A one-time receipt link and 6-digit code for the recipient, shown this once; an earlier link stops working."""
    services = guichet()
    issued = receipts.issue_link(db(), services.runtime, services.config, transfer=_transfer(transfer_id),
                                 actor=actor(), now=now())
    return {"url": url_for("public.receipt", token=issued.token, _external=True), "code": issued.code,
            "expires_at": issued.link.expires_at}


@blp.route("/external-transfers/<int:transfer_id>/receipt-link", methods=["DELETE"])
@blp.response(204)
def revoke_link(transfer_id):
    """Revoke the open receipt link."""
    receipts.revoke_link(db(), guichet().runtime, transfer=_transfer(transfer_id), actor=actor(), now=now())


@blp.route("/external-transfers/<int:transfer_id>/paper-receipt", methods=["POST"])
@blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}})
@blp.response(201, ExternalTransferReadSchema)
def paper_receipt(transfer_id):
    """The paper alternative: a scan of the receipt the recipient signed (PDF, PNG or JPEG), stored sealed."""
    upload = request.files.get("file")
    if upload is None:
        raise ValidationFailed({"file": "请选择签收凭证的扫描件"})
    services = guichet()
    transfer = _transfer(transfer_id)
    receipts.paper_receipt(db(), services.runtime, services.config, transfer=transfer, actor=actor(),
                           filename=upload.filename or "", content_type=upload.mimetype or "",
                           content=upload.read(receipts.MAX_SCAN_BYTES + 1), now=now())
    return read_model(transfer)


@blp.route("/external-transfers/<int:transfer_id>/package.pdf", methods=["GET"])
def package_pdf(transfer_id):
    """The package as PDF: the content as sent, its SHA-256 and a QR code to the verification page."""
    return pdf_response(_transfer(transfer_id), verify_url)


@blp.route("/external-transfers/<int:transfer_id>/package.json", methods=["GET"])
def package_json(transfer_id):
    """The package as JSON: the same content and its SHA-256."""
    transfer = _transfer(transfer_id)
    data = package.as_json(db(), guichet().config, transfer=transfer, actor=actor(), verify_url=verify_url(transfer),
                           now=now())
    return Response(data, mimetype="application/json", headers={
        "Content-Disposition": f"attachment; filename=WY{transfer.id:06d}.json"})
