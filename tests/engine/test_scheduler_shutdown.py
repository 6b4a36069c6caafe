"""Stopping the scheduler cannot deadlock, even when a tick is about to ask for a wake-up."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from apscheduler.schedulers.base import STATE_STOPPED

import engine.scheduler as scheduler_module
from engine.db import utcnow
from engine.scheduler import TimerScheduler

pytestmark = pytest.mark.timeout(30)


def test_shutdown_while_a_tick_asks_for_a_wake_up_does_not_hang(services, monkeypatch):
    """The window the hung suite showed: the tick passed its `running` check, then shutdown took
    APScheduler's job-store lock and joined the tick's thread while the tick waited for that lock."""
    scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=30)
    in_read, ticks = threading.Event(), []

    def next_due_after_shutdown_began(session, *, after):
        ticks.append(after)
        in_read.set()
        deadline = time.monotonic() + 5
        while scheduler._apscheduler.state != STATE_STOPPED and time.monotonic() < deadline:
            time.sleep(0.01)
        return utcnow() + timedelta(seconds=0.5)  # due before the next regular tick: asks for a wake-up

    monkeypatch.setattr(scheduler_module, "next_due", next_due_after_shutdown_began)
    scheduler.start()
    assert in_read.wait(10), "the first tick never ran"
    stopper = threading.Thread(target=scheduler.shutdown, daemon=True)
    stopper.start()
    stopper.join(10)
    assert not stopper.is_alive(), "shutdown deadlocked with the tick's wake-up"
    assert not scheduler.running


def test_shutdown_twice_and_before_start_is_harmless(services):
    scheduler = TimerScheduler(services.runtime, services.sessions, tick_seconds=30)
    scheduler.shutdown()
    scheduler.start()
    scheduler.shutdown()
    scheduler.shutdown()
    assert not scheduler.running
