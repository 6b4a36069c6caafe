"""Completing an inbox item: each stage handles the items of its own processes.

The internal transfer handles every process no other stage claims (a diagram a manager deployed
for hand-overs, for instance); a stage such as template approval registers its process key here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

from engine.runtime import Runtime, StepResult

from ..errors import Forbidden
from ..org.models import User
from ..transfer import service as transfer

Completer = Callable[..., StepResult]
_completers: dict[str, Completer] = {}
_decisions: dict[str, tuple[str, ...]] = {}


def register(process_key: str, completer: Completer, *, decisions: tuple[str, ...] | None = None) -> None:
    """Let `completer(session, runtime, item=, actor=, data=, now=)` complete the open items of `process_key`.

    `decisions` are what its items offer (e.g. approve / return); by default what the diagram tests for.
    """
    _completers[process_key] = completer
    if decisions:
        _decisions[process_key] = tuple(decisions)


def decisions(session: Session, runtime: Runtime, item) -> list[str]:
    """The decisions an open item offers: its stage's, or "complete" plus what the gateway after it tests."""
    if item.kind != "task":
        return []
    if item.process_key in _decisions:
        return list(_decisions[item.process_key])
    return sorted({"complete"} | runtime.decisions(session, item))


def complete(session: Session, runtime: Runtime, *, item_id: str, actor: User, data: dict, now: datetime) -> StepResult:
    """Complete an item with the handler of its process."""
    item = runtime.get_item(session, item_id)
    if not transfer.may_work_on(actor, item):  # the same holder rule for every process, asked first
        raise Forbidden("您无权办理该事项")
    completer = _completers.get(item.process_key, transfer.complete_hop)
    return completer(session, runtime, item=item, actor=actor, data=data, now=now)
