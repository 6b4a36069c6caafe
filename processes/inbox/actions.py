"""Completing an inbox item: each stage handles the items of its own processes.

The internal transfer handles every process no other stage claims (a diagram a manager deployed
for hand-overs, for instance); a stage such as template approval registers its process key here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

from engine import Runtime, StepResult

from ..errors import Forbidden, ValidationFailed
from ..org import service as org
from ..org.models import User
from ..transfer import service as transfer

Completer = Callable[..., StepResult]
Eligible = Callable[[Session, User, object], bool]
_completers: dict[str, Completer] = {}
_eligible: dict[str, Eligible] = {}


def register(process_key: str, completer: Completer, *, may_complete: Eligible | None = None) -> None:
    """Let `completer(session, runtime, item=, actor=, data=, now=)` complete the open items of `process_key`.

    The decisions its items offer are what their tasks declare in the diagram.
    `may_complete(session, user, item)` says who may complete one (by default: a member of its queue).
    """
    _completers[process_key] = completer
    if may_complete:
        _eligible[process_key] = may_complete


def may_complete(session: Session, user: User, item) -> bool:
    """Whether the user may complete the item (its stage's rule, or membership of its queue)."""
    if item.kind != "task" or not user.active:
        return False
    rule = _eligible.get(item.process_key)
    return rule(session, user, item) if rule else item.candidate_group in user.groups


def assignable(session: Session, item) -> list[User]:
    """The people an item may be given to: members of its queue who may also complete it."""
    return [m for m in org.members_of(session, item.candidate_group) if may_complete(session, m, item)]


def assign(session: Session, runtime: Runtime, *, item_id: str, actor: User, assignee: str, now: datetime):
    """指派, refusing a person who could not complete the item (the item would be stranded with them)."""
    item = runtime.get_item(session, item_id)
    target = org.get_by_username(session, assignee or "")
    # Someone outside the queue gets the transfer stage's own message ("不在 信贷部").
    if target is not None and item.kind == "task" and item.candidate_group in target.groups \
            and transfer.may_assign(session, actor, item) and not may_complete(session, target, item):
        raise ValidationFailed({"assignee": f"{target.display_name} 无权办理该事项, 不能指派给他"})
    return transfer.assign(session, runtime, item_id=item_id, actor=actor, assignee=assignee, now=now)


def decisions(session: Session, runtime: Runtime, item) -> list[str]:
    """The decisions an open item offers: what its task declares in the diagram (a follow-up offers none)."""
    if item.kind != "task":
        return []
    return list(runtime.decisions(session, item))


def complete(session: Session, runtime: Runtime, *, item_id: str, actor: User, data: dict, now: datetime) -> StepResult:
    """Complete an item with the handler of its process."""
    item = runtime.get_item(session, item_id)
    if not transfer.may_work_on(actor, item):  # the same holder rule for every process, asked first
        raise Forbidden("您无权办理该事项")
    completer = _completers.get(item.process_key, transfer.complete_hop)
    return completer(session, runtime, item=item, actor=actor, data=data, now=now)
