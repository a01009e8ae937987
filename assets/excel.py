"""The registry's Excel format: template, reader/validator, importer and exporter.

One workbook, one sheet per table, in dependency order::

    资产 (assets)  →  网段 (prefixes)  →  IP地址 (addresses)  →  链路 (links)  →  通信线路 (lines)

Each sheet may be absent from an import; a present sheet needs its required columns. A header
is the Chinese label or the English key of a column (case-insensitive, after NFKC
normalisation, spaces ignored); the header row is the first row holding every required header,
so merged title rows above it are skipped. Unknown columns are ignored (and listed as
warnings). Enumerated columns take the Chinese label or the English key.

Specs of an asset: the columns CPU (``cpu``), 内存GB (``memory_gb``, a number), 磁盘
(``disks``) and 固件/系统 (``firmware``) are the well-known keys of ``Asset.specs``; any other
key goes in 其他规格 (``specs``) written as ``key=value; key=value`` (values are text).

Import = stream each sheet's rows (openpyxl read-only mode) in dependency order, check every
cell, and apply the valid rows through ``assets.services`` a batch of ``BATCH`` rows at a time,
all in one transaction; each problem is recorded with its sheet, row, column and value (the
first few of each kind kept for display, the rest counted); anything wrong (or a dry run) rolls
every batch back. Memory does not grow with the file: a batch's rows and ORM objects are let go
once it is flushed, and the checks across rows (duplicates, shared rack units) keep compact
per-row keys in a temporary SQLite file (``_Keys``). More than ``OPSKIT_IMPORT_MAX_ROWS`` data
rows are refused. Rows are upserted: assets by tag, prefixes by CIDR,
addresses by address, links by their ends, lines by the asset's tag. Values that do not change
are not written, so importing the same workbook twice leaves the audit log alone the second
time. Export writes the same layout, so export → import changes nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime as dt
import gc
import io
import re
import sqlite3
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload

from assets import services
from assets.models import (
    AddressStatus,
    Asset,
    AssetKind,
    AssetStatus,
    CommunicationLine,
    Importance,
    IPAddress,
    LabeledEnum,
    Link,
    LinkSource,
    Prefix,
    Rack,
    Room,
    Site,
)
from opskit import db
from opskit.validation import ValidationFailed

# --- the format -----------------------------------------------------------------------------

TEXT, CODE, INT, NUMBER, DATE, ENUM, SPECS = (
    "text",  # free text, kept as typed (stripped)
    "code",  # identifiers: NFKC-normalised (full-width → half-width), stripped
    "int",
    "number",
    "date",
    "enum",
    "specs",
)


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    type: str = TEXT
    required: bool = False
    enum: type[LabeledEnum] | None = None
    width: int = 14
    suffix: str = ""  # a unit the cell may carry, e.g. "42U"
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.zh}({self.key})"


@dataclass(frozen=True)
class SheetSpec:
    key: str
    zh: str
    columns: tuple[Column, ...]

    @property
    def required(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.required)

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)


SPEC_KEYS = ("cpu", "memory_gb", "disks", "firmware")

ASSETS = SheetSpec(
    "assets",
    "资产",
    (
        Column("asset_tag", "资产编号", CODE, required=True, width=16, aliases=("资产标签",)),
        Column("name", "名称", required=True, width=20),
        Column("kind", "类型", ENUM, required=True, enum=AssetKind, width=12),
        Column("vendor", "厂商"),
        Column("model", "型号", width=18),
        Column("serial", "序列号", CODE, width=18),
        Column("status", "状态", ENUM, enum=AssetStatus, width=10),
        Column("importance", "重要性", ENUM, enum=Importance, width=10),
        Column("owner", "责任人", width=10),
        Column("contact", "联系方式"),
        Column("site", "站点"),
        Column("room", "机房"),
        Column("rack", "机柜", width=10),
        Column("rack_u_height", "机柜高度U", INT, width=10, suffix="u"),
        Column("u_position", "起始U位", INT, width=10, suffix="u", aliases=("U位",)),
        Column("u_height", "高度U", INT, width=8, suffix="u", aliases=("高度",)),
        Column("mgmt_ip", "管理IP", CODE, width=16),
        Column("purchase_date", "购买日期", DATE, width=12),
        Column("warranty_end", "保修截止", DATE, width=12, aliases=("保修截止日期",)),
        Column("support_level", "服务级别", width=10),
        Column("cpu", "CPU", width=18),
        Column("memory_gb", "内存GB", NUMBER, width=10, suffix="gb", aliases=("内存",)),
        Column("disks", "磁盘", width=18),
        Column("firmware", "固件/系统", width=18, aliases=("固件", "系统")),
        Column("specs", "其他规格", SPECS, width=24),
        Column("notes", "备注", width=24),
    ),
)

PREFIXES = SheetSpec(
    "prefixes",
    "网段",
    (
        Column("cidr", "网段", CODE, required=True, width=20, aliases=("前缀",)),
        Column("vlan", "VLAN", INT, width=8),
        Column("purpose", "用途", width=20),
        Column("gateway", "网关", CODE, width=16),
        Column("site", "站点"),
        Column("notes", "备注", width=24),
    ),
)

ADDRESSES = SheetSpec(
    "addresses",
    "IP地址",
    (
        Column("address", "IP地址", CODE, required=True, width=18, aliases=("地址",)),
        Column("prefix", "所属网段", CODE, width=20),
        Column("status", "状态", ENUM, enum=AddressStatus, width=10),
        Column("asset_tag", "资产编号", CODE, width=16),
        Column("interface", "接口"),
        Column("hostname", "主机名", width=18),
        Column("mac", "MAC", CODE, width=18, aliases=("MAC地址",)),
        Column("notes", "备注", width=24),
    ),
)

LINKS = SheetSpec(
    "links",
    "链路",
    (
        Column("a_asset_tag", "A端资产编号", CODE, required=True, width=16),
        Column("a_port", "A端端口", CODE, required=True),
        Column("b_asset_tag", "B端资产编号", CODE, required=True, width=16),
        Column("b_port", "B端端口", CODE, required=True),
        Column("medium", "介质", width=10),
        Column("source", "来源", ENUM, enum=LinkSource, width=10),
        Column("notes", "备注", width=24),
    ),
)

LINES = SheetSpec(
    "lines",
    "通信线路",
    (
        Column("asset_tag", "资产编号", CODE, required=True, width=16),
        Column("circuit_id", "电路编号", CODE, required=True, width=18),
        Column("carrier", "运营商", width=12),
        Column("bandwidth_mbps", "带宽Mbps", INT, width=10, suffix="mbps", aliases=("带宽",)),
        Column("a_end", "A端", width=24),
        Column("z_end", "Z端", width=24),
    ),
)

SHEETS: tuple[SheetSpec, ...] = (ASSETS, PREFIXES, ADDRESSES, LINKS, LINES)
HELP_SHEET = "说明"
HEADER_SEARCH_ROWS = 30
BATCH = 1000  # rows checked and written (flushed) together


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def _header_key(text: str) -> str:
    return re.sub(r"\s+", "", _nfkc(text)).casefold()


def _name_key(text: str) -> str:
    """How site/room/rack names are compared: full-width and case do not matter."""
    return re.sub(r"\s+", " ", _nfkc(text)).casefold()


def _header_map(spec: SheetSpec) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for col in spec.columns:
        for name in (col.zh, col.key, *col.aliases):
            out.setdefault(_header_key(name), col)
    return out


def _sheet_lookup() -> dict[str, SheetSpec]:
    out: dict[str, SheetSpec] = {}
    for spec in SHEETS:
        out[_header_key(spec.zh)] = spec
        out[_header_key(spec.key)] = spec
    return out


# --- problems and results -------------------------------------------------------------------


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
    counts: dict[str, Counter] = field(default_factory=dict)
    #: human-readable paths of the sites, rooms and racks this import created (the first ones)
    created_locations: list[str] = field(default_factory=list)
    created_locations_more: int = 0
    #: data rows read (all sheets); refused past ``max_rows``
    rows_read: int = 0
    max_rows: int = DEFAULT_MAX_ROWS
    dry_run: bool = False
    committed: bool = False
    _kinds: Counter = field(default_factory=Counter, repr=False)
    _shown_per_column: Counter = field(default_factory=Counter, repr=False)

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


class WorkbookError(Exception):
    """The file as a whole cannot be read (not an xlsx, empty, no known sheet)."""


class _TooManyRows(Exception):
    """The workbook has more data rows than one import takes (the problem is recorded)."""


def import_max_rows() -> int:
    """``OPSKIT_IMPORT_MAX_ROWS`` (app config ``IMPORT_MAX_ROWS`` overrides it)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        return DEFAULT_MAX_ROWS
    if "IMPORT_MAX_ROWS" in current_app.config:
        return int(current_app.config["IMPORT_MAX_ROWS"])
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "import_max_rows", DEFAULT_MAX_ROWS))


