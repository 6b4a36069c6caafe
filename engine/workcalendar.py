"""Working time on the Chinese statutory calendar: SLAs in working days (工作日) and working hours.

The statutory holidays and the swapped working weekends (调休) come from `chinese_calendar`, which knows
the years the State Council has published. Years it does not know yet are counted Monday to Friday, with
the extra holidays and working days an administrator lists in `[calendar]` or on the calendar page (the
`calendar_day` table, read by `WorkingDays`); /healthz warns when next year is not covered. Work is counted only inside office hours ([calendar] office_start to office_end, in
the business time zone): one working day is one such span.
"""
from __future__ import annotations

import re
import time as clock
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import CalendarDay

_SLA = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(WD|WH|工作日|工作小时)\s*$", re.IGNORECASE)
MAX_DAYS = 3660  # a deadline further than ten years away is a mistake, not an SLA


class CalendarError(ValueError):
    """A working-time SLA that cannot be counted (malformed, or beyond any calendar)."""


@dataclass(frozen=True)
class WorkCalendar:
    """The office's working days and hours."""

    zone: ZoneInfo
    opens: time
    closes: time
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()

    @classmethod
    def from_config(cls, config: dict) -> "WorkCalendar":
        """The calendar `[calendar]` describes (zone: its own, or the app's)."""
        section = config.get("calendar", {})
        opens, closes = _clock(section.get("office_start", "09:00")), _clock(section.get("office_end", "17:00"))
        if closes <= opens:
            raise CalendarError("[calendar] office_end 须晚于 office_start")
        return cls(zone=ZoneInfo(section.get("timezone") or config["app"]["timezone"]), opens=opens, closes=closes,
                   extra_holidays=_dates(section.get("extra_holidays", []), "extra_holidays"),
                   extra_workdays=_dates(section.get("extra_workdays", []), "extra_workdays"))

    def is_working_day(self, day: date) -> bool:
        """Whether `day` is worked: the administrator's lists first, then the statutory calendar, else Mon–Fri."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            return day.weekday() < 5

    def covers(self, year: int) -> bool:
        """Whether the holidays of `year` are known (published in the library, or listed by an administrator)."""
        if any(d.year == year for d in self.extra_holidays | self.extra_workdays):
            return True
        try:
            chinese_calendar.is_workday(date(year, 1, 1))
        except NotImplementedError:
            return False
        return True

    @property
    def day_length(self) -> timedelta:
        """One working day: the office hours of a day."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The moment `amount` of working time after `start` (counted in office hours of working days), in UTC."""
        local, left = start.astimezone(self.zone), amount
        day = local.date()
        for _ in range(MAX_DAYS):
            if self.is_working_day(day):
                opens = datetime.combine(day, self.opens, self.zone)
                closes = datetime.combine(day, self.closes, self.zone)
                begin = max(local, opens)
                if begin < closes:
                    if begin + left <= closes:
                        return (begin + left).astimezone(ZoneInfo("UTC"))
                    left -= closes - begin
            day += timedelta(days=1)
        raise CalendarError("工作时限超出日历范围")

    def deadline(self, start: datetime, sla: str) -> datetime | None:
        """The due time of a working-time SLA ("2WD" / "2 工作日", "6WH" / "6 工作小时"); None for any other SLA."""
        found = _SLA.match(sla or "")
        if not found:
            return None
        amount, unit = float(found.group(1)), found.group(2).upper()
        span = self.day_length * amount if unit in ("WD", "工作日") else timedelta(hours=amount)
        return self.add_working_time(start, span)

    def duration(self, start: datetime, sla: str) -> str:
        """The SLA as an ISO 8601 duration from `start`: a working-time SLA is counted on the calendar, any other
        (already a duration, e.g. PT4H) is returned as it is."""
        due = self.deadline(start, sla)
        if due is None:
            return sla
        return f"PT{max(1, int((due - start).total_seconds()))}S"


class WorkingDays:
    """The calendar with the days listed in the database: re-read at most every `ttl` seconds (another process
    may have changed them), and at once in the process that changed them (`changed()`). Counting a deadline
    without a session uses the last one read."""

    def __init__(self, base: WorkCalendar, ttl: float = 60.0):
        self.base, self.ttl = base, ttl
        self.current, self._read_at = base, None

    def calendar(self, session: Session | None = None) -> WorkCalendar:
        """The calendar now: the configured one plus the listed days (read again when stale and a session is given)."""
        if session is not None and (self._read_at is None or clock.monotonic() - self._read_at > self.ttl):
            rows = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
            holidays = frozenset(d for d, kind in rows if kind == "holiday")
            workdays = frozenset(d for d, kind in rows if kind == "workday")
            self.current = replace(self.base, extra_holidays=(self.base.extra_holidays - workdays) | holidays,
                                   extra_workdays=(self.base.extra_workdays - holidays) | workdays)
            self._read_at = clock.monotonic()
        return self.current

    def changed(self) -> None:
        """The listed days changed in this process: read them again on next use."""
        self._read_at = None


def is_working_time_sla(sla: str) -> bool:
    """Whether an SLA is counted in working time (WD / WH / 工作日 / 工作小时)."""
    return bool(_SLA.match(sla or ""))


def _dates(value, key: str) -> frozenset[date]:
    """ISO dates from a list, or from a comma-separated string (an environment variable)."""
    items = value.split(",") if isinstance(value, str) else value
    try:
        return frozenset(date.fromisoformat(str(v).strip()) for v in items if str(v).strip())
    except ValueError as exc:
        raise CalendarError(f"[calendar] {key}: 日期格式应为 YYYY-MM-DD ({exc})") from None


def _clock(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise CalendarError(f"[calendar] 办公时间格式应为 HH:MM, 而不是 {text!r}") from None
