"""Internal transfer: start it on submit, claim and complete hops, return for correction, act on escalations.

Every hop the diagram opens is a handover record; its due time is the hop's SLA timer (R4.2.1-R4.2.2).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Item, Runtime, StepResult

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, ValidationFailed, written
from ..forms import rows as form_rows
from ..forms.models import Form
from ..org import service as org
from ..org.models import User
from . import rows
from .policy import may_assign, may_see, may_work_on
from .models import Escalation, Handover

PROCESS_KEY = "internal_transfer"
DECISIONS = {"complete": "办结/移交", "return": "退回补正"}
# Registered when [transfer] handover_sla is in working time ("2WD"): hop_sla(now) is the ISO duration to the
# deadline of a hop starting at `now`, which the diagram's timers ("R2/" + handover_sla) read as any duration.
HOP_SLA = "hop_sla"


def start_transfer(session: Session, runtime: Runtime, config: dict, *, form: Form, actor: User, now: datetime) -> StepResult:
    """Start the internal-transfer process for a submitted form; the first hop is a handover from the actor."""
    sla = runtime.functions[HOP_SLA](now, session) if HOP_SLA in runtime.functions else config["transfer"]["handover_sla"]
    result = runtime.start(
        session, config["transfer"].get("process", PROCESS_KEY), data={"form_id": form.id, "handover_sla": sla},
        actor=actor.username, now=now, business_key=form.number, subject=form.subject, ref_type="form", ref_id=form.id,
    )
    form.process_instance_id = result.instance.id
    rows.new_hops(session, result, form_id=form.id, from_department=actor.department.name,
                     from_user=actor.username, kind="handover", now=now)
    _audit_hop(session, result, form_id=form.id, number=form.number, actor=actor, decision="submit", step=None, now=now)
    return result


def claim(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """Take an unclaimed item from a queue; the handover counts as received. Of two claims at once one wins,
    the other gets a 409, on every database."""
    item = runtime.get_item(session, item_id)
    if not may_see(actor, item):
        raise Forbidden("该事项不在您所在部门的队列中")
    if item.kind != "task":
        raise Invalid("督办事项无需签收", code="not_claimable")
    if item.assignee == actor.username:
        return item
    if item.assignee is not None:  # a colleague of the same queue may know who
        raise Conflict(f"该事项已由 {org.display_name(session, item.assignee)} 签收", code="already_claimed")
    if not runtime.claim_item(session, item, assignee=actor.username, now=now):
        raise Conflict("该事项刚被他人签收", code="already_claimed")
    rows.received(session, item, actor.username, now)
    return item


def assign(session: Session, runtime: Runtime, *, item_id: str, actor: User, assignee: str, now: datetime) -> Item:
    """指派: the head of the item's department (or management) gives a queued item to a member of that department."""
    item = runtime.get_item(session, item_id)
    sees = may_see(actor, item)
    # Management assigns what waits in a queue; an item someone holds is no business of those outside its queue.
    if not sees and (actor.role != "manager" or item.assignee is not None):
        raise Forbidden("只有该部门负责人或管理层可以指派")
    if item.kind != "task":
        raise Invalid("督办事项不能指派", code="not_assignable")
    if not may_assign(session, actor, item):
        raise Forbidden("只有该部门负责人或管理层可以指派")
    if item.assignee is not None:  # a held item changes hands by release, or 改派/接办 once late, never by 指派
        raise Conflict(f"该事项已由 {org.display_name(session, item.assignee)} 签收, 只能指派队列中待签收的事项",
                       code="already_claimed")
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
    allowed = runtime.decisions(session, item)
    if decision not in allowed:
        raise ValidationFailed({"decision": f"此环节不可选择“{DECISIONS.get(decision, decision)}”"})
    late_reason, comment = written(data, "late_reason"), written(data, "comment")
    if item.is_overdue(now) and not late_reason:
        raise ValidationFailed({"late_reason": "已超过办理时限, 请填写逾期原因"}, message="已超过办理时限, 请填写逾期原因")
    late = item.is_overdue(now)  # asked before the step closes the item
    step = {"decision": decision}
    if HOP_SLA in runtime.functions:  # a working-time SLA: the next hop's timer counts from now on the calendar
        step["handover_sla"] = runtime.functions[HOP_SLA](now, session)
    result = runtime.complete(session, item, actor=actor.username, now=now, data=step)
    rows.finished(session, item, status="returned" if decision == "return" else "completed", actor=actor.username,
                     late=late, late_reason=late_reason or None, comment=comment or None, now=now)
    if item.escalation_level:
        rows.close_escalations(session, item, now)
    if item.ref_type == "form":
        rows.new_hops(session, result, form_id=item.ref_id, from_department=item.lane or actor.department.name,
                         from_user=actor.username, kind="return" if decision == "return" else "handover", now=now)
        if result.instance.status == "completed":
            form_rows.close_form(session, item.ref_id, now)
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


