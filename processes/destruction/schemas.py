"""API schemas of retention and destruction: values are checked by the services, which name each field at fault."""
from __future__ import annotations

from marshmallow import INCLUDE, Schema, fields

from ..inputs import Id, IdList, Whole


class _Loose(Schema):
    class Meta:
        unknown = INCLUDE


class RetentionRuleCreateSchema(_Loose):
    """PUT /retention-rules/{business_type}: the retention code, and a legal basis for a longer minimum."""

    retention = fields.Raw(required=True, metadata={"description": "Y (永久) 或 D 加年数, 例如 D30"})
    legal_basis = fields.Raw(metadata={"description": "法律依据"})
    minimum_years = Whole(5, 200, "最低保管年限须为 5 至 200 之间的整数",
                          metadata={"description": "法律依据规定的最低保管年限 (≥ 5)"})


class RetentionRuleReadSchema(Schema):
    """A retention rule."""

    business_type = fields.String()
    retention = fields.String()
    legal_basis = fields.String()
    updated_by = fields.String()
    updated_at = fields.DateTime()


class HoldCreateSchema(_Loose):
    """POST /holds: one form or one volume, and the reason."""

    form_id = Id("业务单编号", load_default=None, allow_none=True)
    volume_id = Id("案卷编号", load_default=None, allow_none=True)
    reason = fields.Raw(required=True)


class HoldReleaseSchema(_Loose):
    """POST /holds/{id}/release: why the hold ends."""

    reason = fields.Raw(required=True)


class HoldReadSchema(Schema):
    """A hold (暂缓销毁)."""

    id = fields.Integer()
    form_id = fields.Integer(allow_none=True)
    volume_id = fields.Integer(allow_none=True)
    reason = fields.String()
    placed_by = fields.String()
    placed_at = fields.DateTime()
    released_by = fields.String(allow_none=True)
    released_at = fields.DateTime(allow_none=True)
    release_reason = fields.String(allow_none=True)


class DueReadSchema(Schema):
    """A filed form past its retention."""

    form_id = fields.Integer()
    archival_code = fields.String()
    title = fields.String()
    business_type = fields.String()
    year = fields.Integer()
    retention = fields.String()


class DestructionCreateSchema(_Loose):
    """POST /destructions: kind, the forms, the reason and (error / duplicate) the evidence attachments."""

    kind = fields.Raw(required=True, metadata={"description": "retention | error | duplicate"})
    form_ids = IdList("业务单编号", required=True)
    reason = fields.Raw(required=True)
    evidence = IdList("附件编号", metadata={"description": "附件编号列表"})


class DestructionSubmitSchema(_Loose):
    """POST /destructions/{id}/submit: the scan's proposal into approval, minus forms left out."""

    exclude = IdList("业务单编号")
    reason = fields.Raw()


class DestructionExecuteSchema(_Loose):
    """POST /destructions/{id}/execute: the two supervisors with their passwords, and paper volumes if any."""

    supervisors = fields.Raw(required=True)
    paper = fields.Raw()


class DestructionStepReadSchema(Schema):
    """One approval decision."""

    step = fields.String()
    decision = fields.String()
    comment = fields.String(allow_none=True)
    decided_by = fields.String()
    decided_at = fields.DateTime()


class DestructionReadSchema(Schema):
    """A destruction batch."""

    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    status_label = fields.String()
    reason = fields.String()
    evidence = fields.List(fields.Integer())
    created_by = fields.String()
    created_at = fields.DateTime()
    process_instance_id = fields.Integer(allow_none=True)
    form_ids = fields.List(fields.Integer())
    approved_at = fields.DateTime(allow_none=True)
    executed_by = fields.String(allow_none=True)
    executed_at = fields.DateTime(allow_none=True)
    supervisors = fields.List(fields.String())
    paper = fields.List(fields.Dict())
    key_backups_expire_at = fields.DateTime(allow_none=True)
    register_sha256 = fields.String(allow_none=True)
    steps = fields.List(fields.Nested(DestructionStepReadSchema))


class TombstoneReadSchema(Schema):
    """What remains of a destroyed form."""

    form_id = fields.Integer()
    number = fields.String()
    archival_code = fields.String()
    business_type = fields.String()
    year = fields.Integer()
    destruction_id = fields.Integer()
    destroyed_at = fields.DateTime()
