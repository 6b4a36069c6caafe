"""The engine's clock: every step runs at the `now` its caller passes in.

SpiffWorkflow's timer events read `datetime.now(timezone.utc)` directly. So that a timer's fire
time and a work item's due time come from the same clock (the caller's, which a test can fix),
the timer module's `datetime` is replaced by a subclass whose `now()` answers with the time of
the step in progress, and the wall clock outside any step.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime, timezone

from SpiffWorkflow.bpmn.specs.event_definitions import timer as _spiff_timer

_step_now: ContextVar[datetime | None] = ContextVar("guichet_step_now", default=None)


class _StepDatetime(datetime):
    """datetime whose now() is the current step's time."""

    @classmethod
    def now(cls, tz=None):
        current = _step_now.get()
        if current is None:
            return datetime.now(tz)
        return current.astimezone(tz) if tz else current.astimezone().replace(tzinfo=None)


_spiff_timer.datetime = _StepDatetime


@contextmanager
def step_time(now: datetime):
    """Run the enclosed engine work as if the time were `now` (timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("step time must be timezone-aware")
    token = _step_now.set(now.astimezone(timezone.utc))
    try:
        yield
    finally:
        _step_now.reset(token)
