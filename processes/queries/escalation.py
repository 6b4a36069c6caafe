"""A late approval step's escalation item (逾期督办), as a late handover's: the superior urges or takes the step over.

The diagram reuses the internal transfer's `escalate` operation, which gives the superior the item; a query step
has no handover record, so what the superior does is recorded here (audit chain) rather than on an Escalation.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine.rows import Item
from engine.runtime import Runtime

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid
from ..org.models import User
from .models import QueryRequest
from .service import PROCESS_KEY


def late_step(session: Session, runtime: Runtime, *, item_id: str, actor: User) -> tuple[Item, Item, QueryRequest]:
    """(escalation item, the late step's item, the application) for the superior the item was given to."""
    item = runtime.get_item(session, item_id)
    if item.kind != "escalation" or item.process_key != PROCESS_KEY:
        raise Invalid("该事项不是查询审批的督办事项", code="not_an_escalation")
    if item.assignee != actor.username:
        raise Forbidden("只有被督办的上级可以处理该督办事项")
    step = runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    if step is None or step.status != "open":
        raise Conflict("原审批事项已办结", code="task_closed")
    return item, step, session.get(QueryRequest, step.ref_id)


def urge(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """催办: remind whoever holds the late step (recorded in the audit chain)."""
    _item, step, request = late_step(session, runtime, item_id=item_id, actor=actor)
    audit.record(session, actor=actor.username, action="query.urge", object_type="query_request", object_id=request.id,
                 now=now, details={"number": request.number, "step": step.task_name, "holder": step.assignee})
    return step


def take_over(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """接办: the superior takes the late step and decides it (never on their own application)."""
    _item, step, request = late_step(session, runtime, item_id=item_id, actor=actor)
    if actor.username == request.applicant:
        raise Forbidden("不能审批自己的查询申请")
    runtime.update_item(session, step, assignee=actor.username, claimed_at=now)
    audit.record(session, actor=actor.username, action="query.take_over", object_type="query_request",
                 object_id=request.id, now=now, details={"number": request.number, "step": step.task_name})
    return step
