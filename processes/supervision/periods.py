"""KPI periods: a month (2026-11), a quarter (2026Q4) or a year (2026), in the business time zone."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from ..errors import ValidationFailed

_PATTERN = re.compile(r"^(\d{4})(?:-(\d{2})|Q([1-4]))?$")
PERIOD_MESSAGE = "统计期间应为月 (2026-11)、季度 (2026Q4) 或年 (2026)"


@dataclass(frozen=True)
class Period:
    """A KPI period: its label, kind and the months it covers (YYYY-MM)."""

    label: str
    kind: str  # month | quarter | year
    months: tuple[str, ...]


def parse(text: str | None) -> Period:
    """The period `text` names; ValidationFailed (422) for anything else, e.g. 2026-13."""
    match = _PATTERN.match((text or "").strip())
    if not match:
        raise ValidationFailed({"period": PERIOD_MESSAGE}, message=PERIOD_MESSAGE)
    year, month, quarter = int(match.group(1)), match.group(2), match.group(3)
    if year < 2000 or year > 2999:
        raise ValidationFailed({"period": PERIOD_MESSAGE}, message=PERIOD_MESSAGE)
    if month is not None:
        if not 1 <= int(month) <= 12:
            raise ValidationFailed({"period": PERIOD_MESSAGE}, message=PERIOD_MESSAGE)
        return Period(f"{year}-{month}", "month", (f"{year}-{month}",))
    if quarter is not None:
        first = (int(quarter) - 1) * 3 + 1
        return Period(f"{year}Q{quarter}", "quarter", tuple(f"{year}-{m:02d}" for m in range(first, first + 3)))
    return Period(str(year), "year", tuple(f"{year}-{m:02d}" for m in range(1, 13)))


def month_bounds(month: str, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local month, in UTC."""
    year, number = int(month[:4]), int(month[5:7])
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + (number == 12), number % 12 + 1, 1, tzinfo=zone)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def bounds(period: Period, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a period, in UTC."""
    return month_bounds(period.months[0], zone)[0], month_bounds(period.months[-1], zone)[1]


def month_of(now: datetime, zone: ZoneInfo) -> str:
    """The local month of a moment."""
    return now.astimezone(zone).strftime("%Y-%m")


def previous_month(now: datetime, zone: ZoneInfo) -> str:
    """The local month before the one `now` falls in: what the monthly snapshot freezes."""
    local = now.astimezone(zone)
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    return f"{year}-{month:02d}"


def quarter_of(now: datetime, zone: ZoneInfo) -> str:
    """The local quarter of a moment, e.g. 2026Q4."""
    local = now.astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def recent_months(now: datetime, zone: ZoneInfo, count: int = 12) -> list[str]:
    """The last `count` local months up to the one `now` falls in, oldest first."""
    local = now.astimezone(zone)
    year, month, found = local.year, local.month, []
    for _ in range(count):
        found.append(f"{year}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return found[::-1]