# --- reading --------------------------------------------------------------------------------


def _display(value: Any) -> str:
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


def _allowed(enum_cls: type[LabeledEnum]) -> str:
    labels = enum_cls.zh_labels()
    if str(get_locale() or "").startswith("zh"):
        return "、".join(labels.values())
    return ", ".join(f"{key} ({zh})" for key, zh in labels.items())


def _enum_lookup(enum_cls: type[LabeledEnum]) -> dict[str, str]:
    out = {}
    for key, zh in enum_cls.zh_labels().items():
        out[_header_key(key)] = key
        out[_header_key(zh)] = key
    return out


_ENUM_LOOKUPS: dict[type, dict[str, str]] = {}
_DATE_RES = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_EXCEL_EPOCH = dt.date(1899, 12, 30)


class CellError(ValueError):
    pass


def _to_int(col: Column, value: Any) -> int:
    number = _to_number(col, value, whole=True)
    return int(number)


def _to_number(col: Column, value: Any, whole: bool = False) -> int | float:
    expected = _("is not a whole number") if whole else _("is not a number")
    if isinstance(value, bool | dt.date):
        raise CellError(expected)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if whole and not value.is_integer():
            raise CellError(expected)
        return int(value) if value.is_integer() else value
    text = _nfkc(str(value)).replace(",", "").replace(" ", "")
    if col.suffix and text.casefold().endswith(col.suffix):
        text = text[: -len(col.suffix)]
    try:
        number = float(text) if re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", text) else None
    except ValueError:
        number = None
    if number is None or (whole and not number.is_integer()):
        raise CellError(expected)
    return int(number) if number.is_integer() else number


def _to_date(value: Any) -> dt.date:
    expected = _("is not a date (write it like 2027-06-30)")
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, bool):
        raise CellError(expected)
    if isinstance(value, int | float):
        if 1 <= value < 2958466 and float(value).is_integer():
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        raise CellError(expected)
    text = _nfkc(str(value)).replace(" ", " ")
    for pattern in _DATE_RES:
        match = pattern.match(text)
        if match:
            try:
                return dt.date(int(match[1]), int(match[2]), int(match[3]))
            except ValueError:
                break
    raise CellError(expected)


def _to_enum(col: Column, value: Any) -> str:
    assert col.enum is not None
    lookup = _ENUM_LOOKUPS.get(col.enum)
    if lookup is None:
        lookup = _ENUM_LOOKUPS[col.enum] = _enum_lookup(col.enum)
    found = lookup.get(_header_key(_display(value)))
    if found is None:
        raise CellError(_("is not an allowed value (%(allowed)s)", allowed=_allowed(col.enum)))
    return found


def parse_specs(text: str) -> dict[str, str]:
    """``cpu=2x Xeon; raid=RAID5`` → dict (``;``, ``；`` or new lines between pairs)."""
    out: dict[str, str] = {}
    for part in re.split(r"[;；\n]+", text):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            key, sep, value = part.partition("＝")
        if not sep or not key.strip():
            raise CellError(_("write other specs as key=value; key=value"))
        out[_nfkc(key)] = value.strip()
    return out


def format_specs(specs: dict[str, Any]) -> str:
    return "; ".join(f"{k}={_display(v)}" for k, v in specs.items() if k not in SPEC_KEYS)


def _convert(col: Column, value: Any) -> Any:
    """Cell value → typed value (None for blank); raises CellError with what was expected."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "" if col.type in (TEXT, CODE) else None
    if col.type == TEXT:
        return _display(value).strip()
    if col.type == CODE:
        return _nfkc(_display(value))
    if col.type == INT:
        return _to_int(col, value)
    if col.type == NUMBER:
        return _to_number(col, value)
    if col.type == DATE:
        return _to_date(value)
    if col.type == ENUM:
        return _to_enum(col, value)
    if col.type == SPECS:
        return parse_specs(_display(value))
    raise AssertionError(col.type)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _open_workbook(source: bytes | str | Path | IO[bytes]):
    """The workbook in openpyxl's read-only mode: rows are parsed as they are iterated.

    A path is opened by openpyxl itself; an upload stream is read where it lies (werkzeug
    spools big uploads to a temporary file), never copied into memory when it can seek.
    """
    if isinstance(source, str | Path):
        return _load(str(source), Path(source).stat().st_size == 0)
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


def _load(file: str | IO[bytes], empty: bool):
    from openpyxl import load_workbook

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
    try:
        return load_workbook(file, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds for a broken package
        raise WorkbookError(
            _(
                "This file cannot be read as an Excel workbook (.xlsx); it may be damaged or "
                "another format renamed to .xlsx."
            )
        ) from None


def _find_header(
    rows: list[tuple], spec: SheetSpec, headers: dict[str, Column]
) -> tuple[int | None, dict[str, int], list[str], dict[str, list[int]]]:
    """(0-based header row index or None, key → column index, unknown headers, duplicates)."""
    best: tuple[int, int] = (-1, 0)  # (row index, matches)
    required = {c.key for c in spec.required}
    for index, row in enumerate(rows):
        found: set[str] = set()
        for value in row:
            if isinstance(value, str):
                col = headers.get(_header_key(value))
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
        if _is_blank(value):
            continue
        col = headers.get(_header_key(str(value))) if isinstance(value, str) else None
        if col is None:
            unknown.append(_display(value))
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


class _Sheet:
    """One import sheet: its header row and the stream of its data rows, each checked."""

    def __init__(
        self,
        spec: SheetSpec,
        title: str,
        present: dict[str, int],
        header_row: int,
        rows: Iterator[tuple[int, tuple]],
    ) -> None:
        from openpyxl.utils import get_column_letter

        self.spec = spec
        self.title = title
        self.present = present  # column key → 0-based index
        self.header_row = header_row
        self._rows = rows
        self._letters = {k: get_column_letter(i + 1) for k, i in present.items()}

    def has(self, key: str) -> bool:
        return key in self.present

    def letter(self, key: str) -> str:
        return self._letters.get(key, "")

    def cell(self, key: str, number: int) -> str:
        return f"{self._letters[key]}{number}" if key in self._letters else ""

    def rows(self, result: ImportResult) -> Iterator[Row]:
        """Non-blank data rows, converted; cell problems go to ``result`` as they are found.

        Raises _TooManyRows (after recording the problem) once the workbook's data rows pass
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
                if _is_blank(value):
                    values[col.key] = _convert(col, None)
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
                        raise _TooManyRows
                raw[col.key] = _display(value)
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
                            _display(value) if isinstance(value, str) else "",
                            _(
                                "contains a formula; type the value itself "
                                "(formulas are not imported)"
                            ),
                            self.cell(col.key, number),
                        )
                    )
                    continue
                try:
                    values[col.key] = _convert(col, value)
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


