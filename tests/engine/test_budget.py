"""The step budget: tasks run and time per step; nested steps share it, a trial run inside a step has its own."""
from __future__ import annotations

from datetime import timedelta

import pytest

from engine.budget import BudgetExceeded, Limits, charge, metered


def test_outside_a_step_nothing_is_counted():
    for _ in range(10):
        charge()


def test_past_the_task_budget_the_step_stops():
    with metered(Limits(max_step_tasks=3)):
        charge(), charge(), charge()
        with pytest.raises(BudgetExceeded, match="超过 3 个流程节点"):
            charge()


def test_past_the_time_budget_the_step_stops():
    with metered(Limits(max_step_seconds=0.0)):
        with pytest.raises(BudgetExceeded, match="一步运行超过 0 秒"):
            charge()


def test_a_nested_step_shares_the_budget_and_a_trial_has_its_own():
    with metered(Limits(max_step_tasks=2)):
        charge()
        with metered(Limits(max_step_tasks=100)):
            charge()
            with pytest.raises(BudgetExceeded):
                charge()
    with metered(Limits(max_step_tasks=1)):
        charge()
        with metered(Limits(max_step_tasks=5), own=True):
            for _ in range(5):
                charge()
        with pytest.raises(BudgetExceeded):
            charge()


def test_limits_from_config():
    limits = Limits.from_config({"engine": {"max_step_tasks": 7, "max_step_seconds": 2.5,
                                            "min_timer_interval": "PT30S", "max_timer_repeats": 3}})
    assert limits == Limits(7, 2.5, timedelta(seconds=30), 3)
    assert Limits.from_config({}) == Limits()
