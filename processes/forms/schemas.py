"""Marshmallow schemas: the template's fields become the validation schema of a form."""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate

# The built-in general template (通用业务单); R4.1.1 requires at least these fields.
GENERAL_TEMPLATE_FIELDS = [
    {"code": "business_type", "label": "业务类型", "type": "text", "required": True, "sensitive": False,
     "help": "如: 个人贷款申请、账户变更"},
    {"code": "customer_name", "label": "客户名称", "type": "text", "required": True, "sensitive": False,
     "help": "个人客户填姓名, 单位客户填全称"},
    {"code": "content", "label": "业务内容", "type": "text", "multiline": True, "required": True,
     "sensitive": False, "help": "办理事项的具体内容"},
    {"code": "handled_at", "label": "办理时间", "type": "datetime", "required": True, "sensitive": False,
     "help": "格式 2026-01-31 14:30"},
    {"code": "handled_by", "label": "经办人员", "type": "text", "required": True, "sensitive": False,
     "help": "经办人姓名"},
]

_REQUIRED = {"required": "必填项, 请填写"}


def _field_for(spec: dict):
    required = bool(spec.get("required"))
    kind = spec.get("type", "text")
    common = {"required": required, "error_messages": {**_REQUIRED, "null": "必填项, 请填写", "invalid": "格式不正确"}}
    if kind == "number":
        return fields.Decimal(as_string=True, **common)
    if kind == "datetime":
        common["error_messages"]["invalid"] = "日期时间格式不正确, 例如 2026-01-31 14:30"
        return fields.String(validate=_datetime_text, **common)
    if kind == "date":
        common["error_messages"]["invalid"] = "日期格式不正确, 例如 2026-01-31"
        return fields.Date(**common)
    limit = 5000 if spec.get("multiline") else 200
    checks = [validate.Length(max=limit, error=f"不能超过 {limit} 个字")]
    if required:
        checks.append(validate.Length(min=1, error="必填项, 请填写"))
    return fields.String(validate=checks, **common)


def _datetime_text(value: str) -> None:
    from datetime import datetime

    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            datetime.strptime(value.strip(), pattern)
            return
        except ValueError:
            continue
    raise ValidationError("日期时间格式不正确, 例如 2026-01-31 14:30")


def schema_for(template_fields: list[dict]) -> Schema:
    """A schema validating a form's data against one template version (unknown fields refused)."""
    attrs = {spec["code"]: _field_for(spec) for spec in template_fields}

    class Meta:
        unknown = "raise"

    attrs["Meta"] = Meta
    return Schema.from_dict(attrs, name="FormDataSchema")()


class FormCreateSchema(Schema):
    """POST /forms body."""

    template_id = fields.Integer(required=True, error_messages=_REQUIRED)
    data = fields.Dict(keys=fields.String(), required=True, error_messages=_REQUIRED)
    submit = fields.Boolean(load_default=False)


class FormReadSchema(Schema):
    """A form as the API shows it."""

    id = fields.Integer()
    number = fields.String()
    template_id = fields.Function(lambda f: f.template_version.template_id)
    template_version = fields.Function(lambda f: f.template_version.version)
    business_type = fields.String()
    status = fields.String()
    data = fields.Dict()
    created_by = fields.String()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)


class TemplateReadSchema(Schema):
    """An active template with its fields."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    business_type = fields.String()
    version = fields.Integer()
    fields = fields.List(fields.Dict())
