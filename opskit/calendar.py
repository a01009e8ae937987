"""The working calendar behind 5x8 service levels: Chinese public holidays and make-up days.

A day is a working day when, in this order:
1. the SLA policy's ``calendar_overrides`` say so (``holiday`` or ``workday`` for a date): the
   site's own local arrangements, which **win** over everything below (a site closed on a day,
   or open on a holiday, whatever the national arrangement says);
2. otherwise the site's arrangement file (``<instance>/holidays.yaml``, below) has the year: its
   holidays and make-up working days (调休), the statutory holidays on fixed dates, else Monday
   to Friday;
3. otherwise the ``chinese_calendar`` package knows the year: its answer, which includes the
   State Council's holidays and the make-up working days, e.g. Saturday 2026-10-10;
4. otherwise Monday to Friday except the statutory holidays that fall on a fixed date (元旦
   01-01, 劳动节 05-01/02, 国庆 10-01..03): a guess, and the year is **not loaded**.

A year is *loaded* (``covered()``) when the package knows it or the site file has an entry for
it; the policy's overrides never load a year (a local date or two say nothing of the rest).
``unloaded_years()`` / ``calendar_check()`` say which years relevant now are not loaded — this
year, next year once it is ``NEXT_YEAR_HORIZON_DAYS`` away or less, and every year a given
deadline or interval touches — so the pages, the CLI and the report pack can say that a 5x8
clock may be wrong instead of being silently wrong.

The site file ``<instance>/holidays.yaml`` (its format, reading and writing: ``opskit.holidays``)
holds the State Council's yearly arrangement (国务院办公厅关于XXXX年部分节假日安排的通知,
published around November) of years the package does not know yet; an admin enters it at
``/admin/calendar``. A year's entry replaces the package for that year.

Working hours are one period per working day (08:00–17:00 by default) in the site time zone.
``add_working_time`` walks forward through those periods; a clock started outside them begins
at the next period.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc
from flask import current_app, has_app_context
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit import clock
from opskit.holidays import (
    ARRANGEMENTS_FILE,
    Arrangement,
    Days,
    SiteArrangements,
    default_workday,
    parse_arrangements,
)

#: Years the installed chinese_calendar package knows.
PACKAGE_YEARS = frozenset(d.year for d in _cc.holidays) | frozenset(d.year for d in _cc.workdays)
PACKAGE_VERSION: str = str(getattr(chinese_calendar, "__version__", ""))
#: the package's holiday names, as the pages say them
PACKAGE_HOLIDAY_NAMES: dict[str, Any] = {
    "New Year's Day": _l("New Year's Day"),
    "Spring Festival": _l("Spring Festival"),
    "Tomb-sweeping Day": _l("Tomb-sweeping Day"),
    "Labour Day": _l("Labour Day"),
    "Dragon Boat Festival": _l("Dragon Boat Festival"),
    "National Day": _l("National Day"),
    "Mid-autumn Festival": _l("Mid-autumn Festival"),
    "Anti-Fascist 70th Day": _l("Victory Day (70th anniversary)"),
}

#: next year counts as "relevant now" from this many days before its 1 January on
NEXT_YEAR_HORIZON_DAYS = 45
#: the source of a year's arrangement: the site file, the calendar package, or none
SITE, PACKAGE, NOT_LOADED = "site", "package", ""


@functools.lru_cache(maxsize=16384)
def _package_workday(day: date) -> bool:
    """The package's answer, remembered: it scans its holiday tables on every call (a
    quarter's SLA figures ask about the same days thousands of times)."""
    return bool(chinese_calendar.is_workday(day))


