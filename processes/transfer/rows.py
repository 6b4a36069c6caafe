"""The internal transfer's writes of handover and escalation rows: every hop writes them, so they use prepared
statements (see engine/rows.py for why). Pages and reports read these tables through the ORM classes."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select

from engine import Item, StepResult, UTCDateTime
from engine.prepared import Prepared

from .models import Escalation, Handover

HANDOVER, ESCALATION = Handover.__table__, Escalation.__table__
_INSERT_HANDOVER = Prepared(HANDOVER.insert())
_RECEIVED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item")).values(
    received_at=func.coalesce(HANDOVER.c.received_at, bindparam("b_now", type_=UTCDateTime())), status="received"))
_FINISHED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item")).values(
    to_user=func.coalesce(HANDOVER.c.to_user, bindparam("b_actor")),
    received_at=func.coalesce(HANDOVER.c.received_at, bindparam("b_now", type_=UTCDateTime()))))
_CANCELLED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item"),
                                              HANDOVER.c.status.in_(("pending", "received"))))
_OVERDUE = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item"))
                    .values(overdue=True).returning(HANDOVER.c.id))
_INSERT_ESCALATION = Prepared(ESCALATION.insert())
_CLOSE_ESCALATIONS = Prepared(ESCALATION.update().where(
    ESCALATION.c.closed_at.is_(None),
    ESCALATION.c.handover_id.in_(select(HANDOVER.c.id).where(HANDOVER.c.work_item_id == bindparam("b_item")))))


def received(session, item: Item, username: str, now: datetime) -> None:
    """The hop's handover now lies with `username` (received now unless it already was)."""
    _RECEIVED.execute(session, {"b_item": item.id, "b_now": now, "to_user": username})


def finished(session, item: Item, *, status: str, actor: str, late: bool, late_reason, comment, now: datetime) -> None:
    """Close the hop's handover record: how it ended, by whom, and whether it was late (R4.2.2)."""
    values = dict(b_item=item.id, b_actor=actor, b_now=now, status=status, completed_at=now, completed_by=actor,
                  late_reason=late_reason, comment=comment)
    if late:
        values["overdue"] = True
    _FINISHED.execute(session, values)


def new_hops(session, result: StepResult, *, form_id, from_department, from_user, kind, now) -> None:
    """A pending handover for each item the step opened; the handovers of the items it closed are cancelled."""
    if result.opened:
        _INSERT_HANDOVER.execute_many(session, [dict(
            form_id=form_id, instance_id=result.instance.id, work_item_id=opened.id, kind=kind, step=opened.task_name,
            step_name=opened.title, from_department=from_department, from_user=from_user,
            to_department=opened.candidate_group, to_user=opened.assignee, handed_at=now, received_at=None,
            due_at=opened.due_at, completed_at=None, completed_by=None, status="pending", overdue=False,
            late_reason=None, comment=None,
        ) for opened in result.opened])
    if result.closed:
        _CANCELLED.execute_many(session, [{"b_item": c.id, "status": "cancelled", "completed_at": now}
                                          for c in result.closed])


def mark_overdue(session, item: Item) -> int | None:
    """Mark the hop's handover overdue; its id (None when the item has no handover)."""
    row = _OVERDUE.first(session, {"b_item": item.id})
    return row[0] if row is not None else None


def insert_escalation(session, *, handover_id: int, work_item_id: str | None, level: int, superior: str | None,
                      now: datetime) -> None:
    """Record one escalation of a late hop."""
    _INSERT_ESCALATION.execute(session, dict(
        handover_id=handover_id, work_item_id=work_item_id, level=level, superior=superior, created_at=now,
        closed_at=None, urge_count=0, last_action=None, last_action_at=None,
    ))


def close_escalations(session, item: Item, now: datetime) -> None:
    """The hop is done: its open escalations close."""
    _CLOSE_ESCALATIONS.execute(session, {"b_item": item.id, "closed_at": now})
