"""Writing the registry workbook: the empty import template and the export of everything, in
the layout the import reads (so export → import changes nothing), through the one Excel writer
(``opskit.xlsx.writer``: streaming, text never becomes a formula)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets.excel.columns import (
    ADDRESSES,
    ASSETS,
    DATE,
    HELP_SHEET,
    INT,
    LINES,
    LINKS,
    NUMBER,
    PREFIXES,
    SHEETS,
    SPEC,
    SPEC_KEYS,
    SPECS,
    Column,
    SheetSpec,
    format_specs,
)
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
from assets.specs import BY_KEY, GIGABYTES, WATTS, WHOLE
from opskit import db
from opskit.xlsx import writer
from opskit.xlsx.writer import Col, ReportWriter, Sheet

#: the writer's cell type of each column type (identifiers, words and specs are text)
_CELL = {INT: writer.INT, NUMBER: writer.NUMBER, DATE: writer.DATE}


#: the cell type of a spec of the vocabulary by what it holds (memory GB, cores)
_SPEC_CELL = {GIGABYTES: writer.NUMBER, WHOLE: writer.INT}


def _cell_type(col: Column) -> str:
    if col.type == SPEC:
        return _SPEC_CELL.get(BY_KEY[col.key].kind, writer.TEXT)
    return _CELL.get(col.type, writer.TEXT)


def _columns(spec: SheetSpec) -> list[Col]:
    return [Col(c.key, c.zh, _cell_type(c), c.width) for c in spec.columns]


def _enum_zh(enum_cls: type[LabeledEnum], value: str | None) -> str:
    if not value:
        return ""
    return enum_cls.zh_labels().get(value, value)


def write_template(target: str | Path) -> None:
    """The empty import workbook: every sheet with its headers, drop-downs and a help sheet."""
    with ReportWriter(target) as out:
        for spec in SHEETS:
            ws = out.reserve(spec.zh)
            out.sheet(Sheet(spec.zh, _columns(spec), []), into=ws)
            for ci, col in enumerate(spec.columns):
                if col.enum is not None:
                    labels = list(col.enum.zh_labels().values())
                    ws.data_validation(
                        1,
                        ci,
                        5000,
                        ci,
                        {"validate": "list", "source": labels, "error_type": "warning"},
                    )
        help_columns = [
            Col("sheet", _("Sheet"), width=10),
            Col("column", _("Column"), width=14),
            Col("key", _("Key"), width=16),
            Col("required", _("Required"), width=8),
            Col("help", _("What to write"), width=70),
        ]
        rows: list[dict[str, Any]] = [
            {
                "sheet": spec.zh,
                "column": col.zh,
                "key": col.key,
                "required": _("yes") if col.required else "",
                "help": _column_help(col),
            }
            for spec in SHEETS
            for col in spec.columns
        ]
        note = _(
            "Headers may be the Chinese name or the English key. Rows are matched by asset tag "
            "(prefixes by CIDR, addresses by address); sites, rooms and racks that do not exist "
            "are created (racks 42 U unless 机柜高度U is given)."
        )
        rows += [{}, {"sheet": note}]  # below the table, after an empty row
        out.sheet(Sheet(HELP_SHEET, help_columns, rows))


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
    if col.type == SPEC and BY_KEY[col.key].kind == GIGABYTES:
        return _("A size in GB, e.g. 64, 64 GB or 1 TB")
    if col.type == SPEC and BY_KEY[col.key].kind == WHOLE:
        return _("A whole number")
    if col.type == SPEC and BY_KEY[col.key].kind == WATTS:
        return _("A power in watts, e.g. 750, 750 W or 0.75 kW")
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


def write_export(target: str | Path) -> dict[str, int]:
    """Everything in the import layout; returns rows written per sheet."""
    sess = db.session()
    counts: dict[str, int] = {}
    with ReportWriter(target) as out:

        def dump(spec: SheetSpec, rows: Iterable[dict[str, Any]]) -> None:
            counts[spec.zh] = out.sheet(Sheet(spec.zh, _columns(spec), rows))

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
                for a in sess.scalars(
                    select(IPAddress).order_by(IPAddress.family, IPAddress.sort_key)
                )
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
    return counts
