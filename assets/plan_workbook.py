"""The planning workbook (设备配置现状及设备规划报告): the sheets of a plan's :class:`Report`
(``assets.plan_report``, which says what each holds) written by the project's one writer
(``opskit.xlsx``: cover with the workbook's properties, formula-like text kept as text, the
destination checked as ``opskit.outputs`` says)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from assets import capacity
from assets.plan_report import Report, share
from opskit import clock
from opskit.xlsx.cover import Figure, customer_signoff, write_cover
from opskit.xlsx.writer import DATE, INT, NUMBER, PERCENT, Col, ReportWriter, Sheet


def _rack_rows(report: Report) -> list[dict[str, Any]]:
    rooms = {room.id: room.name for room in report.rooms}
    rows = []
    for rack in report.racks:
        ratings = rack.feed_ratings()
        runs = rack.free_runs()
        rows.append(
            {
                "room": rooms[rack.room_id],
                "rack": rack.name,
                "height": rack.u_height,
                "used": rack.u_height - rack.free_units,
                "free": rack.free_units,
                "longest": max((b - a + 1 for a, b in runs), default=0),
                "load": round(rack.load_w),
                "source": str(capacity.LOAD_SOURCES[rack.load_source]),
                "rated_a": ratings.get("A"),
                "pct_a": share(rack.load_w, ratings.get("A")),
                "rated_b": ratings.get("B"),
                "pct_b": share(rack.load_w, ratings.get("B")),
            }
        )
    return rows


def _listed(items: Any) -> str:
    """Items joined as the workbook's language lists them (、 in Chinese, ", " in English)."""
    return ("、" if str(get_locale() or "zh").startswith("zh") else ", ").join(items)


def _speeds(counts: dict[str, int]) -> str:
    return _listed(f"{speed} ×{n}" for speed, n in sorted(counts.items())) or "—"


def _temperature(report: Report, room: capacity.RoomCapacity) -> dict[str, Any]:
    """The room's temperature trend columns (``assets.room_temperature``), blank without
    readings."""
    t = room.temperature
    if t is None:
        return {"t_p95": None, "t_limit": None, "t_headroom": None, "t_trend": None, "t_day": None}
    today = report.model.end.astimezone(clock.site_tz()).date()
    reaches = t.reaches(today)
    return {
        "t_p95": t.p95,
        "t_limit": t.limit,
        "t_headroom": t.headroom,
        "t_trend": t.per_30_days,
        "t_day": datetime.combine(reaches, time()) if reaches else None,
    }


