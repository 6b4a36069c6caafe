"""Internal transfer: start it on submit, claim and complete hops, return for correction, act on escalations.

Every hop the diagram opens is a handover record; its due time is the hop's SLA timer (R4.2.1-R4.2.2).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from engine.db import UTCDateTime
from engine.prepared import Prepared
from engine.rows import Item
from engine.runtime import Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, NotFound, ValidationFailed, written
from ..forms.models import Form
from ..org import service as org
from ..org.models import User
from .models import Escalation, Handover

PROCESS_KEY = "internal_transfer"
DECISIONS = {"complete": "办结/移交", "return": "退回补正"}


def start_transfer(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, now: datetime) -> StepResult:
    """Start the internal-transfer process for a submitted form; the first hop is a handover from the actor."""
    result = runtime.start(
        session, config["transfer"].get("process", PROCESS_KEY), data={"form_id": form.id, "handover_sla": config["transfer"]["handover_sla"]},
        actor=actor.username, now=now, business_key=form.number, subject=form.subject, ref_type="form", ref_id=form.id,
    )
    form.process_instance_id = result.instance.id
    _record_new_hops(session, result, form_id=form.id, from_department=actor.department.name,
                     from_user=actor.username, kind="handover", now=now)
    _audit_hop(session, result, form_id=form.id, number=form.number, actor=actor, decision="submit", step=None, now=now)
    return result


def may_work_on(actor: User, item: Item) -> bool:
    """Whether the actor holds the item, or it waits unclaimed in one of the actor's queues."""
    if item.assignee is not None:
        return item.assignee == actor.username
    return item.candidate_group in actor.groups