def returned_by(session: Session, item: Item) -> Handover | None:
    """For a 补正 hop (opened by a return), the handover that was returned: who sent it back, when and why."""
    current = current_handover(session, item)
    if current is None or current.kind != "return":
        return None
    return session.scalars(select(Handover).where(Handover.form_id == current.form_id, Handover.status == "returned",
                                                  Handover.id < current.id).order_by(Handover.id.desc())).first()


def department_forms(session: Session, *, actor: User, page: int = 1, limit: int = 50) -> tuple[list[Form], bool]:
    """本部门业务单: forms the actor's department filled or that passed through it, newest first; one page and
    whether more follow."""
    name = actor.department.name
    passed = select(Handover.form_id).where((Handover.to_department == name) | (Handover.from_department == name))
    found = list(session.scalars(select(Form).where((Form.department_id == actor.department_id) | Form.id.in_(passed))
                                 .order_by(Form.id.desc()).offset(limit * (page - 1)).limit(limit + 1)).all())
    return found[:limit], len(found) > limit


def handovers_of(session: Session, form_id: int) -> list[Handover]:
    """A form's handover history, oldest first."""
    return list(session.scalars(select(Handover).where(Handover.form_id == form_id).order_by(Handover.id)).all())


def escalations_of(session: Session, form_id: int) -> list[Escalation]:
    """A form's escalations, oldest first."""
    return list(session.scalars(
        select(Escalation).join(Handover).where(Handover.form_id == form_id).order_by(Escalation.id)
    ).all())


# --- the superior's escalation item -----------------------------------------------------------
def escalation_recorded(session: Session, *, item: Item, step: Item, actor: User, action: str, target: User | None,
                        now: datetime) -> None:
    """The transfer's part in 催办 / 改派 / 接办 (processes.inbox.escalations does the rest): the hop's
    `Escalation` row says what the superior did, and its handover now lies with whoever holds the hop."""
    esc = session.scalars(select(Escalation).where(Escalation.work_item_id == item.id)).first()
    if esc is not None:
        if action == "urge":
            esc.urge_count += 1
        verb = {"urge": "催办", "reassign": "改派给", "take_over": "接办"}[action]
        esc.last_action = f"{actor.display_name} {verb}" + (f" {target.display_name}" if action == "reassign" else "")
        esc.last_action_at = now
    if target is not None:
        rows.received(session, step, target.username, now)


def _hand_to(session: Session, runtime: Runtime, hop: Item, user: User, now: datetime) -> None:
    runtime.update_item(session, hop, assignee=user.username, claimed_at=now)
    rows.received(session, hop, user.username, now)


def urge_counts(session: Session, item_ids: list[str]) -> dict[str, int]:
    """How often each hop was urged, summed over its open escalations (a level-2 item must not hide level-1 urging)."""
    if not item_ids:
        return {}
    counts = session.execute(
        select(Handover.work_item_id, func.sum(Escalation.urge_count))
        .join(Escalation, Escalation.handover_id == Handover.id)
        .where(Handover.work_item_id.in_(item_ids), Escalation.closed_at.is_(None))
        .group_by(Handover.work_item_id)
    ).all()
    return {item_id: int(total) for item_id, total in counts if total}


# --- hops of other stages ---------------------------------------------------------------------
def record_hops(session: Session, result: StepResult, *, form_id: int, from_department: str, from_user: str, kind: str,
                now: datetime) -> None:
    """Handover records for items another stage's step opened on a form (an external transfer waiting for its
    receipt), so that their lateness escalates, and is urged, reassigned or taken over, as a hop's is."""
    rows.new_hops(session, result, form_id=form_id, from_department=from_department, from_user=from_user, kind=kind,
                     now=now)


def finish_hop(session: Session, item: Item, *, actor: str, late: bool, now: datetime, comment: str | None = None) -> None:
    """Close the handover record (and open escalations) of an item another stage completed."""
    rows.finished(session, item, status="completed", actor=actor, late=late, late_reason=None, comment=comment, now=now)
    if item.escalation_level:
        rows.close_escalations(session, item, now)
