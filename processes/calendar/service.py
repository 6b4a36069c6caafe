"""The days an administrator lists on the calendar page: an extra holiday or an extra working day (调休) for a
year the statutory calendar library does not know yet. Working-day SLAs count with them (engine/workcalendar.py);
each change is audited."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import CalendarDay, Runtime

from ..audit import service as audit
from ..errors import Forbidden, NotFound, ValidationFailed
from ..org.models import User

KINDS = {"holiday": "放假", "workday": "上班 (调休)"}
EDITORS = {"manager"}
NOTE_LIMIT = 200


def ensure_can_edit(actor: User) -> None:
    """Only management changes the office calendar."""
    if actor.role not in EDITORS:
        raise Forbidden("只有公司管理层可以修改工作日历")


def listed(session: Session) -> list[CalendarDay]:
    """The listed days, in date order."""
    return list(session.scalars(select(CalendarDay).order_by(CalendarDay.day)))


def parse_day(text: str | None) -> date:
    """A day as YYYY-MM-DD, or a clerk-readable refusal."""
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise ValidationFailed({"day": "请选择日期 (格式 YYYY-MM-DD)"}, message="请选择日期 (格式 YYYY-MM-DD)") from None


def put_day(session: Session, runtime: Runtime, *, day: str | None, kind: str | None, note: str | None, actor: User,
            now: datetime) -> CalendarDay:
    """List a day as a holiday or a working day (changing it when already listed)."""
    ensure_can_edit(actor)
    when = parse_day(day)
    if kind not in KINDS:
        raise ValidationFailed({"kind": "请选择“放假”或“上班 (调休)”"}, message="请选择“放假”或“上班 (调休)”")
    note = (note or "").strip()
    if len(note) > NOTE_LIMIT:
        raise ValidationFailed({"note": f"说明最多 {NOTE_LIMIT} 字"}, message=f"说明最多 {NOTE_LIMIT} 字")
    entry = session.get(CalendarDay, when)
    if entry is None:
        entry = CalendarDay(day=when, kind=kind, note=note, changed_by=actor.username, changed_at=now)
        session.add(entry)
    else:
        entry.kind, entry.note, entry.changed_by, entry.changed_at = kind, note, actor.username, now
    session.flush()
    audit.record(session, actor=actor.username, action="calendar.day_set", object_type="calendar_day",
                 object_id=when.isoformat(), now=now, details={"kind": KINDS[kind], "note": note or None})
    _changed(runtime)
    return entry


def remove_day(session: Session, runtime: Runtime, *, day: str | None, actor: User, now: datetime) -> None:
    """Take a day off the list (the statutory calendar, or Monday to Friday, counts it again)."""
    ensure_can_edit(actor)
    when = parse_day(day)
    entry = session.get(CalendarDay, when)
    if entry is None:
        raise NotFound(f"{when.isoformat()} 不在工作日历的列表中")
    session.delete(entry)
    session.flush()
    audit.record(session, actor=actor.username, action="calendar.day_remove", object_type="calendar_day",
                 object_id=when.isoformat(), now=now, details={"kind": KINDS.get(entry.kind, entry.kind)})
    _changed(runtime)


def coverage(session: Session, runtime: Runtime, year: int) -> dict:
    """Whether this year and the next are covered (published in the library, or listed here)."""
    calendar = runtime.working_days.calendar(session)
    return {"year": year, "this_year": calendar.covers(year), "next_year": calendar.covers(year + 1)}


def _changed(runtime: Runtime) -> None:
    if runtime.working_days is not None:
        runtime.working_days.changed()
