"""The timer table: waiting timer events with absolute fire times, and how due ones are claimed.

APScheduler is only a ticker; the database is the source of truth. A claim takes a lease and bumps
the row's fence; firing is committed only if the fence is still the claimed one, so a scheduler
whose lease ran out cannot double-fire. A timer that keeps failing becomes an incident.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from . import rows
from .models import Timer


def timer_fire_at(task) -> datetime | None:
    """When a waiting timer task fires next, or None when it is not a waiting timer."""
    definition = getattr(task.task_spec, "event_definition", None)
    if not isinstance(definition, TimerEventDefinition):
        return None
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(definition, CycleTimerEventDefinition):
        if not isinstance(value, dict) or value.get("cycles") == 0:
            return None
        return TimerEventDefinition.get_datetime(value["next"])
    if isinstance(definition, TimeDateEventDefinition):
        return TimerEventDefinition.get_datetime(value)
    return TimerEventDefinition.get_datetime(value)


def waiting_timers(workflow) -> dict[str, tuple[str, datetime]]:
    """{task id: (timer name, fire time)} of the workflow's waiting timer events."""
    waiting = {}
    for task in list(workflow.event_manager.tasks.values()):
        fire_at = timer_fire_at(task)
        if fire_at is not None:
            waiting[str(task.id)] = (task.task_spec.bpmn_id or task.task_spec.name, fire_at)
    return waiting


def sync_timers(session: Session, instance, workflow, new: bool = False, before: dict | None = None) -> dict:
    """Make the instance's timer rows match the workflow's waiting timer events (rows are reused, not churned).

    `new`: the instance has no timer rows yet. `before`: the waiting timers (waiting_timers) of the state the step
    started from, which the rows match (every save makes them so): then the rows need not be read back, unless a
    timer waits on at the same time (whether a scheduler holds its row is only known by reading it).
    Returns the waiting timers, for the next step's `before`.
    """
    waiting = waiting_timers(workflow)
    if new or before is not None and not any(before[t][1] == entry[1] for t, entry in waiting.items() if t in before):
        if _sync_known(session, instance, waiting, {} if new else before):
            return waiting
    _sync_read(session, instance, dict(waiting))
    return waiting


def _sync_known(session: Session, instance, waiting: dict, before: dict) -> bool:
    """Change the rows of `before` into rows of `waiting` by their keys; False when a row was not where `before`
    said (the caller then reads the rows and mends them)."""
    stale = [task_id for task_id in before if task_id not in waiting]
    added = []
    for task_id, (name, fire_at) in waiting.items():
        if task_id in before:  # waits on with another fire time
            if not rows.reset_timer_of(session, instance.id, task_id, task_id=task_id, task_name=name, fire_at=fire_at):
                return False
        elif stale:  # a hop's next timer takes over the finished one's row
            if not rows.reset_timer_of(session, instance.id, stale.pop(), task_id=task_id, task_name=name,
                                       fire_at=fire_at):
                return False
        else:
            added.append(_new_row(instance, task_id, name, fire_at))
    rows.insert_timers(session, added)
    return all([rows.delete_timer_of(session, instance.id, task_id) for task_id in stale])


def _sync_read(session: Session, instance, waiting: dict) -> None:
    """Read the instance's timer rows and make them match `waiting` (which this empties)."""
    stale = []
    for row in rows.timers_of(session, instance.id):
        entry = waiting.pop(row.task_id, None)
        if entry is None:
            stale.append(row.id)
        elif row.fire_at != entry[1] or row.lease_owner is not None:
            rows.reset_timer(session, row.id, task_id=row.task_id, task_name=entry[0], fire_at=entry[1])
    added = []
    for task_id, (name, fire_at) in waiting.items():
        if stale:  # a hop's next timer takes over the finished one's row
            rows.reset_timer(session, stale.pop(), task_id=task_id, task_name=name, fire_at=fire_at)
        else:
            added.append(_new_row(instance, task_id, name, fire_at))
    rows.insert_timers(session, added)
    rows.delete_timers(session, stale)


def _new_row(instance, task_id: str, name: str, fire_at: datetime) -> dict:
    return {"instance_id": instance.id, "task_id": task_id, "task_name": name, "fire_at": fire_at, "status": "waiting",
            "fence": 0, "lease_owner": None, "lease_until": None, "attempts": 0, "last_error": None}


