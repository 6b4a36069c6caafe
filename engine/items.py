"""Work items (待办事项): the derived rows of READY user tasks, and the follow-ups stages attach to them.

The runtime writes them in the same transaction as every save; stages read them as `Item`s and change
who holds one through `Runtime.update_item`, never by setting attributes and waiting for a flush.
"""
from __future__ import annotations

import uuid
from datetime import datetime

from SpiffWorkflow.bpmn.specs.defaults import BoundaryEvent
from sqlalchemy.orm import Session

from . import rows
from .context import transaction
from .errors import Conflict, NotFound
from .models import NO_DEADLINE
from .rows import Instance, Item
from .timers import timer_fire_at

# What a stage may change on an item; everything else is the runtime's.
STAGE_COLUMNS = frozenset({"assignee", "claimed_at", "candidate_group", "escalation_level"})


def get_item(session: Session, item_id: str, *, open_only: bool = True) -> Item:
    """An item by id; Conflict when it is no longer open. Its instance is kept for the transaction's step."""
    item, instance = rows.get_item_and_instance(session, item_id)
    if instance is not None:
        transaction(session).instances.setdefault(instance.id, instance)
    if item is None:
        raise NotFound("待办事项不存在", code="task_not_found")
    if open_only and item.status != "open":
        raise Conflict("该事项已办结或已关闭", code="task_closed")
    return item


def instance_of(session: Session, item: Item) -> Instance:
    """The instance an item belongs to, kept for the rest of the transaction."""
    held = transaction(session).instances
    instance = held.get(item.instance_id)
    if instance is None:
        instance = held[item.instance_id] = rows.get_instance(session, item.instance_id)
    return instance


def read_ahead(session: Session, instance_ids: list[int]) -> None:
    """Read instances about to step and their open task items, for the rest of the transaction (see Runtime)."""
    context = transaction(session)
    instances, items = rows.instances_with_open_tasks(session, [i for i in instance_ids if i not in context.instances])
    context.instances.update(instances)
    context.read_ahead.update(items)


def add_follow_up(session: Session, parent: Item, *, kind: str, title: str, assignee: str | None, now: datetime,
                  escalation_level: int = 0, candidate_group: str | None = None,
                  parent_changes: dict | None = None) -> Item:
    """Attach an item (e.g. an escalation) to an open task item; it closes when the task does."""
    item = Item(
        id=str(uuid.uuid4()), instance_id=parent.instance_id, parent_id=parent.id, kind=kind, task_id=parent.task_id,
        task_name=parent.task_name, title=title, process_key=parent.process_key, lane=parent.lane,
        candidate_group=candidate_group, assignee=assignee, status="open", subject=parent.subject,
        ref_type=parent.ref_type, ref_id=parent.ref_id, due_at=None, sort_due=parent.due_at or NO_DEADLINE,
        escalation_level=escalation_level, has_follow_ups=False, created_at=now,
    )
    rows.insert_items(session, [item])
    changes = dict(parent_changes or {})
    check_stage_columns(changes)
    if not parent.has_follow_ups:
        changes["has_follow_ups"] = True
    if changes:
        rows.update_item(session, parent, **changes)
    return item


def check_stage_columns(values: dict) -> None:
    """Refuse a change to columns the runtime owns (a programming error, not a user's)."""
    unknown = set(values) - STAGE_COLUMNS
    if unknown:
        raise ValueError(f"work item columns the runtime owns: {sorted(unknown)}")


def due_at(task) -> datetime | None:
    """A user task's due time: the earliest timer attached to it, so the two never disagree."""
    split = task.parent
    if split is None:
        return None
    times = [timer_fire_at(s) for s in split.children if isinstance(s.task_spec, BoundaryEvent) and s is not task]
    times = [t for t in times if t is not None]
    return min(times) if times else None


def sync(session: Session, instance: Instance, ready_tasks: list, now, result, new: bool = False,
         open_before: frozenset | None = None) -> None:
    """Make the instance's open task items its READY user tasks: close the others, open the new ones."""
    ready = {str(t.id): t for t in ready_tasks}
    completed = result.completed
    still_open = None if open_before is None else open_before - {completed.task_id if completed else None}
    if new or (still_open is not None and still_open <= ready.keys()):
        for task_id in still_open or ():  # still READY: their items stay as they are
            del ready[task_id]
        existing = []
    else:
        existing = rows.open_task_items(session, instance.id)
    cancelled, with_follow_ups = [], []
    for item in existing:
        if completed is not None and item.id == completed.id:
            continue
        if item.task_id in ready:
            del ready[item.task_id]
            continue
        item.status, item.completed_at = "cancelled", now
        cancelled.append(item.id)
        if item.has_follow_ups:
            with_follow_ups.append(item.id)
        result.closed.append(item)
    if completed is not None:
        completed.status, completed.completed_at = "done", now
        rows.update_item(session, completed, status="done", completed_at=now, completed_by=completed.completed_by,
                         assignee=completed.assignee, claimed_at=completed.claimed_at)
        if completed.has_follow_ups:
            with_follow_ups.append(completed.id)
    rows.close_items(session, cancelled, status="cancelled", now=now)
    rows.close_follow_ups(session, with_follow_ups, now)
    for task_id, task in ready.items():
        spec = task.task_spec
        due = due_at(task)
        result.opened.append(Item(
            id=str(uuid.uuid4()), instance_id=instance.id, kind="task", task_id=task_id, task_name=spec.bpmn_id or spec.name,
            title=spec.bpmn_name or spec.name, process_key=instance.process_key, lane=spec.lane, candidate_group=spec.lane,
            assignee=None, status="open", subject=instance.subject, ref_type=instance.ref_type, ref_id=instance.ref_id,
            due_at=due, sort_due=due or NO_DEADLINE, escalation_level=0, has_follow_ups=False, created_at=now,
        ))
    rows.insert_items(session, result.opened)
