"""Incidents: what went wrong that a person must look at (a procedure's step that failed or passed its budget,
a timer that stopped, a process that would not start). Shown on /healthz and to management.

The same problem again (same kind, process, element and message) counts on the open incident instead of
adding rows, so a broken procedure hit by every submission stays one line.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .models import Incident, ProcessInstance, Timer

KINDS = {"step_failed": "流程步骤失败", "start_failed": "流程无法启动", "timer_failed": "定时器失败"}


def raise_incident(session: Session, *, kind: str, message: str, now: datetime, process_key: str = "",
                   instance_id: int | None = None, element_id: str = "", element_name: str = "",
                   detail: str = "") -> Incident:
    """Open an incident, or count one more occurrence on the same open one."""
    message = message[:2000]
    same = session.scalars(select(Incident).where(
        Incident.status == "open", Incident.kind == kind, Incident.process_key == process_key,
        Incident.element_id == element_id[:100], Incident.message == message,
        (Incident.instance_id == instance_id) if instance_id is not None else Incident.instance_id.is_(None),
    ).limit(1)).first()
    if same is not None:
        same.occurrences += 1
        same.last_seen_at = now
        same.detail = detail or same.detail
        session.flush()
        return same
    incident = Incident(kind=kind, process_key=process_key[:100], instance_id=instance_id, element_id=element_id[:100],
                        element_name=element_name[:200], message=message, detail=detail, status="open", occurrences=1, first_seen_at=now,
                        last_seen_at=now)
    session.add(incident)
    session.flush()
    return incident


def fail_instance(session: Session, instance_id: int, *, reason: str, now: datetime) -> None:
    """Mark an instance failed (its step was rolled back) and stop its timers, so nothing keeps retrying it."""
    session.execute(update(ProcessInstance).where(ProcessInstance.id == instance_id, ProcessInstance.status == "running")
                    .values(status="failed", updated_at=now, lock_version=ProcessInstance.lock_version + 1)
                    .execution_options(synchronize_session=False))
    session.execute(update(Timer).where(Timer.instance_id == instance_id, Timer.status == "waiting")
                    .values(status="incident", last_error=reason[:2000], lease_owner=None, lease_until=None)
                    .execution_options(synchronize_session=False))


def record_step_failure(session: Session, failure, *, now: datetime, detail: str = "", kind: str = "step_failed"):
    """After the failed step was rolled back: its instance failed (when it had one) and an incident raised."""
    if failure.instance_id is not None:
        fail_instance(session, failure.instance_id, reason=failure.reason, now=now)
    return raise_incident(session, kind=kind if failure.instance_id is not None else "start_failed",
                          message=failure.reason, now=now, process_key=failure.process_key,
                          instance_id=failure.instance_id, element_id=failure.element_id,
                          element_name=getattr(failure, "element_name", ""), detail=detail)


def open_incidents(session: Session, limit: int = 100) -> list[Incident]:
    """Open incidents, most recent first."""
    return list(session.scalars(select(Incident).where(Incident.status == "open")
                                .order_by(Incident.last_seen_at.desc()).limit(limit)).all())


def count_open(session: Session) -> int:
    """How many incidents are open."""
    return session.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open")) or 0


def resolve(session: Session, incident_id: int, *, actor: str, now: datetime) -> Incident | None:
    """Close an incident (the procedure was fixed); None when there is no such open incident."""
    incident = session.get(Incident, incident_id)
    if incident is None or incident.status != "open":
        return None
    incident.status, incident.resolved_by, incident.resolved_at = "resolved", actor, now
    session.flush()
    return incident
