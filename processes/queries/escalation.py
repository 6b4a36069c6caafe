"""A late approval step's escalation item (逾期督办): the query stage's part in processes.inbox.escalations.

The diagram reuses the internal transfer's `escalate` operation, which gives the superior the item; a query step
has no handover record, so what the superior does is recorded in the audit chain as `query.urge` … Who may be
given a late step is who may decide it; nobody decides their own application.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from engine import Item, Runtime

from ..errors import Invalid
from ..inbox import escalations
from ..org import service as org
from ..org.models import User
from . import policy
from .models import QueryRequest
from .service import PROCESS_KEY

PERSONAL_STEPS = ("head_review", "superior_report")  # routed to one person: taken over, never reassigned


def _request(session: Session, step: Item) -> QueryRequest | None:
    return session.get(QueryRequest, step.ref_id) if step.ref_id is not None else None


def candidates(session: Session, step: Item) -> list[User]:
    """Who a late step may be given to: compliance staff for the compliance review, managers for management's
    steps, never the applicant; a step routed to the applicant's head has nobody else."""
    request = _request(session, step)
    if request is None or step.task_name in PERSONAL_STEPS:
        return []
    return [u for u in org.members_of(session, step.candidate_group or "")
            if u.active and policy.may_decide_unassigned(u, request, step.task_name)]


def forbids(session: Session, step: Item, actor: User, action: str) -> str | None:
    """No one takes over their own application; a step meant for the applicant's head is not reassigned."""
    request = _request(session, step)
    if action == "take_over" and request is not None and actor.username == request.applicant:
        return "不能审批自己的查询申请"
    if action == "reassign" and step.task_name in PERSONAL_STEPS:
        return "该环节由申请人的部门负责人(或上级)审批, 不能改派; 可催办或接办"
    return None


HOOKS = escalations.Hooks(candidates=candidates, forbids=forbids, audit_prefix="query")


def _own(session: Session, runtime: Runtime, item_id: str, actor: User) -> None:
    # The stage's own routes take only its escalation items (the generic task routes take every stage's).
    item, _step = escalations.late_step(session, runtime, item_id=item_id, actor=actor)
    if item.process_key != PROCESS_KEY:
        raise Invalid("该事项不是查询审批的督办事项", code="not_an_escalation")


def urge(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """催办: remind whoever holds the late step (recorded in the audit chain); returns the step."""
    _own(session, runtime, item_id, actor)
    return escalations.urge(session, runtime, item_id=item_id, actor=actor, now=now)


def take_over(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """接办: the superior takes the late step and decides it (never on their own application)."""
    _own(session, runtime, item_id, actor)
    return escalations.take_over(session, runtime, item_id=item_id, actor=actor, now=now)
