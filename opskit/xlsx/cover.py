"""A pack's cover: the first page of a document a customer signs.

Label/value rows (the headline figures as numbers in their formats: :class:`Figure`), beside
them a table of contents whose entries link to every other sheet, under them a sign-off block
with a ruled cell to sign in. Written with the pack's :class:`~opskit.xlsx.writer.ReportWriter`
(its formats, its print setup), row by row as its constant-memory mode needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from opskit.xlsx.writer import NUMBER, ReportWriter, display_width


@dataclass(frozen=True)
class Figure:
    """A cover figure written as a number in its format (a share as a percentage a reader
    can sum and a spreadsheet can compare), or "—" when there is none (no data)."""

    value: int | float | None
    kind: str = NUMBER


#: the value of a sign-off row: an empty cell ruled to sign on, in a row tall enough (points)
SIGN_HERE = object()
SIGN_ROW_HEIGHT = 30
#: the cover's value column (characters; CJK count double) and a line of text in it (points)
VALUE_WIDTH = 40
LINE_HEIGHT = 15


def customer_signoff() -> tuple[str, list[str]]:
    """The sign-off block of a document handed to the customer (``write_cover``'s
    ``signoff``): the resident engineer, the customer's representative, the date."""
    return (
        _("Sign-off"),
        [
            _("Resident engineer (signature)"),
            _("Customer representative (signature)"),
            _("Date signed"),
        ],
    )


def write_cover(
    writer: ReportWriter,
    name: str | Any,
    title: str,
    pairs: Sequence[tuple[str, Any]],
    contents: str = "",
    signoff: tuple[str, Sequence[str]] | None = None,
) -> None:
    """A two-column sheet (the cover): a title, then label/value rows (a :class:`Figure`
    keeps its number format). ``name`` may be a worksheet from :meth:`reserve`.

    ``contents``: the heading of a table of contents beside the rows (columns D-E): every
    other sheet of the workbook, numbered, its name a link to it. ``signoff``: a heading
    and the labels of a sign-off block under the rows, each with a ruled empty cell to
    sign in."""
    ws = writer.reserve(name) if isinstance(name, str) else name
    rows: list[tuple[Any, ...]] = [(label, value, True) for label, value in pairs]
    if signoff is not None:
        heading, labels = signoff
        rows += [("", None, False), (heading, None, False)]
        rows += [(label, SIGN_HERE, True) for label in labels]
    sheets = [w.name for w in writer.book.worksheets() if w is not ws] if contents else []
    labels_width = [display_width(str(row[0])) for row in rows]
    ws.set_column(0, 0, max([*labels_width, 12]) + 2)
    ws.set_column(1, 1, VALUE_WIDTH)
    if sheets:
        ws.set_column(3, 3, 6)
        ws.set_column(4, 4, max([display_width(n) for n in sheets] + [12]) + 2)
    writer.print_setup(ws, cover=True)
    ws.write_string(0, 0, title, writer.title)
    toc = [(contents, None), *[(str(i), n) for i, n in enumerate(sheets, start=1)]]
    # constant memory: each row is written whole, left to right, before the next one
    for r in range(2, 2 + max(len(rows), len(toc) if sheets else 0)):
        if r - 2 < len(rows):
            label, value, boxed = rows[r - 2]
            if value is SIGN_HERE:
                ws.set_row(r, SIGN_ROW_HEIGHT)  # room to sign in
            elif isinstance(value, str) and display_width(value) > VALUE_WIDTH:
                # a wrapped sentence: its lines' height (not every reader sizes rows)
                lines = -(-display_width(value) // (VALUE_WIDTH - 2))
                ws.set_row(r, LINE_HEIGHT * lines)
            if label:
                ws.write_string(r, 0, label, writer.header if boxed else writer.title)
            if value is SIGN_HERE:
                ws.write_blank(r, 1, None, writer.sign)
            elif value is not None:
                _figure(writer, ws, r, value)
        if sheets and r - 2 < len(toc):
            number, sheet_name = toc[r - 2]
            if sheet_name is None:
                ws.write_string(r, 3, number, writer.title)
            else:
                ws.write_string(r, 3, number)
                quoted = sheet_name.replace("'", "''")
                ws.write_url(r, 4, f"internal:'{quoted}'!A1", string=sheet_name)


def _figure(writer: ReportWriter, ws: Any, r: int, value: Any) -> None:
    """One cover value in column B: a :class:`Figure` in its format ("—" for none)."""
    if isinstance(value, Figure):
        if value.value is None:
            ws.write_string(r, 1, "—")
        else:
            writer.value(ws, r, 1, value.value, value.kind)
    elif isinstance(value, str):  # a sentence (e.g. the as-of note) wraps in its column
        ws.write_string(r, 1, value, writer.wrap)
    else:
        writer.value(ws, r, 1, value)
