"""Report periods in the site's time zone: a quarter (``2026Q3``), a month (``2026-10``), a year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

_QUARTER = re.compile(r"^(\d{4})\s*[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")


class PeriodError(ValueError):
    """The period text is not 2026Q3, 2026-10 or 2026."""


@dataclass(frozen=True)
class Period:
    kind: str  # "quarter", "month" or "year"
    first_day: date
    next_day: date  # the day after the last day
    tz: ZoneInfo
    text: str

    @property
    def last_day(self) -> date:
        return self.next_day - timedelta(days=1)

    @property
    def start(self) -> datetime:
        """Start as an aware UTC datetime (local midnight of the first day)."""
        return datetime.combine(self.first_day, datetime.min.time(), self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """End (exclusive) as an aware UTC datetime."""
        return datetime.combine(self.next_day, datetime.min.time(), self.tz).astimezone(UTC)

    def check_started(self, now: datetime) -> None:
        """Refuse a period that has not begun at ``now`` (nothing to report yet)."""
        if now < self.start:
            today = now.astimezone(self.tz).date()
            raise PeriodError(
                _(
                    "%(period)s has not started yet (today is %(today)s): choose a period that "
                    "has begun",
                    period=self.text,
                    today=today.isoformat(),
                )
            )

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def running(self, now: datetime) -> bool:
        """Whether the period has begun and not yet ended at ``now``."""
        return self.contains(now)

    def as_of(self, now: datetime) -> datetime:
        """The instant the pack judges point-in-time states at (warranty, open alerts and
        clocks, storage used): ``now`` while the period is running, its end once it is over.
        The one place that decides it; every kind asks here (``Context.as_of``)."""
        return min(now, self.end)

    def as_of_day(self, now: datetime) -> date:
        """The site's date of :meth:`as_of`: today while running, the last day once over."""
        return now.astimezone(self.tz).date() if now < self.end else self.last_day

    def days(self) -> list[date]:
        return [
            self.first_day + timedelta(days=i) for i in range((self.next_day - self.first_day).days)
        ]

    @property
    def zh(self) -> str:
        y = self.first_day.year
        if self.kind == "quarter":
            return f"{y}年第{(self.first_day.month - 1) // 3 + 1}季度"
        if self.kind == "month":
            return f"{y}年{self.first_day.month}月"
        return f"{y}年"


def _first_of_next_month(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    return date(day.year + month0 // 12, month0 % 12 + 1, 1)


#: the years a report can cover (a date library's limits lie beyond them: year 0, year 10000)
FIRST_YEAR, LAST_YEAR = 1970, 2999


def parse_period(text: str, tz: ZoneInfo) -> Period:
    value = text.strip()
    match = _QUARTER.match(value) or _MONTH.match(value) or _YEAR.match(value)
    if match and not FIRST_YEAR <= int(match[1]) <= LAST_YEAR:
        raise PeriodError(
            _(
                "“%(text)s”: the year must be between %(first)d and %(last)d",
                text=value,
                first=FIRST_YEAR,
                last=LAST_YEAR,
            )
        )
    if m := _QUARTER.match(value):
        first = date(int(m[1]), (int(m[2]) - 1) * 3 + 1, 1)
        return Period("quarter", first, _first_of_next_month(first, 3), tz, f"{m[1]}Q{m[2]}")
    if m := _MONTH.match(value):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise PeriodError(
                _("“%(text)s”: month %(month)s does not exist", text=value, month=month)
            )
        first = date(int(m[1]), month, 1)
        return Period("month", first, _first_of_next_month(first, 1), tz, f"{m[1]}-{month:02d}")
    if m := _YEAR.match(value):
        first = date(int(m[1]), 1, 1)
        return Period("year", first, date(first.year + 1, 1, 1), tz, m[1])
    if not value:
        raise PeriodError(
            _("Choose a period: a quarter like 2026Q3, a month like 2026-10 or a year.")
        )
    raise PeriodError(
        _(
            "“%(text)s” is not a period: expected a quarter like 2026Q3, a month like 2026-10 "
            "or a year.",
            text=value,
        )
    )


def previous_quarter(today: date, tz: ZoneInfo) -> Period:
    quarter = (today.month - 1) // 3  # 0-based index of the current quarter
    year, q = (today.year, quarter) if quarter else (today.year - 1, 4)
    return parse_period(f"{year}Q{q}", tz)


def current_period(kind: str, today: date, tz: ZoneInfo) -> Period:
    """The month, quarter or year (``kind``) holding ``today``."""
    if kind == "month":
        return parse_period(f"{today.year}-{today.month}", tz)
    if kind == "quarter":
        return parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}", tz)
    return parse_period(str(today.year), tz)


def previous_period(kind: str, today: date, tz: ZoneInfo) -> Period:
    """The last month, quarter or year (``kind``) that ended before ``today``."""
    if kind == "month":
        return current_period(kind, today.replace(day=1) - timedelta(days=1), tz)
    if kind == "quarter":
        return previous_quarter(today, tz)
    return parse_period(str(today.year - 1), tz)


def recent_periods(today: date, tz: ZoneInfo) -> list[tuple[str, Period]]:
    """The periods a report is usually asked for: (key, period) with keys last_quarter,
    this_quarter, last_month, this_month, last_year, this_year."""
    return [
        (
            f"{which}_{kind}",
            (previous_period if which == "last" else current_period)(kind, today, tz),
        )
        for kind in ("quarter", "month", "year")
        for which in ("last", "this")
    ]
