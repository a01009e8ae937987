"""Report kind 线路带宽 (line bandwidth): for each registered communication line (an asset of
kind 通信线路 with its circuit and bandwidth), the 95th percentile of the traffic in and out of
the device port the line is linked to (the registry's link from the line to a switch or
router port), against the line's bandwidth, over the period up to the pack's "as of" time.

The traffic is the port's ``if.in_bps`` / ``if.out_bps`` (rates the poller derives from the
IF-MIB octet counters, ``monitors.counters``), as the device's port counts it: in is what
arrives from the line. The 95th percentile (nearest rank) and the peak are of the 5-minute
means (hourly for months past the 5-minute rollups), computed in SQL
(``monitors.queries.percentiles``). A line without a link, whose port has no traffic figures,
or without a registered bandwidth says so in its row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors import queries as monitors
from opskit.xlsx.writer import NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, period_words

IN, OUT = "if.in_bps", "if.out_bps"
MBPS = 1_000_000
#: a line whose 95th percentile in or out is above this share of its bandwidth is highlighted
HIGH_USE = 0.8


@dataclass
class Bandwidth:
    start: datetime
    until: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)


def _port_of(line_id: int, links: list[Any]) -> tuple[int, str, str] | None:
    """(asset id, port, asset tag) at the other end of the line's link, if it has one."""
    for link in links:
        if link.a_asset_id == line_id and link.b_asset_id is not None:
            return link.b_asset_id, link.b_port, link.b_tag
        if link.b_asset_id == line_id:
            return link.a_asset_id, link.a_port, link.a_tag
    return None


def _instance(asset_id: int, port: str, start: datetime, until: datetime) -> str | None:
    """The interface name the port's traffic is stored under: the port as registered, else
    the same name in another case or spacing (``monitors.queries.norm_port``)."""
    names = monitors.instances_of(asset_id, IN, start, until)
    if port in names:
        return port
    wanted = monitors.norm_port(port)
    return next((n for n in names if monitors.norm_port(n) == wanted), None)


def _mbps(value: float | None) -> float | None:
    return None if value is None else round(value / MBPS, 2)


def gather(ctx: Context) -> Bandwidth:
    start = ctx.period.start
    until = max(start, min(ctx.period.end, ctx.as_of))
    found = Bandwidth(start, until)
    links = registry.all_links()
    for line in registry.assets_for_report(["line"]):
        circuit = line.line
        capacity = circuit.bandwidth_mbps if circuit is not None else None
        row: dict[str, Any] = {
            "tag": line.asset_tag,
            "name": line.name,
            "carrier": circuit.carrier if circuit is not None else "",
            "circuit": circuit.circuit_id if circuit is not None else "",
            "capacity": capacity,
            "port": "",
            "in_p95": None,
            "out_p95": None,
            "in_share": None,
            "out_share": None,
            "in_peak": None,
            "out_peak": None,
            "note": "",
        }
        found.rows.append(row)
        end = _port_of(line.id, links)
        if end is None:
            row["note"] = _("No link to a device port registered")
            continue
        asset_id, port, tag = end
        row["port"] = f"{tag} {port}"
        instance = _instance(asset_id, port, start, until)
        if instance is None:
            row["note"] = _("No traffic figures for this port in the period")
            continue
        for key, metric in (("in", IN), ("out", OUT)):
            found_p = monitors.percentiles([asset_id], [metric], start, until, instance=instance)
            p = found_p.get(asset_id)
            if p is None:
                continue
            row[f"{key}_p95"] = _mbps(p.value)
            row[f"{key}_peak"] = _mbps(p.peak)
            if capacity:
                row[f"{key}_share"] = p.value / (capacity * MBPS)
        if not capacity:
            row["note"] = _("Bandwidth not registered")
    return found


def _gathered(ctx: Context) -> Bandwidth:
    return ctx.once("bandwidth", lambda: gather(ctx))


def bandwidth(ctx: Context) -> list[Sheet]:
    found = _gathered(ctx)
    return [
        Sheet(
            _("Line bandwidth"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("carrier", _("Carrier")),
                Col("circuit", _("Circuit ID")),
                Col("capacity", _("Bandwidth (Mbit/s)"), NUMBER),
                Col("port", _("Device port")),
                Col("in_p95", _("In 95th percentile (Mbit/s)"), NUMBER),
                Col("out_p95", _("Out 95th percentile (Mbit/s)"), NUMBER),
                Col("in_share", _("In 95th percentile of bandwidth"), PERCENT),
                Col("out_share", _("Out 95th percentile of bandwidth"), PERCENT),
                Col("in_peak", _("In peak (Mbit/s)"), NUMBER),
                Col("out_peak", _("Out peak (Mbit/s)"), NUMBER),
                Col("note", _("Note"), width=30),
            ],
            found.rows,
            highlight=lambda row: max(row["in_share"] or 0, row["out_share"] or 0) > HIGH_USE,
            note=_(
                "Traffic of the device port each line is linked to, as the port counts it (in: "
                "arriving from the line); 95th percentile and peak of the 5-minute means."
            )
            + as_of_note(ctx),
        )
    ]


def findings(ctx: Context) -> list[Finding]:
    """Per line and direction whose 95th percentile is above 80 % of its bandwidth,
    ``bandwidth.p95_high`` (tag, name, direction, p95, capacity, use_pct, port)."""
    found = _gathered(ctx)
    period = period_words(ctx) + as_of_note(ctx)
    words = {"in": _("inbound"), "out": _("outbound")}
    out = []
    for r in found.rows:
        for key in ("in", "out"):
            share = r[f"{key}_share"]
            if share is None or share <= HIGH_USE:
                continue
            out.append(
                Finding(
                    key="bandwidth.p95_high",
                    subject=f"{r['name']} ({r['tag']})",
                    metric=_("95th percentile of bandwidth"),
                    value=round(share * 100, 1),
                    period=period,
                    figures={
                        "tag": r["tag"],
                        "name": r["name"],
                        "direction": words[key],
                        "p95": r[f"{key}_p95"],
                        "capacity": r["capacity"],
                        "use_pct": round(share * 100, 1),
                        "port": r["port"],
                    },
                    severity=int(share * 100),
                )
            )
    return out


KIND = Kind(_l("Line bandwidth"), bandwidth, findings=findings)
