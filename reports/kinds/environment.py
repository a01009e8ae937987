"""Report kind 机房环境与供电 (machine-room environment and power) over the period, up to the
pack's "as of" time:

- 机房温湿度: per room, temperature (``env.temperature_c``) and relative humidity
  (``env.humidity_percent``) of every probe in the room: minimum, mean, maximum and the time
  outside the limits. The limits are the patrol checklist's (``room_environment``: cold-aisle
  temperature 18–27 °C, humidity 40–60 %RH by GB 50174-2017, with the site's and the room's
  stored overrides), the same normal range a patrol round judges the room by;
- UPS 负载与电池: per UPS, the 95th percentile and peak of its output load, the lowest
  battery charge and runtime, the highest battery temperature, its battery-low alerts and its
  on-battery episodes (none of the shipped device profiles reads a replace-battery
  indication, so none is shown);
- UPS 电池供电记录: each on-battery episode with its start, end and duration, from the desk's
  alerts (the ``ups.on_battery`` rule on the readings and the traps' ``ups_on_battery``
  condition; overlapping ones of one UPS merged into one episode);
- PDU 负载: per rack PDU, the 95th percentile and peak of its current against its rated
  current (the asset's spec 额定电流（A）, also read as ``rated_current_a`` and other
  spellings; "unknown" without one) and of its power.

Every figure is aggregated in SQL by ``monitors.queries`` (``range_stats``, ``percentiles``,
``stats_by_asset``). The rooms' figures come from the 5-minute rollups (hourly ones for months
past them, the raw readings where no rollup exists): a five-minute excursion counts. The UPS and
PDU figures come from the hourly means, as the load kind's 95th percentiles do (5-minute ones
where no hourly rollup exists yet): twelve times fewer rows for the many PDUs of a site.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.xlsx.writer import DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, period_words
from reports.kinds.environment_data import HIGH_LOAD, HUMIDITY, TEMPERATURE, Environment, gather


def _gathered(ctx: Context) -> Environment:
    return ctx.once("environment", lambda: gather(ctx))


def environment(ctx: Context) -> list[Sheet]:
    found = _gathered(ctx)
    ctx.headline[_("Room time outside temperature/humidity limits (hours)")] = round(
        sum(r["outside_h"] for r in found.rooms), 2
    )
    ctx.headline[_("UPS on-battery episodes")] = len(found.episodes)
    running = as_of_note(ctx)
    return [
        Sheet(
            _("Room environment"),
            [
                Col("site", _("Site")),
                Col("room", _("Room")),
                Col("measure", _("Measure")),
                Col("unit", _("Unit")),
                Col("low_limit", _("Lower limit"), NUMBER),
                Col("high_limit", _("Upper limit"), NUMBER),
                Col("min", _("Minimum"), NUMBER),
                Col("mean", _("Mean"), NUMBER),
                Col("max", _("Maximum"), NUMBER),
                Col("outside_h", _("Hours outside the limits"), NUMBER),
                Col("outside_share", _("Share of the period outside"), PERCENT),
                Col("readings", _("Readings counted"), INT),
            ],
            found.rooms,
            highlight=lambda row: row["outside_h"] > 0,
            note=_(
                "Every probe in the room; limits are the patrol checklist's normal range for the "
                "room (room environment, with the site's and the room's overrides). Time outside "
                "counts each 5-minute slot (hour, for months past the 5-minute rollups) in which "
                "any probe read beyond a limit, once."
            )
            + running,
        ),
        Sheet(
            _("UPS load and battery"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("location", _("Location")),
                Col("load_p95", _("Load 95th percentile %"), NUMBER),
                Col("load_peak", _("Load peak %"), NUMBER),
                Col("charge_min", _("Lowest battery charge %"), NUMBER),
                Col("runtime_min", _("Lowest battery runtime (min)"), NUMBER),
                Col("battery_temp_max", _("Highest battery temperature °C"), NUMBER),
                Col("battery_low", _("Battery-low alerts"), INT),
                Col("episodes", _("On-battery episodes"), INT),
                Col("battery_minutes", _("Minutes on battery"), NUMBER),
            ],
            found.ups,
            highlight=lambda row: (row["load_p95"] or 0) > HIGH_LOAD or row["battery_low"] > 0,
            note=_(
                "Load: 95th percentile and peak of the hourly means of the output load. No "
                "device profile reads a replace-battery indication; the battery's condition is "
                "its lowest charge and runtime and its battery-low alerts."
            )
            + running,
        ),
        Sheet(
            _("UPS on-battery episodes"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("start", _("Start"), DATETIME),
                Col("end", _("End"), DATETIME),
                Col("minutes", _("Duration (min)"), NUMBER),
                Col("state", _("State")),
            ],
            found.episodes,
            note=_(
                "From the UPS on-battery alerts (readings and traps), overlapping alerts of one "
                "UPS merged; an episode begun before the period starts at the period's start."
            )
            + running,
        ),
        Sheet(
            _("PDU load"),
            [
                Col("room", _("Room")),
                Col("rack", _("Rack")),
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("rated", _("Rated current (A)"), NUMBER),
                Col("current_p95", _("Current 95th percentile (A)"), NUMBER),
                Col("current_peak", _("Current peak (A)"), NUMBER),
                Col("share", _("95th percentile of rating"), PERCENT),
                Col("power_p95", _("Power 95th percentile (W)"), NUMBER),
            ],
            found.pdus,
            highlight=lambda row: (row["share"] or 0) * 100 > HIGH_LOAD,
            note=_(
                "Current of all the PDU's phases or banks, hourly means; the rating is the "
                "asset's rated current spec, unknown without one."
            )
            + running,
        ),
    ]


def _summary(found: Environment) -> str:
    """The 综述's sentence on the rooms and the power, in the workbook's language."""
    temps = [r for r in found.rooms if r["metric"] == TEMPERATURE]
    parts = []
    if temps:
        parts.append(
            _(
                "Machine-room temperature ranged from %(low)s to %(high)s °C; readings were "
                "outside the limits for %(hours)s hours in all (temperature and humidity).",
                low=min(r["min"] for r in temps),
                high=max(r["max"] for r in temps),
                hours=round(sum(r["outside_h"] for r in found.rooms), 2),
            )
        )
    if found.ups:
        minutes = round(sum(r["battery_minutes"] for r in found.ups), 1)
        loads = [r["load_p95"] for r in found.ups if r["load_p95"] is not None]
        parts.append(
            _(
                "The UPSes ran on battery %(n)s times (%(minutes)s minutes in all); the highest "
                "95th percentile of UPS load was %(load)s %%.",
                n=len(found.episodes),
                minutes=minutes,
                load=max(loads) if loads else "—",
            )
        )
    return " ".join(parts)


def findings(ctx: Context) -> list[Finding]:
    """``environment.summary`` (its sentence as ``text``; rooms, hours_outside, episodes,
    battery_minutes), per room and measure with time outside the limits
    ``environment.temperature_out_of_range`` / ``environment.humidity_out_of_range`` (room,
    hours, share_pct, low, high, min, max, unit), per UPS with on-battery episodes
    ``environment.ups_on_battery`` (tag, name, episodes, minutes, longest), per UPS whose load's
    95th percentile is above 80 % ``environment.ups_load_high`` (tag, name, p95, peak), per PDU
    above 80 % of its rating ``environment.pdu_overload`` (tag, name, rack, p95, rated,
    load_pct)."""
    found = _gathered(ctx)
    period = period_words(ctx) + as_of_note(ctx)
    out = [
        Finding(
            key="environment.summary",
            subject="",
            metric=_("Machine-room environment and power"),
            value=len(found.episodes),
            period=period,
            figures={
                "text": _summary(found),
                "rooms": len({r["room_id"] for r in found.rooms}),
                "hours_outside": round(sum(r["outside_h"] for r in found.rooms), 2),
                "episodes": len(found.episodes),
                "battery_minutes": round(sum(r["battery_minutes"] for r in found.ups), 1),
            },
        )
    ]
    keys = {
        TEMPERATURE: "environment.temperature_out_of_range",
        HUMIDITY: "environment.humidity_out_of_range",
    }
    for r in found.rooms:
        if r["outside_h"] <= 0:
            continue
        out.append(
            Finding(
                key=keys[r["metric"]],
                subject=r["room"],
                metric=r["measure"],
                value=r["outside_h"],
                period=period,
                figures={
                    "room": r["room"],
                    "hours": r["outside_h"],
                    "share_pct": round((r["outside_share"] or 0) * 100, 2),
                    "low": "—" if r["low_limit"] is None else r["low_limit"],
                    "high": "—" if r["high_limit"] is None else r["high_limit"],
                    "min": r["min"],
                    "max": r["max"],
                    "unit": r["unit"],
                },
                severity=int(r["outside_h"]) + 1,
            )
        )
    for r in found.ups:
        subject = f"{r['name']} ({r['tag']})"
        if r["episodes"]:
            longest = max(e["minutes"] for e in found.episodes if e["tag"] == r["tag"])
            out.append(
                Finding(
                    key="environment.ups_on_battery",
                    subject=subject,
                    metric=_("On-battery episodes"),
                    value=r["episodes"],
                    period=period,
                    figures={
                        "tag": r["tag"],
                        "name": r["name"],
                        "episodes": r["episodes"],
                        "minutes": r["battery_minutes"],
                        "longest": longest,
                    },
                    severity=r["episodes"] * 10,
                )
            )
        if r["load_p95"] is not None and r["load_p95"] > HIGH_LOAD:
            out.append(
                Finding(
                    key="environment.ups_load_high",
                    subject=subject,
                    metric=_("Load 95th percentile %"),
                    value=r["load_p95"],
                    period=period,
                    figures={
                        "tag": r["tag"],
                        "name": r["name"],
                        "p95": r["load_p95"],
                        "peak": r["load_peak"],
                    },
                    severity=int(r["load_p95"]),
                )
            )
    for r in found.pdus:
        if r["share"] is None or r["share"] * 100 <= HIGH_LOAD:
            continue
        out.append(
            Finding(
                key="environment.pdu_overload",
                subject=f"{r['name']} ({r['tag']})",
                metric=_("95th percentile of rating"),
                value=round(r["share"] * 100, 1),
                period=period,
                figures={
                    "tag": r["tag"],
                    "name": r["name"],
                    "rack": r["rack"],
                    "p95": r["current_p95"],
                    "rated": r["rated"],
                    "load_pct": round(r["share"] * 100, 1),
                },
                severity=int(r["share"] * 100),
            )
        )
    return out


KIND = Kind(_l("Machine-room environment and power"), environment, findings=findings)
