"""The one Excel writer of every report: streaming, formula-safe, readable in Excel and WPS.

- xlsxwriter with ``constant_memory``: rows are written in order and memory stays flat however
  large a sheet grows (measured 1.8x faster than openpyxl write-only).
- Text from user data is always written as text (``write_string``): a name like ``=cmd|...``
  or ``+86 138...`` never becomes a formula or a number.
- Dates and times are written in the site's local time; a time-zone aware datetime reaching
  the writer is a bug in the report kind, so it is refused.
- Frozen header row, auto-filter, column widths (CJK characters count double, since
  ``autofit`` is not available in constant-memory mode), number/percent/date formats, and
  optional highlighting of rows (e.g. volumes near full).
- Written to a temporary file and moved into place: a failed build never leaves a broken
  workbook behind.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import has_app_context
from flask_babel import gettext

from opskit.files import make_private
from opskit.outputs import check_output_path
from opskit.xlsx import rows as xlsxrows

TEXT, INT, NUMBER, PERCENT, DATE, DATETIME = "text", "int", "number", "percent", "date", "datetime"
#: a share shown to a thousandth of a percent (availability: 99.95 % and 99.999 % differ)
FINE_PERCENT = "fine_percent"
FORMATS = {
    INT: {"num_format": "0"},
    NUMBER: {"num_format": "0.00"},
    PERCENT: {"num_format": "0.0%"},
    FINE_PERCENT: {"num_format": "0.000%"},
    DATE: {"num_format": "yyyy-mm-dd"},
    DATETIME: {"num_format": "yyyy-mm-dd hh:mm"},
}
_NUMERIC = frozenset((INT, NUMBER, PERCENT, FINE_PERCENT))


@dataclass(frozen=True)
class Col:
    key: str
    header: str
    type: str = TEXT
    width: float | None = None  # None: from the header and the first rows


@dataclass
class Sheet:
    name: str
    columns: Sequence[Col]
    rows: Iterable[dict[str, Any]]
    #: a row for which this returns True is highlighted (e.g. storage above its limit)
    highlight: Callable[[dict[str, Any]], bool] | None = None
    note: str = ""  # one line above the table
    charts: list[dict[str, Any]] = field(default_factory=list)
    #: paragraphs above the note and the table, one a row (the summary's sentences)
    lines: Sequence[str] = ()


#: what xlsxwriter takes for a cell reference in a chart's title or series name
_REFERENCE = re.compile(r"^=?[^!]+!\$?[A-Z]+\$?\d+")


def _literal(title: str) -> str:
    """A chart title that stays text: one that would read as a cell reference (an asset tag
    like ``x'!A1``) gets a full-width ！ instead of its !."""
    return title.replace("!", "！") if _REFERENCE.match(title) else title


def display_width(text: str) -> int:
    """Columns a text needs: East Asian wide/full-width characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    candidate, n = clean, 2
    while candidate.lower() in used:
        suffix = f" ({n})"
        candidate, n = clean[: 31 - len(suffix)] + suffix, n + 1
    used.add(candidate.lower())
    return candidate


def _yes_no(value: bool) -> str:
    """A yes/no cell in the language being written ("是"/"否" in Chinese)."""
    if not has_app_context():
        return "Yes" if value else "No"
    return gettext("Yes") if value else gettext("No")


def _page_footer() -> str:
    """ "Page &P of &N" in the language being written (English outside an application)."""
    return gettext("Page &P of &N") if has_app_context() else "Page &P of &N"


class ReportWriter:
    """Write sheets one after another into one workbook at ``path``."""

    def __init__(self, path: str | Path, footer: str | None = None) -> None:
        #: the printed footer (xlsxwriter codes: &P page, &N pages), in the workbook's language
        #: (by default the language being written: every workbook's pages are numbered in it)
        self.footer = footer if footer is not None else _page_footer()
        self.path = check_output_path(path)  # never a device, pipe or folder: see opskit.outputs
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".report-", suffix=".xlsx", dir=self.path.parent)
        os.close(fd)
        self.tmp = Path(tmp)
        import xlsxwriter  # lazy: xlsxwriter costs ~0.3 s of every command's start

        self.book = xlsxwriter.Workbook(
            str(self.tmp),
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.used: set[str] = set()
        self.header = self.book.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "valign": "top"}
        )
        self.title = self.book.add_format({"bold": True, "font_size": 14})
        self.sign = self.book.add_format({"bottom": 1})  # a line to sign on
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})  # a cover note
        self.formats = {kind: self.book.add_format(spec) for kind, spec in FORMATS.items()}
        self.hot = {
            kind: self.book.add_format({**FORMATS.get(kind, {}), "bg_color": "#FCE4D6"})
            for kind in (TEXT, *FORMATS)
        }
        # style indexes fixed now, in this order, whichever cell uses a format first (the
        # streamed rows and xlsxwriter's cell writers then give byte-identical sheets)
        for fmt in (
            self.header,
            self.title,
            *self.formats.values(),
            *self.hot.values(),
            self.sign,
            self.wrap,
        ):
            fmt._get_xf_index()

    def __enter__(self) -> ReportWriter:
        return self

    def __exit__(self, exc_type: Any, *_exc: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            with contextlib.suppress(Exception):
                self.book.close()
            self.tmp.unlink(missing_ok=True)

    def close(self) -> None:
        try:
            self.book.close()
        except Exception:
            self.tmp.unlink(missing_ok=True)
            raise
        make_private(self.tmp)  # a pack holds the customer's registry and people's names
        os.replace(self.tmp, self.path)

    def reserve(self, name: str) -> Any:
        """Add a worksheet now, in this place of the workbook, to fill later (the cover, whose
        figures are known once every kind has run)."""
        return self.book.add_worksheet(_sheet_name(name, self.used))

    def properties(self, **props: Any) -> None:
        """The workbook's document properties (title, subject, author, company, created, ...:
        xlsxwriter's ``set_properties`` keys)."""
        self.book.set_properties(props)

    def print_setup(
        self, ws: Any, header_row: int | None = None, image: bool = False, cover: bool = False
    ) -> None:
        """Print setup every sheet gets: A4 landscape, the sheet's name above, page N of M
        below; a table one page wide (any height) with its header row (and the note lines above
        it) repeated on each page; a picture fitted to one page; a cover on one upright page
        (its figures, contents and sign-off block grow with the kinds: a signature belongs on
        the first page)."""
        if cover:
            ws.set_portrait()
        else:
            ws.set_landscape()
        ws.set_paper(9)  # A4
        ws.set_header("&C&A")
        ws.set_footer("&C" + self.footer)
        ws.fit_to_pages(1, 1 if image or cover else 0)
        if header_row is not None:
            ws.repeat_rows(0, header_row)

    def value(self, ws: Any, r: int, c: int, value: Any, kind: str | None = None) -> None:
        """One cell outside a table (e.g. the cover's figures): ``kind`` from the value when
        not given; text always as text."""
        self._cell(ws, r, c, value, kind_of(value) if kind is None else kind, False)

    def image(self, name: str, title: str, png: bytes, note: str = "") -> None:
        """A sheet holding one picture (e.g. the topology diagram) under a title."""
        ws = self.book.add_worksheet(_sheet_name(name, self.used))
        self.print_setup(ws, image=True)
        ws.write_string(0, 0, title, self.title)
        if note:
            ws.write_string(1, 0, note)
        ws.insert_image(3, 0, "image.png", {"image_data": io.BytesIO(png), "object_position": 3})

    def sheet(self, sheet: Sheet, into: Any = None) -> int:
        """Write one table; returns the number of data rows. ``into``: a worksheet from
        :meth:`reserve` to write it in (its place in the workbook was kept)."""
        ws = (
            into
            if into is not None
            else self.book.add_worksheet(_sheet_name(sheet.name, self.used))
        )
        top = 0
        for line in sheet.lines:
            ws.write_string(top, 0, line)
            top += 1
        if sheet.lines:
            top += 1
        if sheet.note:
            ws.write_string(top, 0, sheet.note)
            top += 2
        rows = iter(sheet.rows)
        first = [row for _, row in zip(range(50), rows, strict=False)]
        for ci, col in enumerate(sheet.columns):
            width = col.width
            if width is None:
                sample = [display_width(_text(row.get(col.key))) for row in first]
                width = min(max([display_width(col.header), *sample]) + 2, 60)
            ws.set_column(ci, ci, width)
            ws.write_string(top, ci, col.header, self.header)
        self.print_setup(ws, header_row=top if sheet.columns else None)
        if not sheet.lines:  # a sheet with paragraphs keeps them in view: nothing frozen
            ws.freeze_panes(top + 1, 0)
        body: Iterable[dict[str, Any]] = _chain(first, rows)
        #: chart category key → its values as written (charts are on small sheets)
        categories: dict[str, list[Any]] = {}
        for chart in sheet.charts:
            spec = chart["category"]
            categories |= {k: [] for k in ([spec] if isinstance(spec, str) else spec)}
        if categories:
            body = _noting(body, categories)
        if xlsxrows.supported(ws):
            r = self._stream_rows(ws, sheet, top, body)
        else:
            r = self._cell_rows(ws, sheet, top, body)
        if sheet.columns:
            ws.autofilter(top, 0, max(r, top), len(sheet.columns) - 1)
        for chart in sheet.charts:
            self._chart(ws, sheet, chart, top, r, categories)
        return r - top

    def _cell_rows(self, ws: Any, sheet: Sheet, top: int, rows: Iterable[dict[str, Any]]) -> int:
        """The data rows through xlsxwriter's cell writers, one :meth:`_cell` each: the
        fallback when rows cannot be streamed (and the reference the streamed rows are tested
        against)."""
        keys = [(ci, col.key, col.type) for ci, col in enumerate(sheet.columns)]
        highlight, cell = sheet.highlight, self._cell
        r = top
        for row in rows:
            r += 1
            hot = highlight is not None and bool(highlight(row))
            for ci, key, kind in keys:
                cell(ws, r, ci, row.get(key), kind, hot)
        return r

    def _stream_rows(self, ws: Any, sheet: Sheet, top: int, rows: Iterable[dict[str, Any]]) -> int:
        """The data rows as XML appended to the worksheet (``opskit.xlsx.rows``): the same
        cells, formats and bytes as :meth:`_cell_rows`, without xlsxwriter's per-cell work.
        Plain text, numbers in number columns, naive datetimes and dates are built inline;
        anything else goes through :meth:`_resolve`, the one decision ``_cell`` makes too."""
        columns = sheet.columns
        stream = xlsxrows.RowStream(ws, top + 1, len(columns))
        formats, hot = self.formats, self.hot

        def xf(fmt: Any) -> int | None:
            return None if fmt is None else fmt._get_xf_index()

        plan = []
        for ci, col in enumerate(columns):
            fmt, hot_fmt = formats.get(col.type), hot.get(col.type)
            plan.append(
                (
                    ci,
                    col.key,
                    col.type,
                    col.type in _NUMERIC,
                    stream.letters[ci],
                    xf(fmt),
                    xf(fmt or formats[DATETIME]),
                    xf(fmt or formats[DATE]),
                    xf(hot_fmt),
                    xf(hot_fmt or formats[DATETIME]),
                    xf(hot_fmt or formats[DATE]),
                )
            )
        hot_text: int = hot[TEXT]._get_xf_index()
        text, number, when, blank = stream.text, stream.number, stream.date, stream.blank
        special, short = xlsxrows.SPECIAL.search, xlsxrows.SHORT
        highlight, add_row = sheet.highlight, stream.row
        r = top
        for row in rows:
            r += 1
            rn = str(r + 1)
            get = row.get
            cells: list[str] = []
            add = cells.append
            if highlight is not None and highlight(row):
                for _ci, key, kind, numeric, letter, _x, _dx, _ddx, hx, hdx, hddx in plan:
                    value = get(key)
                    cls = value.__class__
                    ref = letter + rn
                    if value is None or value == "":
                        add(blank(ref, hot_text))
                    elif cls is str:
                        add(text(ref, value, hot_text))
                    elif numeric and (cls is float or cls is int):
                        add(number(ref, value, hx))
                    elif cls is datetime and value.tzinfo is None:
                        add(when(ref, value, hdx))
                    elif cls is date:
                        add(when(ref, value, hddx))
                    else:
                        add(self._cell_xml(stream, ref, value, kind, True))
                add_row(cells)
                continue
            for _ci, key, kind, numeric, letter, x, dx, ddx, _hx, _hdx, _hddx in plan:
                value = get(key)
                cls = value.__class__
                if cls is str:
                    if value:
                        if len(value) <= short and special(value) is None:
                            add(f'<c r="{letter}{rn}" t="inlineStr"><is><t>{value}</t></is></c>')
                        else:
                            add(text(letter + rn, value, None))
                elif value is None:
                    pass
                elif numeric and (cls is float or cls is int):
                    add(number(letter + rn, value, x))
                elif cls is datetime and value.tzinfo is None:
                    add(when(letter + rn, value, dx))
                elif cls is date:
                    add(when(letter + rn, value, ddx))
                else:
                    xml = self._cell_xml(stream, letter + rn, value, kind, False)
                    if xml:
                        add(xml)
            add_row(cells)
        stream.close()
        return r

    def _cell_xml(self, stream: Any, ref: str, value: Any, kind: str, hot: bool) -> str:
        """One cell's XML for ``stream``, as :meth:`_cell` would write it ("" for none)."""
        resolved = self._resolve(value, kind, hot)
        if resolved is None:
            return ""
        what, payload, fmt = resolved
        index = None if fmt is None else fmt._get_xf_index()
        if what == "blank":
            return stream.blank(ref, index)
        if what == "date":
            return stream.date(ref, payload, index)
        if what == "number":
            return stream.number(ref, payload, index)
        return stream.text(ref, payload, index)

    def _chart(
        self,
        ws: Any,
        sheet: Sheet,
        spec: dict[str, Any],
        top: int,
        last: int,
        categories: dict[str, list[Any]],
    ) -> None:
        """A native Excel chart of some columns: {"type", "category", "values": [keys], "title"};
        ``category`` is one key, or a list of adjacent keys for multi-level labels (一级服务 /
        到场). Text categories carry their labels in the chart (in ``constant_memory`` mode
        xlsxwriter cannot read them back from the sheet), so every viewer shows them as text.
        Optional: "row" (the chart's top, in rows below the header: several charts on one
        sheet), "x_axis"/"y_axis" (xlsxwriter's axis options, e.g. a date axis) and "lines"
        (key → xlsxwriter line options of that series, e.g. a dashed projection)."""
        if last <= top:
            return
        keys = [c.key for c in sheet.columns]
        chart = self.book.add_chart({"type": spec.get("type", "column")})
        category = spec["category"]
        names = [category] if isinstance(category, str) else list(category)
        first, end = keys.index(names[0]), keys.index(names[-1])
        if end - first != len(names) - 1:
            raise ValueError(f"chart categories must be adjacent columns: {names}")
        labels: list[Any] | None = None
        if all(any(isinstance(v, str) for v in categories[k]) for k in names):
            levels = [["" if v is None else str(v) for v in categories[k]] for k in names]
            labels = levels if len(levels) > 1 else levels[0]
        for key in spec["values"]:
            ci = keys.index(key)
            chart.add_series(
                {
                    "name": [ws.name, top, ci],
                    "categories": [ws.name, top + 1, first, last, end],
                    "values": [ws.name, top + 1, ci, last, ci],
                    **({"categories_data": labels} if labels is not None else {}),
                    **({"line": spec["lines"][key]} if key in spec.get("lines", {}) else {}),
                }
            )
        chart.set_title({"name": _literal(spec.get("title", ""))})
        chart.set_legend({"position": "bottom"})
        if "x_axis" in spec:
            chart.set_x_axis(spec["x_axis"])
        if "y_axis" in spec:
            chart.set_y_axis(spec["y_axis"])
        row = top + 1 + spec.get("row", 0)
        ws.insert_chart(row, len(keys) + 1, chart, {"x_scale": 1.4, "y_scale": 1.2})

    def _resolve(self, value: Any, kind: str, hot: bool) -> tuple[str, Any, Any] | None:
        """What one cell becomes: ("blank" | "date" | "number" | "text", value, format), or
        None for no cell. Aware datetimes are refused (convert at the boundary)."""
        fmt = (self.hot if hot else self.formats).get(kind)
        if value is None or value == "":
            return ("blank", None, self.hot[TEXT]) if hot else None
        if isinstance(value, datetime):
            if value.tzinfo is not None:
                raise TypeError("report cells take local naive datetimes; convert at the boundary")
            return "date", value, fmt or self.formats[DATETIME]
        if isinstance(value, date):
            return "date", datetime.combine(value, datetime.min.time()), fmt or self.formats[DATE]
        if isinstance(value, bool):  # in the language being written
            return "text", _yes_no(value), fmt
        if isinstance(value, int | float) and kind in _NUMERIC:
            return "number", value, fmt
        return "text", str(value), self.hot[TEXT] if hot else None

    def _cell(self, ws: Any, r: int, c: int, value: Any, kind: str, hot: bool) -> None:
        resolved = self._resolve(value, kind, hot)
        if resolved is None:
            return
        what, payload, fmt = resolved
        if what == "blank":
            ws.write_blank(r, c, None, fmt)
        elif what == "date":
            ws.write_datetime(r, c, payload, fmt)
        elif what == "number":
            ws.write_number(r, c, payload, fmt)
        else:
            ws.write_string(r, c, payload, fmt)


def kind_of(value: Any) -> str:
    """The cell kind a plain value is written as (a date, a whole number, a number, text)."""
    if isinstance(value, datetime):
        return DATETIME
    if isinstance(value, date):
        return DATE
    if isinstance(value, int) and not isinstance(value, bool):
        return INT
    if isinstance(value, float):
        return NUMBER
    return TEXT


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return "2026-01-01 00:00"
    if isinstance(value, date):
        return "2026-01-01"
    return "" if value is None else str(value)


def _noting(rows: Iterable[dict[str, Any]], into: dict[str, list[Any]]) -> Iterator[dict[str, Any]]:
    """The rows, noting the values of some keys on the way (``into``: key → values)."""
    for row in rows:
        for key, values in into.items():
            values.append(row.get(key))
        yield row


def _chain(first: list[dict[str, Any]], rest: Iterable[dict[str, Any]]) -> Iterable[dict[str, Any]]:
    yield from first
    yield from rest
