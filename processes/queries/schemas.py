"""Marshmallow schemas of query approval: the application (internal or external) and how the API shows it.

The body's values are checked by the services (service.py, external.py), which name each field at fault in
Chinese; the schema only fixes the shape and documents it.
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..inputs import IdList, Whole
from .service import MAX_DAYS

_KIND = validate.OneOf(["internal", "external"], error="查询类型须为 internal (内部) 或 external (外部)")


class OfficialCreateSchema(Schema):
    """An official of the requesting authority."""

    name = fields.Raw(required=True, metadata={"description": "姓名"})
    id_number = fields.Raw(required=True, metadata={"description": "证件号码 (加密保存)"})


class QueryCreateSchema(Schema):
    """POST /queries: an internal application, or an external authority's request."""

    kind = fields.String(load_default="internal", validate=_KIND)
    form_ids = IdList("业务单编号", required=True, error_messages={"required": "请选择要查询的业务单"})
    fields_ = fields.Raw(data_key="fields", required=True, error_messages={"required": "请选择要查看的字段"},
                         metadata={"type": "array", "items": {"type": "string"}})
    purpose = fields.Raw(load_default=None, metadata={"type": "string", "description": "用途 / 查询范围"})
    days = Whole(1, MAX_DAYS, f"查询期限须为 1 至 {MAX_DAYS} 天", load_default=None, allow_none=True,
                 metadata={"description": "1-30 天 (内部)"})
    copy = fields.Raw(load_default=False, metadata={"type": "boolean", "description": "是否需要复制/打印 (内部)"})
    authority = fields.Raw(load_default=None, metadata={"type": "string"})
    legal_basis = fields.Raw(load_default=None, metadata={"type": "string"})
    document_number = fields.Raw(load_default=None, metadata={"type": "string"})
    officials = fields.Raw(load_default=None, metadata={"type": "array", "items": {"type": "object"}})
    due_date = fields.Raw(load_default=None, metadata={"type": "string", "format": "date"})


class GrantReadSchema(Schema):
    """A grant: who, which forms, which fields, until when, copy or not."""

    id = fields.Integer()
    grantee = fields.String()
    form_ids = fields.List(fields.Integer())
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    copy = fields.Boolean()
    starts_at = fields.DateTime()
    expires_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)


class QueryDecisionReadSchema(Schema):
    """One approval decision."""

    step = fields.String()
    decision = fields.String()
    comment = fields.String()
    decided_by = fields.String()
    decided_at = fields.DateTime()


class QueryReadSchema(Schema):
    """An application as the API shows it (status as of now)."""

    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    status = fields.String()
    applicant = fields.String()
    form_ids = fields.List(fields.Integer())
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    purpose = fields.String()
    days = fields.Integer(allow_none=True)
    copy = fields.Boolean()
    special = fields.Boolean()
    created_at = fields.DateTime()
    authority = fields.String(allow_none=True)
    document_number = fields.String(allow_none=True)
    due_date = fields.DateTime(allow_none=True)
    grant = fields.Nested(GrantReadSchema, allow_none=True)
    decisions = fields.List(fields.Nested(QueryDecisionReadSchema))


class QueryListQuerySchema(Schema):
    """GET /queries?mine=1."""

    mine = fields.Boolean(load_default=False)


class AccessLogReadSchema(Schema):
    """One view under a grant."""

    grant_id = fields.Integer()
    form_id = fields.Integer()
    viewer = fields.String()
    fields_ = fields.List(fields.String(), data_key="fields", attribute="fields")
    channel = fields.String()
    viewed_at = fields.DateTime()


class HandoverCreateSchema(Schema):
    """POST /queries/{id}/handover: the disclosure package handed to a registered official."""

    received_by = fields.String(required=True, error_messages={"required": "请选择接收人"})
    note = fields.Raw(load_default=None)
