"""Demo archive: the demo history's forms of 2024 and 2025 filed, bound by business type and year, and shelved;
most of 2026 filed and waiting to be bound; the last weeks still in 待归档; a returned loan and a room visit."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.runtime import Runtime

from ..org import service as org
from . import custody, volumes
from .models import Filing, Volume
from .service import file_forms, queue

ROOM = "一号档案室"


def seed_archive(session: Session, runtime: Runtime, config: dict) -> None:
    """File, bind and shelve the demo history once, at the times an archivist would have done it."""
    if session.scalar(select(Filing.id).limit(1)) is not None:
        return
    archivist = org.get_by_username(session, "archivist")
    custody.ensure_room(session, name=ROOM, keeper="archivist")
    closed = queue(session, limit=100000)
    by_year = defaultdict(list)
    for form in closed:
        by_year[form.closed_at.year].append(form)
    for year in sorted(by_year):
        forms = [f for f in by_year[year] if f.closed_at < datetime(2026, 10, 1, tzinfo=timezone.utc)]
        if not forms:
            continue
        filed_at = max(f.closed_at for f in forms) + timedelta(days=3)
        file_forms(session, config, actor=archivist, form_ids=[f.id for f in forms], now=filed_at)
        if year < 2026:
            _bind_year(session, archivist, year, filed_at + timedelta(days=7))
    _custody(session, runtime, config, archivist)


def _bind_year(session: Session, archivist, year: int, at: datetime) -> None:
    """One volume per business type of the year, closed and shelved."""
    kinds = defaultdict(list)
    for filing in session.scalars(select(Filing).where(Filing.year == year, Filing.volume_id.is_(None))):
        kinds[filing.business_type].append(filing.form_id)
    for shelf, (kind, form_ids) in enumerate(sorted(kinds.items()), 1):
        volume = volumes.create_volume(session, actor=archivist, title=f"{year}年度{kind}业务单", business_type=kind,
                                       year=year, now=at)
        volumes.add_items(session, actor=archivist, volume=volume, form_ids=form_ids, now=at)
        volumes.close_volume(session, actor=archivist, volume=volume, now=at + timedelta(hours=1))
        custody.move_volume(session, actor=archivist, volume=volume, now=at + timedelta(hours=2),
                            place={"room": ROOM, "cabinet": f"A{year % 100:02d}", "shelf": str(shelf), "box": "1"})


def _custody(session: Session, runtime: Runtime, config: dict, archivist) -> None:
    """An inspection visit and a loan that came back, in late 2026."""
    volume = session.scalars(select(Volume).order_by(Volume.id)).first()
    if volume is None:
        return
    at = datetime(2026, 9, 14, 2, 0, tzinfo=timezone.utc)
    visit = custody.record_visit(session, actor=archivist, room=ROOM, visitor="inspector", purpose="年度档案安全检查",
                                 accompanied_by="archivist", now=at)
    custody.leave(session, actor=archivist, visit_id=visit.id, now=at + timedelta(minutes=50))
    if custody.holds_personal_data(session, volume):
        return
    loan = custody.lend(session, runtime, config, actor=archivist, volume=volume, borrower="handler",
                        due_date="2026-09-25", now=at + timedelta(hours=1))
    custody.return_loan(session, runtime, actor=archivist, loan=loan, now=at + timedelta(days=6))
    session.flush()
