"""Whole numbers in request bodies and query strings, shared by every stage's schemas.

An id or a count that the database cannot hold (2³¹ on PostgreSQL's integer columns, 2⁶³ on SQLite) must be
refused by the schema with a field message a clerk reads, before any query sees it: otherwise it is an overflow
and a 500. The bounds are validators, so the OpenAPI document declares them (minimum / maximum).
"""
from __future__ import annotations

from numbers import Integral

from marshmallow import ValidationError, fields, validate

MAX_ID = 2**31 - 1  # the id columns are 32-bit integers on PostgreSQL


def is_id(value) -> bool:
    """Whether a value (from a page's form or a body the schema let through) can be a record number."""
    return isinstance(value, Integral) and not isinstance(value, bool) and 1 <= value <= MAX_ID


def id_or_none(text: str | None) -> int | None:
    """A record number typed into a page's form or query string, or None when it cannot be one."""
    text = (text or "").strip()
    return int(text) if text.isdigit() and text.isascii() and is_id(int(text)) else None


class Whole(fields.Integer):
    """A whole number within [low, high]; anything else (text, a fraction, true/false, out of range) is refused
    with `message`, in Chinese. In a query string, where every value is text, pass strict=False to read "12"."""

    def __init__(self, low: int, high: int, message: str, *, strict: bool = True, **kwargs):
        if not -MAX_ID <= low <= high <= MAX_ID:
            raise ValueError(f"bounds {low}…{high} outside what the database holds")
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {"invalid": message, "too_large": message, "null": "不能为空",
                                    "required": "必填项, 请填写", **kwargs["error_messages"]}
        super().__init__(strict=strict, validate=validate.Range(min=low, max=high, error=message), **kwargs)

    def _validated(self, value):
        if isinstance(value, bool) or (self.strict and not isinstance(value, Integral)):  # JSON true is not 1
            raise self.make_error("invalid")
        return super()._validated(value)


class Id(Whole):
    """The number of a record (业务单编号, 案卷编号, 附件编号 …): 1 … 2³¹-1."""

    def __init__(self, what: str = "编号", **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("format", "int32")
        super().__init__(1, MAX_ID, f"须为{what} (1 至 {MAX_ID} 之间的整数)", **kwargs)


class IdList(fields.List):
    """A list of record numbers; one message for the whole field, naming the first entry at fault."""

    def __init__(self, what: str = "编号", *, max_length: int = 10_000, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"] = {"invalid": f"须为{what} (正整数) 的列表", "null": "不能为空",
                                    "required": "必填项, 请填写", **kwargs["error_messages"]}
        super().__init__(Id(what), validate=validate.Length(max=max_length, error=f"一次最多 {max_length} 个"),
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as error:
            messages = error.messages if isinstance(error.messages, dict) else {}
            if not messages:
                raise
            index = min(messages)
            detail = messages[index][0] if isinstance(messages[index], list) else messages[index]
            raise ValidationError(f"第 {index + 1} 项: {detail}") from None