def _current(report: Report) -> list[Sheet]:
    rack_cols = [
        Col("room", _("Room")),
        Col("rack", _("Rack")),
        Col("height", _("Height (U)"), INT),
        Col("used", _("U used"), INT),
        Col("free", _("U free"), INT),
        Col("longest", _("Longest free run (U)"), INT),
        Col("load", _("Draw (W)"), INT),
        Col("source", _("Draw from")),
        Col("rated_a", _("Feed A rating (W)"), INT),
        Col("pct_a", _("Feed A on failover"), PERCENT),
        Col("rated_b", _("Feed B rating (W)"), INT),
        Col("pct_b", _("Feed B on failover"), PERCENT),
    ]
    rooms = [
        {
            "site": room.site,
            "room": room.name,
            "racks": len(room.rack_ids),
            "load": round(room.it_load_w(report.model.racks)),
            "cooling": room.cooling_w,
            "pct": share(room.it_load_w(report.model.racks), room.cooling_w),
            "ports": _speeds(capacity.ports_by_speed(room.ports)),
            **_temperature(report, room),
        }
        for room in report.rooms
    ]
    ports = []
    for room in report.rooms:
        taken = report.ports_taken(room)
        for speed, free in capacity.ports_by_speed(room.ports).items():
            switches = sorted({p.switch for p in room.ports if p.speed == speed})
            ports.append(
                {
                    "room": room.name,
                    "speed": speed,
                    "free": free,
                    "taken": taken.get(speed, 0),
                    "after": free - taken.get(speed, 0),
                    "switches": _listed(switches),
                }
            )
    prefixes = [
        {**p, "free": p["size"] - p["used"], "pct": share(p["used"], p["size"])}
        for p in report.prefixes
    ]
    limit = report.limit / 100
    return [
        Sheet(
            _("Racks now"),
            rack_cols,
            _rack_rows(report),
            highlight=lambda r: (r["pct_a"] or 0) > limit or (r["pct_b"] or 0) > limit,
            note=_(
                "The draw is the whole rack's: with two feeds either may fail, so each feed must "
                "carry it alone."
            ),
        ),
        Sheet(
            _("Rooms now"),
            [
                Col("site", _("Site")),
                Col("room", _("Room")),
                Col("racks", _("Racks"), INT),
                Col("load", _("IT load (W)"), INT),
                Col("cooling", _("Cooling capacity (W)"), INT),
                Col("pct", _("Cooling used"), PERCENT),
                Col("t_p95", _("Temperature p95 (°C)"), NUMBER),
                Col("t_limit", _("Temperature limit (°C)"), NUMBER),
                Col("t_headroom", _("Temperature headroom (°C)"), NUMBER),
                Col("t_trend", _("Temperature trend (°C / 30 days)"), NUMBER),
                Col("t_day", _("Temperature limit reached"), DATE),
                Col("ports", _("Free ports by speed")),
            ],
            rooms,
            highlight=lambda r: r["t_headroom"] is not None and r["t_headroom"] <= 0,
            note=_(
                "Temperature: the 95th percentile of the room's hottest probe hour by hour over "
                "the measured days, against the room's upper normal limit (patrol checklist); "
                "the trend is the least-squares line through the daily maxima (at least "
                "%(days)s days), and the day the rising trend takes the p95 to the limit.",
                days=capacity.settings()["temperature_min_days"],
            ),
        ),
        Sheet(
            _("Free ports"),
            [
                Col("room", _("Room")),
                Col("speed", _("Speed")),
                Col("free", _("Free now"), INT),
                Col("taken", _("Taken by the plan"), INT),
                Col("after", _("Free after"), INT),
                Col("switches", _("Switches")),
            ],
            ports,
        ),
        Sheet(
            _("IP prefixes now"),
            [
                Col("cidr", _("Prefix")),
                Col("vlan", "VLAN", INT),
                Col("purpose", _("Purpose")),
                Col("size", _("Usable"), INT),
                Col("used", _("Used"), INT),
                Col("free", _("Free"), INT),
                Col("pct", _("Utilisation"), PERCENT),
            ],
            prefixes,
            highlight=lambda r: (r["pct"] or 0) > limit,
        ),
    ]


def _plan(report: Report) -> list[Sheet]:
    by_device: dict[str, list[str]] = {}
    for a in report.addresses:
        by_device.setdefault(a["device"], []).append(a["address"])
    placements = [
        {
            "device": p["device"],
            "room": p["room"],
            "rack": p["rack"],
            "u_start": p["u_start"],
            "u_end": p["u_end"],
            "watts": round(p["watts"]),
            "feeds": p["feeds"],
            "addresses": _listed(by_device.get(p["device"], [])),
        }
        for p in report.placements
    ]
    cabling = []
    for p in report.placements:
        for n, port in enumerate(p["ports"], start=1):
            cabling.append(
                {
                    "device": p["device"],
                    "device_port": _("%(speed)s port %(n)d", speed=port["speed"], n=n),
                    "rack": p["rack"],
                    "switch": port["switch"],
                    "port": port["port"],
                    "speed": port["speed"],
                }
            )
    return [
        Sheet(
            _("Placements"),
            [
                Col("device", _("Device")),
                Col("room", _("Room")),
                Col("rack", _("Rack")),
                Col("u_start", _("From U"), INT),
                Col("u_end", _("To U"), INT),
                Col("watts", _("Planned draw (W)"), INT),
                Col("feeds", _("Feeds")),
                Col("addresses", _("New addresses")),
            ],
            placements,
            note=report.candidate["why"] if report.candidate else _("No candidate."),
        ),
        Sheet(
            _("New addresses"),
            [Col("device", _("Device")), Col("prefix", _("Prefix")), Col("address", _("Address"))],
            report.addresses,
        ),
        Sheet(
            _("Cabling"),
            [
                Col("device", _("Device")),
                Col("device_port", _("Device port")),
                Col("rack", _("Rack")),
                Col("switch", _("Switch")),
                Col("port", _("Switch port")),
                Col("speed", _("Speed")),
            ],
            cabling,
        ),
    ]


