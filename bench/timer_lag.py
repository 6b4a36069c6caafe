"""6. 1,000 handovers whose SLA passes in the same second: delay from due time to the escalation committed.

Forms are created through the service layer, all with the same step time T0 and a short SLA, so every
hop_credit timer is due at T0 + SLA (real wall clock). A real TimerScheduler (tick 0.2 s) then runs in a
thread with its own cold Runtime, as `guichet scheduler` (or a restarted server) would
(BENCH_TIMER_RUNTIME=warm: the app's runtime, whose cache still holds the workflows). The commit time of
each firing is recorded after its transaction; Escalation.created_at is the step time the firing ran at.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from datetime import timedelta

from sqlalchemy import select

import processes
from engine.db import unit_of_work
from engine.runtime import Runtime
from engine.scheduler import TimerScheduler
from processes.transfer.models import Escalation, Handover

from .common import build_app, make_config, median, percentile, say, size, sqlite_url, tempdir, utcnow
from .service_layer import Driver


class RecordingScheduler(TimerScheduler):
    """Notes the wall-clock time each firing's transaction committed, per instance (first firing only)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.committed: dict[int, object] = {}
        self.lock = threading.Lock()

    def _fire_batch(self, claims) -> int:
        fired = super()._fire_batch(claims)  # one transaction: every firing in it commits together
        if fired:
            committed = utcnow()
            with self.lock:
                for claim in claims:
                    self.committed.setdefault(claim.instance_id, committed)
        return fired


def run() -> tuple[dict, dict]:
    n = size("timer_handovers", 1000)
    folder = tempdir("timers")
    config = make_config(sqlite_url(folder), folder, scheduler={"tick_seconds": 0.2})
    app = build_app(config)
    services = app.extensions["guichet"]
    driver = Driver(app)

    services.config["transfer"]["handover_sla"] = "PT1H"  # calibration forms: their timers stay out of the way
    start = time.perf_counter()
    for _ in range(20):
        driver.create()
    estimate = (time.perf_counter() - start) / 20 * n
    sla = max(10, math.ceil(estimate * 1.5 + 3))
    services.config["transfer"]["handover_sla"] = f"PT{sla}S"
    t0 = utcnow()
    due = t0 + timedelta(seconds=sla)
    say(f"timers: creating {n} forms at step time T0 with SLA PT{sla}S (estimated {estimate:.1f} s) …")
    for i in range(n):
        driver.create(now=t0)
        if (i + 1) % max(1, n // 4) == 0:
            say(f"  timers: {i + 1}/{n} forms")
    created_by = utcnow()
    overrun = ""
    if created_by >= due:
        overrun = f"; WARNING: creation ended {(created_by - due).total_seconds():.1f} s after the due time, lag inflated"
        say(f"  {overrun[2:]}")

    runtime = services.runtime
    if os.environ.get("BENCH_TIMER_RUNTIME", "cold") == "cold":
        runtime = Runtime()
        processes.register_all(runtime, services.config)
    scheduler = RecordingScheduler(runtime, services.sessions, tick_seconds=0.2,
                                   batch_size=config["scheduler"]["batch_size"],
                                   prefetch_seconds=config["scheduler"]["prefetch_seconds"],
                                   lease_seconds=config["scheduler"]["lease_seconds"])
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # "skipped: maximum number of running instances"
    scheduler.start()
    say(f"timers: scheduler ticking every 0.2 s; all {n} timers due in {(due - utcnow()).total_seconds():.1f} s …")
    deadline = due + timedelta(seconds=max(120, sla))
    last_report = time.time()
    while utcnow() < deadline and len(scheduler.committed) < n:
        time.sleep(0.1)
        if time.time() - last_report > 2 and utcnow() > due:
            say(f"  timers: {len(scheduler.committed)}/{n} escalations committed")
            last_report = time.time()
    scheduler.shutdown()

    with unit_of_work(services.sessions) as session:
        rows = session.execute(
            select(Handover.instance_id, Handover.due_at, Escalation.created_at)
            .join(Escalation, Escalation.handover_id == Handover.id).where(Escalation.level == 1)
        ).all()
    app.extensions["guichet_engine"].dispose()
    step_lag = [(created - due_at).total_seconds() for _inst, due_at, created in rows]
    commit_lag = [(scheduler.committed[inst] - due_at).total_seconds() for inst, due_at, _c in rows
                  if inst in scheduler.committed]
    commits = sorted(scheduler.committed.values())
    span = (commits[-1] - commits[0]).total_seconds() if len(commits) > 1 else float("nan")
    say(f"timers: {len(rows)}/{n} escalated; commit lag p50 {median(commit_lag):.2f} s, p99 "
        f"{percentile(commit_lag, 99):.2f} s, max {max(commit_lag, default=float('nan')):.2f} s")
    return {
        "timer_lag_p99_s": round(percentile(commit_lag, 99), 3),
        "timer_lag_p50_s": round(median(commit_lag), 3),
        "timer_lag_max_s": round(max(commit_lag, default=float("nan")), 3),
        "timer_step_lag_p99_s": round(percentile(step_lag, 99), 3),
        "timer_fires_per_s": round(len(commits) / span, 1) if span and span > 0 else None,
        "timer_escalated": len(rows),
    }, {"timers": f"{n} hop_credit timers due at the same instant (SLA PT{sla}S from one step time); "
                  f"scheduler tick 0.2 s, batch {config['scheduler']['batch_size']}, "
                  f"prefetch {config['scheduler']['prefetch_seconds']} s, {os.environ.get('BENCH_TIMER_RUNTIME', 'cold')} Runtime; lag = "
                  f"commit wall time - Handover.due_at (timer_step_lag uses Escalation.created_at); "
                  f"{len(rows)} level-1 escalations{overrun}"}
