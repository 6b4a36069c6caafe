"""GET /api/v1/audit: the audit chain for management and oversight, filtered."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, fields

from processes.inputs import Whole

from processes.audit import service as audit
from processes.errors import Forbidden

from ..auth import actor, require_bearer
from ..context import db
from .schemas import documented

blp = Blueprint("api_audit", __name__, url_prefix="/api/v1/audit", description="审计日志 · Audit chain")
blp.before_request(require_bearer)

AUDIT_ROLES = {"manager", "inspector"}


class AuditQuerySchema(Schema):
    """Filters: actor, action, object type and id, period [since, until), limit."""

    actor = fields.String(load_default=None, metadata={"description": "login name, or part of a person's name (操作人)"})
    action = fields.String(load_default=None)
    object_type = fields.String(load_default=None)
    object_id = fields.String(load_default=None)
    since = fields.AwareDateTime(load_default=None, default_timezone=None)
    until = fields.AwareDateTime(load_default=None, default_timezone=None)
    limit = Whole(1, 500, "须为 1 到 500 之间的整数", strict=False, load_default=100)


class AuditEventSchema(Schema):
    """审计事件 (no personal data: field codes and masked values only)."""

    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    action_label = fields.String()
    object_type = fields.String()
    object_id = fields.String()
    details = fields.Dict()
    prev_hash = fields.String()
    hash = fields.String()


def ensure_auditor(user) -> None:
    """Only management and oversight read the audit chain."""
    if user.role not in AUDIT_ROLES:
        raise Forbidden("只有公司管理层和监督检查人员可以查看审计日志")


@blp.route("", methods=["GET"])
@blp.arguments(AuditQuerySchema(), location="query")
@blp.response(200, AuditEventSchema(many=True))
def list_events(query):
    """Audit events, newest first."""
    ensure_auditor(actor())
    return audit.list_events(db(), audit.AuditFilter(**query))


@blp.route("/verify", methods=["GET"])
@blp.doc(**documented(200, {"type": "object", "properties": {
    "ok": {"type": "boolean"}, "checked": {"type": "integer"}, "broken_seq": {"type": "integer", "nullable": True},
    "reason": {"type": "string", "nullable": True}}}, "审计链校验结果 · the chain's verdict"))
def verify():
    """Check the whole chain; names the first broken event."""
    ensure_auditor(actor())
    verdict = audit.verify(db())
    return {"ok": verdict.ok, "checked": verdict.checked, "broken_seq": verdict.broken_seq, "reason": verdict.reason}
