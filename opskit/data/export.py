"""A frame of ``opskit.data`` written to a file: CSV, Parquet or Excel (``opskit export``).

- **CSV**: UTF-8 with a byte-order mark (Excel and WPS then read Chinese right; pandas reads it
  with ``encoding="utf-8-sig"``), times in ISO form with their offset (``2026-11-26
  16:00:00+08:00``). Text that a spreadsheet would run as a formula (beginning with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return: an asset's name, an alert's message, a
  column named after a tag) gets a leading ``'``, the usual defence; numbers are left alone.
- **Parquet**: through pyarrow, an optional extra (``pip install opskit[parquet]``): its types
  kept (aware times, floats, integers), no escaping needed (no spreadsheet runs it).
- **Excel**: the one report writer (``opskit.xlsx.writer``: streaming, text always written as
  text, so never a formula), one sheet; times as Excel dates in the frame's time zone (named in
  the header, e.g. ``at (Asia/Shanghai)``), numbers as numbers. A sheet holds 1,048,575 rows
  and 16,384 columns: a larger frame is refused (use CSV or Parquet).

Each writer writes beside the destination and moves the file into place, so a failed export
never leaves half a file (``opskit.outputs``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from opskit.files import make_private
from opskit.outputs import check_output_path
from opskit.xlsx import writer as xlsx

FORMATS = ("csv", "parquet", "xlsx")
#: what a spreadsheet reads as the start of a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_ROWS = 1_048_575  # below the header row
XLSX_COLUMNS = 16_384


class ExportError(ValueError):
    """The frame cannot be written as asked (the message says why and what to do instead)."""


def format_of(path: Path, given: str | None) -> str:
    """The format asked, else the one the file's suffix names; ``ExportError`` for neither."""
    if given:
        return given
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise ExportError(
        f"{path.name}: give --format csv, parquet or xlsx (or a file name ending in one)"
    )


def safe_text(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _is_text(column: pd.Series[Any]) -> bool:
    return bool(pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column))


def escaped(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells and column names cannot run as formulas."""
    out = frame.copy()
    for name in out.columns:
        if _is_text(out[name]):
            out[name] = out[name].map(safe_text)
    out.columns = pd.Index([safe_text(str(c)) for c in out.columns], name=out.columns.name)
    if _is_text(out.index.to_series()):
        out.index = pd.Index(out.index.map(safe_text), name=out.index.name)
    return out


@contextlib.contextmanager
def _replacing(path: Path, suffix: str) -> Iterator[Path]:
    """A temporary file beside ``path``, moved onto it when the block ends without error."""
    target = check_output_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".export-", suffix=suffix, dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        make_private(tmp)  # readings, names and messages of the customer's machine room
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write(frame: pd.DataFrame, path: Path, fmt: str, sheet: str = "data") -> int:
    """Write ``frame`` (its index as the first column) to ``path`` as ``fmt``; the rows written."""
    if fmt == "csv":
        with _replacing(path, ".csv") as tmp:
            escaped(frame).to_csv(tmp, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S%z")
    elif fmt == "parquet":
        if importlib.util.find_spec("pyarrow") is None:
            raise ExportError(
                "Parquet needs pyarrow, which is not installed: "
                "pip install 'opskit[parquet]' (or write --format csv or xlsx)"
            )
        with _replacing(path, ".parquet") as tmp:
            frame.to_parquet(tmp, engine="pyarrow")
    elif fmt == "xlsx":
        _xlsx(frame, path, sheet)
    else:
        raise ExportError(f"{fmt!r}: expected one of {', '.join(FORMATS)}")
    return len(frame)


def _cells(column: pd.Series[Any]) -> tuple[str, list[Any]]:
    """A column as the writer's cell kind and plain Python values (``None`` for missing)."""
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        local = column.dt.tz_localize(None)
        return xlsx.DATETIME, [None if pd.isna(v) else v.to_pydatetime() for v in local]
    if pd.api.types.is_bool_dtype(column):
        return xlsx.TEXT, [None if pd.isna(v) else bool(v) for v in column]
    if pd.api.types.is_integer_dtype(column):
        return xlsx.INT, [None if pd.isna(v) else int(v) for v in column]
    if pd.api.types.is_float_dtype(column):
        return xlsx.NUMBER, [None if pd.isna(v) else float(v) for v in column]
    values = [None if v is None or (isinstance(v, float) and pd.isna(v)) else v for v in column]
    if any(isinstance(v, date) and not isinstance(v, datetime) for v in values):
        return xlsx.DATE, values
    return xlsx.TEXT, [None if v is None else str(v) for v in values]


def _xlsx(frame: pd.DataFrame, path: Path, sheet: str) -> None:
    if len(frame) > XLSX_ROWS or len(frame.columns) + 1 > XLSX_COLUMNS:
        raise ExportError(
            f"{len(frame):,} rows and {len(frame.columns) + 1:,} columns do not fit one Excel "
            f"sheet ({XLSX_ROWS:,} rows, {XLSX_COLUMNS:,} columns): write --format csv or "
            "parquet, or a shorter period"
        )
    table = frame.reset_index()
    columns, values = [], []
    for key, name in enumerate(table.columns):
        kind, cells = _cells(table[name])
        header = str(name)
        if isinstance(table[name].dtype, pd.DatetimeTZDtype):
            header = f"{header} ({table[name].dt.tz})"
        columns.append(xlsx.Col(f"c{key}", header, kind))
        values.append(cells)
    keys = [col.key for col in columns]
    rows = (dict(zip(keys, row, strict=True)) for row in zip(*values, strict=True))
    with xlsx.ReportWriter(path) as book:
        book.sheet(xlsx.Sheet(sheet, columns, rows))
