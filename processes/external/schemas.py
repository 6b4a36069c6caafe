"""Marshmallow schemas of external transfers (Chinese field messages; the service checks the business rules)."""
from __future__ import annotations

from marshmallow import Schema, fields

from ..inputs import Whole

_TEXT = {"required": "必填项, 请填写", "null": "不能为空", "invalid": "须为文本"}


class ExternalTransferCreateSchema(Schema):
    """POST /forms/{id}/external-transfers."""

    recipient_unit = fields.String(required=True, error_messages=_TEXT)
    recipient_name = fields.String(required=True, error_messages=_TEXT)
    recipient_contact = fields.String(required=True, error_messages=_TEXT)
    purpose = fields.String(required=True, error_messages=_TEXT)
    fields_ = fields.List(fields.String(error_messages=_TEXT), data_key="fields", attribute="fields", allow_none=True,
                          load_default=None, error_messages={"invalid": "须为字段代码的列表, 或 null 表示整张业务单"})
    full_fields = fields.List(fields.String(error_messages=_TEXT), load_default=list,
                              error_messages={"invalid": "须为字段代码的列表"})
    full_reason = fields.String(load_default="", allow_none=True, error_messages=_TEXT)
    receipt_days = Whole(1, 90, "签收期限须为 1 至 90 天 (整数)", load_default=None, allow_none=True)


class ReceiptReadSchema(Schema):
    """A receipt (签收凭证) as the sending side sees it."""

    kind = fields.String()
    snapshot_sha256 = fields.String()
    signer_name = fields.String()
    signer_position = fields.String()
    signer_unit = fields.String()
    client_address = fields.String()
    signed_at = fields.DateTime()
    recorded_by = fields.String()
    scan_filename = fields.String()
    scan_sha256 = fields.String()


class ExternalTransferReadSchema(Schema):
    """GET /external-transfers/{id}."""

    id = fields.Integer()
    form_id = fields.Integer()
    form_number = fields.String()
    status = fields.String()
    status_label = fields.String()
    department = fields.String()
    started_by = fields.String()
    started_at = fields.DateTime()
    recipient_unit = fields.String()
    recipient_name = fields.String()
    recipient_contact = fields.String()
    purpose = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields", allow_none=True)
    full_fields = fields.List(fields.String())
    receipt_days = fields.Integer()
    checked_by = fields.String()
    approved_by = fields.String()
    sent_at = fields.DateTime()
    due_at = fields.DateTime()
    received_at = fields.DateTime()
    escalation_level = fields.Integer()
    snapshot_sha256 = fields.String()
    receipt = fields.Nested(ReceiptReadSchema, allow_none=True)


class ReceiptLinkReadSchema(Schema):
    """POST /external-transfers/{id}/receipt-link: the link and code, shown this once."""

    url = fields.String()
    code = fields.String()
    expires_at = fields.DateTime()
