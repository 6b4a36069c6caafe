"""The timer scheduler: an APScheduler interval job that fires due timer rows, and wakes between ticks
when a timer falls due before the next one.

APScheduler job stores must not be shared between processes, so it is only an in-memory ticker here;
each tick claims due rows from the database (see timers.py). A scheduler that was down finds every
overdue timer due on its first tick and fires each once.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
import threading
import traceback
import uuid
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from . import incidents
from .budget import StepFailed
from . import cron
from .db import read_only, unit_of_work, utcnow
from .models import SchedulerBeat
from .runtime import Runtime
from .timers import Claim, claim_due, due_soon, next_due, record_failure, renew_leases, still_ours

log = logging.getLogger("guichet.scheduler")


class TimerScheduler:
    """Fires due timers, each in its own transaction."""

    def __init__(self, runtime: Runtime, sessions: sessionmaker[Session], *, tick_seconds: float = 1.0,
                 batch_size: int = 500, lease_seconds: float = 8, max_attempts: int = 5,
                 clock: Callable[[], datetime] = utcnow, commit_every: int = 50, prefetch_seconds: float = 0,
                 prefetch_per_tick: int = 200, timezone: str = "Asia/Shanghai"):
        self.runtime, self.sessions, self.clock = runtime, sessions, clock
        self.tick_seconds, self.batch_size = tick_seconds, batch_size
        self.lease_seconds, self.max_attempts = lease_seconds, max_attempts
        self.commit_every = commit_every
        self.prefetch_seconds, self.prefetch_per_tick = prefetch_seconds, prefetch_per_tick
        self._prefetch_cursor: tuple[datetime, int] | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.fired_total = 0
        self._apscheduler = None
        self._tick_lock = threading.Lock()
        # Our own stop flag and lock, not APScheduler's `running`: a wake-up is added only while holding
        # `_wake_lock` and not stopping, and shutdown sets `_stopping` under it before stopping APScheduler.
        # APScheduler's shutdown holds its job-store lock while it joins the job thread, so an `add_job`
        # from inside a tick that got past a `running` check would wait for it for ever.
        self._wake_lock = threading.Lock()
        self._stopping = False
        self._last_beat: datetime | None = None
        self.last_tick_done: float = time.monotonic()  # when a tick last completed (for /healthz)
        self.zone = ZoneInfo(timezone)

    def tick(self) -> int:
        """Claim and fire every due timer once; returns how many fired."""
        if not self._tick_lock.acquire(blocking=False):
            return 0  # the previous tick is still working
        started = self.clock()
        try:
            fired = 0
            while True:
                now = self.clock()
                with unit_of_work(self.sessions) as session:
                    claims = claim_due(session, owner=self.owner, now=now, limit=self.batch_size,
                                       lease_seconds=self.lease_seconds)
                for start in range(0, len(claims), self.commit_every):
                    if start:  # still working: keep the rest of the claims ours
                        self._renew(claims[start:])
                    fired += self._fire_batch(claims[start:start + self.commit_every])
                if len(claims) < self.batch_size:
                    break
            self.fired_total += fired
            self._beat()
            self._prefetch()
            self.last_tick_done = time.monotonic()
        finally:
            self._tick_lock.release()
        self._wake_when_due(after=started)
        return fired

    def _wake_when_due(self, *, after: datetime) -> None:
        """Tick again when the soonest timer not yet due at `after` falls due, if that comes before the next
        regular tick: a timer then fires on time, not up to tick_seconds late. (Timers already due at
        `after`, such as one that just failed, wait for the regular tick.)"""
        if self._stopping or not self.running:
            return
        with self.sessions() as session:
            read_only(session)
            due = next_due(session, after=after)
            session.rollback()
        now = self.clock()
        if due is None or due - now >= timedelta(seconds=self.tick_seconds):
            return
        with self._wake_lock:
            if self._stopping or not self.running:
                return  # shutting down meanwhile: the next start finds the timer due anyway
            with contextlib.suppress(SchedulerNotRunningError):
                self._apscheduler.add_job(self._safe_tick, "date", run_date=max(due, now), id="wake_when_due",
                                          replace_existing=True, misfire_grace_time=None)

    def _renew(self, claims: list[Claim]) -> None:
        with unit_of_work(self.sessions) as session:
            renew_leases(session, claims, owner=self.owner, now=self.clock(), lease_seconds=self.lease_seconds)

    def _fire_batch(self, claims: list[Claim]) -> int:
        """Fire claimed timers in one transaction. Should one fail, the transaction is rolled back and the
        batch fired again with a savepoint per timer, so that the failure spoils none of the others."""
        try:
            with unit_of_work(self.sessions) as session:
                now, fired = self.clock(), 0
                ours = still_ours(session, claims, self.owner)
                self.runtime.read_ahead(session, sorted({c.instance_id for c in ours}))
                for claim in ours:
                    self.runtime.fire_timers(session, claim.instance_id, now)
                    fired += 1
            return fired
        except Exception:  # noqa: BLE001 - the careful pass below records it against the timer that failed
            log.info("a timer of a batch of %d failed; firing them one by one", len(claims))
        return self._fire_one_by_one(claims)

    def _fire_one_by_one(self, claims: list[Claim]) -> int:
        now, fired, failed, broken = self.clock(), 0, [], []
        with unit_of_work(self.sessions) as session:
            for claim in still_ours(session, claims, self.owner):
                try:
                    with session.begin_nested():
                        self.runtime.fire_timers(session, claim.instance_id, now)
                    fired += 1
                except StepFailed as exc:  # the diagram's fault: retrying would only freeze the scheduler again
                    log.error("timer %s of instance %s: %s", claim.timer_id, claim.instance_id, exc.reason, exc_info=exc)
                    self.runtime.forget(session, claim.instance_id)
                    broken.append((exc, traceback.format_exc()))
                except Exception as exc:  # noqa: BLE001 - any failure is recorded on the timer, never a silent loop
                    log.exception("timer %s of instance %s failed", claim.timer_id, claim.instance_id)
                    self.runtime.forget(session, claim.instance_id)
                    failed.append((claim, f"{type(exc).__name__}: {exc}"))
            for exc, detail in broken:
                incidents.record_step_failure(session, exc, now=now, detail=detail, kind="timer_failed")
            for claim, error in failed:
                if record_failure(session, claim, error, max_attempts=self.max_attempts):
                    log.error("timer %s is now an incident", claim.timer_id)
                    incidents.raise_incident(session, kind="timer_failed", message=f"定时器重试 {self.max_attempts} 次仍失败",
                                             now=now, instance_id=claim.instance_id, detail=error)
        return fired

    def _prefetch(self) -> int:
        """Restore, ahead of time, the workflows whose timers fall due within prefetch_seconds.

        Restoring a stored workflow is a quarter of what firing its timer costs; doing it while the
        scheduler would otherwise idle shortens the queue when many timers fall due at once. A cursor
        walks the upcoming timers so each tick restores a new slice.
        """
        if self.prefetch_seconds <= 0:
            return 0
        now = self.clock()
        cursor = self._prefetch_cursor
        if cursor is None or cursor[0] < now:
            cursor = (now, 0)
        with self.sessions() as session:
            read_only(session)
            upcoming = due_soon(session, after=cursor, until=now + timedelta(seconds=self.prefetch_seconds),
                                limit=self.prefetch_per_tick)
            restored = self.runtime.warm_up(session, sorted({r.instance_id for r in upcoming}))
            session.rollback()
        if upcoming:
            self._prefetch_cursor = (upcoming[-1].fire_at, upcoming[-1].id)
        return restored

    def _beat(self) -> None:
        now = self.clock()
        if self._last_beat is not None and (now - self._last_beat).total_seconds() < 5:
            return
        self._last_beat = now
        with unit_of_work(self.sessions) as session:
            beat = session.get(SchedulerBeat, self.owner)
            if beat is None:
                session.add(SchedulerBeat(owner=self.owner, beat_at=now, fired_total=self.fired_total))
            else:
                beat.beat_at, beat.fired_total = now, self.fired_total

    def _safe_tick(self) -> None:
        try:
            self.tick()
        except Exception:  # noqa: BLE001 - keep ticking; the next tick retries
            log.exception("scheduler tick failed")

    def run_job(self, name: str, *, period: str | None = None) -> cron.JobRun | None:
        """Run one registered cron job for its current period (or `period`), unless another process has."""
        return cron.run_once(self.sessions, self.runtime.cron.jobs[name], owner=self.owner, clock=self.clock,
                             zone=self.zone, period=period)

    def _safe_run_job(self, name: str) -> None:
        try:
            self.run_job(name)
        except Exception:  # noqa: BLE001 - the claim was not made (database down): the next firing tries again
            log.exception("cron job %s could not be claimed", name)

    def _schedule(self, apscheduler) -> None:
        self._stopping = False
        self._apscheduler = apscheduler
        apscheduler.add_job(self._safe_tick, "interval", seconds=self.tick_seconds, id="fire_due_timers",
                            max_instances=1, coalesce=True, next_run_time=utcnow())
        for job in self.runtime.cron.jobs.values():
            apscheduler.add_job(self._safe_run_job, CronTrigger.from_crontab(job.cron, timezone=self.zone),
                                args=[job.name], id=f"cron:{job.name}", max_instances=1, coalesce=True,
                                misfire_grace_time=3600)
        apscheduler.start()

    def start(self) -> None:
        """Tick (and fire cron jobs) in a background thread."""
        self._schedule(BackgroundScheduler(daemon=True))

    def run_forever(self) -> None:
        """Tick (and fire cron jobs) in the foreground until interrupted."""
        self._schedule(BlockingScheduler())

    def shutdown(self) -> None:
        """Stop ticking (waits for a running tick, which adds no wake-up once this has begun)."""
        with self._wake_lock:
            self._stopping = True
        if self._apscheduler is not None and self._apscheduler.running:
            with contextlib.suppress(SchedulerNotRunningError):  # stopped by another thread meanwhile
                self._apscheduler.shutdown(wait=True)

    def stalled_for(self) -> float | None:
        """Seconds since a tick last completed, when that is more than three ticks ago (else None)."""
        if not self.running:
            return None
        waited = time.monotonic() - self.last_tick_done
        return waited if waited > max(3 * self.tick_seconds, 3.0) else None

    @property
    def running(self) -> bool:
        """Whether the ticker is running in this process."""
        return self._apscheduler is not None and self._apscheduler.running
