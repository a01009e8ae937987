"""The site's yearly holiday arrangements (放假安排): what the State Council publishes for a year
the calendar package does not know yet, entered by an admin at ``/admin/calendar`` or by hand in
``<instance>/holidays.yaml``; ``opskit.calendar`` counts working time with them.

The file holds one entry per year::

    2027:
      source: 国务院办公厅 2026年11月X日通知
      holidays:
        - 2027-01-01 元旦
        - 2027-02-05..2027-02-11 春节     # a range: both ends included
      workdays:                          # make-up working days (调休上班): Saturdays or Sundays
        - 2027-02-14 春节调休

Each line is a date or a range ``first..last`` (``~`` and ``至`` work too) and an optional name;
the admin's form takes the same lines, one per line. A year's entry is the whole arrangement of
that year: its holidays, its make-up working days, and the statutory holidays on fixed dates
(元旦, 劳动节, 国庆), which hold whatever the file says; every other day Monday to Friday works.
A bad entry is not loaded (its year stays unloaded, so the pages warn) and its problem names the
file, the line, the year and what was expected; the other entries still load and nothing
crashes. The file is read again whenever it changes (``site_arrangements()``), so a save counts
at once in every process, without a restart; opskit writes it atomically
(``write_arrangements()``).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.files import write_atomic
from opskit.validation import ValidationFailed

#: Statutory holidays on fixed dates (全国年节及纪念日放假办法, as revised for 2025 on): a year
#: the package does not know still has them, and so does a year of the site file.
FIXED_HOLIDAY_NAMES: dict[tuple[int, int], Any] = {
    (1, 1): _l("New Year's Day"),
    (5, 1): _l("Labour Day"),
    (5, 2): _l("Labour Day"),
    (10, 1): _l("National Day"),
    (10, 2): _l("National Day"),
    (10, 3): _l("National Day"),
}
FIXED_HOLIDAYS = frozenset(FIXED_HOLIDAY_NAMES)

#: the site's arrangement file, in the instance folder
ARRANGEMENTS_FILE = "holidays.yaml"
#: the years an arrangement may be entered for
FIRST_YEAR, LAST_YEAR = 2000, 2100
#: a longer range is a typo (the longest holiday, 春节, is 8 or 9 days)
MAX_RANGE_DAYS = 31


def default_workday(day: date) -> bool:
    """Monday to Friday, except the statutory holidays on fixed dates."""
    return day.weekday() < 5 and (day.month, day.day) not in FIXED_HOLIDAYS


# --- a year's arrangement ---------------------------------------------------------------------


@dataclass(frozen=True)
class Days:
    """One line of an arrangement: a day, or a range of days (both ends included), and its
    name (春节, 春节调休; may be empty)."""

    first: date
    last: date
    name: str = ""

    def dates(self) -> Iterator[date]:
        day = self.first
        while day <= self.last:
            yield day
            day += timedelta(days=1)

    @property
    def count(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def span(self) -> str:
        """``2027-02-05..2027-02-11``, or the one date."""
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def text(self) -> str:
        """The line as it is typed: ``2027-02-05..2027-02-11 春节``."""
        return f"{self.span} {self.name}".strip()


@dataclass(frozen=True)
class Arrangement:
    """The State Council's arrangement of one year, as the site entered it: the holidays, the
    make-up working days (调休上班) and the notice it comes from."""

    year: int
    holidays: tuple[Days, ...]
    workdays: tuple[Days, ...]
    source: str

    @functools.cached_property
    def days(self) -> dict[date, bool]:
        """date → True (make-up working day) / False (holiday)."""
        result = {day: False for line in self.holidays for day in line.dates()}
        result.update({day: True for line in self.workdays for day in line.dates()})
        return result

    def is_workday(self, day: date) -> bool:
        known = self.days.get(day)
        return default_workday(day) if known is None else known

    def lines(self, kind: str) -> list[str]:
        """The holidays' (``kind`` "holidays") or make-up days' ("workdays") lines as typed."""
        return [line.text() for line in (self.holidays if kind == "holidays" else self.workdays)]


# --- reading arrangements: a line, the admin's form, the site file ----------------------------

_DAY = r"(\d{4})-(\d{1,2})-(\d{1,2})"
_LINE = re.compile(
    rf"^{_DAY}(?:\s*(?:\.\.|~|～|至)\s*{_DAY})?"  # a date, or a range first..last
    r"(?:\s+(.*?)|([^\x00-\x7f].*?))?\s*$"  # then a name: after a space, or Chinese right away
)


class LineError(ValueError):
    """One line of an arrangement is wrong; the message says what was expected (translated)."""


def _date(parts: tuple[str | None, ...], line: str) -> date:
    try:
        return date(*(int(p or 0) for p in parts))
    except ValueError:
        raise LineError(
            _("“%(text)s”: %(day)s is not a date", text=line, day="-".join(p or "" for p in parts))
        ) from None


def parse_days(text: str, year: int, kind: str) -> Days:
    """One line of ``year``'s holidays (``kind`` "holidays") or make-up working days
    ("workdays"): ``2027-02-05..2027-02-11 春节``, ``2027-02-14``, ``2027-02-14 春节调休``.
    Raises ``LineError`` saying what was expected."""
    line = text.strip()
    match = _LINE.match(line)
    if not match:
        raise LineError(
            _(
                "“%(text)s”: expected a date YYYY-MM-DD or a range YYYY-MM-DD..YYYY-MM-DD, then "
                "an optional name",
                text=line,
            )
        )
    groups = match.groups()
    first = _date(groups[0:3], line)
    last = _date(groups[3:6], line) if groups[3] else first
    name = (groups[6] or groups[7] or "").strip()
    if last < first:
        raise LineError(
            _("the range ends (%(last)s) before it starts (%(first)s)", first=first, last=last)
        )
    days = Days(first, last, name)
    if days.count > MAX_RANGE_DAYS:
        raise LineError(
            _(
                "a range of %(n)s days: expected at most %(max)s (is a date mistyped?)",
                n=days.count,
                max=MAX_RANGE_DAYS,
            )
        )
    for day in (first, last):
        if day.year != year:
            raise LineError(_("%(day)s is not in %(year)s", day=day, year=year))
    if kind == "workdays":
        for day in days.dates():
            fixed = FIXED_HOLIDAY_NAMES.get((day.month, day.day))
            if fixed is not None:
                raise LineError(
                    _(
                        "%(day)s is a statutory holiday (%(name)s), never a make-up working day",
                        day=day,
                        name=fixed,
                    )
                )
            if day.weekday() < 5:
                raise LineError(
                    _(
                        "%(day)s is a weekday, a working day anyway: a make-up working day is a "
                        "Saturday or a Sunday",
                        day=day,
                    )
                )
    return days


#: a parsed line and where it was: (line number, days)
Numbered = list[tuple[int, Days]]


def _both(holidays: Numbered, workdays: Numbered) -> list[tuple[int, str]]:
    """Make-up days that are also entered as holidays: (line of the make-up day, problem)."""
    off = {day: n for n, line in holidays for day in line.dates()}
    problems = []
    for n, line in workdays:
        clash = next((day for day in line.dates() if day in off), None)
        if clash is not None:
            problems.append(
                (
                    n,
                    _(
                        "%(day)s is also entered as a holiday (line %(line)s)",
                        day=clash,
                        line=off[clash],
                    ),
                )
            )
    return problems


def _form_lines(text: str, year: int, kind: str) -> tuple[Numbered, list[str]]:
    parsed: Numbered = []
    errors = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        try:
            parsed.append((n, parse_days(line, year, kind)))
        except LineError as exc:
            errors.append(_("Line %(n)s: %(problem)s", n=n, problem=str(exc)))
    return parsed, errors


def arrangement_from_form(year: int, source: str, holidays: str, workdays: str) -> Arrangement:
    """The arrangement an admin pasted: one line per holiday (or range) and per make-up
    working day. Raises ``ValidationFailed`` keyed by field (``holidays``, ``workdays``,
    ``source``, ``year``), each message naming the line and what was expected."""
    errors: dict[str, list[str]] = {}
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValidationFailed.one(
            "year",
            _("Expected a year from %(first)s to %(last)s.", first=FIRST_YEAR, last=LAST_YEAR),
        )
    off, errors["holidays"] = _form_lines(holidays, year, "holidays")
    on, errors["workdays"] = _form_lines(workdays, year, "workdays")
    if not off and not errors["holidays"]:
        example = f"{year}-01-01 元旦"
        errors["holidays"].append(
            _("Expected at least one holiday, e.g. %(example)s.", example=example)
        )
    for n, problem in _both(off, on):
        errors["workdays"].append(_("Line %(n)s: %(problem)s", n=n, problem=problem))
    if not source.strip():
        errors["source"] = [
            _(
                "Expected the notice the arrangement comes from, e.g. %(example)s.",
                example="国务院办公厅 2026年11月X日通知",
            )
        ]
    errors = {key: messages for key, messages in errors.items() if messages}
    if errors:
        raise ValidationFailed(errors)
    return Arrangement(year, _sorted(off), _sorted(on), " ".join(source.split()))


def _sorted(lines: Numbered) -> tuple[Days, ...]:
    return tuple(sorted((days for _n, days in lines), key=lambda d: (d.first, d.last)))


@dataclass(frozen=True)
class SiteArrangements:
    """What the site file holds: the years loaded, and the problems of the rest."""

    path: Path
    years: Mapping[int, Arrangement]
    problems: tuple[str, ...] = ()
    exists: bool = False
    #: the years whose entries have problems (not loaded)
    bad_years: frozenset[int] = frozenset()
    #: a problem outside any one year's entry (not YAML, a key that is no year)
    unreadable: bool = False

    def keeps_all_but(self, year: int) -> bool:
        """Rewriting the file with ``year`` changed would lose nothing of the other entries."""
        return not self.unreadable and self.bad_years <= {year}


def parse_arrangements(text: str, where: str | Path) -> SiteArrangements:
    """The years of a site file's text, and the problems of those that are not loaded. Every
    problem names ``where`` (the file), the line, the year and what was expected; a bad year is
    left out and the others still load."""
    path = Path(where)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = _(
            "%(file)s, line %(n)s: not valid YAML (%(problem)s)",
            file=where,
            n=mark.line + 1 if mark is not None else 1,
            problem=getattr(exc, "problem", None) or str(exc),
        )
        return SiteArrangements(path, {}, (problem,), True, unreadable=True)
    if root is None:
        return SiteArrangements(path, {}, (), True)
    if not isinstance(root, yaml.MappingNode):
        problem = _(
            "%(file)s, line %(n)s: expected one entry per year, like 2027: {holidays: "
            "[...], workdays: [...], source: ...}",
            file=where,
            n=root.start_mark.line + 1,
        )
        return SiteArrangements(path, {}, (problem,), True, unreadable=True)
    years: dict[int, Arrangement] = {}
    problems: list[str] = []
    bad: set[int] = set()
    unreadable = False
    for key, value in root.value:
        n = key.start_mark.line + 1
        year = _year_of(key)
        if year is None:
            unreadable = True
            problems.append(
                _(
                    "%(file)s, line %(n)s: “%(key)s” is not a year from %(first)s to %(last)s",
                    file=where,
                    n=n,
                    key=getattr(key, "value", "?"),
                    first=FIRST_YEAR,
                    last=LAST_YEAR,
                )
            )
            continue
        if year in bad or year in years:
            problems.append(
                _("%(file)s, line %(n)s: %(year)s is entered twice", file=where, n=n, year=year)
            )
            years.pop(year, None)
            bad.add(year)
            continue
        arrangement, found = _year_entry(year, value, str(where))
        problems.extend(found)
        if arrangement is None:
            bad.add(year)
        else:
            years[year] = arrangement
    return SiteArrangements(path, years, tuple(problems), True, frozenset(bad), unreadable)


def _year_of(node: yaml.Node) -> int | None:
    if not isinstance(node, yaml.ScalarNode) or not re.fullmatch(r"\d{4}", str(node.value)):
        return None
    year = int(node.value)
    return year if FIRST_YEAR <= year <= LAST_YEAR else None


def _year_entry(year: int, node: yaml.Node, where: str) -> tuple[Arrangement | None, list[str]]:
    def problem(at: yaml.Node, text: str, part: str = "") -> str:
        what = f"{year} {part}".strip()
        return _(
            "%(file)s, line %(n)s (%(what)s): %(problem)s",
            file=where,
            n=at.start_mark.line + 1,
            what=what,
            problem=text,
        )

    expected = _("expected holidays, workdays and source")
    if not isinstance(node, yaml.MappingNode):
        return None, [problem(node, expected)]
    fields: dict[str, yaml.Node] = {}
    problems = []
    for key, value in node.value:
        name = str(getattr(key, "value", ""))
        if name not in ("holidays", "workdays", "source"):
            problems.append(
                problem(key, _("unknown key “%(key)s”: %(expected)s", key=name, expected=expected))
            )
        else:
            fields[name] = value
    parsed: dict[str, Numbered] = {"holidays": [], "workdays": []}
    before = len(problems)
    for kind in parsed:
        items = fields.get(kind)
        if items is None or (
            isinstance(items, yaml.ScalarNode) and items.value in ("", "~", "null")
        ):
            continue
        if not isinstance(items, yaml.SequenceNode):
            problems.append(problem(items, _("expected a list of dates or ranges"), kind))
            continue
        for item in items.value:
            if not isinstance(item, yaml.ScalarNode):
                problems.append(problem(item, _("expected a date or a range on one line"), kind))
                continue
            try:
                parsed[kind].append(
                    (item.start_mark.line + 1, parse_days(str(item.value), year, kind))
                )
            except LineError as exc:
                problems.append(problem(item, str(exc), kind))
    if not parsed["holidays"] and len(problems) == before:  # none, rather than none readable
        problems.append(
            problem(
                fields.get("holidays", node), _("no holidays: expected at least one"), "holidays"
            )
        )
    for n, text in _both(parsed["holidays"], parsed["workdays"]):
        what = f"{year} workdays"
        problems.append(
            _(
                "%(file)s, line %(n)s (%(what)s): %(problem)s",
                file=where,
                n=n,
                what=what,
                problem=text,
            )
        )
    source = fields.get("source")
    source_text = str(source.value).strip() if isinstance(source, yaml.ScalarNode) else ""
    if not source_text or source_text in ("~", "null"):
        problems.append(
            problem(
                source or node,
                _("no source: expected the notice the arrangement comes from"),
                "source",
            )
        )
    if problems:
        return None, problems
    return Arrangement(
        year, _sorted(parsed["holidays"]), _sorted(parsed["workdays"]), source_text
    ), []


FILE_HEADER = """\
# The State Council's holiday arrangements (放假安排) for years the calendar package does not
# know yet, one entry per year; opskit's 5x8 (level C) clocks use them. Written by opskit
# (/admin/calendar, audited); may be edited by hand: each line is a date or a range
# first..last and an optional name; workdays are the make-up working days (调休上班).
# The SLA policy's calendar_overrides (local arrangements) win over this file.
"""


def dump_arrangements(years: Mapping[int, Arrangement]) -> str:
    """The site file's text: the header, then each year in order (values quoted, so any name
    reads back as it was)."""
    out = [FILE_HEADER]
    for year in sorted(years):
        arrangement = years[year]
        out.append(f"{year}:\n  source: {json.dumps(arrangement.source, ensure_ascii=False)}\n")
        for kind in ("holidays", "workdays"):
            lines = arrangement.lines(kind)
            if not lines:
                out.append(f"  {kind}: []\n")
                continue
            out.append(f"  {kind}:\n")
            out.extend(f"    - {json.dumps(line, ensure_ascii=False)}\n" for line in lines)
    return "".join(out)


def write_arrangements(path: Path, years: Mapping[int, Arrangement]) -> None:
    """Write the site file atomically: a reader sees the old file or the new one, never half."""
    write_atomic(path, dump_arrangements(years))