def _sheet_rows(ws: Any) -> Iterator[tuple]:
    """The rows of a read-only worksheet, like ``ws.iter_rows()`` but in constant memory.

    openpyxl's parser clears each row's XML element once read but leaves it in the sheet's
    element tree, and keeps the attributes of rows that have any (heights, styles): some 80 MB
    per million rows. This parser (rows only, which is all the import reads) removes each row's
    element and forgets its attributes. Falls back to ``iter_rows`` on an openpyxl whose
    internals differ from the 3.1 this was written for.
    """
    try:
        from openpyxl.worksheet import _reader

        row_tag, data_tag, iterparse = _reader.ROW_TAG, _reader.DATA_TAG, _reader.iterparse
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

    class RowParser(base):  # type: ignore[misc, valid-type]
        def parse(self) -> Iterator[tuple[int, list]]:
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


def _open_sheet(spec: SheetSpec, ws: Any, result: ImportResult) -> _Sheet | None:
    """Find the header row among the first rows; None for an empty sheet or a bad header."""
    from openpyxl.utils import get_column_letter

    ws.reset_dimensions()  # do not trust the declared size
    headers = _header_map(spec)
    cells_iter: Iterator[tuple] = _sheet_rows(ws)
    head: list[tuple] = []
    head_cells: list[tuple] = []
    for cells in cells_iter:
        head_cells.append(cells)
        head.append(tuple(getattr(c, "value", None) for c in cells))
        if len(head) >= HEADER_SEARCH_ROWS:
            break
    if not any(not _is_blank(v) for r in head for v in r):
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
                    letters="、".join(get_column_letter(p + 1) for p in positions),
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

    def all_rows() -> Iterator[tuple[int, tuple]]:
        yield from enumerate(head_cells[header_row:], start=header_row + 1)
        head_cells.clear()
        yield from enumerate(cells_iter, start=read + 1)

    return _Sheet(spec, ws.title, present, header_row, all_rows())


def _canonical(parse: Any, text: str) -> str:
    try:
        return str(parse(text)) if text else ""
    except ValueError:
        return ""


class _Keys:
    """The per-row keys of the file seen so far, for checks across rows while streaming.

    Tags, rack units, prefixes, addresses, link ends and circuit ids of every row read so far,
    each with its row number and the value as typed. A million rows' worth of Python sets and
    dicts would cost hundreds of MB, so they live in a private temporary SQLite database (SQLite
    deletes it when it is closed) with an 8 MiB page cache: memory does not grow with the file.
    """

    REPORTED = 1  # a duplicate: the first row was reported too
    BAD = 2  # an asset row that failed: rows naming its tag are not reported again

    def __init__(self) -> None:
        self.db = sqlite3.connect("", isolation_level=None)  # "": private on-disk temp database
        for pragma in ("cache_size=-8192", "journal_mode=OFF", "synchronous=OFF"):
            self.db.execute(f"PRAGMA {pragma}")
        self.db.execute(
            "CREATE TABLE k (kind TEXT, key TEXT, row INTEGER, raw TEXT, flag INTEGER,"
            " PRIMARY KEY (kind, key)) WITHOUT ROWID"
        )

    def __enter__(self) -> _Keys:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.db.close()

    def find(self, kind: str, keys: Iterable[str]) -> dict[str, list]:
        """key → [row, raw, flag] of the keys already stored."""
        out: dict[str, list] = {}
        for chunk in _chunks(list(keys)):
            marks = ",".join("?" * len(chunk))
            for key, row, raw, flag in self.db.execute(
                f"SELECT key, row, raw, flag FROM k WHERE kind = ? AND key IN ({marks})",  # noqa: S608 - placeholders only
                (kind, *chunk),
            ):
                out[key] = [row, raw, flag]
        return out

    def add(self, kind: str, items: Iterable[tuple[str, int, str, int]]) -> None:
        """Store (key, row, raw, flag) items; a key already stored keeps its first row."""
        self.db.executemany(
            "INSERT OR IGNORE INTO k VALUES (?, ?, ?, ?, ?)",
            ((kind, key, row, raw, flag) for key, row, raw, flag in items),
        )

    def flag(self, kind: str, keys: Iterable[str], bit: int) -> None:
        self.db.executemany(
            "UPDATE k SET flag = flag | ? WHERE kind = ? AND key = ?",
            ((bit, kind, key) for key in keys),
        )

    def flagged(self, kind: str, keys: Iterable[str], bit: int) -> set[str]:
        return {key for key, (_row, _raw, flag) in self.find(kind, keys).items() if flag & bit}


