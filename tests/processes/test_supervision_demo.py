"""The supervision demo: built on the demo history, through the services, once."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from engine.db import unit_of_work
from processes.demo_history import seed_history
from processes.supervision import kpi, periods, rectification, training
from processes.supervision.demo import seed_supervision
from processes.supervision.models import Inspection, KpiSnapshot, RectificationNotice

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def test_demo_has_trends_an_inspection_notices_training_and_ratings(services):
    with unit_of_work(services.sessions) as session:
        seed_history(session, services.runtime, services.config, count=40)
        assert seed_supervision(session, services.runtime, services.config, now=NOW) is True
    with unit_of_work(services.sessions) as session:
        assert seed_supervision(session, services.runtime, services.config, now=NOW) is False
        months = set(session.scalars(select(KpiSnapshot.month)))
        assert "2025-06" in months and "2026-10" in months and "2026-11" not in months
        year = kpi.figures(session, services.config, periods.parse("2025"), department="信贷部")
        assert year["snapshot"]["months"][0] == "2025-01" and year["on_time_circulation"]["denominator"] > 0
        assert session.scalar(select(func.count(Inspection.id))) == 1
        notices = {n.status for n in session.scalars(select(RectificationNotice))}
        assert notices == {"passed", "issued"}
        passed = session.scalars(select(RectificationNotice).where(RectificationNotice.status == "passed")).one()
        assert [s.decision for s in rectification.steps_of(session, passed.id)] == ["respond", "fail", "respond", "pass"]
        overdue = {o["username"] for o in training.overdue(session, now=NOW)}
        assert "manager2" in overdue and "clerk" not in overdue
        assert len(training.appraisals(session)) == 2
