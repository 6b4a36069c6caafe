"""Working time on the 2026 statutory calendar: holidays, swapped working weekends (调休), office hours."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from engine.workcalendar import CalendarError, WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
CAL = WorkCalendar(zone=SH, opens=time(9), closes=time(17))


def at(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def test_two_working_days_from_friday_1600_before_national_day():
    # 2026: 9-25 (Fri) to 9-27 are the Mid-Autumn holiday, 10-1 to 10-7 National Day; 10-10 (Sat) is worked.
    assert CAL.deadline(at(2026, 9, 25, 16), "2WD") == at(2026, 9, 29, 17)  # counted from Monday's opening
    # The last working day before the holiday: one hour left on 9-30, then 10-8 and most of 10-9.
    assert CAL.deadline(at(2026, 9, 30, 16), "2WD") == at(2026, 10, 9, 16)
    # A worked Friday before the swapped working Saturday 10-10: one hour, all of Saturday, then Monday.
    assert CAL.deadline(at(2026, 10, 9, 16), "2WD") == at(2026, 10, 12, 16)


def test_swapped_working_sunday_and_working_hours():
    assert CAL.is_working_day(date(2026, 9, 20))  # a Sunday worked for the holiday
    assert not CAL.is_working_day(date(2026, 10, 5))
    assert CAL.deadline(at(2026, 9, 19, 20), "4WH") == at(2026, 9, 20, 13)  # Saturday evening → the worked Sunday
    assert CAL.deadline(at(2026, 3, 2, 16, 30), "1 工作小时") == at(2026, 3, 3, 9, 30)
    assert CAL.deadline(at(2026, 3, 2, 7), "8WH") == at(2026, 3, 2, 17)  # before opening: counted from 09:00


def test_other_slas_pass_through_and_durations_are_iso():
    assert CAL.duration(at(2026, 3, 2, 9), "PT4H") == "PT4H"
    assert CAL.duration(at(2026, 9, 30, 16), "2WD") == f"PT{int(timedelta(days=9).total_seconds())}S"
    assert CAL.deadline(at(2026, 3, 2, 9), "P1D") is None


def test_years_not_published_yet_use_the_administrators_lists_and_weekdays():
    cal = WorkCalendar(zone=SH, opens=time(9), closes=time(17), extra_holidays=frozenset({date(2031, 1, 1)}),
                       extra_workdays=frozenset({date(2031, 1, 4)}))
    assert not cal.covers(2032) and cal.covers(2031) and cal.covers(2026)
    assert not cal.is_working_day(date(2031, 1, 1)) and cal.is_working_day(date(2031, 1, 4))  # a Saturday
    assert cal.is_working_day(date(2032, 1, 5)) and not cal.is_working_day(date(2032, 1, 3))


def test_settings_are_checked():
    config = {"app": {"timezone": "Asia/Shanghai"},
              "calendar": {"office_start": "09:00", "office_end": "17:30", "timezone": "",
                           "extra_holidays": "2031-01-01, 2031-01-02", "extra_workdays": []}}
    cal = WorkCalendar.from_config(config)
    assert cal.day_length == timedelta(hours=8, minutes=30) and date(2031, 1, 2) in cal.extra_holidays
    for bad in ({"office_end": "08:00"}, {"office_start": "nine"}, {"extra_holidays": ["2031-13-01"]}):
        with pytest.raises(CalendarError):
            WorkCalendar.from_config({**config, "calendar": {**config["calendar"], **bad}})