@dataclass(frozen=True)
class Claim:
    """A timer this scheduler may fire, as long as the fence is still `fence`."""

    timer_id: int
    instance_id: int
    fence: int


def claim_due(session: Session, *, owner: str, now: datetime, limit: int, lease_seconds: float) -> list[Claim]:
    """Lease up to `limit` due timers (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the IMMEDIATE write lock)."""
    query = (
        select(Timer.id, Timer.instance_id, Timer.fence)
        .where(Timer.status == "waiting", Timer.fire_at <= now,
               (Timer.lease_until.is_(None)) | (Timer.lease_until < now))
        .order_by(Timer.fire_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = session.execute(query).all()
    if not rows:
        return []
    session.execute(
        update(Timer).where(Timer.id.in_([r.id for r in rows]))
        .values(fence=Timer.fence + 1, lease_owner=owner, lease_until=now + timedelta(seconds=lease_seconds),
                attempts=Timer.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    return [Claim(r.id, r.instance_id, r.fence + 1) for r in rows]


def renew_leases(session: Session, claims: list[Claim], *, owner: str, now: datetime, lease_seconds: float) -> int:
    """Extend the lease of claims this scheduler still holds and has not fired yet (the fence is not moved):
    a long tick keeps its timers, and the lease itself can stay short, so a crashed scheduler's timers are
    free again soon. Returns how many were renewed."""
    if not claims:
        return 0
    renewed = 0
    for start in range(0, len(claims), 500):
        chunk = claims[start:start + 500]
        result = session.execute(
            update(Timer).where(Timer.id.in_([c.timer_id for c in chunk]), Timer.lease_owner == owner,
                                Timer.status == "waiting")
            .values(lease_until=now + timedelta(seconds=lease_seconds))
            .execution_options(synchronize_session=False))
        renewed += result.rowcount or 0
    return renewed


def due_soon(session: Session, *, after: tuple[datetime, int], until: datetime, limit: int) -> list[tuple]:
    """(fire_at, id, instance_id) of waiting timers due after the (fire_at, id) cursor and by `until`, soonest first."""
    at, timer_id = after
    return session.execute(
        select(Timer.fire_at, Timer.id, Timer.instance_id)
        .where(Timer.status == "waiting", Timer.fire_at <= until,
               (Timer.fire_at > at) | ((Timer.fire_at == at) & (Timer.id > timer_id)))
        .order_by(Timer.fire_at, Timer.id).limit(limit)
    ).all()


def next_due(session: Session, *, after: datetime) -> datetime | None:
    """When the soonest waiting timer due after `after` falls due."""
    return session.scalar(select(func.min(Timer.fire_at)).where(Timer.status == "waiting", Timer.fire_at > after))


def still_ours(session: Session, claims: list[Claim], owner: str) -> list[Claim]:
    """The claims whose fence still holds (no other scheduler took the timer over); locks them on PostgreSQL."""
    query = select(Timer.id, Timer.fence, Timer.lease_owner).where(Timer.id.in_([c.timer_id for c in claims]))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    current = {r.id: (r.fence, r.lease_owner) for r in session.execute(query)}
    return [c for c in claims if current.get(c.timer_id) == (c.fence, owner)]


def record_failure(session: Session, claim: Claim, error: str, *, max_attempts: int) -> bool:
    """Note a failed firing; returns True when the timer has now become an incident."""
    timer = session.get(Timer, claim.timer_id)
    if timer is None or timer.fence != claim.fence:
        return False
    timer.last_error = error[:2000]
    timer.lease_owner = timer.lease_until = None
    if timer.attempts >= max_attempts:
        timer.status = "incident"
        return True
    return False


def incidents(session: Session) -> list[Timer]:
    """Timers that stopped retrying and need a person."""
    return list(session.scalars(select(Timer).where(Timer.status == "incident").order_by(Timer.fire_at)).all())


def retry_incident(session: Session, timer_id: int) -> None:
    """Put an incident back in the queue."""
    session.execute(update(Timer).where(Timer.id == timer_id).values(status="waiting", attempts=0, last_error=None,
                                                                     lease_owner=None, lease_until=None))
