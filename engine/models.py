"""Engine tables: deployed definitions, running instances, and the derived work items and timers."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .db import Base, UTCDateTime


class ProcessDefinition(Base):
    """流程定义版本: one deployed BPMN file of one process, keyed by its content hash."""

    __tablename__ = "process_definition"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    xml: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    deployed_by: Mapped[str] = mapped_column(String(100))
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ProcessInstance(Base):
    """流程实例: one run of a definition version, with its serialized workflow state."""

    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(100), index=True)
    subject: Mapped[str] = mapped_column(String(300), default="")
    ref_type: Mapped[str | None] = mapped_column(String(50))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="running")
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(20))
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False)
    started_by: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": lock_version}


NO_DEADLINE = datetime(9999, 12, 31, tzinfo=timezone.utc)


class WorkItem(Base):
    """待办事项: one READY user task (kind 'task') or a follow-up item attached to one ('escalation').

    Derived from the workflow in the same transaction as every save; the inbox reads only this table.
    """

    __tablename__ = "work_item"
    __table_args__ = (
        Index("ix_work_item_queue", "status", "candidate_group", "assignee", "sort_due"),
        Index("ix_work_item_assignee", "status", "assignee", "sort_due"),
        Index("ix_work_item_instance", "instance_id", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("work_item.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="task")
    task_id: Mapped[str | None] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    process_key: Mapped[str] = mapped_column(String(100))
    lane: Mapped[str | None] = mapped_column(String(100))
    candidate_group: Mapped[str | None] = mapped_column(String(100))
    assignee: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="open")
    subject: Mapped[str] = mapped_column(String(300), default="")
    ref_type: Mapped[str | None] = mapped_column(String(50))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # due_at, or NO_DEADLINE when there is none: one index order puts overdue first and undated last.
    sort_due: Mapped[datetime] = mapped_column(UTCDateTime)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    has_follow_ups: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(100))

    def is_overdue(self, now: datetime) -> bool:
        """Whether the due time has passed while the item is still open."""
        return self.status == "open" and self.due_at is not None and self.due_at <= now


class Timer(Base):
    """定时器: one waiting timer event with its absolute fire time, polled by the scheduler."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_id"),
        Index("ix_timer_due", "status", "fire_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(100))
    fire_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default="waiting")  # waiting | incident
    fence: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class SchedulerBeat(Base):
    """Last tick of each scheduler process, for /healthz."""

    __tablename__ = "scheduler_beat"

    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fired_total: Mapped[int] = mapped_column(Integer, default=0)


class Incident(Base):
    """Something that needs a person: a step the diagram broke (budget, error), a timer that stopped, a failed start.

    The same problem happening again (same kind, process, element and reason) counts on the open row.
    """

    __tablename__ = "incident"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # step_failed | start_failed | timer_failed
    process_key: Mapped[str] = mapped_column(String(100), default="")
    instance_id: Mapped[int | None] = mapped_column(Integer)
    element_id: Mapped[str] = mapped_column(String(100), default="")
    element_name: Mapped[str] = mapped_column(String(200), default="")
    message: Mapped[str] = mapped_column(String(2000))
    detail: Mapped[str] = mapped_column(Text, default="")  # the traceback, for whoever fixes it
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | resolved
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


from .cron import JobRun  # noqa: E402,F401 - cron runs are engine tables too (migrations, test truncation)


class CalendarDay(Base):
    """An administrator's calendar entry for a year the statutory calendar library does not know yet:
    an extra holiday or an extra working day (调休), with why and who listed it."""

    __tablename__ = "calendar_day"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # holiday | workday
    note: Mapped[str] = mapped_column(String(200), default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
