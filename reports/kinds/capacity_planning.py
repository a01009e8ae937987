"""Report kind 容量规划 (capacity planning): per room, how much of each resource is used and
when it reaches 80 %, from the registry's capacity model (``assets.queries.capacity_of_rooms``,
the model ``opskit plan`` answers on) as of the pack's ``as_of``:

- **Rack units**: units used (an asset or a reservation in them) of the room's racks' units.
- **Power**: the draw of the racks with a recorded rating against their capacity, each rack's
  being one feed's rating (with two feeds either may fail, so one must carry it all: the
  smaller of the two).
- **Cooling**: the room's IT load against its air conditioners' stated capacity.
- **Switch ports**: the ports of the room's switches not free (in use, with a link or traffic,
  administratively down) of all the ports of a known speed the monitors saw.
- **IP addresses**: the used addresses of the prefixes registered to the room's site (the
  same figure for each of its rooms).

**Forecast** of when each resource reaches 80 %: least squares (``reports.forecast``, limit
80 %) over the room's daily capacity snapshots (``assets.capacity_history``: one a site day,
``used`` of ``total`` as a share) of the forecast's window (91 days up to the last snapshot); at
least ``reports.forecast.MIN_POINTS`` (28) snapshots spanning 28 days, else "not enough data"
with the count. Addresses: the daily sum of the site's prefixes' snapshots. Power and cooling
also have the PDUs' daily peaks where the racks are measured (the highest hour of their
hourly averages summed, plus the stated draw of the racks without readings): those are used
when they give a forecast (28 days of peaks), else the series with more days (the peaks on a
tie), so a measured room does not wait for its snapshots to build up.

Findings: ``capacity.room_over`` (a resource at 80 % or more), ``capacity.forecast_80`` (the
likeliest crossing of 80 % within a year), and the summary's sentence (``capacity.summary``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import capacity_history, capacity_of_rooms, list_prefixes, prefix_utilisations
from monitors.queries import hourly_values
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATE, INT, PERCENT, Col, Sheet
from reports import forecast as fc
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, listed, period_as_of
from reports.kinds.load_forecast import forecast_state, midnight

LIMIT = 80.0  # percent: the share a resource is planned up to (capacity.yaml's limit_percent)
POWER_METRIC = "pdu.power_w"
#: resource key → its word; the order of the sheet
RESOURCES = {
    "u": _l("Rack units"),
    "power": _l("Power"),
    "cooling": _l("Cooling"),
    "ports": _l("Switch ports"),
    "ip": _l("IP addresses"),
}
UNITS = {"u": "U", "power": "W", "cooling": "W", "ports": "", "ip": ""}


@dataclass(frozen=True)
class Row:
    site: str
    room: str
    key: str  # a RESOURCES key
    used: float | None
    capacity: float | None
    forecast: fc.Forecast | None  # None: no capacity recorded
    source: str = "snapshots"  # what the forecast fitted: "snapshots" or the PDUs' "peaks"

    @property
    def share(self) -> float | None:
        return self.used / self.capacity if self.capacity and self.used is not None else None


def _hours(pdus: list[int], ctx: Context) -> dict[int, dict[datetime, float]]:
    """PDU → hour → its average watts, over the forecast's window before ``as_of`` (one read
    for every room)."""
    start = ctx.as_of - timedelta(days=fc.WINDOW_DAYS)
    out: dict[int, dict[datetime, float]] = {}
    for pdu, _metric, _inst, hour, avg, _max in hourly_values(
        pdus, [POWER_METRIC], start, ctx.as_of, instances=[""]
    ):
        out.setdefault(pdu, {})[hour] = avg
    return out


def _daily_peaks(
    hours: dict[int, dict[datetime, float]], pdus: list[int], constant: float, ctx: Context
) -> list[tuple[date, float]]:
    """(local day, the room's peak watts): per hour the ``pdus``' averages summed, the day's
    highest hour, plus ``constant`` (the racks without readings)."""
    summed: dict[datetime, float] = {}
    for pdu in pdus:
        for hour, watts in hours.get(pdu, {}).items():
            summed[hour] = summed.get(hour, 0.0) + watts
    days: dict[date, float] = {}
    for hour, watts in summed.items():
        local = (hour if hour.tzinfo else hour.replace(tzinfo=UTC)).astimezone(ctx.period.tz)
        days[local.date()] = max(days.get(local.date(), 0.0), watts + constant)
    return sorted(days.items())


def _history(
    ctx: Context, site_of_prefix: dict[int, int | None]
) -> dict[tuple[object, str], list[tuple[date, float]]]:
    """(room id, resource) → (day, percent used) of the room's snapshots in the forecast's
    window up to the pack's day; addresses keyed (("site", site id), "ip"): each day, the site's
    prefixes' used summed of their sizes summed."""
    last = ctx.as_of_day
    out: dict[tuple[object, str], list[tuple[date, float]]] = {}
    ip: dict[tuple[int | None, date], list[float]] = {}
    for day, room_id, prefix_id, resource, used, total in capacity_history(
        last - timedelta(days=fc.WINDOW_DAYS - 1), last
    ):
        if prefix_id is not None:
            if prefix_id in site_of_prefix and total:
                sums = ip.setdefault((site_of_prefix[prefix_id], day), [0.0, 0.0])
                sums[0] += used
                sums[1] += total
        elif total:
            out.setdefault((room_id, resource), []).append((day, 100 * used / total))
    for (site_id, day), (used, total) in sorted(ip.items(), key=lambda i: i[0][1]):
        out.setdefault((("site", site_id), "ip"), []).append((day, 100 * used / total))
    return out


def _pick(peaks: fc.Forecast | None, snapshots: fc.Forecast) -> tuple[fc.Forecast, str]:
    """The PDUs' peaks when they give a forecast, else the series with more days (peaks on a
    tie)."""
    if peaks is not None and (peaks.state != fc.INSUFFICIENT or peaks.days >= snapshots.days):
        return peaks, "peaks"
    return snapshots, "snapshots"


def rows(ctx: Context) -> list[Row]:
    """Each room's resources (the module's docstring says how each is counted)."""
    model = capacity_of_rooms(ctx.as_of)
    hours = _hours(
        [p for r in model.racks.values() if r.load_source == "measured" for p in r.pdu_ids], ctx
    )
    prefixes = list_prefixes()
    usage = prefix_utilisations(prefixes)
    ip_used: dict[int | None, int] = {}
    ip_size: dict[int | None, int] = {}
    for p in prefixes:
        held = model.held_addresses.get(p.id, 0)
        ip_used[p.site_id] = ip_used.get(p.site_id, 0) + usage[p.id].used + held
        ip_size[p.site_id] = ip_size.get(p.site_id, 0) + usage[p.id].size
    history = _history(ctx, {p.id: p.site_id for p in prefixes})
    out: list[Row] = []
    for room in model.rooms.values():
        racks = [model.racks[r] for r in room.rack_ids]
        figures = room.figures(model.racks)
        rated = [r for r in racks if r.feeds]
        power_cap = figures["power"][1]
        measured = [r for r in racks if r.load_source == "measured"]
        pdus = [p for r in measured for p in r.pdu_ids]
        peaks: dict[str, fc.Forecast | None] = {"power": None, "cooling": None}
        if pdus:
            rest = sum(r.load_w for r in rated if r not in measured)
            daily = _daily_peaks(
                hours, [p for r in measured if r.feeds for p in r.pdu_ids], rest, ctx
            )
            if power_cap:
                peaks["power"] = fc.forecast([(d, 100 * w / power_cap) for d, w in daily], LIMIT)
            if room.cooling_w:
                rest_all = sum(r.load_w for r in racks if r not in measured)
                all_peaks = _daily_peaks(hours, pdus, rest_all, ctx)
                peaks["cooling"] = fc.forecast(
                    [(d, 100 * w / room.cooling_w) for d, w in all_peaks], LIMIT
                )
        for key in ("u", "power", "cooling", "ports"):
            used, total = figures[key]
            if total is None:
                out.append(Row(room.site, room.name, key, None if key == "power" else used,
                               None, None))  # fmt: skip
                continue
            snapshots = fc.forecast(history.get((room.id, key), []), LIMIT)
            found, source = _pick(peaks.get(key), snapshots)
            out.append(Row(room.site, room.name, key, used, total, found, source))
        size = ip_size.get(room.site_id)
        out.append(
            Row(
                room.site,
                room.name,
                "ip",
                ip_used.get(room.site_id),
                size,
                fc.forecast(history.get((("site", room.site_id), "ip"), []), LIMIT)
                if size
                else None,
            )
        )
    return out


def _words(row: Row) -> str:
    if row.capacity is None:
        return _("capacity not recorded")
    if row.forecast is None:
        return _("not enough data")
    if row.forecast.state == fc.INSUFFICIENT and row.forecast.days == 0:
        return _("not enough data")
    if row.forecast.state == fc.INSUFFICIENT and row.source == "snapshots":
        return _(
            "not enough data (%(days)s daily snapshots, %(needed)s needed)",
            days=row.forecast.days,
            needed=fc.MIN_POINTS,
        )
    return forecast_state(row.forecast)


def capacity_planning(ctx: Context) -> list[Sheet]:
    found = ctx.once("capacity", lambda: rows(ctx))
    table = [
        {
            "site": r.site,
            "room": r.room,
            "resource": str(RESOURCES[r.key]),
            "used": round(r.used) if r.used is not None else None,
            "capacity": round(r.capacity) if r.capacity is not None else None,
            "unit": UNITS[r.key],
            "share": r.share,
            "forecast": _words(r),
            "likeliest": midnight(r.forecast.likeliest) if r.forecast else None,
            "earliest": midnight(r.forecast.earliest) if r.forecast else None,
        }
        for r in found
    ]
    over = sorted({(r.site, r.room) for r in found if (r.share or 0) * 100 >= LIMIT})
    ctx.headline[_("Rooms with a resource at 80 % or more")] = Figure(len(over), INT)
    busiest = max((r.share for r in found if r.key in ("u", "power") and r.share), default=None)
    ctx.headline[_("Fullest room (units or power)")] = Figure(busiest, PERCENT)
    return [
        Sheet(
            _("Capacity planning"),
            [
                Col("site", _("Site")),
                Col("room", _("Room")),
                Col("resource", _("Resource")),
                Col("used", _("Used"), INT),
                Col("capacity", _("Capacity"), INT),
                Col("unit", _("Unit")),
                Col("share", _("Utilisation"), PERCENT),
                Col("forecast", _("Reaching 80 %")),
                Col("likeliest", _("Likeliest day"), DATE),
                Col("earliest", _("Earliest day"), DATE),
            ],
            table,
            highlight=lambda row: (row["share"] or 0) * 100 >= LIMIT,
            note=_(
                "Per room: rack units (reservations included), power of the racks with a "
                "rating (one feed must carry the rack), cooling, switch ports, and the site's "
                "addresses. Forecast by least squares over the daily capacity snapshots of up "
                "to %(days)s days (power and cooling: the PDUs' daily peaks where they give "
                "one), at least %(min)s days of them.",
                days=fc.WINDOW_DAYS,
                min=fc.MIN_POINTS,
            )
            + as_of_note(ctx),
        )
    ]


def findings(ctx: Context) -> list[Finding]:
    found = ctx.once("capacity", lambda: rows(ctx))
    period = period_as_of(ctx)
    out: list[Finding] = []
    for r in found:
        subject = f"{r.site}/{r.room}"
        resource = str(RESOURCES[r.key])
        pct = round(100 * r.share, 1) if r.share is not None else None
        if pct is not None and pct >= LIMIT:
            out.append(
                Finding(
                    key="capacity.room_over",
                    subject=subject,
                    metric=resource,
                    value=pct,
                    period=period,
                    figures={
                        "resource": resource,
                        "resource_key": r.key,
                        "used_pct": pct,
                        "value_unit": "%",
                    },
                    severity=2,
                )
            )
        f = r.forecast
        if f is not None and f.state == fc.CROSSES and f.likeliest and f.last:
            days_left = (f.likeliest - ctx.as_of_day).days
            if days_left <= 365:
                out.append(
                    Finding(
                        key="capacity.forecast_80",
                        subject=subject,
                        metric=resource,
                        value=f.likeliest.isoformat(),
                        period=period,
                        figures={
                            "resource": resource,
                            "resource_key": r.key,
                            "likeliest": f.likeliest.isoformat(),
                            "days_left": days_left,
                        },
                        severity=1,
                    )
                )
    over = sorted({f.subject for f in out if f.key == "capacity.room_over"})
    rooms = len({(r.site, r.room) for r in found})
    text = (
        _(
            "Capacity: %(over)d of %(rooms)d rooms have a resource at 80 %% or more (%(which)s).",
            over=len(over),
            rooms=rooms,
            which=listed(over),
        )
        if over
        else _("Capacity: no room has a resource at 80 %% or more (%(rooms)d rooms).", rooms=rooms)
    )
    out.append(
        Finding(
            key="capacity.summary",
            subject="",
            metric=_("Capacity planning"),
            value=len(over),
            period=period,
            figures={"text": text},
        )
    )
    return out


KIND = Kind(_l("Capacity planning"), capacity_planning, findings=findings)
