"""The one reader of imported workbooks: openpyxl read-only, rows in constant memory.

- :func:`open_workbook` opens a path, bytes or an upload stream (read where it lies, never
  copied into memory when it can seek) and says in the user's words why a file is not a
  workbook (:class:`WorkbookError`).
- :func:`sheet_rows` yields a read-only sheet's rows like ``iter_rows()`` but lets go of each
  row's XML once read, so a million-row sheet costs no more memory than a small one.
- :func:`display` is how a cell's value reads as text (in problems and round trips);
  :func:`is_blank` whether a cell counts as empty.
- :func:`release_memory` hands the heap a big import freed back to the system.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from flask_babel import gettext as _

from opskit import memory

if TYPE_CHECKING:
    from openpyxl.workbook import Workbook


class WorkbookError(Exception):
    """The file as a whole cannot be read (not an xlsx, empty, no known sheet)."""


def display(value: Any) -> str:
    """A cell value as text, as Excel shows it (whole floats without ".0", dates as ISO)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value))
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def is_blank(value: Any) -> bool:
    """No value, or only spaces."""
    return value is None or (isinstance(value, str) and not value.strip())


def open_workbook(source: bytes | str | Path | IO[bytes]) -> Workbook:
    """The workbook in openpyxl's read-only mode: rows are parsed as they are iterated.

    A path is opened by openpyxl itself; an upload stream is read where it lies (werkzeug
    spools big uploads to a temporary file), never copied into memory when it can seek.
    """
    if isinstance(source, str | Path):
        return _load(str(source), Path(source).stat().st_size == 0)
    stream: IO[bytes]
    if isinstance(source, bytes):
        stream = io.BytesIO(source)
    elif source.seekable():
        stream = source
    else:
        stream = io.BytesIO(source.read())
    stream.seek(0, io.SEEK_END)
    empty = stream.tell() == 0
    stream.seek(0)
    return _load(stream, empty)


def _load(file: str | IO[bytes], empty: bool) -> Workbook:
    if empty:
        raise WorkbookError(_("The file is empty."))
    if not zipfile.is_zipfile(file):
        raise WorkbookError(
            _(
                "This is not an Excel workbook (.xlsx). Open it in Excel or WPS and save it "
                "as “Excel workbook (*.xlsx)”."
            )
        )
    if not isinstance(file, str):
        file.seek(0)
    from openpyxl import load_workbook  # lazy: openpyxl costs ~0.4 s of every command's start

    try:
        return load_workbook(file, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken package
        raise WorkbookError(
            _(
                "This file cannot be read as an Excel workbook (.xlsx); it may be damaged or "
                "another format renamed to .xlsx."
            )
        ) from None


def sheet_rows(ws: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a read-only worksheet, like ``ws.iter_rows()`` but in constant memory.

    openpyxl's parser clears each row's XML element once read but leaves it in the sheet's
    element tree, and keeps the attributes of rows that have any (heights, styles): some 80 MB
    per million rows. This parser (rows only, which is all the import reads) removes each row's
    element and forgets its attributes. Falls back to ``iter_rows`` on an openpyxl whose
    internals differ from the 3.1 this was written for.
    """
    try:
        from openpyxl.worksheet import _reader  # lazy: openpyxl is loaded where a file is read

        # iterparse is the module's import of the XML parser, left out of openpyxl's stubs
        iterparse = _reader.iterparse  # type: ignore[attr-defined]
        row_tag, data_tag = _reader.ROW_TAG, _reader.DATA_TAG
        base, get_row, shared = _reader.WorkSheetParser, ws._get_row, ws._shared_strings
        book = ws.parent
        options = {
            "data_only": book.data_only,
            "epoch": book.epoch,
            "date_formats": book._date_formats,
            "timedelta_formats": book._timedelta_formats,
        }
    except (AttributeError, ImportError):
        yield from ws.iter_rows(values_only=False)
        return

    class RowParser(base):  # type: ignore[misc, valid-type]  # a base read from openpyxl at run time
        def parse(self) -> Iterator[tuple[int, list[dict[str, Any]]]]:
            sheet_data = None
            for event, element in iterparse(self.source, events=("start", "end")):
                if event == "start":
                    if element.tag == data_tag:
                        sheet_data = element
                    continue
                if element.tag == row_tag:
                    row = self.parse_row(element)
                    element.clear()
                    if sheet_data is not None:
                        sheet_data.remove(element)
                    self.row_dimensions.clear()
                    yield row

    with ws._get_source() as source:
        expected = 1
        for number, cells in RowParser(source, shared, **options).parse():
            while expected < number:  # rows missing from the file are blank
                expected += 1
                yield ()
            expected += 1
            yield get_row(cells)


def release_memory() -> None:
    """Hand the heap a big import freed back to the system (glibc keeps it otherwise)."""
    memory.release()
