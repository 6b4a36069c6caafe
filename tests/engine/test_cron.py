"""Cron jobs run once per period across scheduler processes; a failed period is run again, a done one never."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from engine.cron import CronJob, JobRun, monthly
from engine.db import unit_of_work
from engine.scheduler import TimerScheduler


def job(calls: list, *, fail: bool = False, name: str = "test.nightly"):
    def run(session, now):
        calls.append(now)
        if fail:
            raise RuntimeError("磁盘已满")
        return f"ran {len(calls)}"
    return CronJob(name, "0 2 * * *", run=run, title="测试作业")


def schedulers(services, clock, n=2):
    return [TimerScheduler(services.runtime, services.sessions, clock=clock) for _ in range(n)]


def test_two_schedulers_run_a_period_once(services, clock):
    calls = []
    services.runtime.cron.add(job(calls))
    first, second = schedulers(services, clock)
    run = first.run_job("test.nightly")
    assert (run.status, run.period, run.detail) == ("done", "2026-03-02", "ran 1")
    assert second.run_job("test.nightly") is None
    assert first.run_job("test.nightly") is None
    clock.advance(days=1)
    assert second.run_job("test.nightly").period == "2026-03-03"
    assert len(calls) == 2


def test_racing_schedulers_claim_a_period_exactly_once(services, clock):
    calls = []
    services.runtime.cron.add(job(calls))
    racers = schedulers(services, clock, n=6)
    barrier = threading.Barrier(len(racers))
    results = []

    def race(scheduler):
        barrier.wait(timeout=20)
        results.append(scheduler.run_job("test.nightly"))

    threads = [threading.Thread(target=race, args=(s,), daemon=True) for s in racers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert len(calls) == 1
    assert sum(r is not None for r in results) == 1
    with unit_of_work(services.sessions) as s:
        assert s.scalars(select(JobRun)).one().status == "done"


def test_a_failed_period_is_recorded_and_run_again(services, clock):
    calls = []
    services.runtime.cron.add(job(calls, fail=True))
    scheduler, = schedulers(services, clock, n=1)
    run = scheduler.run_job("test.nightly")
    assert run.status == "failed" and "磁盘已满" in run.detail
    services.runtime.cron.jobs["test.nightly"] = job(calls)  # the disk was cleaned up
    run = scheduler.run_job("test.nightly")
    assert (run.status, run.attempts) == ("done", 2)
    assert scheduler.run_job("test.nightly") is None


def test_a_job_may_run_for_a_named_period(services, clock):
    calls = []
    services.runtime.cron.add(CronJob("test.monthly", "0 3 1 * *", run=job(calls).run, period=monthly))
    scheduler, = schedulers(services, clock, n=1)
    assert scheduler.run_job("test.monthly").period == "2026-03"
    assert scheduler.run_job("test.monthly", period="2026-02").period == "2026-02"
    assert len(calls) == 2


def test_a_job_name_is_registered_once(services):
    services.runtime.cron.add(job([]))
    with pytest.raises(ValueError):
        services.runtime.cron.add(job([]))


@pytest.mark.timeout(60)
def test_the_running_scheduler_schedules_each_job_in_the_business_zone(services, clock):
    services.runtime.cron.add(job([]))
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=clock, tick_seconds=30)
    scheduler.start()
    try:
        fires = scheduler._apscheduler.get_job("cron:test.nightly").next_run_time
        assert (fires.hour, fires.minute, str(fires.tzinfo)) == (2, 0, "Asia/Shanghai")
    finally:
        scheduler.shutdown()


def test_a_job_finishes_with_a_clock_that_reads_the_database(services):
    """`guichet run-job` and `guichet serve` read the database's clock: finishing a run must not wait on itself."""
    from engine.db import database_now

    calls = []
    services.runtime.cron.add(job(calls, name="test.db_clock"))
    scheduler = TimerScheduler(services.runtime, services.sessions, clock=lambda: database_now(services.sessions))
    run = scheduler.run_job("test.db_clock")
    assert run.status == "done" and run.finished_at is not None and len(calls) == 1
