"""Cron jobs claimed per period: the nightly backup, the retention scan, inspection plans, KPI snapshots.

Every scheduler process fires the same APScheduler cron triggers; each firing first claims its
(job, period) as a `job_run` row in a transaction of its own. The unique key on (job, period) is what
makes several scheduler processes, on one host or many, run a period exactly once: the database decides,
nothing home-made. A run that failed may be claimed again by a later firing of the same period (or by
`guichet run-job`); a run that succeeded never is.

A stage declares its jobs when it registers with the runtime::

    runtime.cron.add(CronJob("archive.backup", "0 2 * * *", run=nightly_backup))

`run(session, now)` does the work inside one unit of work and returns a short summary (kept on the row).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, Text, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from .db import Base, UTCDateTime, unit_of_work

log = logging.getLogger("guichet.cron")


class JobRun(Base):
    """定时作业运行记录: one claimed run of a cron job for one period (e.g. the backup of 2026-11-28)."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(40))
    owner: Mapped[str] = mapped_column(String(200))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running, done, failed
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detail: Mapped[str] = mapped_column(Text, default="")


def daily(now: datetime, zone: ZoneInfo) -> str:
    """The period of a once-a-day job: the local date, e.g. 2026-11-28."""
    return now.astimezone(zone).date().isoformat()


def monthly(now: datetime, zone: ZoneInfo) -> str:
    """The period of a once-a-month job: the local month, e.g. 2026-11."""
    return now.astimezone(zone).strftime("%Y-%m")


@dataclass(frozen=True)
class CronJob:
    """A job fired on a crontab schedule in the business time zone, run once per period across processes."""

    name: str
    cron: str  # five crontab fields: minute hour day month weekday
    run: Callable[[Session, datetime], str | None]
    period: Callable[[datetime, ZoneInfo], str] = daily
    title: str = ""  # what people read, e.g. 每日备份


@dataclass
class CronTable:
    """The cron jobs stages registered; the scheduler schedules each of them."""

    jobs: dict[str, CronJob] = field(default_factory=dict)

    def add(self, job: CronJob) -> None:
        """Register a job; names are unique."""
        if job.name in self.jobs:
            raise ValueError(f"cron job {job.name!r} registered twice")
        self.jobs[job.name] = job


def claim(session: Session, job: str, period: str, *, owner: str, now: datetime) -> JobRun | None:
    """Claim (job, period); None when another process has it already, or has done it."""
    try:
        with session.begin_nested():
            run = JobRun(job=job, period=period, owner=owner, started_at=now, status="running", attempts=1)
            session.add(run)
        return run
    except IntegrityError:
        pass
    retried = session.execute(
        update(JobRun).where(JobRun.job == job, JobRun.period == period, JobRun.status == "failed")
        .values(status="running", owner=owner, started_at=now, finished_at=None, attempts=JobRun.attempts + 1)
        .execution_options(synchronize_session=False))
    if retried.rowcount != 1:
        return None
    return session.scalars(select(JobRun).where(JobRun.job == job, JobRun.period == period)).one()


def run_once(sessions: sessionmaker[Session], job: CronJob, *, owner: str, clock: Callable[[], datetime],
             zone: ZoneInfo, period: str | None = None) -> JobRun | None:
    """Claim this period of the job and run it; the run's row says how it went. None: not ours to run."""
    now = clock()
    period = period or job.period(now, zone)
    with unit_of_work(sessions) as session:
        run = claim(session, job.name, period, owner=owner, now=now)
        if run is None:
            return None
        run_id = run.id
    status, detail = "done", ""
    try:
        with unit_of_work(sessions) as session:
            detail = job.run(session, now) or ""
    except Exception as exc:  # noqa: BLE001 - recorded on the run; a later firing of the period retries it
        log.exception("cron job %s for %s failed", job.name, period)
        status, detail = "failed", f"{type(exc).__name__}: {exc}"
    finished = clock()  # read before the write transaction: a clock reading the database (SQLite) would wait on it
    with unit_of_work(sessions) as session:
        run = session.get(JobRun, run_id)
        run.status, run.detail, run.finished_at = status, detail, finished
    return run


def recent_runs(session: Session, *, job: str | None = None, limit: int = 50) -> list[JobRun]:
    """The latest runs, newest first (for the health page and the CLI)."""
    query = select(JobRun).order_by(JobRun.started_at.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))
