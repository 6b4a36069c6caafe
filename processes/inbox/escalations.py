"""督办 for every stage: what the superior an escalation item went to does with the late step — 催办, 改派, 接办.

An escalation item (`kind == "escalation"`) hangs on the late step (`parent_id`). Whatever the stage, the
superior urges whoever holds the step, gives it to someone else allowed to complete it, or takes it over;
each action is an `EscalationAction` row and an audit event. A stage says what differs for its steps by
registering `Hooks` for its process key (who may be chosen, what it forbids, what it records besides); a
process without hooks is treated as an internal transfer is (the queue's members, anything allowed).
Nothing here runs when a step starts or completes.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import Item, Runtime

from ..audit import service as audit
from ..errors import Conflict, Forbidden, Invalid, ValidationFailed
from ..org import service as org
from ..org.models import User
from . import actions
from .models import EscalationAction

ACTIONS = ("urge", "reassign", "take_over")
VERBS = {"urge": "催办", "reassign": "改派", "take_over": "接办"}


@dataclass(frozen=True)
class Hooks:
    """A stage's part in the escalation items of its steps; every hook is optional.

    - `candidates(session, step)`: who the late step may be reassigned to (default: the members of its queue
      the stage allows to complete it, `actions.assignable`); the current holder is never offered.
    - `forbids(session, step, actor, action)`: why the stage refuses this action to this superior (e.g. 接办
      of their own application), or None.
    - `recorded(session, *, item, step, actor, action, target, now)`: what the stage writes besides the
      generic record (the transfer's `Escalation` row, the handover's receiver).
    - `audit_prefix`: the audit chain's name for the stage's actions (`query` gives `query.urge` …).
    """

    candidates: Callable[[Session, Item], list[User]] | None = None
    forbids: Callable[[Session, Item, User, str], str | None] | None = None
    recorded: Callable[..., None] | None = None
    audit_prefix: str = "escalation"


_hooks: dict[str, Hooks] = {}
_default = Hooks()


def register(process_key: str, hooks: Hooks) -> None:
    """Let `hooks` decide for the escalation items of `process_key`."""
    _hooks[process_key] = hooks


def register_default(hooks: Hooks) -> None:
    """The hooks of processes no stage registered (the internal transfer's, for diagrams managers deploy)."""
    global _default
    _default = hooks


def hooks_for(process_key: str) -> Hooks:
    """The hooks that decide for a process's escalation items."""
    return _hooks.get(process_key, _default)


@dataclass
class Choices:
    """What the page offers the superior on one escalation item: who 改派 may choose, and why an action is refused."""

    candidates: list[User]
    refused: dict[str, str]  # action -> the stage's reason


def late_step(session: Session, runtime: Runtime, *, item_id: str, actor: User) -> tuple[Item, Item]:
    """(escalation item, the late step) for the superior the item was given to.

    NotFound for an unknown id, 403 for anyone else (asked before anything about the item is told), 422 for an
    item that is not an escalation, 409 when the item or its step has closed.
    """
    item = runtime.get_item(session, item_id, open_only=False)
    if item.assignee != actor.username:
        raise Forbidden("只有被督办的上级可以处理该督办事项")
    if item.kind != "escalation":
        raise Invalid("该事项不是督办事项", code="not_an_escalation")
    step = runtime.get_item(session, item.parent_id, open_only=False) if item.parent_id else None
    if item.status != "open" or step is None or step.status != "open":
        raise Conflict("原事项已办结, 督办已关闭", code="task_closed")
    return item, step


def choices(session: Session, item: Item, step: Item, actor: User) -> Choices:
    """Who the page offers for 改派 and which actions the stage refuses this superior (buttons it does not show)."""
    hooks = hooks_for(step.process_key)
    refused = {}
    for action in ("reassign", "take_over"):
        reason = hooks.forbids(session, step, actor, action) if hooks.forbids else None
        if reason:
            refused[action] = reason
    people = [] if "reassign" in refused else [
        u for u in _candidates(session, hooks, step) if u.username not in (step.assignee, actor.username)]
    return Choices(candidates=people, refused=refused)


def urge(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """催办: remind whoever holds the late step; counted on the step and kept in the audit chain. Returns the step."""
    item, step = late_step(session, runtime, item_id=item_id, actor=actor)
    _record(session, item, step, actor, "urge", None, step.assignee, now)
    return step


def reassign(session: Session, runtime: Runtime, *, item_id: str, actor: User, assignee: str, now: datetime) -> Item:
    """改派: give the late step to another person the stage allows to complete it. Returns the step."""
    item, step = late_step(session, runtime, item_id=item_id, actor=actor)
    hooks = hooks_for(step.process_key)
    _refuse(session, hooks, step, actor, "reassign")
    target = org.get_by_username(session, assignee or "") if isinstance(assignee, str) else None
    if target is None or not target.active:
        raise ValidationFailed({"assignee": "找不到该人员"}, message="请选择改派给谁")
    if target.username == step.assignee:
        raise ValidationFailed({"assignee": f"该事项已由 {target.display_name} 办理, 请选择其他人员"})
    if target.username not in {u.username for u in _candidates(session, hooks, step)}:
        raise ValidationFailed({"assignee": f"{target.display_name} 无权办理该事项, 不能改派给他"})
    holder = step.assignee
    runtime.update_item(session, step, assignee=target.username, claimed_at=now)
    _record(session, item, step, actor, "reassign", target, holder, now)
    return step


def take_over(session: Session, runtime: Runtime, *, item_id: str, actor: User, now: datetime) -> Item:
    """接办: the superior takes the late step into their own inbox (unless the stage forbids). Returns the step."""
    item, step = late_step(session, runtime, item_id=item_id, actor=actor)
    _refuse(session, hooks_for(step.process_key), step, actor, "take_over")
    holder = step.assignee
    runtime.update_item(session, step, assignee=actor.username, claimed_at=now)
    _record(session, item, step, actor, "take_over", actor, holder, now)
    return step


def actions_on(session: Session, step_ids: list[str]) -> list[EscalationAction]:
    """What superiors did about these steps, oldest first."""
    if not step_ids:
        return []
    return list(session.scalars(select(EscalationAction).where(EscalationAction.step_item_id.in_(step_ids))
                                .order_by(EscalationAction.id)))


def urge_counts(session: Session, step_ids: list[str]) -> dict[str, int]:
    """How often each step was urged (over all its escalation items, every level)."""
    if not step_ids:
        return {}
    rows = session.execute(select(EscalationAction.step_item_id, func.count()).where(
        EscalationAction.step_item_id.in_(step_ids), EscalationAction.action == "urge")
        .group_by(EscalationAction.step_item_id)).all()
    return {step_id: int(n) for step_id, n in rows}


def _candidates(session: Session, hooks: Hooks, step: Item) -> list[User]:
    if hooks.candidates is not None:
        return list(hooks.candidates(session, step))
    return actions.assignable(session, step)


def _refuse(session: Session, hooks: Hooks, step: Item, actor: User, action: str) -> None:
    reason = hooks.forbids(session, step, actor, action) if hooks.forbids else None
    if reason:
        raise Forbidden(reason)


def _record(session: Session, item: Item, step: Item, actor: User, action: str, target: User | None,
            holder: str | None, now: datetime) -> None:
    session.add(EscalationAction(escalation_item_id=item.id, step_item_id=step.id, process_key=step.process_key,
                                 action=action, actor=actor.username, target=target.username if target else None,
                                 at=now))
    hooks = hooks_for(step.process_key)
    audit.record(session, actor=actor.username, action=f"{hooks.audit_prefix}.{action}",
                 object_type=step.ref_type or "work_item", object_id=step.ref_id if step.ref_id is not None else step.id,
                 now=now, details={"step_name": step.title, "level": item.escalation_level, "holder": holder,
                                   "to": target.username if target else None})
    if hooks.recorded is not None:
        hooks.recorded(session, item=item, step=step, actor=actor, action=action, target=target, now=now)
    session.flush()
