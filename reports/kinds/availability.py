"""Report kind 可用性 (availability): uptime over the period, up to the pack's "as of" time,
computed from the monitors' state changes (``monitors.queries.timelines``, the ``StatusFlip``
rows the poller writes; the same reading of them as ``monitors.availability``):

- **what is reported**: core devices (assets of importance 核心, their device checks: SNMP,
  ping, host), communication lines (assets of kind 通信线路, any of their checks) and
  application checks (HTTP and TCP monitors, on any asset); enabled monitors of assets not
  retired, one row per monitor;
- **availability** = time up / (time up + time down); time without an answer (unknown) or
  before the monitor's first state is counted neither way and shown apart;
- **maintenance windows are excluded**: time inside a window of the asset or of its room
  (``opskit.alerts`` maintenance windows) counts neither up nor down, so an outage inside one
  does not count; an outage partly inside counts its part outside. The sheets say so, and the
  windows of the period are listed;
- **outages**: each stretch of down time, with start, end (blank while still down at the as-of
  time), duration, its minutes inside maintenance windows and the minutes that count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors import queries as monitors
from opskit.alerts import queries as desk
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATETIME, FINE_PERCENT, INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, local_time, period_words

ZERO = timedelta(0)
APPLICATION_KINDS = ("http", "tcp")
CORE, LINE, APPLICATION = "core", "line", "application"
#: availability below this is highlighted (and a finding for the summary)
TARGET = 0.999

Span = tuple[datetime, datetime]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Spans sorted, overlapping or touching ones joined."""
    out: list[Span] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def overlap(start: datetime, end: datetime, spans: Iterable[Span]) -> timedelta:
    """How much of [start, end) lies inside the (merged, disjoint) ``spans``."""
    total = ZERO
    for s, e in spans:
        part = min(end, e) - max(start, s)
        if part > ZERO:
            total += part
    return total


@dataclass
class Availability:
    """What the kind found; the sheets and the findings are made from it."""

    start: datetime
    until: datetime
    rows: list[dict[str, Any]] = field(default_factory=list)
    outages: list[dict[str, Any]] = field(default_factory=list)
    windows: list[dict[str, Any]] = field(default_factory=list)


def _category(asset: Any, monitor: Any) -> str | None:
    if monitor.kind in APPLICATION_KINDS:
        return APPLICATION
    if asset.kind == "line":
        return LINE
    if asset.importance == "core":
        return CORE
    return None


def _hours(length: timedelta) -> float:
    return round(length.total_seconds() / 3600, 2)


def _minutes(length: timedelta) -> float:
    return round(length.total_seconds() / 60, 1)


