"""What the capacity model of the registry (``assets.capacity``) measures, read from the
readings: each PDU's draw (the 95th percentile of its hourly ``pdu.power_w`` means over the
window, ``monitors.report_stats.percentiles``) and each switch's interfaces (the newest
``if.oper_status`` / ``if.admin_status`` / ``if.speed_bps`` of the window and the highest
``if.in_bps`` / ``if.out_bps`` in it, from the rollups' maxima and the raw readings), and
each room's hourly temperature (the hottest of its probes' hourly ``env.temperature_c`` means).
Registered into ``assets.extensions`` by ``monitors.init_app`` (the registry imports nothing
above it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, union_all

from assets.extensions import Port
from assets.queries import asset_rooms_for_report
from monitors.history import hourly_values
from monitors.models import Reading, Rollup
from monitors.report_stats import percentiles
from opskit import db

POWER = "pdu.power_w"
STATES = ("if.oper_status", "if.admin_status", "if.speed_bps")
TRAFFIC = ("if.in_bps", "if.out_bps")
TEMPERATURE = "env.temperature_c"


def pdu_draw(pdu_ids: list[int], start: datetime, end: datetime) -> dict[int, float]:
    """PDU id → the 95th percentile of its hourly mean power in watts over [start, end)."""
    found = percentiles(pdu_ids, [POWER], start, end, hourly=True)
    return {asset_id: p.value for asset_id, p in found.items()}


def switch_ports(switch_ids: list[int], start: datetime, end: datetime) -> dict[int, list[Port]]:
    """Switch id → its interfaces seen in [start, end), by name: the newest state words and
    speed, and the highest traffic (None when the interface has no traffic reading)."""
    if not switch_ids:
        return {}
    sess = db.session()
    newest = (
        select(Reading.asset_id, Reading.metric, Reading.instance, func.max(Reading.at).label("at"))
        .where(
            Reading.asset_id.in_(switch_ids),
            Reading.metric.in_(STATES),
            Reading.at >= start,
            Reading.at < end,
        )
        .group_by(Reading.asset_id, Reading.metric, Reading.instance)
        .subquery()
    )
    rows = sess.execute(
        select(Reading.asset_id, Reading.metric, Reading.instance, Reading.text, Reading.value)
        .join(
            newest,
            (Reading.asset_id == newest.c.asset_id)
            & (Reading.metric == newest.c.metric)
            & (Reading.instance == newest.c.instance)
            & (Reading.at == newest.c.at),
        )
        .order_by(Reading.id)
    ).all()
    seen: dict[tuple[int, str], dict[str, object]] = {}
    for asset_id, metric, instance, text, value in rows:
        seen.setdefault((asset_id, instance), {})[metric] = text if text is not None else value
    rolled = select(Rollup.asset_id, Rollup.instance, func.max(Rollup.max).label("peak")).where(
        Rollup.asset_id.in_(switch_ids),
        Rollup.metric.in_(TRAFFIC),
        Rollup.bucket >= start,
        Rollup.bucket < end,
    )
    raw = select(Reading.asset_id, Reading.instance, func.max(Reading.value).label("peak")).where(
        Reading.asset_id.in_(switch_ids),
        Reading.metric.in_(TRAFFIC),
        Reading.at >= start,
        Reading.at < end,
    )
    both = union_all(
        rolled.group_by(Rollup.asset_id, Rollup.instance),
        raw.group_by(Reading.asset_id, Reading.instance),
    ).subquery()
    peaks: dict[tuple[int, str], float] = {}
    for asset_id, instance, peak in sess.execute(
        select(both.c.asset_id, both.c.instance, func.max(both.c.peak)).group_by(
            both.c.asset_id, both.c.instance
        )
    ):
        if peak is not None:
            peaks[(asset_id, instance)] = float(peak)
    out: dict[int, list[Port]] = {}
    for asset_id, instance in sorted(seen.keys() | peaks.keys()):
        states = seen.get((asset_id, instance), {})
        speed = states.get("if.speed_bps")
        out.setdefault(asset_id, []).append(
            Port(
                name=instance,
                oper=str(states.get("if.oper_status") or ""),
                admin=str(states.get("if.admin_status") or ""),
                speed_bps=int(float(speed)) if isinstance(speed, int | float) else None,
                peak_bps=peaks.get((asset_id, instance)),
            )
        )
    return out


def room_temperatures(
    room_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[tuple[datetime, float]]]:
    """Room id → (hour, °C) of each hour in [start, end) with a reading: the hottest of the
    room's assets' hourly mean ``env.temperature_c`` (every probe and instance)."""
    wanted = set(room_ids)
    room_of = {a: r for a, r in asset_rooms_for_report() if r in wanted}
    hottest: dict[int, dict[datetime, float]] = {}
    for asset_id, _metric, _inst, hour, avg, _max in hourly_values(
        list(room_of), [TEMPERATURE], start, end
    ):
        hours = hottest.setdefault(room_of[asset_id], {})
        hours[hour] = max(hours.get(hour, avg), avg)
    return {room: sorted(hours.items()) for room, hours in hottest.items()}
