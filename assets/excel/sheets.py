"""Reading the registry's sheets: find each sheet's header row, then stream its data rows, each
cell checked and converted (``columns``), problems recorded as they are found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from assets.excel.columns import (
    HEADER_SEARCH_ROWS,
    CellError,
    Column,
    SheetSpec,
    convert,
    header_key,
    header_map,
)
from assets.excel.result import ImportResult, Problem, TooManyRows
from opskit.xlsx.reader import display, is_blank, sheet_rows


def _column_letter(number: int) -> str:
    """The letter of the 1-based column ``number`` (1 → A, 27 → AA), as Excel names it."""
    from openpyxl.utils import get_column_letter  # lazy: openpyxl costs ~0.4 s of every start

    return get_column_letter(number)


def _find_header(
    rows: list[tuple[Any, ...]], spec: SheetSpec, headers: dict[str, Column]
) -> tuple[int | None, dict[str, int], list[str], dict[str, list[int]]]:
    """(0-based header row index or None, key → column index, unknown headers, duplicates)."""
    best: tuple[int, int] = (-1, 0)  # (row index, matches)
    required = {c.key for c in spec.required}
    for index, row in enumerate(rows):
        found: set[str] = set()
        for value in row:
            if isinstance(value, str):
                col = headers.get(header_key(value))
                if col is not None:
                    found.add(col.key)
        if required <= found:
            best = (index, len(found))
            break
        if len(found) > best[1]:
            best = (index, len(found))
    if best[0] < 0:
        return None, {}, [], {}
    present: dict[str, int] = {}
    unknown: list[str] = []
    duplicates: dict[str, list[int]] = {}
    for ci, value in enumerate(rows[best[0]]):
        if is_blank(value):
            continue
        col = headers.get(header_key(str(value))) if isinstance(value, str) else None
        if col is None:
            unknown.append(display(value))
        elif col.key in present:
            duplicates.setdefault(col.key, [present[col.key]]).append(ci)
        else:
            present[col.key] = ci
    return best[0], present, unknown, duplicates


@dataclass
class Row:
    """One data row of the batch being imported (rows are not kept past their batch)."""

    number: int
    values: dict[str, Any]
    raw: dict[str, str]
    failed: bool = False


class ImportSheet:
    """One import sheet: its header row and the stream of its data rows, each checked."""

    def __init__(
        self,
        spec: SheetSpec,
        title: str,
        present: dict[str, int],
        header_row: int,
        rows: Iterator[tuple[int, tuple[Any, ...]]],
    ) -> None:
        self.spec = spec
        self.title = title
        self.present = present  # column key → 0-based index
        self.header_row = header_row
        self._rows = rows
        self._letters = {k: _column_letter(i + 1) for k, i in present.items()}

    def has(self, key: str) -> bool:
        return key in self.present

    def letter(self, key: str) -> str:
        return self._letters.get(key, "")

    def cell(self, key: str, number: int) -> str:
        return f"{self._letters[key]}{number}" if key in self._letters else ""

    def rows(self, result: ImportResult) -> Iterator[Row]:
        """Non-blank data rows, converted; cell problems go to ``result`` as they are found.

        Raises TooManyRows (after recording the problem) once the workbook's data rows pass
        ``result.max_rows``.
        """
        title = self.title
        columns = [(self.spec.column(k), i) for k, i in self.present.items()]
        for number, cells in self._rows:
            if number <= self.header_row:
                continue
            values: dict[str, Any] = {}
            raw: dict[str, str] = {}
            blank = True
            failed = False
            for col, ci in columns:
                cell = cells[ci] if ci < len(cells) else None
                value = getattr(cell, "value", None)
                if is_blank(value):
                    values[col.key] = convert(col, None)
                    continue
                if blank:
                    blank = False
                    result.rows_read += 1
                    if result.rows_read > result.max_rows:
                        limit = f"{result.max_rows:,}"
                        result.add_problem(
                            Problem(
                                title,
                                number,
                                message=_(
                                    "the workbook has more than %(limit)s data rows, the most one "
                                    "import takes (OPSKIT_IMPORT_MAX_ROWS); nothing was imported. "
                                    "Split it into workbooks of at most %(limit)s rows.",
                                    limit=limit,
                                ),
                            )
                        )
                        raise TooManyRows
                raw[col.key] = display(value)
                if getattr(cell, "data_type", None) == "f" or type(value).__name__ in (
                    "ArrayFormula",
                    "DataTableFormula",
                ):
                    failed = True
                    result.add_problem(
                        Problem(
                            title,
                            number,
                            col.label,
                            display(value) if isinstance(value, str) else "",
                            _(
                                "contains a formula; type the value itself "
                                "(formulas are not imported)"
                            ),
                            self.cell(col.key, number),
                        )
                    )
                    continue
                try:
                    values[col.key] = convert(col, value)
                except CellError as exc:
                    failed = True
                    result.add_problem(
                        Problem(
                            title,
                            number,
                            col.label,
                            raw[col.key],
                            str(exc),
                            self.cell(col.key, number),
                        )
                    )
            if blank:
                continue
            for col, _ci in columns:
                if col.required and col.key not in raw:
                    failed = True
                    result.add_problem(
                        Problem(
                            title,
                            number,
                            col.label,
                            "",
                            _("is required"),
                            self.cell(col.key, number),
                        )
                    )
            yield Row(number, values, raw, failed=failed)


def open_sheet(spec: SheetSpec, ws: Any, result: ImportResult) -> ImportSheet | None:
    """Find the header row among the first rows; None for an empty sheet or a bad header."""
    ws.reset_dimensions()  # do not trust the declared size
    headers = header_map(spec)
    cells_iter: Iterator[tuple[Any, ...]] = sheet_rows(ws)
    head: list[tuple[Any, ...]] = []
    head_cells: list[tuple[Any, ...]] = []
    for cells in cells_iter:
        head_cells.append(cells)
        head.append(tuple(getattr(c, "value", None) for c in cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(not is_blank(v) for r in head for v in r):
        return None  # an empty sheet is like an absent one
    index, present, unknown, duplicates = _find_header(head, spec, headers)
    missing = [c for c in spec.required if c.key not in present]
    if index is None or missing:
        result.add_problem(
            Problem(
                ws.title,
                row=None if index is None else index + 1,
                message=_(
                    "missing required columns: %(columns)s (the header row must name them)",
                    columns="、".join(c.label for c in (missing or spec.required)),
                ),
            )
        )
        return None
    for key, positions in duplicates.items():
        col = spec.column(key)
        result.add_problem(
            Problem(
                ws.title,
                row=index + 1,
                column=col.label,
                message=_(
                    "this column appears more than once (columns %(letters)s)",
                    letters="、".join(_column_letter(p + 1) for p in positions),
                ),
            )
        )
    for name in unknown:
        result.warnings.append(
            _(
                "%(sheet)s: column “%(name)s” is not known and was ignored.",
                sheet=ws.title,
                name=name,
            )
        )
    header_row = index + 1
    del head  # only the cells below the header are needed from here

    read = len(head_cells)

    def all_rows() -> Iterator[tuple[int, tuple[Any, ...]]]:
        yield from enumerate(head_cells[header_row:], start=header_row + 1)
        head_cells.clear()
        yield from enumerate(cells_iter, start=read + 1)

    return ImportSheet(spec, ws.title, present, header_row, all_rows())