def gather(ctx: Context) -> Availability:
    """Each reported monitor's time up, down, in maintenance and without data, and its
    outages, over [period start, as of)."""
    start = ctx.period.start
    until = max(start, min(ctx.period.end, ctx.as_of))
    found = Availability(start, until)
    every = monitors.monitors()
    windows = desk.maintenance_windows_between(start, until)
    wanted = {m.asset_id for m in every} | {w.asset_id for w in windows if w.asset_id is not None}
    assets = {a.id: a for a in registry.assets_for_report(ids=wanted)}
    chosen = []
    for monitor in every:
        asset = assets.get(monitor.asset_id)
        if not monitor.enabled or asset is None:
            continue
        category = _category(asset, monitor)
        if category is not None:
            chosen.append((category, asset, monitor))
    order = {CORE: 0, LINE: 1, APPLICATION: 2}
    chosen.sort(key=lambda c: (order[c[0]], c[1].asset_tag, c[2].id))
    words = {
        CORE: _("Core device"),
        LINE: _("Communication line"),
        APPLICATION: _("Application check"),
    }
    rooms = {r.id: r.name for r in registry.all_rooms()}
    for w in windows:
        target = assets.get(w.asset_id) if w.asset_id is not None else None
        if target is not None:
            what = f"{target.asset_tag} {target.name}"
        else:
            what = _("Room %(room)s", room=rooms.get(w.room_id or 0, ""))
        inside = min(w.ends_at, until) - max(w.starts_at, start)
        found.windows.append(
            {
                "target": what,
                "start": local_time(w.starts_at, ctx),
                "end": local_time(w.ends_at, ctx),
                "hours": _hours(max(inside, ZERO)),
                "reason": w.reason,
            }
        )
    timelines = monitors.timelines([m.id for _c, _a, m in chosen], start, until)
    for category, asset, monitor in chosen:
        excluded = merge(
            (max(w.starts_at, start), min(w.ends_at, until))
            for w in windows
            if w.asset_id == asset.id or (w.room_id is not None and w.room_id == asset.room_id)
        )
        spent = {"up": ZERO, "down": ZERO}
        maintenance = overlap(start, until, excluded)
        outages = []
        stretches = timelines.get(monitor.id, [])
        for i, stretch in enumerate(stretches):
            if stretch.state not in spent:
                continue
            inside = overlap(stretch.start, stretch.end, excluded)
            spent[stretch.state] += stretch.end - stretch.start - inside
            if stretch.state != "down":
                continue
            length = stretch.end - stretch.start
            ongoing = i == len(stretches) - 1
            outages.append((stretch, length, inside, ongoing))
        judged = spent["up"] + spent["down"]
        counted = [o for o in outages if o[1] - o[2] > ZERO]
        kind = monitors.monitor_kind_label(monitor.kind)
        base = {
            "category": words[category],
            "tag": asset.asset_tag,
            "name": asset.name,
            "kind": kind,
            "check": monitor.name or kind,
        }
        found.rows.append(
            {
                **base,
                "key": category,
                "asset_id": asset.id,
                "monitored_h": _hours(judged),
                "up_h": _hours(spent["up"]),
                "down_h": _hours(spent["down"]),
                "down_min": _minutes(spent["down"]),
                "maintenance_h": _hours(maintenance),
                "no_data_h": _hours(until - start - judged - maintenance),
                "percent": spent["up"] / judged if judged > ZERO else None,
                "outages": len(counted),
                "longest": max((_minutes(o[1] - o[2]) for o in counted), default=None),
            }
        )
        for stretch, length, inside, ongoing in outages:
            found.outages.append(
                {
                    **base,
                    "start": local_time(stretch.start, ctx),
                    "end": None
                    if ongoing and stretch.end >= until
                    else local_time(stretch.end, ctx),
                    "minutes": _minutes(length),
                    "maintenance_min": _minutes(inside),
                    "counted_min": _minutes(length - inside),
                    "note": _("inside a maintenance window: not counted")
                    if length - inside <= ZERO
                    else (_("partly inside a maintenance window") if inside > ZERO else ""),
                }
            )
    return found


def core_availability(found: Availability) -> float | None:
    """Up time / (up + down) over all core devices' checks together."""
    rows = [r for r in found.rows if r["key"] == CORE]
    up = sum(r["up_h"] for r in rows)
    judged = sum(r["up_h"] + r["down_h"] for r in rows)
    return up / judged if judged else None


def _gathered(ctx: Context) -> Availability:
    return ctx.once("availability", lambda: gather(ctx))


