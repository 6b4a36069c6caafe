"""The task inbox over HTTP: list, claim, complete; escalation actions for superiors."""
from __future__ import annotations

from flask_smorest import Blueprint

from processes.inbox import actions, escalations, paging
from processes.inbox import service as inbox
from processes.transfer import policy
from processes.transfer import service as transfer

from ..auth import actor, require_bearer
from ..context import db, guichet, now
from .schemas import (
    ReassignSchema,
    TaskCompleteSchema,
    TaskDetailSchema,
    TaskQuerySchema,
    TaskReadSchema,
)

blp = Blueprint("api_tasks", __name__, url_prefix="/api/v1/tasks", description="待办 · Task inbox")
blp.before_request(require_bearer)


PAGE_HEADERS = {
    "X-Next-Cursor": {"description": "下一页的翻页标记 (最后一页没有) · the next page's cursor (absent on the last)",
                      "schema": {"type": "string"}},
    "X-Total-Count": {"description": "符合条件的事项总数 · items over every page", "schema": {"type": "integer"}},
    "X-Escalation-Count": {"description": "其中督办事项 · of which escalations", "schema": {"type": "integer"}},
    "X-Overdue-Count": {"description": "其中已超时 · of which overdue", "schema": {"type": "integer"}},
}


@blp.route("", methods=["GET"])
@blp.arguments(TaskQuerySchema(), location="query")
@blp.response(200, TaskReadSchema(many=True), headers=PAGE_HEADERS)
def list_tasks(query):
    """The caller's open items (assigned to them and claimable in their queues): escalations first, then overdue
    first; a page at a time (?cursor= from X-Next-Cursor), with the counts over every page in the headers."""
    f = inbox.InboxFilter(scope=query["scope"], process=query["process"], overdue_only=query["overdue"],
                          text=query["q"], limit=query["limit"])
    found = paging.page(db(), actor=actor(), now=now(), f=f, cursor=query["cursor"])
    headers = {"X-Total-Count": str(found.counts["total"]), "X-Escalation-Count": str(found.counts["escalations"]),
               "X-Overdue-Count": str(found.counts["overdue"])}
    if found.next_cursor:
        headers["X-Next-Cursor"] = found.next_cursor
    return found.items, 200, headers


@blp.route("/<item_id>", methods=["GET"])
@blp.response(200, TaskDetailSchema)
def read(item_id):
    """One open item, with the decisions its step offers; an escalation item, to its superior, with who 改派 may
    choose and what the stage refuses."""
    services, user = guichet(), actor()
    item = services.runtime.get_item(db(), item_id)
    policy.ensure_may_view_item(user, item)
    item.decisions = actions.decisions(db(), services.runtime, item)
    if item.kind != "escalation" or item.assignee != user.username:
        return item
    _esc, step = escalations.late_step(db(), services.runtime, item_id=item_id, actor=user)
    found = escalations.choices(db(), item, step, user)
    return _WithEscalation(item, {"step_id": step.id, "reassign_to": [u.username for u in found.candidates],
                                  "refused": found.refused,
                                  "urged": escalations.urge_counts(db(), [step.id]).get(step.id, 0)})


class _WithEscalation:
    """An item (its columns read through) with what its superior may do."""

    def __init__(self, item, escalation: dict):
        self._item, self.escalation = item, escalation

    def __getattr__(self, name):
        return getattr(self._item, name)


@blp.route("/<item_id>/claim", methods=["POST"])
@blp.response(200, TaskReadSchema)
def claim(item_id):
    """Claim an item from a queue."""
    return transfer.claim(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())


@blp.route("/<item_id>/assign", methods=["POST"])
@blp.arguments(ReassignSchema())
@blp.response(200, TaskReadSchema)
def assign(body, item_id):
    """指派: the department head gives a queued item to a member of the department."""
    return actions.assign(db(), guichet().runtime, item_id=item_id, actor=actor(), assignee=body["assignee"], now=now())


@blp.route("/<item_id>/release", methods=["POST"])
@blp.response(200, TaskReadSchema)
def release(item_id):
    """Put a claimed item back in its queue."""
    return transfer.release(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())


@blp.route("/<item_id>/complete", methods=["POST"])
@blp.arguments(TaskCompleteSchema())
@blp.response(200, TaskReadSchema(many=True))
def complete(body, item_id):
    """Complete an item ("decision": "return" sends it back for correction; late needs "late_reason").

    Returns the items the step opened.
    """
    result = actions.complete(db(), guichet().runtime, item_id=item_id, actor=actor(), data=body["data"], now=now())
    return result.opened


@blp.route("/<item_id>/urge", methods=["POST"])
@blp.response(204)
def urge(item_id):
    """催办: the superior an escalation item went to urges whoever holds the late step (any stage)."""
    escalations.urge(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())


@blp.route("/<item_id>/reassign", methods=["POST"])
@blp.arguments(ReassignSchema())
@blp.response(200, TaskReadSchema)
def reassign(body, item_id):
    """改派: the superior gives the late step to another person the stage allows to complete it (any stage)."""
    return escalations.reassign(db(), guichet().runtime, item_id=item_id, actor=actor(), assignee=body["assignee"], now=now())


@blp.route("/<item_id>/take-over", methods=["POST"])
@blp.response(200, TaskReadSchema)
def take_over(item_id):
    """接办: the superior takes the late step over, unless its stage forbids (any stage)."""
    return escalations.take_over(db(), guichet().runtime, item_id=item_id, actor=actor(), now=now())
