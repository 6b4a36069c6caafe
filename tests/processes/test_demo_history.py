"""The demo history: closed forms of earlier years, made through the services, the same every run."""
from __future__ import annotations

import shutil

import pytest
from sqlalchemy import func, select

from engine.db import unit_of_work
from processes.demo_history import seed_history
from processes.forms.models import Form
from processes.transfer.models import Escalation, Handover
from tests.conftest import PG_URL, build_app


def _history(services, count):
    with unit_of_work(services.sessions) as session:
        return seed_history(session, services.runtime, services.config, count=count)


def test_history_is_closed_forms_of_earlier_years_with_late_and_returned_hops(services):
    assert _history(services, 40) == 40
    with services.sessions() as session:
        forms = session.scalars(select(Form)).all()
        assert len(forms) == 40 and {f.status for f in forms} == {"closed"}
        assert {f.closed_at.year for f in forms} <= {2024, 2025, 2026} and len({f.business_type for f in forms}) > 3
        assert all(f.submitted_at <= f.closed_at for f in forms)
        late = session.scalars(select(Handover).where(Handover.overdue.is_(True))).all()
        assert late and all(h.late_reason and h.completed_at > h.due_at for h in late)
        assert session.scalar(select(func.count(Escalation.id))) == len(late)
        assert session.scalar(select(func.count(Handover.id)).where(Handover.status == "returned")) > 0
        on_time = session.scalars(select(Handover).where(Handover.overdue.is_(False))).all()
        assert all(h.completed_at <= h.due_at for h in on_time)
    assert _history(services, 40) == 0  # made once


@pytest.mark.skipif(bool(PG_URL), reason="a second database is a copied SQLite file")
def test_the_same_seed_gives_the_same_history(services, make_config, demo_hash, database_template, tmp_path):
    shutil.copy(database_template, tmp_path / "other.db")
    _history(services, 15)
    with services.sessions() as session:
        first = [(f.business_type, f.created_at, f.closed_at) for f in session.scalars(select(Form).order_by(Form.id))]
    assert len(first) == 15
    other = build_app(make_config(database={"url": f"sqlite:///{tmp_path}/other.db"}), demo_hash)
    try:
        _history(other.extensions["guichet"], 15)
        with other.extensions["guichet"].sessions() as session:
            again = [(f.business_type, f.created_at, f.closed_at) for f in session.scalars(select(Form).order_by(Form.id))]
    finally:
        other.extensions["guichet_engine"].dispose()
    assert again == first


def test_the_demo_archive_files_binds_and_shelves_the_history(services):
    from processes.archive.models import Filing, Loan, Volume
    from processes.demo import seed_stages

    config = {**services.config, "app": {**services.config["app"], "demo_history_forms": 30}}
    with unit_of_work(services.sessions) as session:
        seed_stages(session, services.runtime, config)
    with services.sessions() as session:
        filings = session.scalars(select(Filing)).all()
        assert filings and all(f.volume_id for f in filings if f.year < 2026)
        volumes = session.scalars(select(Volume)).all()
        assert volumes and all(v.status == "closed" and v.room == "一号档案室" for v in volumes)
        assert session.scalar(select(Loan.status)) == "returned"
    with unit_of_work(services.sessions) as session:
        seed_stages(session, services.runtime, config)  # once
    with services.sessions() as session:
        assert len(session.scalars(select(Filing)).all()) == len(filings)