def claim(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """Take an unclaimed item from a queue; the handover counts as received."""
    item = runtime.get_item(session, item_id)
    if item.kind != "task":
        raise Invalid("督办事项无需签收", code="not_claimable")
    if item.assignee == actor.username:
        return item
    if item.assignee is not None:
        raise Conflict(f"该事项已由 {item.assignee} 签收", code="already_claimed")
    if item.candidate_group not in actor.groups:
        raise Forbidden("该事项不在您所在部门的队列中")
    runtime.update_item(session, item, assignee=actor.username, claimed_at=now)
    _received(session, item, actor.username, now)
    return item


def may_assign(session: Session, actor: User, item: Item) -> bool:
    """Whether the actor heads the item's department (or is management), so may hand it to someone."""
    if item.kind != "task" or item.status != "open":
        return False
    department = org.department_by_name(session, item.candidate_group or "")
    return actor.role == "manager" or (department is not None and department.head_id == actor.id)


def assign(session: Session, runtime: Runtime, *, item_id: str, actor: User, assignee: str, now: datetime) -> Item:
    """指派: the head of the item's department (or management) gives a queued item to a member of that department."""
    item = runtime.get_item(session, item_id)
    if item.kind != "task":
        raise Invalid("督办事项不能指派", code="not_assignable")
    if not may_assign(session, actor, item):
        raise Forbidden("只有该部门负责人或管理层可以指派")
    _hand_to(session, runtime, item, _member_of(session, item.candidate_group, assignee, "指派"), now)
    return item


def _member_of(session: Session, department: str | None, username: str, verb: str) -> User:
    """The active member of `department` an item is given to; ValidationFailed names what is wrong."""
    target = org.get_by_username(session, username or "")
    if target is None or not target.active:
        raise ValidationFailed({"assignee": "找不到该人员"})
    if department not in target.groups:
        raise ValidationFailed({"assignee": f"{target.display_name} 不在 {department}, 不能{verb}"})
    return target


def release(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """Put a claimed item back in its queue."""
    item = runtime.get_item(session, item_id)
    if item.assignee != actor.username:
        raise Forbidden("只能退回自己签收的事项")
    runtime.update_item(session, item, assignee=None, claimed_at=None)
    return item


def complete_hop(session: Session, runtime: Runtime, *, item: Item, actor: User, data: dict, now: datetime) -> StepResult:
    """Finish a hop (an open item from runtime.get_item): hand the form on as the diagram says, or return it to
    the previous hop for correction."""
    if item.kind != "task":
        raise Invalid("督办事项在原事项办结后自动关闭, 请使用催办、改派或接办", code="not_a_task")
    if not may_work_on(actor, item):
        raise Forbidden("您无权办理该事项")
    decision = str(data.get("decision") or "complete")
    allowed = {"complete"} | runtime.decisions(session, item)
    if decision not in allowed:
        raise ValidationFailed({"decision": f"此环节不可选择“{DECISIONS.get(decision, decision)}”"})
    late_reason, comment = written(data, "late_reason"), written(data, "comment")
    if item.is_overdue(now) and not late_reason:
        raise ValidationFailed({"late_reason": "已超过办理时限, 请填写逾期原因"}, message="已超过办理时限, 请填写逾期原因 (R4.2.2)")
    late = item.is_overdue(now)  # asked before the step closes the item
    result = runtime.complete(session, item, actor=actor.username, now=now, data={"decision": decision})
    _finish_handover(session, item, status="returned" if decision == "return" else "completed", actor=actor.username,
                     late=late, late_reason=late_reason or None, comment=comment or None, now=now)
    if item.escalation_level:
        _close_escalations(session, item, now)
    if item.ref_type == "form":
        _record_new_hops(session, result, form_id=item.ref_id, from_department=item.lane or actor.department.name,
                         from_user=actor.username, kind="return" if decision == "return" else "handover", now=now)
        if result.instance.status == "completed":
            _CLOSE_FORM.execute(session, {"b_id": item.ref_id, "status": "closed", "closed_at": now})
            held = session.identity_map.get(session.identity_key(Form, item.ref_id))
            if held is not None:  # a copy this transaction already loaded must not contradict the row
                set_committed_value(held, "status", "closed")
                set_committed_value(held, "closed_at", now)
        _audit_hop(session, result, form_id=item.ref_id, number=result.instance.business_key, actor=actor,
                   decision=decision, step=item.task_name, now=now)
    return result


def _audit_hop(session, result: StepResult, *, form_id, number, actor: User, decision: str, step: str | None,
               now) -> None:
    """移交 in the audit chain: which step handed the form to which departments (no form content)."""
    audit.record(session, actor=actor.username, action="form.handover", object_type="form", object_id=form_id, now=now,
                 details={"number": number, "decision": decision, "from_step": step, "from_department": actor.department.name,
                          "to": sorted({i.candidate_group or "" for i in result.opened}),
                          "closed": result.instance.status == "completed"})


def current_handover(session: Session, item: Item) -> Handover | None:
    """The handover record a task item stands for."""
    return session.scalars(select(Handover).where(Handover.work_item_id == item.id)).first()


# The hot path writes handover rows with prepared statements (see engine/rows.py for why).
HANDOVER, ESCALATION, FORM = Handover.__table__, Escalation.__table__, Form.__table__
_INSERT_HANDOVER = Prepared(HANDOVER.insert())
_RECEIVED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item")).values(
    received_at=func.coalesce(HANDOVER.c.received_at, bindparam("b_now", type_=UTCDateTime())), status="received"))
_FINISHED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item")).values(
    to_user=func.coalesce(HANDOVER.c.to_user, bindparam("b_actor")),
    received_at=func.coalesce(HANDOVER.c.received_at, bindparam("b_now", type_=UTCDateTime()))))
_CANCELLED = Prepared(HANDOVER.update().where(HANDOVER.c.work_item_id == bindparam("b_item"),
                                              HANDOVER.c.status.in_(("pending", "received"))))
_CLOSE_ESCALATIONS = Prepared(ESCALATION.update().where(
    ESCALATION.c.closed_at.is_(None),
    ESCALATION.c.handover_id.in_(select(HANDOVER.c.id).where(HANDOVER.c.work_item_id == bindparam("b_item")))))
_CLOSE_FORM = Prepared(FORM.update().where(FORM.c.id == bindparam("b_id")))


def _received(session: Session, item: Item, username: str, now: datetime) -> None:
    """The hop's handover now lies with `username` (received now unless it already was)."""
    _RECEIVED.execute(session, {"b_item": item.id, "b_now": now, "to_user": username})


def _finish_handover(session: Session, item: Item, *, status: str, actor: str, late: bool, late_reason, comment,
                     now: datetime) -> None:
    """Close the hop's handover record: how it ended, by whom, and whether it was late (R4.2.2)."""
    values = dict(b_item=item.id, b_actor=actor, b_now=now, status=status, completed_at=now, completed_by=actor,
                  late_reason=late_reason, comment=comment)
    if late:
        values["overdue"] = True
    _FINISHED.execute(session, values)


