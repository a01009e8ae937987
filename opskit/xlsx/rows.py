"""Whole rows written straight into a constant-memory xlsxwriter worksheet.

xlsxwriter's cell writers cost ~4-5 µs a cell in Python (bounds checks, a tuple stored per
cell, then per-cell attribute lists and escaping when the row is flushed). A report writes
hundreds of thousands of plain cells, so :class:`RowStream` builds each data row's XML in one
string and appends it to the worksheet's row-data file, the file xlsxwriter itself appends to
in ``constant_memory`` mode, then tells the worksheet how far the data reaches (its
dimensions) so the rest of the file (autofilter, charts, frozen panes) is written as usual.

The XML is byte for byte what xlsxwriter writes for the same cells
(``tests/test_xlsx_rows.py`` compares the two on awkward text: control characters,
``_xHHHH_`` look-alikes, leading/trailing blanks, markup characters, long strings, dates):
plain text takes a fast path, anything unusual goes through xlsxwriter's own escaping helpers.
:func:`supported` says whether this xlsxwriter exposes what is needed; the report writer falls
back to the per-cell path when it does not.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime, time
from types import ModuleType
from typing import Any

#: text that needs more than the plain path: XML markup, control characters, xlsxwriter's
#: ``_xHHHH_`` escapes, leading or trailing whitespace (same ``\s`` as xlsxwriter's check)
SPECIAL = re.compile(r"[&<>\x00-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9a-fA-F]{4}_|^\s|\s$")
_STRMAX = 32767
SHORT = _STRMAX // 2  # text no longer than this needs no length check
#: private helpers of xlsxwriter (3.2+) the rows need, checked by ``supported``
PRIVATE_HELPERS = ("_preserve_whitespace", "_utf16_len", "_utf16_truncate")
#: dates and times a stream remembers as Excel serial numbers (``RowStream.date``): a sheet's
#: dates repeat (weeks, polls), converting one costs ~20 times a lookup; then it starts over
SERIALS = 4096


def _utility() -> ModuleType:
    """xlsxwriter's helpers, loaded with the first worksheet (the writer has loaded xlsxwriter
    by then, so this costs nothing there and nothing at start)."""
    from xlsxwriter import utility  # lazy: xlsxwriter costs ~0.3 s of every command's start

    return utility


def supported(ws: Any) -> bool:
    """The worksheet streams rows to a file we can append to (constant_memory mode)."""
    utility = _utility()
    return (
        getattr(ws, "constant_memory", False)
        and getattr(ws, "row_data_fh", None) is not None
        and hasattr(ws, "_write_single_row")
        and hasattr(ws, "_check_dimensions")
        and hasattr(ws, "_convert_date_time")
        and hasattr(ws, "_escape_control_characters")
        and hasattr(ws, "_escape_data")
        # without xlsxwriter's private helpers rows go cell by cell
        and all(
            hasattr(utility, name)
            for name in ("_preserve_whitespace", "_utf16_len", "_utf16_truncate")
        )
    )


class RowStream:
    """Append rows ``first``, ``first + 1`` … of ``ws`` as XML; :meth:`close` when done.

    Each cell is made by :meth:`text`, :meth:`number`, :meth:`date` or :meth:`blank` from its
    reference (``A5``), its value and its format's index (``Format._get_xf_index()``) or
    ``None``; :meth:`row` appends one row of them.
    """

    def __init__(self, ws: Any, first: int, columns: int) -> None:
        ws._write_single_row(first)  # flush what xlsxwriter holds (the header row)
        self.ws = ws
        self.fh = ws.row_data_fh
        self.first = first
        self.last = first - 1
        self.max_col = columns - 1
        utility = _utility()
        self.letters = [utility.xl_col_to_name(c) for c in range(columns)]
        self.buffer: list[str] = []
        self._utf16_len = utility._utf16_len
        self._utf16_truncate = utility._utf16_truncate
        self._preserve_whitespace = utility._preserve_whitespace
        self.serials: dict[date, str] = {}  # date or naive datetime → its serial as text

    # --- cells ------------------------------------------------------------------------------

    def text(self, ref: str, value: str, xf: int | None) -> str:
        s = "" if xf is None else f' s="{xf}"'
        if len(value) <= SHORT and not SPECIAL.search(value):
            return f'<c r="{ref}"{s} t="inlineStr"><is><t>{value}</t></is></c>'
        if len(value) > SHORT and self._utf16_len(value) > _STRMAX:
            value = self._utf16_truncate(value, _STRMAX)
        value = self.ws._escape_control_characters(value)
        preserve = ' xml:space="preserve"' if self._preserve_whitespace(value) else ""
        value = self.ws._escape_data(value)
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{preserve}>{value}</t></is></c>'

    def number(self, ref: str, value: float, xf: int | None) -> str:
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"cell {ref}: NAN/INF not supported in a report")
        s = "" if xf is None else f' s="{xf}"'
        return f'<c r="{ref}"{s}><v>{value:.16G}</v></c>'

    def date(self, ref: str, value: date, xf: int | None) -> str:
        """A naive datetime, or a date (its midnight), as its Excel serial number."""
        serial = self.serials.get(value)
        if serial is None:
            if len(self.serials) >= SERIALS:
                self.serials.clear()
            moment = value if isinstance(value, datetime) else datetime.combine(value, time())
            serial = self.serials[value] = f"{self.ws._convert_date_time(moment):.16G}"
        s = "" if xf is None else f' s="{xf}"'
        return f'<c r="{ref}"{s}><v>{serial}</v></c>'

    @staticmethod
    def blank(ref: str, xf: int) -> str:
        return f'<c r="{ref}" s="{xf}"/>'

    # --- rows -------------------------------------------------------------------------------

    def row(self, cells: list[str]) -> None:
        """The next row's cells, each from :meth:`text`, :meth:`number`, :meth:`date` or
        :meth:`blank`, with refs like ``f"{self.letters[col]}{row + 1}"``."""
        self.last += 1
        if not cells:  # like xlsxwriter: a row without cells is not written at all
            return
        self.buffer.append(f'<row r="{self.last + 1}">{"".join(cells)}</row>')
        if len(self.buffer) >= 512:
            self.fh.write("".join(self.buffer))
            self.buffer.clear()

    def close(self) -> None:
        """Write what is buffered and record the data's extent on the worksheet."""
        if self.buffer:
            self.fh.write("".join(self.buffer))
            self.buffer.clear()
        ws = self.ws
        if self.last >= self.first:
            ws._check_dimensions(self.last, self.max_col)
            ws.previous_row = self.last + 1  # rows up to here are written