# --- the calendar -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    day_start: time = time(8, 0)
    day_end: time = time(17, 0)
    #: the policy's calendar_overrides: date → True (working day) / False (holiday); they win
    overrides: Mapping[date, bool] = field(default_factory=dict)
    #: the site file's years (``site_arrangements()``), applied before the package
    arrangements: Mapping[int, Arrangement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.day_end <= self.day_start:
            raise ValueError("working hours must end after they start")

    def covered(self, year: int) -> bool:
        """True when the official arrangement of ``year`` is loaded: the site file has it or
        the package knows it (the policy's overrides alone never load a year)."""
        return year in self.arrangements or year in PACKAGE_YEARS

    def source(self, year: int) -> str:
        """Where ``year``'s arrangement comes from: ``SITE``, ``PACKAGE`` or ``NOT_LOADED``."""
        if year in self.arrangements:
            return SITE
        return PACKAGE if year in PACKAGE_YEARS else NOT_LOADED

    def is_workday(self, day: date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        arrangement = self.arrangements.get(day.year)
        if arrangement is not None:
            return arrangement.is_workday(day)
        if day.year in PACKAGE_YEARS:
            return _package_workday(day)
        return default_workday(day)

    def periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods (start, end) in site time, from the one containing ``moment`` on."""
        local = moment.astimezone(self.tz)
        day = local.date()
        for _day in range(3660):  # ten years of days: a calendar without working days is a bug
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
        for _day in range(3660):
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


# --- the site's file, read once per change ----------------------------------------------------


_LOADED: dict[tuple[str, str], tuple[tuple[int, int, int], SiteArrangements]] = {}
_LOADED_MAX = 32  # one entry per instance folder and language; tests make many


def arrangements_path(instance_path: str | Path | None = None) -> Path:
    return Path(instance_path or current_app.instance_path) / ARRANGEMENTS_FILE


def site_arrangements(instance_path: str | Path | None = None) -> SiteArrangements:
    """The site file's arrangements (``<instance>/holidays.yaml``; none when there is no file).
    Read again whenever the file changes (its time, size or inode), so a save takes effect in
    every process at once without a restart; problems are in the current language."""
    path = arrangements_path(instance_path)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return SiteArrangements(path, {})
    except OSError as exc:
        return SiteArrangements(
            path,
            {},
            (_("%(file)s: cannot be read (%(problem)s)", file=path, problem=exc.strerror),),
            True,
            unreadable=True,
        )
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    key = (str(path), str(_locale()))
    kept = _LOADED.get(key)
    if kept is not None and kept[0] == stamp:
        return kept[1]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = getattr(exc, "strerror", None) or str(exc)
        loaded = SiteArrangements(
            path,
            {},
            (_("%(file)s: cannot be read (%(problem)s)", file=path, problem=problem),),
            True,
            unreadable=True,
        )
    else:
        loaded = parse_arrangements(text, path)
        if loaded.problems and has_app_context():
            current_app.logger.warning(
                "holiday arrangements not loaded: %s", "; ".join(loaded.problems)
            )
    if len(_LOADED) >= _LOADED_MAX and key not in _LOADED:
        _LOADED.clear()
    _LOADED[key] = (stamp, loaded)
    return loaded


def forget_site_arrangements() -> None:
    """Read the site file again next time (after opskit wrote it)."""
    _LOADED.clear()


def _locale() -> object:
    try:
        return get_locale()
    except RuntimeError:  # no app or request: the untranslated messages
        return None


# --- what the pages and the CLI show of a year ------------------------------------------------


@dataclass(frozen=True)
class YearView:
    """One year as the calendar page and ``opskit sla calendar`` show it."""

    year: int
    source: str  # SITE, PACKAGE or NOT_LOADED
    holidays: tuple[Days, ...] = ()
    workdays: tuple[Days, ...] = ()
    #: the notice the site entered, or the calendar package's version
    note: str = ""
    #: the site file's entry replaces what the package knows of the year
    replaces_package: bool = False

    @property
    def loaded(self) -> bool:
        return self.source != NOT_LOADED


def _grouped(table: Mapping[date, Any], year: int) -> tuple[Days, ...]:
    """The package's days of ``year`` as ranges of consecutive days of one holiday."""
    result: list[Days] = []
    for day in sorted(d for d in table if d.year == year):
        name = str(PACKAGE_HOLIDAY_NAMES.get(str(table[day]), table[day]))
        if result and result[-1].name == name and result[-1].last + timedelta(days=1) == day:
            result[-1] = Days(result[-1].first, day, name)
        else:
            result.append(Days(day, day, name))
    return tuple(result)


def describe_year(calendar: WorkingCalendar, year: int) -> YearView:
    """Whether ``year`` is loaded, from where, and its holidays and make-up working days."""
    arrangement = calendar.arrangements.get(year)
    if arrangement is not None:
        return YearView(
            year,
            SITE,
            arrangement.holidays,
            arrangement.workdays,
            arrangement.source,
            replaces_package=year in PACKAGE_YEARS,
        )
    if year in PACKAGE_YEARS:
        return YearView(
            year,
            PACKAGE,
            _grouped(_cc.holidays, year),
            _grouped(_cc.workdays, year),
            PACKAGE_VERSION,
        )
    return YearView(year, NOT_LOADED)


def years_in_view(calendar: WorkingCalendar, today: date) -> list[int]:
    """The years the calendar page lists: last year, this year and the next, every year of the
    site file, and the package's years from last year on."""
    years = {today.year - 1, today.year, today.year + 1, *calendar.arrangements}
    years.update(y for y in PACKAGE_YEARS if y >= today.year - 1)
    return sorted(years)


# --- which years relevant now are not loaded --------------------------------------------------

Moment = date | datetime
#: a moment, or an interval (start, end) of which every year counts
Span = Moment | tuple[Moment, Moment]


def _year(moment: Moment, tz: ZoneInfo) -> int:
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(tz).year
    return moment.year


def relevant_years(
    today: date, spans: Iterable[Span] = (), *, tz: ZoneInfo, general: bool = True
) -> list[int]:
    """The years whose arrangement matters now: with ``general``, this year, and next year
    once it is ``NEXT_YEAR_HORIZON_DAYS`` days away or less; and every year from the start to
    the end of each span (a deadline, or an interval such as an alert's raise to its deadline).
    Aware datetimes count in ``tz`` (the site's)."""
    years: set[int] = set()
    if general:
        years.add(today.year)
        if (date(today.year + 1, 1, 1) - today).days <= NEXT_YEAR_HORIZON_DAYS:
            years.add(today.year + 1)
    for span in spans:
        start, end = span if isinstance(span, tuple) else (span, span)
        first, last = sorted((_year(start, tz), _year(end, tz)))
        years.update(range(first, last + 1))
    return sorted(years)


def unloaded_years(
    calendar: WorkingCalendar, today: date, *spans: Span, general: bool = True
) -> list[int]:
    """The years relevant now (``relevant_years``) whose official arrangement is not loaded:
    a 5x8 clock that touches one of them may be wrong, and the page should say so."""
    years = relevant_years(today, spans, tz=calendar.tz, general=general)
    return [year for year in years if not calendar.covered(year)]


@dataclass(frozen=True)
class CalendarCheck:
    """The answer of ``calendar_check()``: the years not loaded, the site file's problems.
    True when there is something to warn about (the ``calendar_banner`` macro shows it)."""

    years: tuple[int, ...] = ()
    problems: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.years or self.problems)


def site_calendar(instance_path: str | Path | None = None) -> WorkingCalendar:
    """The site's calendar of the official arrangements (package and site file), in the site's
    time zone: what ``covered()`` asks. The SLA policy's calendar (``current_policy().calendar``)
    adds the policy's working hours and overrides to it."""
    return WorkingCalendar(tz=clock.site_tz(), arrangements=site_arrangements(instance_path).years)


def calendar_check(*spans: Span, today: date | None = None, general: bool = True) -> CalendarCheck:
    """For a page: which relevant years are not loaded (``unloaded_years``: this year, next year
    within ``NEXT_YEAR_HORIZON_DAYS`` of it when ``general``, and every year the given deadlines
    or (start, end) intervals touch), and the site file's problems. In templates::

        {% from "_calendar.html" import calendar_banner with context %}
        {{ calendar_banner(calendar_check(request_opened_at, (opened_at, fix_by))) }}
    """
    site = site_arrangements()
    calendar = WorkingCalendar(tz=clock.site_tz(), arrangements=site.years)
    years = unloaded_years(calendar, today or clock.site_today(), *spans, general=general)
    return CalendarCheck(tuple(years), site.problems)