def _record_new_hops(session, result: StepResult, *, form_id, from_department, from_user, kind, now) -> None:
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


def _close_escalations(session: Session, item: Item, now: datetime) -> None:
    _CLOSE_ESCALATIONS.execute(session, {"b_item": item.id, "closed_at": now})


def handovers_of(session: Session, form_id: int) -> list[Handover]:
    """A form's handover history, oldest first."""
    return list(session.scalars(select(Handover).where(Handover.form_id == form_id).order_by(Handover.id)).all())


def escalations_of(session: Session, form_id: int) -> list[Escalation]:
    """A form's escalations, oldest first."""
    return list(session.scalars(
        select(Escalation).join(Handover).where(Handover.form_id == form_id).order_by(Escalation.id)
    ).all())


# --- the superior's escalation item -----------------------------------------------------------
def _escalation_for(session: Session, runtime: Runtime, item_id: str, actor: User) -> tuple[Item, Item, Escalation]:
    item = runtime.get_item(session, item_id)
    if item.kind != "escalation":
        raise Invalid("该事项不是督办事项", code="not_an_escalation")
    if item.assignee != actor.username:
        raise Forbidden("只有被督办的上级可以处理该督办事项")
    hop = runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    if hop is None or hop.status != "open":
        raise Conflict("原事项已办结", code="task_closed")
    esc = session.scalars(select(Escalation).where(Escalation.work_item_id == item.id)).first()
    if esc is None:
        raise NotFound("督办记录不存在")
    return item, hop, esc


def urge(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Escalation:
    """催办: remind the holder of the late hop; shown on their item."""
    _item, _hop, esc = _escalation_for(session, runtime, item_id, actor)
    esc.urge_count += 1
    esc.last_action, esc.last_action_at = f"{actor.display_name} 催办", now
    return esc


def reassign(session: Session, runtime: Runtime, *, item_id: str, actor: User, assignee: str, now: datetime) -> Item:
    """改派: give the late hop to another member of its department."""
    _item, hop, esc = _escalation_for(session, runtime, item_id, actor)
    target = _member_of(session, hop.candidate_group, assignee, "改派")
    _hand_to(session, runtime, hop, target, now)
    esc.last_action, esc.last_action_at = f"{actor.display_name} 改派给 {target.display_name}", now
    return hop


def take_over(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """接办: the superior takes the late hop over."""
    _item, hop, esc = _escalation_for(session, runtime, item_id, actor)
    _hand_to(session, runtime, hop, actor, now)
    esc.last_action, esc.last_action_at = f"{actor.display_name} 接办", now
    return hop


def _hand_to(session: Session, runtime: Runtime, hop: Item, user: User, now: datetime) -> None:
    runtime.update_item(session, hop, assignee=user.username, claimed_at=now)
    _received(session, hop, user.username, now)


def urge_counts(session: Session, item_ids: list[str]) -> dict[str, int]:
    """How often each hop was urged, summed over its open escalations (a level-2 item must not hide level-1 urging)."""
    if not item_ids:
        return {}
    rows = session.execute(
        select(Handover.work_item_id, func.sum(Escalation.urge_count))
        .join(Escalation, Escalation.handover_id == Handover.id)
        .where(Handover.work_item_id.in_(item_ids), Escalation.closed_at.is_(None))
        .group_by(Handover.work_item_id)
    ).all()
    return {item_id: int(total) for item_id, total in rows if total}


# --- hops of other stages ---------------------------------------------------------------------
def record_hops(session: Session, result: StepResult, *, form_id: int, from_department: str, from_user: str, kind: str,
                now: datetime) -> None:
    """Handover records for items another stage's step opened on a form (an external transfer waiting for its
    receipt), so that their lateness escalates, and is urged, reassigned or taken over, as a hop's is."""
    _record_new_hops(session, result, form_id=form_id, from_department=from_department, from_user=from_user, kind=kind,
                     now=now)


def finish_hop(session: Session, item: Item, *, actor: str, late: bool, now: datetime, comment: str | None = None) -> None:
    """Close the handover record (and open escalations) of an item another stage completed."""
    _finish_handover(session, item, status="completed", actor=actor, late=late, late_reason=None, comment=comment, now=now)
    if item.escalation_level:
        _close_escalations(session, item, now)
