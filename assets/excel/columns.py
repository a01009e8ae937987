"""The registry workbook's layout: its sheets and columns, and what a cell of each column holds.

A header is the Chinese label or the English key of a column (case-insensitive, after NFKC
normalisation, spaces ignored). Enumerated columns take the Chinese word or the English key.
Specs of an asset: one column per key of the spec vocabulary (``assets.specs``: CPU型号
``cpu_model``, CPU核数 ``cpu_cores``, 内存GB ``memory_gb``, 磁盘 ``disks``, 固件/系统
``firmware``; each also under its other spellings, e.g. CPU, 内存, 硬盘, 固件), read as the
vocabulary reads them (``64 GB`` → 64); any other key goes in 其他规格 (``specs``) written as
``key=value; key=value`` (values are text).
"""

from __future__ import annotations

import builtins
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from assets import specs as vocabulary
from assets.models import (
    AddressStatus,
    AssetKind,
    AssetStatus,
    Importance,
    LabeledEnum,
    LinkSource,
)
from opskit.xlsx.reader import display

TEXT, CODE, INT, NUMBER, DATE, ENUM, SPECS, SPEC = (
    "text",  # free text, kept as typed (stripped)
    "code",  # identifiers: NFKC-normalised (full-width → half-width), stripped
    "int",
    "number",
    "date",
    "enum",
    "specs",  # other specs, key=value; key=value
    "spec",  # one spec of the vocabulary (assets.specs.parse_value)
)


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    type: str = TEXT
    required: bool = False
    enum: builtins.type[LabeledEnum] | None = None  # (``type`` is the field above)
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


#: the vocabulary's specs as columns (widths by what they hold)
_SPEC_WIDTHS = {"cpu_model": 20, "cpu_cores": 9, "memory_gb": 10, "disks": 18, "firmware": 18}
_SPEC_WIDTHS |= {"power_watts": 11, "cooling_watts": 10}
SPEC_COLUMNS = tuple(
    Column(s.key, s.zh, SPEC, width=_SPEC_WIDTHS.get(s.key, 14), aliases=s.aliases)
    for s in vocabulary.SPECS
)
SPEC_KEYS = vocabulary.SPEC_KEYS

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
        *SPEC_COLUMNS,
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


def nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def header_key(text: str) -> str:
    return re.sub(r"\s+", "", nfkc(text)).casefold()


def name_key(text: str) -> str:
    """How site/room/rack names are compared: full-width and case do not matter."""
    return re.sub(r"\s+", " ", nfkc(text)).casefold()


def header_map(spec: SheetSpec) -> dict[str, Column]:
    out: dict[str, Column] = {}
    for col in spec.columns:
        for name in (col.zh, col.key, *col.aliases):
            out.setdefault(header_key(name), col)
    return out


def sheet_lookup() -> dict[str, SheetSpec]:
    out: dict[str, SheetSpec] = {}
    for spec in SHEETS:
        out[header_key(spec.zh)] = spec
        out[header_key(spec.key)] = spec
    return out


# --- problems and results -------------------------------------------------------------------


# --- cells ----------------------------------------------------------------------------------


def _allowed(enum_cls: type[LabeledEnum]) -> str:
    labels = enum_cls.zh_labels()
    if str(get_locale() or "").startswith("zh"):
        return "、".join(labels.values())
    return ", ".join(f"{key} ({zh})" for key, zh in labels.items())


def _enum_lookup(enum_cls: type[LabeledEnum]) -> dict[str, str]:
    out = {}
    for key, zh in enum_cls.zh_labels().items():
        out[header_key(key)] = key
        out[header_key(zh)] = key
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
    text = nfkc(str(value)).replace(",", "").replace(" ", "")
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
    text = nfkc(str(value)).replace(" ", " ")
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
    found = lookup.get(header_key(display(value)))
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
        out[nfkc(key)] = value.strip()
    return out


def format_specs(specs: dict[str, Any]) -> str:
    return "; ".join(f"{k}={display(v)}" for k, v in specs.items() if k not in SPEC_KEYS)


def convert(col: Column, value: Any) -> Any:
    """Cell value → typed value (None for blank); raises CellError with what was expected."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "" if col.type in (TEXT, CODE) else None
    if col.type == TEXT:
        return display(value).strip()
    if col.type == CODE:
        return nfkc(display(value))
    if col.type == INT:
        return _to_int(col, value)
    if col.type == NUMBER:
        return _to_number(col, value)
    if col.type == DATE:
        return _to_date(value)
    if col.type == ENUM:
        return _to_enum(col, value)
    if col.type == SPECS:
        return parse_specs(display(value))
    if col.type == SPEC:
        try:
            return vocabulary.parse_value(
                col.key, value if isinstance(value, int | float) else display(value)
            )
        except vocabulary.SpecError as exc:
            raise CellError(exc.expected) from exc
    raise AssertionError(col.type)
