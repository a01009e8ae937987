"""The figures of the 机房环境与供电 kind (``reports.kinds.environment``), gathered once per pack
for its sheets and its findings: the rooms' temperature and humidity against the patrol
checklist's limits, the UPSes' load and battery and their on-battery episodes, the PDUs' current
against their rating. Read through the domains' ``queries`` only; every figure aggregated in
SQL (``monitors.queries.range_stats``, ``stats_by_asset`` and ``percentiles``)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from assets import queries as registry
from inspections import queries as patrol
from monitors import queries as monitors
from opskit.alerts import queries as desk
from reports.kinds.base import Context, local_time

TEMPERATURE, HUMIDITY = "env.temperature_c", "env.humidity_percent"
CHECKLIST = "room_environment"
ON_BATTERY_RULE, ON_BATTERY_CONDITION = "ups.on_battery", ".ups_on_battery"
BATTERY_LOW_RULE = "ups.battery_low"
LOAD = "ups.output.load_percent"
CHARGE, RUNTIME = "ups.battery.charge_percent", "ups.battery.runtime_minutes"
BATTERY_TEMPERATURE = "ups.battery.temperature_c"
#: a UPS or PDU above this share of its capacity (95th percentile) is highlighted
HIGH_LOAD = 80.0
#: the spec keys a PDU's rated current is read from (compared by ``_fold``)
RATED_CURRENT_KEYS = frozenset(
    ("额定电流", "额定电流a", "ratedcurrent", "ratedcurrenta", "额定电流安", "ratedamps")
)


@dataclass(frozen=True)
class Episode:
    asset_id: int
    start: datetime
    end: datetime | None  # None: still on battery at the as-of time

    def minutes(self, until: datetime) -> float:
        return round(((self.end or until) - self.start).total_seconds() / 60, 1)

    def clipped(self, start: datetime) -> Episode:
        """The part from ``start`` on (an episode begun before the period)."""
        return Episode(self.asset_id, max(self.start, start), self.end)


@dataclass
class Environment:
    """What the kind found; the sheets and the findings are made from it."""

    start: datetime
    until: datetime
    rooms: list[dict[str, Any]] = field(default_factory=list)
    ups: list[dict[str, Any]] = field(default_factory=list)
    episodes: list[dict[str, Any]] = field(default_factory=list)
    pdus: list[dict[str, Any]] = field(default_factory=list)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None else round(value, digits)


def merge_episodes(alerts: Iterable[Any], until: datetime) -> list[Episode]:
    """On-battery alerts as episodes per UPS, overlapping or touching ones merged; an alert
    still open at ``until`` runs to it (``end`` None)."""
    by_asset: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for alert in alerts:
        if alert.asset_id is None:
            continue
        end = alert.resolved_at if alert.resolved_at and alert.resolved_at < until else None
        by_asset.setdefault(alert.asset_id, []).append((alert.first_seen, end))
    out = []
    for asset_id, spans in by_asset.items():
        spans.sort(key=lambda s: s[0])
        start, end = spans[0]
        for s, e in spans[1:]:
            if end is None or s <= end:
                end = None if end is None or e is None else max(end, e)
                continue
            out.append(Episode(asset_id, start, end))
            start, end = s, e
        out.append(Episode(asset_id, start, end))
    return sorted(out, key=lambda e: (e.start, e.asset_id))


def _room_rows(
    placed: list[tuple[int, int]], start: datetime, until: datetime
) -> list[dict[str, Any]]:
    """Per room, temperature and humidity over the readings of every asset in it (``placed``:
    asset id, room id)."""
    rooms = registry.all_rooms()
    by_room: dict[int, list[int]] = {}
    for asset_id, room_id in placed:
        by_room.setdefault(room_id, []).append(asset_id)
    room_ids = [r.id for r in rooms]
    limits = {
        TEMPERATURE: patrol.room_reading_limits(CHECKLIST, TEMPERATURE, room_ids) or {},
        HUMIDITY: patrol.room_reading_limits(CHECKLIST, HUMIDITY, room_ids) or {},
    }
    span = (until - start).total_seconds()
    words = {TEMPERATURE: (_("Temperature"), "°C"), HUMIDITY: (_("Relative humidity"), "%RH")}
    rows = []
    for room in rooms:
        for metric in (TEMPERATURE, HUMIDITY):
            bound = limits[metric].get(room.id)
            low = bound.normal_min if bound is not None else None
            high = bound.normal_max if bound is not None else None
            stats = monitors.range_stats(
                by_room.get(room.id, []), [metric], start, until, low, high
            )
            if not stats.readings:
                continue
            word, unit = words[metric]
            rows.append(
                {
                    "room_id": room.id,
                    "metric": metric,
                    "site": room.site.name,
                    "room": room.name,
                    "measure": word,
                    "unit": unit,
                    "low_limit": low,
                    "high_limit": high,
                    "min": _round(stats.low),
                    "mean": _round(stats.mean),
                    "max": _round(stats.high),
                    "outside_h": _hours(stats.outside_s),
                    "outside_share": stats.outside_s / span if span > 0 else None,
                    "readings": stats.readings,
                }
            )
    return rows


def _where(asset: Any) -> str:
    room = asset.room.name if asset.room else ""
    return " / ".join(x for x in (room, asset.rack.name if asset.rack else "") if x)


def _ups_rows(
    upses: list[Any], start: datetime, until: datetime, episodes: list[Episode]
) -> list[dict[str, Any]]:
    low_alerts: dict[int, int] = {}
    for alert in desk.alerts_overlapping(start, until, [BATTERY_LOW_RULE]):
        if alert.asset_id is not None:
            low_alerts[alert.asset_id] = low_alerts.get(alert.asset_id, 0) + 1
    ids = [u.id for u in upses]
    # hourly means, as the load kind's 95th percentiles (twelve times fewer rows than 5-minute)
    load = monitors.percentiles(ids, [LOAD], start, until, hourly=True)
    charge = monitors.stats_by_asset(ids, [CHARGE], start, until, hourly=True)
    runtime = monitors.stats_by_asset(ids, [RUNTIME], start, until, hourly=True)
    heat = monitors.stats_by_asset(ids, [BATTERY_TEMPERATURE], start, until, hourly=True)
    rows = []
    for ups in upses:
        p95 = load.get(ups.id)
        mine = [e for e in episodes if e.asset_id == ups.id]
        rows.append(
            {
                "asset_id": ups.id,
                "tag": ups.asset_tag,
                "name": ups.name,
                "location": _where(ups),
                "load_p95": _round(p95.value) if p95 else None,
                "load_peak": _round(p95.peak) if p95 else None,
                "charge_min": _round(charge[ups.id].low) if ups.id in charge else None,
                "runtime_min": _round(runtime[ups.id].low) if ups.id in runtime else None,
                "battery_temp_max": _round(heat[ups.id].high) if ups.id in heat else None,
                "battery_low": low_alerts.get(ups.id, 0),
                "episodes": len(mine),
                "battery_minutes": round(sum(e.clipped(start).minutes(until) for e in mine), 1),
            }
        )
    return rows


def _pdu_rows(pdus: list[Any], start: datetime, until: datetime) -> list[dict[str, Any]]:
    ids = [p.id for p in pdus]
    currents = monitors.percentiles(ids, ["pdu.current_a"], start, until, hourly=True)
    powers = monitors.percentiles(ids, ["pdu.power_w"], start, until, hourly=True)
    unknown = _("unknown")  # said once for every PDU without a rating
    rows = []
    for pdu in pdus:
        current, power = currents.get(pdu.id), powers.get(pdu.id)
        rated = _rating(pdu.specs or {})
        share = current.value / rated if current and rated else None
        rows.append(
            {
                "tag": pdu.asset_tag,
                "name": pdu.name,
                "rack": pdu.rack.name if pdu.rack else "",
                "room": pdu.room.name if pdu.room else "",
                "rated": rated if rated is not None else unknown,
                "current_p95": _round(current.value, 2) if current else None,
                "current_peak": _round(current.peak, 2) if current else None,
                "share": share,
                "power_p95": _round(power.value, 0) if power else None,
            }
        )
    return rows


def _fold(name: str) -> str:
    """A spec key compared without width, case, blanks, ``_``/``-`` and brackets."""
    text = unicodedata.normalize("NFKC", str(name))
    return re.sub(r"[\s_\-()]+", "", text).casefold()


def _rating(specs: dict[str, Any]) -> float | None:
    """The PDU's rated current in amperes from its specs (额定电流（A）, rated_current_a ...),
    when it is a positive number."""
    value = next((v for k, v in specs.items() if _fold(k) in RATED_CURRENT_KEYS), None)
    if value is None or isinstance(value, bool):
        return None
    try:
        rated = float(str(value).upper().removesuffix("A").strip())
    except ValueError:
        return None
    return rated if rated > 0 else None


def gather(ctx: Context) -> Environment:
    """The period's environment and power figures (one pass over the data)."""
    start = ctx.period.start
    until = max(start, min(ctx.period.end, ctx.as_of))
    found = Environment(start, until)
    found.rooms = _room_rows(registry.asset_rooms_for_report(), start, until)
    assets = registry.assets_for_report(["ups", "pdu"])
    alerts = desk.alerts_overlapping(start, until, [ON_BATTERY_RULE], ON_BATTERY_CONDITION)
    episodes = merge_episodes(alerts, until)
    found.ups = _ups_rows([a for a in assets if a.kind == "ups"], start, until, episodes)
    names = {row["asset_id"]: row for row in found.ups}
    for e in episodes:
        ups = names.get(e.asset_id)
        found.episodes.append(
            {
                "tag": ups["tag"] if ups else "",
                "name": ups["name"] if ups else "",
                "start": local_time(max(e.start, start), ctx),
                "end": local_time(e.end, ctx),
                "minutes": e.clipped(start).minutes(until),
                "state": _("ended") if e.end is not None else _("still on battery"),
            }
        )
    found.pdus = _pdu_rows([a for a in assets if a.kind == "pdu"], start, until)
    return found
