"""What an import found: its problems (the first few of each kind shown, the rest counted) and
what it created, updated or left unchanged per sheet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from flask import current_app, has_app_context
from flask_babel import gettext as _


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the workbook, located as Excel shows it."""

    sheet: str = ""
    row: int | None = None
    column: str = ""  # "类型(kind)"
    value: str = ""
    message: str = ""
    cell: str = ""  # "C7", when known

    def line(self) -> str:
        where = self.sheet
        if self.row is not None and self.column:
            if self.value:
                return _(
                    "%(sheet)s row %(row)d, %(column)s: “%(value)s” %(message)s",
                    sheet=where,
                    row=self.row,
                    column=self.column,
                    value=self.value,
                    message=self.message,
                )
            return _(
                "%(sheet)s row %(row)d, %(column)s: %(message)s",
                sheet=where,
                row=self.row,
                column=self.column,
                message=self.message,
            )
        if self.row is not None:
            return _(
                "%(sheet)s row %(row)d: %(message)s",
                sheet=where,
                row=self.row,
                message=self.message,
            )
        if where:
            return _("%(sheet)s: %(message)s", sheet=where, message=self.message)
        return self.message

    def __str__(self) -> str:
        return self.line()


#: How many problems are shown (kept in ``ImportResult.problems``): the first few of each kind
#: (sheet, column and message), at most so many per column and in all. The rest are counted
#: per column (``ImportResult.omitted``), so a sheet of a million bad rows gives a page of
#: problems and one line "… and 999,990 more rows with the same problem".
SHOW_PER_KIND = 5
SHOW_PER_COLUMN = 20
SHOW_TOTAL = 200
_MAX_KINDS = 1000  # kinds remembered for SHOW_PER_KIND; later new kinds count as seen
#: Lines naming created sites, rooms and racks kept for the summary (the rest are counted).
SHOW_LOCATIONS = 50
DEFAULT_MAX_ROWS = 200_000


@dataclass
class Omitted:
    """Problems of one sheet column that are counted but not shown."""

    sheet: str
    column: str
    count: int = 0
    message: str | None = None  # the one message they all share, if they share one
    mixed: bool = False

    def line(self) -> str:
        where = f"{self.sheet} {self.column}".strip() if self.column else self.sheet
        count = f"{self.count:,}"
        if not self.mixed and self.message is not None:
            return _(
                "… and %(count)s more rows with the same problem (%(where)s: %(message)s)",
                count=count,
                where=where,
                message=self.message,
            )
        return _("… and %(count)s more problems in %(where)s", count=count, where=where)


@dataclass
class ImportResult:
    #: the problems shown: the first few of each kind (see SHOW_PER_KIND); ``problem_count``
    #: counts all of them and ``omitted`` the ones not shown, per sheet column
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    omitted: dict[tuple[str, str], Omitted] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    #: sheet name (Chinese) → Counter(created=, updated=, unchanged=)
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    #: human-readable paths of the sites, rooms and racks this import created (the first ones)
    created_locations: list[str] = field(default_factory=list)
    created_locations_more: int = 0
    #: data rows read (all sheets); refused past ``max_rows``
    rows_read: int = 0
    max_rows: int = DEFAULT_MAX_ROWS
    dry_run: bool = False
    committed: bool = False
    _kinds: Counter[tuple[str, str, str]] = field(default_factory=Counter, repr=False)
    _shown_per_column: Counter[tuple[str, str]] = field(default_factory=Counter, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problem_count

    def add_problem(self, problem: Problem) -> None:
        """Count ``problem``; keep it for display if it is among the first of its kind."""
        self.problem_count += 1
        column = (problem.sheet, problem.column)
        kind = (problem.sheet, problem.column, problem.message)
        seen = self._kinds.get(kind)
        if seen is None:
            seen = 0 if len(self._kinds) < _MAX_KINDS else SHOW_PER_KIND
        if seen < SHOW_PER_KIND:
            self._kinds[kind] = seen + 1
        if (
            seen < SHOW_PER_KIND
            and self._shown_per_column[column] < SHOW_PER_COLUMN
            and len(self.problems) < SHOW_TOTAL
        ):
            self._shown_per_column[column] += 1
            self.problems.append(problem)
            return
        omitted = self.omitted.get(column)
        if omitted is None:
            omitted = self.omitted[column] = Omitted(problem.sheet, problem.column)
        omitted.count += 1
        if omitted.message is None:
            omitted.message = problem.message
        elif omitted.message != problem.message:
            omitted.mixed = True

    def omitted_lines(self) -> list[str]:
        return [o.line() for o in self.omitted.values()]

    def created_location(self, line: str) -> None:
        if len(self.created_locations) < SHOW_LOCATIONS:
            self.created_locations.append(line)
        else:
            self.created_locations_more += 1

    def summary_lines(self) -> list[str]:
        lines = []
        for sheet, counter in self.counts.items():
            lines.append(
                _(
                    "%(sheet)s: %(created)d created, %(updated)d updated, %(unchanged)d unchanged",
                    sheet=sheet,
                    created=counter["created"],
                    updated=counter["updated"],
                    unchanged=counter["unchanged"],
                )
            )
        lines.extend(self.created_locations)
        if self.created_locations_more:
            more = f"{self.created_locations_more:,}"
            lines.append(_("… and %(count)s more new sites, rooms and racks", count=more))
        return lines


class TooManyRows(Exception):
    """The workbook has more data rows than one import takes (the problem is recorded)."""


def import_max_rows() -> int:
    """``OPSKIT_IMPORT_MAX_ROWS`` (app config ``IMPORT_MAX_ROWS`` overrides it)."""
    if not has_app_context():
        return DEFAULT_MAX_ROWS
    if "IMPORT_MAX_ROWS" in current_app.config:
        return int(current_app.config["IMPORT_MAX_ROWS"])
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "import_max_rows", DEFAULT_MAX_ROWS))