def _effect(report: Report) -> Sheet:
    rows: list[dict[str, Any]] = []

    def add(scope: str, name: str, figure: str, before: float | None, after: float | None) -> None:
        rows.append(
            {"scope": scope, "name": name, "figure": figure, "before": before, "after": after}
        )

    for rack in report.racks:
        planned_w, planned_u = report.planned_w(rack.id), report.planned_units(rack.id)
        used = rack.u_height - rack.free_units
        add(
            _("Rack"), rack.name, _("Units used"),
            used / rack.u_height, (used + planned_u) / rack.u_height,
        )  # fmt: skip
        for feed, rated in rack.feed_ratings().items():
            add(
                _("Rack"), rack.name, _("Feed %(feed)s on failover", feed=feed),
                rack.load_w / rated, (rack.load_w + planned_w) / rated,
            )  # fmt: skip
    for room in report.rooms:
        height = sum(report.model.racks[r].u_height for r in room.rack_ids)
        used = sum(report.model.racks[r].u_height - report.model.racks[r].free_units
                   for r in room.rack_ids)  # fmt: skip
        planned_u = sum(report.planned_units(r) for r in room.rack_ids)
        add(_("Room"), room.name, _("Units used"), share(used, height),
            share(used + planned_u, height))  # fmt: skip
        load = room.it_load_w(report.model.racks)
        add(_("Room"), room.name, _("Cooling used"), share(load, room.cooling_w),
            share(report.room_after_w(room), room.cooling_w))  # fmt: skip
    for p in report.prefixes:
        if p["planned"]:
            add(_("Prefix"), p["cidr"], _("Addresses used"), share(p["used"], p["size"]),
                share(p["used"] + p["planned"], p["size"]))  # fmt: skip
    limit = report.limit / 100
    return Sheet(
        _("Effect"),
        [
            Col("scope", _("Scope")),
            Col("name", _("Name")),
            Col("figure", _("Figure")),
            Col("before", _("Before"), PERCENT),
            Col("after", _("After"), PERCENT),
        ],
        rows,
        highlight=lambda r: (r["after"] or 0) > limit,
    )


def title() -> str:
    return _("Equipment configuration and planning report")


def write(report: Report, out: str | Path, engineer: str = "", now: datetime | None = None) -> Path:
    """Write ``report`` to ``out`` (checked as ``opskit.outputs`` says); returns the path."""
    now = now or clock.now()
    local = now.astimezone(clock.site_tz()).replace(tzinfo=None)
    placements = report.placements
    rooms = _listed(f"{r.site}/{r.name}" for r in report.rooms)
    with ReportWriter(out) as writer:
        cover = writer.reserve(_("Cover"))
        for sheet in [*_current(report), *_plan(report), _effect(report)]:
            writer.sheet(sheet)
        writer.sheet(
            Sheet(
                _("Risks"),
                [Col("scope", _("Scope")), Col("name", _("Name")), Col("risk", _("Risk"))],
                report.risks
                or [{"scope": "", "name": "", "risk": _("No risk found after the plan.")}],
            )
        )
        pairs: list[tuple[str, Any]] = [
            (_("Plan name"), report.plan),
            (_("Rooms"), rooms),
            (_("Candidate"), report.rank if report.candidate else "—"),
            (_("Why"), report.candidate["why"] if report.candidate else _("No candidate.")),
            (_("Devices"), Figure(len(placements), INT)),
            (
                _("Units planned"),
                Figure(sum(p["u_end"] - p["u_start"] + 1 for p in placements), INT),
            ),
            (_("Planned draw (W)"), Figure(round(sum(p["watts"] for p in placements)), INT)),
            (_("New addresses"), Figure(len(report.addresses), INT)),
            (_("Switch ports"), Figure(sum(len(p["ports"]) for p in placements), INT)),
            (_("Risks"), Figure(len(report.risks), INT)),
            (
                _("Measured from"),
                report.model.start.astimezone(clock.site_tz()).replace(tzinfo=None),
            ),
            (_("Measured to"), report.model.end.astimezone(clock.site_tz()).replace(tzinfo=None)),
            (_("Engineer"), engineer),
            (_("Built"), local),
        ]
        write_cover(
            writer,
            cover,
            title(),
            pairs,
            contents=_("Table of contents"),
            signoff=customer_signoff(),
        )
        writer.properties(
            title=f"{report.plan} {title()}",
            subject=report.plan,
            author=engineer,
            company=", ".join(sorted({r.site for r in report.rooms})),
            created=now.astimezone(UTC).replace(tzinfo=None),
            comments=_("Built by opskit"),
        )
    return writer.path
