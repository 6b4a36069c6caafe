"""What one engine step may cost (tasks run, seconds) and what a diagram's timers may ask for.

A diagram from elsewhere can loop through script tasks, fan out into thousands of branches or call
itself; a step that passes its budget is stopped with StepFailed, so the caller rolls it back and
nothing else waits on it. The limits come from `[engine]` in config.toml.
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta

from .errors import EngineError


@dataclass(frozen=True)
class Limits:
    """The `[engine]` limits: per step, and on timer cycles (checked at deploy)."""

    max_step_tasks: int = 500
    max_step_seconds: float = 5.0
    min_timer_interval: timedelta = timedelta(minutes=1)
    max_timer_repeats: int = 10

    @classmethod
    def from_config(cls, config: dict) -> "Limits":
        """The limits a config's `[engine]` section sets (defaults for missing keys)."""
        from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

        section = config.get("engine", {})
        interval = section.get("min_timer_interval", "PT1M")
        return cls(
            max_step_tasks=int(section.get("max_step_tasks", cls.max_step_tasks)),
            max_step_seconds=float(section.get("max_step_seconds", cls.max_step_seconds)),
            min_timer_interval=TimerEventDefinition.get_timedelta_from_start(
                TimerEventDefinition.parse_iso_duration(interval)),
            max_timer_repeats=int(section.get("max_timer_repeats", cls.max_timer_repeats)),
        )


class StepFailed(EngineError):
    """A step could not be carried out because of the diagram (budget passed, stalled, an error inside the engine).

    The caller rolls the step back; `instance_id` (None when starting) and `element_id` say where.
    """

    code, status = "process_failed", 422

    def __init__(self, message: str, *, reason: str, instance_id: int | None = None, process_key: str = "",
                 element_id: str = "", element_name: str = "", code: str | None = None):
        super().__init__(message, code=code)
        self.reason = reason
        self.instance_id = instance_id
        self.process_key = process_key
        self.element_id = element_id
        self.element_name = element_name


class BudgetExceeded(Exception):
    """Raised inside a step when it passes its budget; the runtime turns it into StepFailed."""

    def __init__(self, reason: str, element_id: str = "", element_name: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.element_id = element_id
        self.element_name = element_name


class _Meter:
    __slots__ = ("limits", "tasks", "deadline")

    def __init__(self, limits: Limits):
        self.limits = limits
        self.tasks = 0
        self.deadline = time.monotonic() + limits.max_step_seconds


_meter: ContextVar[_Meter | None] = ContextVar("guichet_step_budget", default=None)


@contextmanager
def metered(limits: Limits, *, own: bool = False):
    """Count the tasks a step runs and its time against `limits`. A nested step shares the outer budget, unless
    `own` (a trial run inside a step, e.g. deploying an approved diagram, has its own)."""
    if _meter.get() is not None and not own:
        yield
        return
    token = _meter.set(_Meter(limits))
    try:
        yield
    finally:
        _meter.reset(token)


def charge(task=None, count: int = 1) -> None:
    """One more task run in this step; raises BudgetExceeded past the budget (no-op outside a metered step)."""
    meter = _meter.get()
    if meter is None:
        return
    meter.tasks += count
    if meter.tasks > meter.limits.max_step_tasks:
        raise BudgetExceeded(f"一步之内运行了超过 {meter.limits.max_step_tasks} 个流程节点 (可能是没有人员任务的循环, "
                             "或分支过多)", *_where(task))
    if time.monotonic() > meter.deadline:
        raise BudgetExceeded(f"一步运行超过 {meter.limits.max_step_seconds:g} 秒", *_where(task))


def _where(task) -> tuple[str, str]:
    spec = getattr(task, "task_spec", None)
    return getattr(spec, "bpmn_id", None) or "", getattr(spec, "bpmn_name", None) or ""
