"""The working calendar behind 5x8 service levels: Chinese public holidays and make-up days.

A day is a working day when, in this order:
1. the site's overrides say so (``holiday`` or ``workday`` for a date) — for years the calendar
   package does not cover yet, or local arrangements;
2. otherwise the ``chinese_calendar`` package knows the year: its answer, which includes the
   State Council's holidays and the make-up working days (调休), e.g. Saturday 2026-10-10;
3. otherwise Monday to Friday except the statutory holidays that fall on a fixed date (元旦
   01-01, 劳动节 05-01/02, 国庆 10-01..03), and ``covered()`` says the year is a guess, so the
   UI can warn: the lunar holidays (春节, 清明, 端午, 中秋) and the make-up days of a year the
   package does not know yet come from the overrides.

Working hours are one period per working day (08:00–17:00 by default) in the site time zone.
``add_working_time`` walks forward through those periods; a clock started outside them begins
at the next period.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc

#: Statutory holidays on fixed dates (全国年节及纪念日放假办法, as revised for 2025 on): a year
#: the package does not know still has them.
FIXED_HOLIDAYS = frozenset({(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)})

#: Years the installed chinese_calendar package knows.
PACKAGE_YEARS = frozenset(d.year for d in _cc.holidays) | frozenset(d.year for d in _cc.workdays)


@functools.lru_cache(maxsize=16384)
def _package_workday(day: date) -> bool:
    """The package's answer, remembered: it scans its holiday tables on every call (a
    quarter's SLA figures ask about the same days thousands of times)."""
    return bool(chinese_calendar.is_workday(day))


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    day_start: time = time(8, 0)
    day_end: time = time(17, 0)
    #: date → True (working day) / False (holiday), applied before the package.
    overrides: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("working hours must end after they start")

    def covered(self, year: int) -> bool:
        """True when holidays of ``year`` are known (package or overrides)."""
        return year in PACKAGE_YEARS or any(d.year == year for d in self.overrides)

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        if day.year in PACKAGE_YEARS:
            return _package_workday(day)
        return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS

    def periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods (start, end) in site time, from the one containing ``moment`` on."""
        local = moment.astimezone(self.tz)
        day = local.date()
        for _ in range(3660):  # ten years of days: a calendar without working days is a bug
            if self.is_workday(day):
                start = datetime.combine(day, self.day_start, self.tz)
                end = datetime.combine(day, self.day_end, self.tz)
                if end > local:
                    yield max(start, local), end
            day += timedelta(days=1)
        raise ValueError("no working day within ten years: check the calendar overrides")

    def add_working_time(self, start: datetime, duration: timedelta) -> datetime:
        """The moment when ``duration`` of working time has passed after ``start``."""
        if start.tzinfo is None:
            raise ValueError("start must be time-zone aware")
        remaining = duration
        for begin, end in self.periods_from(start):
            span = end - begin
            if remaining <= span:
                return begin + remaining
            remaining -= span
        raise AssertionError("unreachable")  # periods_from raises first

    def end_of_working_day_after(self, moment: datetime, days: int) -> datetime:
        """The end of working hours of the ``days``-th working day after the calendar day of
        ``moment`` (site time): that day itself never counts, whatever the hour."""
        if days < 1:
            raise ValueError("days must be at least 1")
        day, counted = moment.astimezone(self.tz).date(), 0
        for _ in range(3660):
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
                if counted == days:
                    return datetime.combine(day, self.day_end, self.tz)
        raise ValueError("no working day within ten years: check the calendar overrides")

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time elapsed from ``start`` to ``end`` (zero if end <= start)."""
        total = timedelta(0)
        if end <= start:
            return total
        for begin, stop in self.periods_from(start):
            if begin >= end:
                break
            total += min(stop, end) - begin
        return total


def parse_overrides(raw: Mapping[object, object] | None, where: str) -> dict[date, bool]:
    """``{2027-01-01: holiday, 2027-02-07: workday}`` → {date: is_workday}; errors name the key."""
    result: dict[date, bool] = {}
    for key, value in (raw or {}).items():
        if isinstance(key, datetime):
            key = key.date()
        if not isinstance(key, date):
            try:
                key = date.fromisoformat(str(key))
            except ValueError:
                raise ValueError(f"{where}: {key!r} is not a date (YYYY-MM-DD)") from None
        if value not in ("holiday", "workday"):
            raise ValueError(f"{where}.{key}: expected holiday or workday, got {value!r}")
        result[key] = value == "workday"
    return result