def _release_memory() -> None:
    """Hand the heap a big import freed back to the system (glibc keeps it otherwise)."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        ctypes.CDLL(None).malloc_trim(0)


# --- importing ------------------------------------------------------------------------------


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


RACK_CACHE = 5000  # rack names remembered (by room); past it the cache starts over
LOCATIONS = (Site, Room, Rack)  # kept in the session across batches (see end_batch)


class _Importer:
    """Applies the workbook's rows, batch by batch, through the services in one transaction.

    Nothing is kept from one batch to the next but compact keys: the per-row keys of the file
    in ``keys`` (on disk) and the ids of sites, rooms and racks by name. After each batch the
    session is flushed and the batch's objects leave it, so memory does not grow with the file.
    """

    def __init__(self, result: ImportResult, keys: _Keys) -> None:
        self.result = result
        self.keys = keys
        self.sess = db.session()
        # objects the caller already had in the session stay there; the import's own objects
        # are expunged after every batch
        self.kept = list(self.sess.identity_map.values())
        self.kept_ids = {id(obj) for obj in self.kept}
        self.sites: dict[str, int] = {}
        self.rooms: dict[tuple[str, str], int] = {}
        self.racks: dict[tuple[str, str, str], int] = {}
        self.rack_rooms: set[int] = set()  # rooms whose racks are all in self.racks

    # problems

    def problem(self, sheet: _Sheet, row: Row, key: str, message: str) -> None:
        row.failed = True
        col = sheet.spec.column(key)
        self.result.add_problem(
            Problem(
                sheet.title,
                row.number,
                col.label,
                row.raw.get(key, ""),
                message,
                sheet.cell(key, row.number),
            )
        )

    def failed(self, sheet: _Sheet, row: Row, exc: ValidationFailed, fallback: str) -> None:
        keys = {c.key for c in sheet.spec.columns}
        for fld, messages in exc.errors.items():
            key = fld if fld in keys and sheet.has(fld) else fallback
            for message in messages:
                self.problem(sheet, row, key, message)

    def unique(self, sheet: _Sheet, rows: list[Row], column: str, key_of: Any) -> None:
        """The same key on two rows of the sheet: report both (every later one, too)."""
        kind = f"{sheet.spec.key}.{column}"
        keyed = [(row, key) for row in rows for key in dict.fromkeys(key_of(row.values)) if key]
        if not keyed:
            return
        seen: dict[str, list] = self.keys.find(kind, {key for _row, key in keyed})
        stored = set(seen)
        batch_rows: dict[int, Row] = {}
        col = sheet.spec.column(column)
        for row, key in keyed:
            first = seen.get(key)
            if first is None:
                seen[key] = [row.number, row.raw.get(column, ""), 0]
                batch_rows[row.number] = row
                continue
            number, raw, flag = first
            numbers = f"{number}、{row.number}"
            message = _("appears more than once in this file (rows %(rows)s)", rows=numbers)
            if not flag & _Keys.REPORTED:
                first[2] = flag | _Keys.REPORTED
                if number in batch_rows:
                    batch_rows[number].failed = True
                self.result.add_problem(
                    Problem(
                        sheet.title, number, col.label, raw, message, sheet.cell(column, number)
                    )
                )
            row.failed = True
            self.result.add_problem(
                Problem(
                    sheet.title,
                    row.number,
                    col.label,
                    row.raw.get(column, ""),
                    message,
                    sheet.cell(column, row.number),
                )
            )
        self.keys.add(kind, ((k, v[0], v[1], v[2]) for k, v in seen.items() if k not in stored))
        self.keys.flag(kind, [k for k in stored if seen[k][2] & _Keys.REPORTED], _Keys.REPORTED)

    # lookups

    def preload(self) -> None:
        sess = self.sess
        site_keys: dict[int, str] = {}
        for site_id, name in sess.execute(select(Site.id, Site.name).order_by(Site.id)):
            self.sites.setdefault(_name_key(name), site_id)
            site_keys[site_id] = _name_key(name)
        for room_id, site_id, name in sess.execute(
            select(Room.id, Room.site_id, Room.name).order_by(Room.id)
        ):
            if site_id in site_keys:
                self.rooms.setdefault((site_keys[site_id], _name_key(name)), room_id)

    def assets_by_tag(self, tags: Iterable[str], *options: Any) -> dict[str, Asset]:
        found: dict[str, Asset] = {}
        for chunk in _chunks(sorted({t for t in tags if t})):
            query = select(Asset).where(Asset.asset_tag.in_(chunk))
            for asset in self.sess.scalars(query.options(*options)):
                found[asset.asset_tag] = asset
        return found

    def bad_tags(self, tags: Iterable[str]) -> set[str]:
        """Tags whose own asset row failed (only once something has failed)."""
        if self.result.ok:
            return set()
        return self.keys.flagged("assets.asset_tag", {t for t in tags if t}, _Keys.BAD)

    def site(self, name: str) -> Site:
        key = _name_key(name)
        site_id = self.sites.get(key)
        if site_id is not None:
            return self.sess.get(Site, site_id)
        site, _created = services.get_or_create_site(name)
        self.sess.flush()
        self.sites[key] = site.id
        self.result.created_location(_("New site: %(name)s", name=site.name))
        return site

    def room(self, site: Site, name: str) -> Room:
        key = (_name_key(site.name), _name_key(name))
        room_id = self.rooms.get(key)
        if room_id is not None:
            return self.sess.get(Room, room_id)
        room, _created = services.get_or_create_room(site, name)
        self.sess.flush()
        self.rooms[key] = room.id
        self.result.created_location(
            _("New room: %(site)s / %(name)s", site=site.name, name=room.name)
        )
        return room

    def rack(self, room: Room, name: str, height: int | None) -> Rack:
        room_key = (_name_key(room.site.name), _name_key(room.name))
        key = (*room_key, _name_key(name))
        rack_id = self.racks.get(key)
        if rack_id is None and room.id not in self.rack_rooms:
            if len(self.racks) > RACK_CACHE:
                self.racks.clear()
                self.rack_rooms.clear()
            for found_id, found_name in self.sess.execute(
                select(Rack.id, Rack.name).where(Rack.room_id == room.id).order_by(Rack.id)
            ):
                self.racks.setdefault((*room_key, _name_key(found_name)), found_id)
            self.rack_rooms.add(room.id)
            rack_id = self.racks.get(key)
        if rack_id is not None:
            return self.sess.get(Rack, rack_id)
        rack, _created = services.get_or_create_rack(room, name, height)
        self.sess.flush()
        self.racks[key] = rack.id
        self.result.created_location(
            _(
                "New rack: %(site)s / %(room)s / %(name)s (%(height)d U)",
                site=room.site.name,
                room=room.name,
                name=rack.name,
                height=rack.u_height,
            )
        )
        return rack

    def count(self, sheet: _Sheet, what: str) -> None:
        self.result.counts.setdefault(sheet.spec.zh, Counter())[what] += 1

    def end_batch(self) -> None:
        """Write the batch (inside the transaction) and let go of its objects.

        Sites, rooms and racks stay: they are few (a rack holds dozens of rows), and a row of a
        later batch links to them again; let go, a rack's room would come back as a second copy
        of the same row ("another instance with key ... is already present in this session").
        """
        self.sess.flush()
        for obj in list(self.sess.identity_map.values()):
            if isinstance(obj, LOCATIONS) or id(obj) in self.kept_ids:
                continue
            if obj in self.sess:  # cascades expunge some
                self.sess.expunge(obj)

    # assets

    def _location(self, sheet: _Sheet, row: Row) -> tuple[Room | None, Rack | None] | None:
        v = row.values
        site_name, room_name, rack_name = v.get("site", ""), v.get("room", ""), v.get("rack", "")
        if not (site_name or room_name or rack_name):
            return None, None
        if not room_name:
            self.problem(
                sheet,
                row,
                "room" if sheet.has("room") else ("rack" if rack_name else "site"),
                _("name the room (机房) as well"),
            )
            return None
        if not site_name:
            candidates = [r for k, r in self.rooms.items() if k[1] == _name_key(room_name)]
            if len(candidates) == 1:
                site = self.sess.get(Room, candidates[0]).site
            elif not candidates and len(self.sites) == 1:
                site = self.sess.get(Site, next(iter(self.sites.values())))
            else:
                self.problem(sheet, row, "room", _("name the site (站点) of this room as well"))
                return None
        else:
            site = self.site(site_name)
        room = self.room(site, room_name)
        if not rack_name:
            if v.get("rack_u_height") is not None:
                self.problem(sheet, row, "rack_u_height", _("a rack height needs a rack (机柜)"))
                return None
            return room, None
        height = v.get("rack_u_height")
        if height is not None and not 1 <= height <= 60:
            self.problem(sheet, row, "rack_u_height", _("A rack is 1 to 60 U high."))
            return None
        rack = self.rack(room, rack_name, height)
        if height is not None and rack.u_height != height:
            self.problem(
                sheet,
                row,
                "rack_u_height",
                _(
                    "rack %(rack)s is %(height)d U high; change the rack itself to change it",
                    rack=rack.name,
                    height=rack.u_height,
                ),
            )
            return None
        return room, rack

    @staticmethod
    def _asset_state(asset: Asset) -> tuple:
        return (
            asset.asset_tag,
            asset.name,
            asset.kind,
            asset.vendor,
            asset.model,
            asset.serial,
            asset.status,
            asset.importance,
            asset.owner,
            asset.contact,
            id(asset.room),
            id(asset.rack),
            asset.u_position,
            asset.u_height,
            asset.mgmt_ip,
            asset.purchase_date,
            asset.warranty_end,
            asset.support_level,
            dict(asset.specs or {}),
            asset.notes,
        )

    def _file_overlaps(self, sheet: _Sheet, rows: list[Row], existing: dict[str, Asset]) -> None:
        """Two rows of the file in the same rack units: report the later row."""
        if not (sheet.has("rack") and sheet.has("u_position")):
            return
        wanted_by_row: list[tuple[Row, str, range]] = []
        for row in rows:
            v = row.values
            if row.failed or not v.get("rack") or v.get("u_position") is None:
                continue
            asset = existing.get(v.get("asset_tag") or "")
            height = v.get("u_height")
            if height is None:
                height = asset.u_height if asset is not None else 1
            wanted = range(v["u_position"], v["u_position"] + max(height, 0))
            if not wanted or wanted.start < 1 or wanted.stop > 61:
                continue  # outside any rack: the services say so
            rack = "\x1f".join(
                (_name_key(v.get("site", "")), _name_key(v.get("room", "")), _name_key(v["rack"]))
            )
            wanted_by_row.append((row, rack, wanted))
        taken = self.keys.find(
            "unit", {f"{rack}\x1f{u}" for _row, rack, wanted in wanted_by_row for u in wanted}
        )
        fresh: list[tuple[str, int, str, int]] = []
        for row, rack, wanted in wanted_by_row:
            clash = next((u for u in wanted if f"{rack}\x1f{u}" in taken), None)
            if clash is not None:
                other_row, other_tag, _flag = taken[f"{rack}\x1f{clash}"]
                self.problem(
                    sheet,
                    row,
                    "u_position",
                    _(
                        "U%(unit)d of rack %(rack)s is also taken by %(tag)s on row %(row)d",
                        unit=clash,
                        rack=row.values["rack"],
                        tag=other_tag,
                        row=other_row,
                    ),
                )
                continue
            tag = row.values.get("asset_tag") or ""
            for u in wanted:
                taken[f"{rack}\x1f{u}"] = [row.number, tag, 0]
                fresh.append((f"{rack}\x1f{u}", row.number, tag, 0))
        self.keys.add("unit", fresh)

    def assets_batch(self, sheet: _Sheet, rows: list[Row]) -> None:
        text_fields = ("vendor", "model", "serial", "owner", "contact", "support_level", "notes")
        location_given = any(sheet.has(k) for k in ("site", "room", "rack"))
        spec_columns = [k for k in SPEC_KEYS if sheet.has(k)]
        self.unique(sheet, rows, "asset_tag", lambda v: [v.get("asset_tag")])
        existing = self.assets_by_tag(
            (r.values.get("asset_tag") for r in rows if not r.failed),
            selectinload(Asset.units),
            selectinload(Asset.line),
        )
        self._file_overlaps(sheet, rows, existing)
        pending: list[tuple[Row, dict[str, Any]]] = []
        for row in rows:
            v = row.values
            tag = v.get("asset_tag") or ""
            if row.failed:
                continue
            asset = existing.get(tag)
            before = self._asset_state(asset) if asset is not None else None
            values: dict[str, Any] = {"asset_tag": tag, "name": v["name"], "kind": v["kind"]}
            for key in ("status", "importance"):
                if v.get(key):
                    values[key] = v[key]
            for key in text_fields:
                if sheet.has(key):
                    values[key] = v[key]
            for key in ("mgmt_ip", "purchase_date", "warranty_end", "u_position"):
                if sheet.has(key):
                    values[key] = v[key] or None
            if sheet.has("u_height") and v.get("u_height") is not None:
                values["u_height"] = v["u_height"]
            if spec_columns or sheet.has("specs"):
                specs = dict(asset.specs or {}) if asset is not None else {}
                if sheet.has("specs"):
                    specs = {k: val for k, val in specs.items() if k in SPEC_KEYS}
                    specs.update(v.get("specs") or {})
                for key in spec_columns:
                    if v.get(key) in (None, ""):
                        specs.pop(key, None)
                    else:
                        specs[key] = v[key]
                values["specs"] = specs
            if location_given:
                location = self._location(sheet, row)
                if location is None:
                    continue
                values["room"], values["rack"] = location
            if asset is None:  # new assets go in one flush per batch
                pending.append((row, values))
                continue
            try:
                # Every asset is flushed by the service itself; in-file overlaps were found
                # above, so the queries need not flush the previous row's units first.
                with self.sess.no_autoflush:
                    saved = services.save_asset(values, asset)
            except ValidationFailed as exc:
                self.failed(sheet, row, exc, "asset_tag")
                self.sess.expire(asset)
                continue
            self.count(sheet, "updated" if self._asset_state(saved) != before else "unchanged")
        if pending:
            results = services.add_assets([values for _row, values in pending])
            for (row, _values), outcome in zip(pending, results, strict=True):
                if isinstance(outcome, ValidationFailed):
                    self.failed(sheet, row, outcome, "asset_tag")
                else:
                    self.count(sheet, "created")
        failed = [r.values.get("asset_tag") for r in rows if r.failed and r.values.get("asset_tag")]
        if failed:
            self.keys.flag("assets.asset_tag", failed, _Keys.BAD)

    # prefixes and addresses

    def prefixes_batch(self, sheet: _Sheet, rows: list[Row]) -> None:
        self.unique(
            sheet, rows, "cidr", lambda v: [_canonical(services.parse_network, v.get("cidr", ""))]
        )
        cidrs: dict[int, str] = {}
        for row in rows:
            if row.failed:
                continue
            try:
                cidrs[row.number] = str(services.parse_network(row.values["cidr"]))
            except ValueError as exc:
                self.problem(sheet, row, "cidr", str(exc))
        prefixes = self.prefixes_by_cidr(cidrs.values())
        for row in rows:
            if row.failed:
                continue
            v = row.values
            cidr = cidrs[row.number]
            prefix = prefixes.get(cidr)
            before = self._prefix_state(prefix) if prefix is not None else None
            values: dict[str, Any] = {"cidr": cidr}
            for key in ("purpose", "notes"):
                if sheet.has(key):
                    values[key] = v[key]
            for key in ("vlan", "gateway"):
                if sheet.has(key):
                    values[key] = v[key] or None
            if sheet.has("site"):
                values["site"] = self.site(v["site"]) if v["site"] else None
            try:
                with self.sess.no_autoflush:
                    saved = services.save_prefix(values, prefix)
            except ValidationFailed as exc:
                self.failed(sheet, row, exc, "cidr")
                continue
            prefixes[saved.cidr] = saved
            if before is None:
                self.count(sheet, "created")
            else:
                self.count(sheet, "updated" if self._prefix_state(saved) != before else "unchanged")

    def prefixes_by_cidr(self, cidrs: Iterable[str]) -> dict[str, Prefix]:
        found: dict[str, Prefix] = {}
        for chunk in _chunks(sorted(set(cidrs))):
            for prefix in self.sess.scalars(select(Prefix).where(Prefix.cidr.in_(chunk))):
                found[prefix.cidr] = prefix
        return found

    @staticmethod
    def _prefix_state(prefix: Prefix) -> tuple:
        return (
            prefix.cidr,
            prefix.vlan,
            prefix.purpose,
            prefix.gateway,
            id(prefix.site),
            prefix.notes,
        )

    @staticmethod
    def _address_state(address: IPAddress) -> tuple:
        return (
            address.address,
            id(address.prefix),
            address.status,
            id(address.asset),
            address.interface,
            address.hostname,
            address.mac,
            address.notes,
        )

    def _asset_ref(
        self, sheet: _Sheet, row: Row, key: str, assets: dict[str, Asset], bad: set[str]
    ) -> Asset | bool | None:
        """The asset named in column ``key``; False when it is unknown (reported) or broken."""
        tag = row.values.get(key) or ""
        if not tag:
            return None
        if tag in bad:
            row.failed = True
            return False  # its own row already carries the problem
        asset = assets.get(tag)
        if asset is None:
            self.problem(
                sheet,
                row,
                key,
                _("no asset has this tag (register it on the 资产 sheet or in opskit first)"),
            )
            return False
        return asset

    def _refs(self, rows: list[Row], *columns: str, line: bool = False) -> tuple[dict, set]:
        tags = {r.values.get(c) or "" for r in rows if not r.failed for c in columns}
        options = (selectinload(Asset.line),) if line else ()
        return self.assets_by_tag(tags, *options), self.bad_tags(tags)

    def addresses_batch(self, sheet: _Sheet, rows: list[Row]) -> None:
        self.unique(
            sheet, rows, "address", lambda v: [_canonical(services.parse_ip, v.get("address", ""))]
        )
        wanted: dict[str, Row] = {}
        for row in rows:
            if row.failed:
                continue
            try:
                ip = str(services.parse_ip(row.values["address"]))
            except ValueError as exc:
                self.problem(sheet, row, "address", str(exc))
                continue
            wanted[ip] = row
        existing: dict[str, IPAddress] = {}
        for chunk in _chunks(list(wanted)):
            for address in self.sess.scalars(select(IPAddress).where(IPAddress.address.in_(chunk))):
                existing[address.address] = address
        prefixes = self.prefixes_by_cidr(
            _canonical(services.parse_network, r.values.get("prefix") or "")
            for r in wanted.values()
        )
        assets, bad = self._refs(list(wanted.values()), "asset_tag")
        for ip, row in wanted.items():
            v = row.values
            address = existing.get(ip)
            before = self._address_state(address) if address is not None else None
            values: dict[str, Any] = {"address": ip}
            if v.get("prefix"):
                try:
                    cidr = str(services.parse_network(v["prefix"]))
                except ValueError as exc:
                    self.problem(sheet, row, "prefix", str(exc))
                    continue
                prefix = prefixes.get(cidr)
                if prefix is None:
                    self.problem(
                        sheet,
                        row,
                        "prefix",
                        _("this prefix is not registered (add it on the 网段 sheet)"),
                    )
                    continue
                values["prefix"] = prefix
            if v.get("status"):
                values["status"] = v["status"]
            for key in ("interface", "hostname", "notes"):
                if sheet.has(key):
                    values[key] = v[key]
            if sheet.has("mac"):
                values["mac"] = v["mac"] or None
            if sheet.has("asset_tag"):
                asset = self._asset_ref(sheet, row, "asset_tag", assets, bad)
                if asset is False:
                    continue
                values["asset"] = asset
            try:
                with self.sess.no_autoflush:
                    saved = services.save_address(values, address)
            except ValidationFailed as exc:
                self.failed(sheet, row, exc, "address")
                continue
            if before is None:
                self.count(sheet, "created")
            else:
                self.count(
                    sheet, "updated" if self._address_state(saved) != before else "unchanged"
                )

    # links and lines

    def links_batch(self, sheet: _Sheet, rows: list[Row]) -> None:
        def ends_of(v: dict[str, Any]) -> list:
            return [
                f"{v.get('a_asset_tag')}\x1f{v['a_port']}" if v.get("a_port") else None,
                f"{v.get('b_asset_tag')}\x1f{v['b_port']}" if v.get("b_port") else None,
            ]

        self.unique(sheet, rows, "a_port", ends_of)
        assets, bad = self._refs(rows, "a_asset_tag", "b_asset_tag")
        ids = sorted({a.id for a in assets.values()})
        ends: dict[tuple[int, str], Link] = {}
        for chunk in _chunks(ids):
            for link in self.sess.scalars(
                select(Link).where(Link.a_asset_id.in_(chunk) | Link.b_asset_id.in_(chunk))
            ):
                ends[(link.a_asset_id, link.a_port)] = link
                ends[(link.b_asset_id, link.b_port)] = link
        for row in rows:
            if row.failed:
                continue
            v = row.values
            a = self._asset_ref(sheet, row, "a_asset_tag", assets, bad)
            b = self._asset_ref(sheet, row, "b_asset_tag", assets, bad)
            if not isinstance(a, Asset) or not isinstance(b, Asset):
                continue
            a_port, b_port = v["a_port"], v["b_port"]
            link = ends.get((a.id, a_port))
            if link is not None and {
                (link.a_asset_id, link.a_port),
                (link.b_asset_id, link.b_port),
            } != {
                (a.id, a_port),
                (b.id, b_port),
            }:
                link = None  # the port is linked elsewhere: the service says so
            before = self._link_state(link) if link is not None else None
            kwargs: dict[str, Any] = {}
            for key in ("medium", "notes"):
                kwargs[key] = v[key] if sheet.has(key) else (getattr(link, key) if link else "")
            if v.get("source"):
                kwargs["source"] = v["source"]
            elif link is not None:
                kwargs["source"] = link.source
            try:
                saved = services.save_link(a, a_port, b, b_port, link=link, **kwargs)
            except ValidationFailed as exc:
                self.failed(sheet, row, exc, "a_port")
                continue
            self.sess.flush()
            ends[(saved.a_asset_id, saved.a_port)] = saved
            ends[(saved.b_asset_id, saved.b_port)] = saved
            if before is None:
                self.count(sheet, "created")
            else:
                self.count(sheet, "updated" if self._link_state(saved) != before else "unchanged")

    @staticmethod
    def _link_state(link: Link) -> tuple:
        return (
            link.a_asset_id,
            link.a_port,
            link.b_asset_id,
            link.b_port,
            link.medium,
            link.source,
            link.notes,
        )

    def lines_batch(self, sheet: _Sheet, rows: list[Row]) -> None:
        self.unique(sheet, rows, "asset_tag", lambda v: [v.get("asset_tag")])
        self.unique(sheet, rows, "circuit_id", lambda v: [v.get("circuit_id")])
        fields = ("circuit_id", "carrier", "bandwidth_mbps", "a_end", "z_end")
        assets, bad = self._refs(rows, "asset_tag", line=True)
        for row in rows:
            if row.failed:
                continue
            asset = self._asset_ref(sheet, row, "asset_tag", assets, bad)
            if not isinstance(asset, Asset):
                continue
            line = asset.line
            before = tuple(getattr(line, f) for f in fields) if line is not None else None
            values = {f: getattr(line, f) for f in fields} if line is not None else {}
            for key in fields:
                if sheet.has(key):
                    values[key] = row.values[key]
            try:
                with self.sess.no_autoflush:
                    saved = services.save_line(asset, values)
            except ValidationFailed as exc:
                self.failed(sheet, row, exc, "asset_tag")
                continue
            if before is None:
                self.count(sheet, "created")
            else:
                after = tuple(getattr(saved, f) for f in fields)
                self.count(sheet, "updated" if after != before else "unchanged")
            self.sess.flush()

    def run(self, wb: Any) -> None:
        """Read the sheets in dependency order, each a stream of batches of BATCH rows."""
        known = self._known_sheets(wb)
        self.preload()
        for spec, apply in (
            (ASSETS, self.assets_batch),
            (PREFIXES, self.prefixes_batch),
            (ADDRESSES, self.addresses_batch),
            (LINKS, self.links_batch),
            (LINES, self.lines_batch),
        ):
            ws = known.get(spec.key)
            if ws is None:
                continue
            sheet = _open_sheet(spec, ws, self.result)
            if sheet is None:
                continue
            self.result.counts.setdefault(spec.zh, Counter(created=0, updated=0, unchanged=0))
            batch: list[Row] = []
            for row in sheet.rows(self.result):
                batch.append(row)
                if len(batch) >= BATCH:
                    apply(sheet, batch)
                    self.end_batch()
                    batch = []
            if batch:
                apply(sheet, batch)
                self.end_batch()
        if self.result.ok and not self.result.rows_read:
            raise WorkbookError(_("The workbook contains no data rows (only headers or nothing)."))

    def _known_sheets(self, wb: Any) -> dict[str, Any]:
        lookup = _sheet_lookup()
        names = list(wb.sheetnames)
        known: dict[str, Any] = {}
        any_cell = False
        for name in names:
            spec = lookup.get(_header_key(name))
            if spec is None:
                if _header_key(name) != _header_key(HELP_SHEET):
                    ws = wb[name]
                    if any(not _is_blank(v) for r in ws.iter_rows(values_only=True) for v in r):
                        any_cell = True
                        self.result.warnings.append(
                            _("Sheet %(sheet)s is not an import sheet and was ignored.", sheet=name)
                        )
                continue
            if spec.key in known:
                self.result.add_problem(
                    Problem(name, message=_("This table appears on two sheets; keep one."))
                )
                continue
            known[spec.key] = wb[name]
        if not known:
            if not any_cell:
                raise WorkbookError(_("The workbook is empty."))
            raise WorkbookError(
                _(
                    "The workbook has no sheet named %(names)s (its sheets: %(found)s).",
                    names="、".join(s.zh for s in SHEETS),
                    found="、".join(names),
                )
            )
        return known


def import_workbook(
    source: bytes | str | Path | IO[bytes], dry_run: bool = False, max_rows: int | None = None
) -> ImportResult:
    """Check and apply a workbook in one transaction; commit only if nothing is wrong.

    Rows are read, checked and written (flushed) a batch at a time, so memory does not grow
    with the file; the transaction is one, so a problem anywhere (or a dry run) rolls back
    every batch. More than ``max_rows`` data rows (default ``OPSKIT_IMPORT_MAX_ROWS``) are
    refused. Uses (and ends) the transaction of ``db.session()``: commits on success, else
    rolls back.
    """
    result = ImportResult(dry_run=dry_run, max_rows=max_rows or import_max_rows())
    try:
        wb = _open_workbook(source)
    except WorkbookError as exc:
        result.add_problem(Problem(message=str(exc)))
        return result
    sess = db.session()
    try:
        try:
            with _Keys() as keys:
                _Importer(result, keys).run(wb)
        except WorkbookError as exc:
            sess.rollback()
            result.add_problem(Problem(message=str(exc)))
            return result
        except _TooManyRows:
            sess.rollback()
            return result
        except SQLAlchemyError as exc:  # a constraint the services did not foresee
            sess.rollback()
            result.add_problem(
                Problem(
                    message=_(
                        "The database refused the import: %(error)s",
                        error=str(getattr(exc, "orig", exc)).splitlines()[0],
                    )
                )
            )
            return result
        except BaseException:
            sess.rollback()
            raise
        finally:
            wb.close()
        if result.problem_count or dry_run:
            sess.rollback()
            return result
        sess.commit()
        result.committed = True
        return result
    finally:
        if result.rows_read >= BATCH:
            _release_memory()


# --- writing --------------------------------------------------------------------------------


class _Writer:
    """Writes rows of one sheet with xlsxwriter: text always as text, dates as dates."""

    def __init__(self, workbook: Any, spec: SheetSpec) -> None:
        self.spec = spec
        self.ws = workbook.add_worksheet(spec.zh)
        self.date_fmt = workbook.add_format({"num_format": "yyyy-mm-dd"})
        head = workbook.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
        head_req = workbook.add_format(
            {"bold": True, "bg_color": "#DDEBF7", "border": 1, "font_color": "#C00000"}
        )
        for ci, col in enumerate(spec.columns):
            self.ws.set_column(ci, ci, col.width)
            self.ws.write_string(0, ci, col.zh, head_req if col.required else head)
        self.ws.freeze_panes(1, 0)
        self.row = 1

    def write(self, values: dict[str, Any]) -> None:
        ws, r = self.ws, self.row
        for ci, col in enumerate(self.spec.columns):
            value = values.get(col.key)
            if value is None or value == "" or value == {}:
                continue
            if isinstance(value, bool):
                ws.write_string(r, ci, _display(value))
            elif isinstance(value, dt.date):
                ws.write_datetime(r, ci, dt.datetime.combine(value, dt.time()), self.date_fmt)
            elif isinstance(value, int | float) and col.type in (INT, NUMBER):
                ws.write_number(r, ci, value)
            else:
                ws.write_string(r, ci, str(value))  # never a formula, whatever it starts with
        self.row += 1


def _new_workbook(target: str | Path | IO[bytes], big: bool) -> Any:
    import xlsxwriter

    options: dict[str, Any] = {"strings_to_formulas": False, "strings_to_numbers": False}
    if big and isinstance(target, str | Path):
        options["constant_memory"] = True
    else:
        options["in_memory"] = True
    return xlsxwriter.Workbook(target, options)


def _enum_zh(enum_cls: type[LabeledEnum], value: str | None) -> str:
    if not value:
        return ""
    return enum_cls.zh_labels().get(value, value)


def write_template(target: str | Path | IO[bytes]) -> None:
    """The empty import workbook: every sheet with its headers, drop-downs and a help sheet."""
    wb = _new_workbook(target, big=False)
    for spec in SHEETS:
        writer = _Writer(wb, spec)
        for ci, col in enumerate(spec.columns):
            if col.enum is not None:
                labels = list(col.enum.zh_labels().values())
                writer.ws.data_validation(
                    1,
                    ci,
                    5000,
                    ci,
                    {"validate": "list", "source": labels, "error_type": "warning"},
                )
    help_ws = wb.add_worksheet(HELP_SHEET)
    bold = wb.add_format({"bold": True})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    headers = [_("Sheet"), _("Column"), _("Key"), _("Required"), _("What to write")]
    for ci, text in enumerate(headers):
        help_ws.write_string(0, ci, text, bold)
    for ci, width in enumerate((10, 14, 16, 8, 70)):
        help_ws.set_column(ci, ci, width)
    r = 1
    for spec in SHEETS:
        for col in spec.columns:
            help_ws.write_string(r, 0, spec.zh)
            help_ws.write_string(r, 1, col.zh)
            help_ws.write_string(r, 2, col.key)
            help_ws.write_string(r, 3, _("yes") if col.required else "")
            help_ws.write_string(r, 4, _column_help(col), wrap)
            r += 1
    help_ws.write_string(
        r + 1,
        0,
        _(
            "Headers may be the Chinese name or the English key. Rows are matched by asset tag "
            "(prefixes by CIDR, addresses by address); sites, rooms and racks that do not exist "
            "are created (racks 42 U unless 机柜高度U is given)."
        ),
    )
    wb.close()


def _column_help(col: Column) -> str:
    if col.enum is not None:
        return _("One of: %(values)s", values="、".join(col.enum.zh_labels().values()))
    if col.type == DATE:
        return _("A date, e.g. 2027-06-30")
    if col.type == INT:
        return _("A whole number")
    if col.type == NUMBER:
        return _("A number")
    if col.type == SPECS:
        return _("Other specs as key=value; key=value")
    return _("Text")


def _asset_rows(sess: Any) -> Iterator[dict[str, Any]]:
    sites = {s.id: s for s in sess.scalars(select(Site))}
    rooms = {r.id: r for r in sess.scalars(select(Room))}
    racks = {r.id: r for r in sess.scalars(select(Rack))}
    result = sess.execute(
        select(Asset).order_by(Asset.asset_tag).execution_options(yield_per=2000)
    ).scalars()
    for a in result:
        room = rooms.get(a.room_id) if a.room_id else None
        rack = racks.get(a.rack_id) if a.rack_id else None
        specs = dict(a.specs or {})
        row = {
            "asset_tag": a.asset_tag,
            "name": a.name,
            "kind": _enum_zh(AssetKind, a.kind),
            "vendor": a.vendor,
            "model": a.model,
            "serial": a.serial,
            "status": _enum_zh(AssetStatus, a.status),
            "importance": _enum_zh(Importance, a.importance),
            "owner": a.owner,
            "contact": a.contact,
            "site": sites[room.site_id].name if room else "",
            "room": room.name if room else "",
            "rack": rack.name if rack else "",
            "rack_u_height": rack.u_height if rack else None,
            "u_position": a.u_position,
            "u_height": a.u_height,
            "mgmt_ip": a.mgmt_ip,
            "purchase_date": a.purchase_date,
            "warranty_end": a.warranty_end,
            "support_level": a.support_level,
            "specs": format_specs(specs),
            "notes": a.notes,
        }
        for key in SPEC_KEYS:
            row[key] = specs.get(key)
        yield row


def write_export(target: str | Path | IO[bytes]) -> dict[str, int]:
    """Everything in the import layout; returns rows written per sheet."""
    sess = db.session()
    wb = _new_workbook(target, big=True)
    counts: dict[str, int] = {}

    def dump(spec: SheetSpec, rows: Iterable[dict[str, Any]]) -> None:
        writer = _Writer(wb, spec)
        for row in rows:
            writer.write(row)
        counts[spec.zh] = writer.row - 1

    dump(ASSETS, _asset_rows(sess))
    sites = {s.id: s.name for s in sess.scalars(select(Site))}
    dump(
        PREFIXES,
        (
            {
                "cidr": p.cidr,
                "vlan": p.vlan,
                "purpose": p.purpose,
                "gateway": p.gateway,
                "site": sites.get(p.site_id, "") if p.site_id else "",
                "notes": p.notes,
            }
            for p in sess.scalars(select(Prefix).order_by(Prefix.family, Prefix.sort_key))
        ),
    )
    cidrs = {p.id: p.cidr for p in sess.scalars(select(Prefix))}
    tags = {row[0]: row[1] for row in sess.execute(select(Asset.id, Asset.asset_tag))}
    dump(
        ADDRESSES,
        (
            {
                "address": a.address,
                "prefix": cidrs.get(a.prefix_id, ""),
                "status": _enum_zh(AddressStatus, a.status),
                "asset_tag": tags.get(a.asset_id, "") if a.asset_id else "",
                "interface": a.interface,
                "hostname": a.hostname,
                "mac": a.mac,
                "notes": a.notes,
            }
            for a in sess.scalars(select(IPAddress).order_by(IPAddress.family, IPAddress.sort_key))
        ),
    )
    dump(
        LINKS,
        (
            {
                "a_asset_tag": tags.get(link.a_asset_id, ""),
                "a_port": link.a_port,
                "b_asset_tag": tags.get(link.b_asset_id, ""),
                "b_port": link.b_port,
                "medium": link.medium,
                "source": _enum_zh(LinkSource, link.source),
                "notes": link.notes,
            }
            for link in sess.scalars(select(Link).order_by(Link.id))
        ),
    )
    dump(
        LINES,
        (
            {
                "asset_tag": tags.get(line.asset_id, ""),
                "circuit_id": line.circuit_id,
                "carrier": line.carrier,
                "bandwidth_mbps": line.bandwidth_mbps,
                "a_end": line.a_end,
                "z_end": line.z_end,
            }
            for line in sess.scalars(
                select(CommunicationLine).order_by(CommunicationLine.circuit_id)
            )
        ),
    )
    wb.close()
    return counts
