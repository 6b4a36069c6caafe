"""Completing an inbox item: each stage handles the items of its own processes.

The internal transfer handles every process no other stage claims (a diagram a manager deployed
for hand-overs, for instance); a stage such as template approval registers its process key here.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable

from sqlalchemy.orm import Session

from engine import Runtime, StepResult

from ..org.models import User
from ..transfer import service as transfer

Completer = Callable[..., StepResult]
_completers: dict[str, Completer] = {}


def register(process_key: str, completer: Completer) -> None:
    """Let `completer(session, runtime, item=, actor=, data=, now=)` complete the open items of `process_key`."""
    _completers[process_key] = completer


def decisions(session: Session, runtime: Runtime, item) -> list[str]:
    """The decisions an open item offers: what its task declares in the diagram (a follow-up offers none)."""
    if item.kind != "task":
        return []
    return list(runtime.decisions(session, item))


def complete(session: Session, runtime: Runtime, *, item_id: str, actor: User, data: dict, now: datetime) -> StepResult:
    """Complete an item with the handler of its process."""
    item = runtime.get_item(session, item_id)
    completer = _completers.get(item.process_key, transfer.complete_hop)
    return completer(session, runtime, item=item, actor=actor, data=data, now=now)