def availability(ctx: Context) -> list[Sheet]:
    found = _gathered(ctx)
    core = core_availability(found)
    if core is not None:
        ctx.headline[_("Core device availability")] = Figure(core, FINE_PERCENT)
    ctx.headline[_("Outages counted")] = sum(r["outages"] for r in found.rows)
    running = as_of_note(ctx)
    excluded = _(
        "Maintenance windows excluded: time inside a maintenance window of the asset or its "
        "room (%(n)s in the period, listed in Maintenance windows) is counted neither up nor "
        "down, and an outage inside one does not count.",
        n=len(found.windows),
    )
    names = [
        Col("category", _("Category")),
        Col("tag", _("Asset tag")),
        Col("name", _("Name")),
        Col("kind", _("Monitor kind")),
        Col("check", _("Check")),
    ]
    return [
        Sheet(
            _("Uptime"),
            [
                *names,
                Col("monitored_h", _("Hours judged"), NUMBER),
                Col("up_h", _("Hours up"), NUMBER),
                Col("down_h", _("Hours down"), NUMBER),
                Col("maintenance_h", _("Hours in maintenance (excluded)"), NUMBER),
                Col("no_data_h", _("Hours without data"), NUMBER),
                Col("percent", _("Availability"), PERCENT),
                Col("outages", _("Outages"), INT),
                Col("longest", _("Longest outage (min)"), NUMBER),
            ],
            found.rows,
            highlight=lambda row: row["percent"] is not None and row["percent"] < TARGET,
            note=_(
                "From the monitors' state changes; availability = up / (up + down). Core "
                "devices: assets of importance core; lines: communication line assets; "
                "application checks: HTTP and TCP monitors."
            )
            + " "
            + excluded
            + running,
        ),
        Sheet(
            _("Outage list"),
            [
                *names,
                Col("start", _("Start"), DATETIME),
                Col("end", _("End"), DATETIME),
                Col("minutes", _("Duration (min)"), NUMBER),
                Col("maintenance_min", _("In maintenance (min)"), NUMBER),
                Col("counted_min", _("Counted (min)"), NUMBER),
                Col("note", _("Note")),
            ],
            found.outages,
            highlight=lambda row: row["counted_min"] > 0,
            note=excluded + running,
        ),
        Sheet(
            _("Maintenance windows"),
            [
                Col("target", _("Asset or room")),
                Col("start", _("Start"), DATETIME),
                Col("end", _("End"), DATETIME),
                Col("hours", _("Hours in the period"), NUMBER),
                Col("reason", _("Reason"), width=40),
            ],
            found.windows,
            note=_("Maintenance windows overlapping the period; excluded from availability."),
        ),
    ]


def findings(ctx: Context) -> list[Finding]:
    """``availability.summary`` (its sentence as ``text``; core_pct, checks, outages,
    windows) and, per check below the 99.9 % target, ``availability.below_target`` (category,
    tag, name, check, availability_pct, target_pct, outages, down_minutes, longest)."""
    found = _gathered(ctx)
    period = period_words(ctx) + as_of_note(ctx)
    core = core_availability(found)
    outages = sum(r["outages"] for r in found.rows)
    if core is None:
        text = _("No core device had a monitor with state changes in the period.")
    else:
        pct = f"{core * 100:.3f}"
        text = _(
            "Core devices were available %(pct)s %% of the time judged (%(checks)s checks); "
            "%(outages)s outages counted; %(windows)s maintenance windows excluded.",
            pct=pct,
            checks=sum(1 for r in found.rows if r["key"] == CORE),
            outages=outages,
            windows=len(found.windows),
        )
    out = [
        Finding(
            key="availability.summary",
            subject="",
            metric=_("Core device availability %"),
            value=None if core is None else round(core * 100, 3),
            period=period,
            figures={
                "text": text,
                "core_pct": None if core is None else round(core * 100, 3),
                "checks": len(found.rows),
                "outages": outages,
                "windows": len(found.windows),
            },
        )
    ]
    for r in found.rows:
        if r["percent"] is None or r["percent"] >= TARGET:
            continue
        pct = round(r["percent"] * 100, 3)
        out.append(
            Finding(
                key="availability.below_target",
                subject=f"{r['name']} ({r['tag']})",
                metric=_("Availability"),
                value=pct,
                period=period,
                figures={
                    "category": r["category"],
                    "tag": r["tag"],
                    "name": r["name"],
                    "check": r["check"],
                    "availability_pct": pct,
                    "target_pct": round(TARGET * 100, 1),
                    "outages": r["outages"],
                    "down_minutes": r["down_min"],
                    "longest": r["longest"],
                },
                severity=int((TARGET - r["percent"]) * 100000),
            )
        )
    return out


KIND = Kind(_l("Uptime"), availability, findings=findings)
