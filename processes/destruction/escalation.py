"""A late destruction approval step's escalation item (逾期督办): the superior urges or takes the step over.

The diagram's SLA timers reuse the internal transfer's `escalate` operation, which gives the holder's superior an
escalation item; an approval step has no handover record, so what the superior does is recorded in the audit chain.
A step taken over is decided by whoever took it (service._ensure_step_holder accepts the item's holder).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine import Item, Runtime

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid
from ..org.models import User
from .models import Destruction
from .service import PROCESS_KEY, STEPS


def late_step(session: Session, runtime: Runtime, *, item_id: str, actor: User) -> tuple[Item, Item, Destruction]:
    """(escalation item, the late step's item, the batch) for the superior the item was given to."""
    item = runtime.get_item(session, item_id)
    if item.kind != "escalation" or item.process_key != PROCESS_KEY:
        raise Invalid("该事项不是销毁审批的督办事项", code="not_an_escalation")
    if item.assignee != actor.username:
        raise Forbidden("只有被督办的上级可以处理该督办事项")
    step = runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    if step is None or step.status != "open":
        raise Conflict("原审批事项已办结", code="task_closed")
    return item, step, session.get(Destruction, step.ref_id)


def urge(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """催办: remind whoever holds the late step (recorded in the audit chain)."""
    _item, step, batch = late_step(session, runtime, item_id=item_id, actor=actor)
    audit.record(session, actor=actor.username, action="destruction.urge", object_type="destruction",
                 object_id=batch.id, now=now, details={"step": STEPS.get(step.task_name, step.task_name),
                                                       "department": step.candidate_group, "holder": step.assignee})
    return step


def take_over(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """接办: the superior takes the late step and decides it (never a step of a batch they proposed)."""
    _item, step, batch = late_step(session, runtime, item_id=item_id, actor=actor)
    if actor.username == batch.created_by:
        raise Forbidden("不能审批自己提出的销毁清单")
    before = step.assignee
    runtime.update_item(session, step, assignee=actor.username, claimed_at=now)
    audit.record(session, actor=actor.username, action="destruction.take_over", object_type="destruction",
                 object_id=batch.id, now=now, details={"item": step.id, "step": STEPS.get(step.task_name, step.task_name),
                                                       "department": step.candidate_group, "holder": before})
    return step
