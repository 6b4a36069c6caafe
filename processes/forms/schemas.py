"""Marshmallow schemas: the template's fields become the validation schema of a form."""
from __future__ import annotations

from functools import partial

from marshmallow import Schema, ValidationError, fields, validate

from ..inputs import MAX_ID, Id, Whole

from . import validators

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

FIELD_TYPES = {
    "text": "文本", "number": "数字", "date": "日期", "datetime": "日期时间", "choice": "选项",
    "id_card": "身份证号码", "bank_card": "银行卡号", "mobile": "手机号码", "amount": "金额", "attachment": "附件",
}
# Personal information the regulation names (R4.1.4): always sensitive, whatever the designer ticked.
SENSITIVE_TYPES = {"id_card", "bank_card", "mobile"}


def is_sensitive(spec: dict) -> bool:
    """Whether a template field holds personal information to encrypt and mask."""
    return bool(spec.get("sensitive")) or spec.get("type") in SENSITIVE_TYPES


class _Cleaned(fields.String):
    """A text field whose value is normalised by a cleaning function (ID, card, mobile, amount)."""

    def __init__(self, clean, **kwargs):
        super().__init__(**kwargs)
        self._clean = clean

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            if self.required:
                raise ValidationError("必填项, 请填写")
            return ""
        return self._clean(text)


def _field_for(spec: dict, today=None):
    required = bool(spec.get("required"))
    kind = spec.get("type", "text")
    common = {"required": required, "error_messages": {**_REQUIRED, "null": "必填项, 请填写", "invalid": "格式不正确"}}
    if kind == "number":
        common["error_messages"]["invalid"] = "请填写数字"
        return fields.Decimal(as_string=True, allow_nan=False, **common)
    if kind == "datetime":
        common["error_messages"]["invalid"] = "日期时间格式不正确, 例如 2026-01-31 14:30"
        return fields.String(validate=_datetime_text, **common)
    if kind == "date":
        common["error_messages"]["invalid"] = "日期格式不正确, 例如 2026-01-31"
        return fields.Date(**common)
    if kind == "choice":
        choices = [str(c) for c in spec.get("choices") or []]
        return fields.String(validate=validate.OneOf(choices, error="请从选项中选择: " + "、".join(choices)), **common)
    cleaners = {"id_card": partial(validators.clean_id_card, today=today), "bank_card": validators.clean_bank_card,
                "mobile": validators.clean_mobile, "amount": validators.clean_amount}
    if kind in cleaners:
        return _Cleaned(cleaners[kind], **common)
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


def schema_for(template_fields: list[dict], today=None) -> Schema:
    """A schema validating a form's data against one template version (unknown fields refused).

    `today` (the business date) bounds the birth dates in ID numbers.
    """
    attrs = {spec["code"]: _field_for(spec, today) for spec in template_fields}

    class Meta:
        unknown = "raise"

    attrs["Meta"] = Meta
    return Schema.from_dict(attrs, name="FormDataSchema")()


class FormCreateSchema(Schema):
    """POST /forms body."""

    template_id = Id("模板编号", required=True, error_messages=_REQUIRED)
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
    data = fields.Function(lambda f: f.current_data)
    sensitive_fields = fields.Function(lambda f: f.sensitive_fields)
    corrections = fields.Function(lambda f: len(f.corrections))
    created_by = fields.String()
    created_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    process_instance_id = fields.Integer(allow_none=True)
    grant_id = fields.Integer(metadata={"description": "only when read under a query grant"})
    # Set by the archive on a filed form (档号 and volume); absent on a form not read through the API's form page.
    archival_code = fields.String(allow_none=True)
    volume_id = fields.Integer(allow_none=True)


class TemplateReadSchema(Schema):
    """An active template with its fields (one version of it)."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    business_type = fields.String()
    version = fields.Integer()
    status = fields.String()
    department = fields.String()
    fields = fields.List(fields.Dict())


class FieldSpecSchema(Schema):
    """One field of a template: code, Chinese label, type, required, sensitivity tag, help, choices."""

    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{0,49}$",
                         error="字段代码须以小写字母开头, 只含小写字母、数字和下划线, 最长 50 位"),
                         error_messages=_REQUIRED)
    label = fields.String(required=True, validate=validate.Length(min=1, max=100, error="须为 1 至 100 个字"),
                          error_messages=_REQUIRED)
    type = fields.String(required=True, validate=validate.OneOf(list(FIELD_TYPES), error="字段类型不正确: {input}"),
                         error_messages=_REQUIRED)
    required = fields.Boolean(load_default=False)
    sensitive = fields.Boolean(load_default=False)
    help = fields.String(load_default="", validate=validate.Length(max=200, error="不能超过 200 个字"))
    multiline = fields.Boolean(load_default=False)
    choices = fields.List(fields.String(validate=validate.Length(min=1, max=100)), load_default=list)


class TemplateCreateSchema(Schema):
    """POST /templates body: a new template and its first version."""

    name = fields.String(required=True, validate=validate.Length(min=1, max=200, error="须为 1 至 200 个字"),
                         error_messages=_REQUIRED)
    business_type = fields.String(required=True, validate=validate.Length(min=1, max=100, error="须为 1 至 100 个字"),
                                  error_messages=_REQUIRED)
    submit = fields.Boolean(load_default=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    fields = fields.List(fields.Nested(FieldSpecSchema), required=True, error_messages=_REQUIRED)


class TemplateVersionCreateSchema(Schema):
    """POST /templates/{id}/versions body: a change to a template, approved through the same path."""

    submit = fields.Boolean(load_default=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    fields = fields.List(fields.Nested(FieldSpecSchema), required=True, error_messages=_REQUIRED)


class FormDraftSchema(Schema):
    """PUT /forms/{id} body: a draft's new values."""

    data = fields.Dict(keys=fields.String(), required=True, error_messages=_REQUIRED)
    submit = fields.Boolean(load_default=False)


class RevealSchema(Schema):
    """POST /forms/{id}/reveal body."""

    field = fields.String(required=True, error_messages=_REQUIRED)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500, error="请说明查看原因 (2 至 500 字)"),
                           error_messages=_REQUIRED)
    seq = Whole(0, MAX_ID, "须为更正序号 (0 为原值, 或正整数)", load_default=None, allow_none=True)


class CorrectionCreateSchema(Schema):
    """POST /forms/{id}/corrections body: the amendment and the handler's password as signature."""

    field = fields.String(required=True, error_messages=_REQUIRED)
    new_value = fields.Raw(required=True, error_messages=_REQUIRED)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500, error="请说明更正原因 (2 至 500 字)"),
                           error_messages=_REQUIRED)
    password = fields.String(required=True, load_only=True, error_messages=_REQUIRED)


class CorrectionReadSchema(Schema):
    """更正记录: the amendment as a diff, with its stamp; sensitive values masked."""

    seq = fields.Integer()
    field = fields.String()
    label = fields.String()
    old_value = fields.String(allow_none=True)
    new_value = fields.String(allow_none=True)
    reason = fields.String()
    corrected_by = fields.String()
    corrected_at = fields.DateTime()
    stamp = fields.String()
    signature = fields.String()
    signature_valid = fields.Boolean()
