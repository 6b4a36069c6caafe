"""API schemas shared by the API modules."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from processes.inputs import MAX_ID, Whole


def documented(status: int, schema: dict, description: str, *, media_type: str = "application/json") -> dict:
    """`@blp.doc(**documented(...))`: declare a success body a view builds itself (not dumped by a schema)."""
    return {"responses": {str(status): {"description": description, "content": {media_type: {"schema": schema}}}}}


OBJECT = {"type": "object"}
LIST_OF_OBJECTS = {"type": "array", "items": OBJECT}


class ProblemSchema(Schema):
    """One problem of a refused diagram: the element and what is wrong with it."""

    element_id = fields.String(allow_none=True)
    message = fields.String(required=True)


class ErrorSchema(Schema):
    """Every error: a stable code and a message for people (Chinese first); the message of each field that is
    wrong; for a refused diagram, each problem with its element. The OpenAPI document declares this body for
    every error answer."""

    code = fields.String(required=True, metadata={"example": "validation_failed"})
    message = fields.String(required=True, metadata={"example": "提交的内容有误, 请按提示修改"})
    problems = fields.List(fields.Nested(ProblemSchema))
    fields = fields.Dict(keys=fields.String(), values=fields.String())  # last: the name hides marshmallow's module


class TokenRequestSchema(Schema):
    """POST /auth/token."""

    username = fields.String(required=True)
    password = fields.String(required=True, load_only=True)


class TokenSchema(Schema):
    """A bearer token."""

    token = fields.String()
    expires_in = fields.Integer()


class HandoverReadSchema(Schema):
    """交接记录."""

    id = fields.Integer()
    kind = fields.String()
    step = fields.String()
    step_name = fields.String()
    from_department = fields.String()
    from_user = fields.String()
    to_department = fields.String(allow_none=True)
    to_user = fields.String(allow_none=True)
    handed_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    status = fields.String()
    status_label = fields.String()
    overdue = fields.Boolean()
    late_reason = fields.String(allow_none=True)
    comment = fields.String(allow_none=True)


class TaskReadSchema(Schema):
    """An inbox item."""

    id = fields.String()
    name = fields.String(attribute="title")
    step = fields.String(attribute="task_name")
    kind = fields.String()
    process = fields.String(attribute="process_key")
    subject = fields.String()
    form_id = fields.Method("_form_id")
    queue = fields.String(attribute="candidate_group", allow_none=True)
    assignee = fields.String(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Method("_overdue")
    escalation_level = fields.Integer()
    created_at = fields.DateTime()

    def _form_id(self, item):
        return item.ref_id if item.ref_type == "form" else None

    def _overdue(self, item):
        return item.is_overdue(self.context_now())

    def context_now(self):
        from ..context import now

        return now()


class EscalationChoicesSchema(Schema):
    """What the superior may do with an escalation item (督办)."""

    step_id = fields.String(metadata={"description": "the late step the item escalates"})
    reassign_to = fields.List(fields.String(), metadata={"description": "logins 改派 may choose"})
    refused = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "action (reassign | take_over) -> why the stage refuses it"})
    urged = fields.Integer(metadata={"description": "how often the step was urged"})


class TaskDetailSchema(TaskReadSchema):
    """One inbox item with the decisions its step offers (an escalation item: what its superior may do)."""

    decisions = fields.List(fields.String())
    escalation = fields.Nested(EscalationChoicesSchema, allow_none=True)


class TaskQuerySchema(Schema):
    """GET /tasks filters."""

    scope = fields.String(load_default="all", validate=validate.OneOf(("mine", "queue", "all"), error="须为 mine、queue 或 all"),
                          metadata={"description": "mine: assigned to me; queue: claimable in my queues; all: both"})
    process = fields.String(load_default=None)
    overdue = fields.Boolean(load_default=False)
    q = fields.String(load_default=None)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200, error="须为 1 到 200 之间的整数"))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200),
                           metadata={"description": "上一页响应头 X-Next-Cursor 的值 · from the previous page's X-Next-Cursor"})


class TaskCompleteSchema(Schema):
    """POST /tasks/{id}/complete."""

    data = fields.Dict(load_default=dict)


class ReassignSchema(Schema):
    """POST /tasks/{id}/reassign."""

    assignee = fields.String(required=True)


class ProcessSchema(Schema):
    """A process and its newest version."""

    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.Integer()
    running_instances = fields.Integer()
    deployed_at = fields.DateTime()
    deployed_by = fields.String()


class CompareQuerySchema(Schema):
    """GET /processes/{key}/compare?from=N&to=M: the two version numbers."""

    _VERSION = "须为版本号 (1 至 2147483647 之间的整数)"
    older = Whole(1, MAX_ID, _VERSION, strict=False, data_key="from", required=True,
                  error_messages={"required": "请用 from 和 to 指定要比较的两个版本号"},
                  metadata={"description": "旧版本号 · older version"})
    newer = Whole(1, MAX_ID, _VERSION, strict=False, data_key="to", required=True,
                  error_messages={"required": "请用 from 和 to 指定要比较的两个版本号"},
                  metadata={"description": "新版本号 · newer version"})


class VersionSchema(Schema):
    """One deployed version."""

    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    sha256 = fields.String()
    deployed_by = fields.String()
    deployed_at = fields.DateTime()
    running_instances = fields.Integer()
