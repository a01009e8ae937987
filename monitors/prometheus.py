"""Prometheus exposition at ``/metrics``: the room's figures in Prometheus's text format 0.0.4,
read from the database at each scrape (no registry kept between scrapes or apps).

Who may scrape (``opskit.auth.scraped``): a Bearer token of any role, or, without one, an
address on ``OPSKIT_METRICS_ALLOW``; else 401 (no or a bad token), 403 (an allow-list is set
and the address is not on it).

The families:

- every reading's latest value, one family per metric of the vocabulary (``NAMES``: opskit's
  name → Prometheus's, with the unit in base units, ``UNITS``): percentages are ``_ratio``
  0..1 (a UPS over its capacity reads above 1), milliseconds and minutes ``_seconds``, bits
  per second ``_bytes_per_second``; device counters are ``counter`` families ending
  ``_total``; a state metric is a state set, one series per listed state, 1 for the state the
  device reports and 0 for the others. Labels: ``site``, ``room``, ``asset`` (its tag),
  ``asset_kind``, ``metric`` (opskit's name), ``metric_instance`` (opskit's instance: the probe,
  line, phase, interface, volume or database; not ``instance``, which is Prometheus's own label
  for the scraped target and would come out as ``exported_instance``) and ``unit`` (the
  exposed unit).
  **Fresh only**: the readings of each monitor's latest poll when that poll is within
  ``LATEST_WINDOW`` (1 hour, the dashboard's rule, ``queries.latest_values``); an older one is
  not exposed, so a dead poller's last values vanish instead of standing still;
- ``opskit_alerts_open{urgency, state}``: open alerts (firing, acknowledged, onsite);
- ``opskit_sla_at_risk{kind, urgency, state}``: open alerts and service requests whose nearest
  running clock is past the policy's warning share of its time (``warning``) or past its
  deadline (``breached``);
- the poller's health: monitors enabled, due, overdue and failing, and the age of the last
  completed poll cycle.

Each family costs one query (the readings one, asset labels one per ``IDS_PER_QUERY`` assets,
rooms one), whatever the number of assets.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, Response
from sqlalchemy import select

from assets import queries as assets
from monitors import queries
from monitors.metrics import METRICS
from monitors.models import Monitor, MonitorState
from opskit import db
from opskit.alerts import queries as alerts
from opskit.auth import scraped
from opskit.servicedesk import queries as desk

bp = Blueprint("metrics", __name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "opskit_"

#: opskit unit → (Prometheus unit word ending the name, factor to base units)
UNITS: dict[str, tuple[str, float]] = {
    "": ("", 1.0),
    "%": ("ratio", 0.01),
    "°C": ("celsius", 1.0),
    "V": ("volts", 1.0),
    "A": ("amperes", 1.0),
    "W": ("watts", 1.0),
    "Hz": ("hertz", 1.0),
    "s": ("seconds", 1.0),
    "ms": ("seconds", 0.001),
    "min": ("seconds", 60.0),
    "d": ("seconds", 86400.0),
    "B": ("bytes", 1.0),
    "bit/s": ("bytes_per_second", 0.125),
    "B/s": ("bytes_per_second", 1.0),
    "/s": ("per_second", 1.0),
    "/min": ("per_second", 1 / 60),
    "/h": ("per_second", 1 / 3600),
}

#: opskit metric → Prometheus family name: the unit word of ``UNITS`` ends it (and ``_total``
#: after it for counters); a test holds every metric of the vocabulary to it
NAMES: dict[str, str] = {
    "ups.battery.status": "opskit_ups_battery_status",
    "ups.battery.charge_percent": "opskit_ups_battery_charge_ratio",
    "ups.battery.runtime_minutes": "opskit_ups_battery_runtime_seconds",
    "ups.battery.temperature_c": "opskit_ups_battery_temperature_celsius",
    "ups.input.voltage_v": "opskit_ups_input_voltage_volts",
    "ups.input.frequency_hz": "opskit_ups_input_frequency_hertz",
    "ups.output.voltage_v": "opskit_ups_output_voltage_volts",
    "ups.output.load_percent": "opskit_ups_output_load_ratio",
    "ups.output.source": "opskit_ups_output_source",
    "ups.alarms.count": "opskit_ups_alarms",
    "env.temperature_c": "opskit_env_temperature_celsius",
    "env.humidity_percent": "opskit_env_humidity_ratio",
    "ac.supply_temperature_c": "opskit_ac_supply_temperature_celsius",
    "ac.return_temperature_c": "opskit_ac_return_temperature_celsius",
    "ac.humidity_percent": "opskit_ac_humidity_ratio",
    "ac.state": "opskit_ac_state",
    "pdu.current_a": "opskit_pdu_current_amperes",
    "pdu.power_w": "opskit_pdu_power_watts",
    "ats.selected_source": "opskit_ats_selected_source",
    "ats.redundancy": "opskit_ats_redundancy",
    "host.cpu.load_percent": "opskit_host_cpu_load_ratio",
    "host.memory.used_percent": "opskit_host_memory_used_ratio",
    "host.storage.used_percent": "opskit_host_storage_used_ratio",
    "host.storage.size_bytes": "opskit_host_storage_size_bytes",
    "host.uptime_seconds": "opskit_host_uptime_seconds",
    "host.load.1min": "opskit_host_load1",
    "host.load.5min": "opskit_host_load5",
    "host.load.15min": "opskit_host_load15",
    "if.oper_status": "opskit_if_oper_status",
    "if.admin_status": "opskit_if_admin_status",
    "if.speed_bps": "opskit_if_speed_bytes_per_second",
    "if.in_bps": "opskit_if_in_bytes_per_second",
    "if.out_bps": "opskit_if_out_bytes_per_second",
    "if.in_octets": "opskit_if_in_bytes_total",
    "if.out_octets": "opskit_if_out_bytes_total",
    "tcp.connect_ms": "opskit_tcp_connect_seconds",
    "ping.rtt_ms": "opskit_ping_rtt_seconds",
    "ping.loss_percent": "opskit_ping_loss_ratio",
    "http.latency_ms": "opskit_http_latency_seconds",
    "http.status_code": "opskit_http_status_code",
    "http.cert_days_left": "opskit_http_cert_remaining_seconds",
    "db.connections.used": "opskit_db_connections_used",
    "db.connections.used_percent": "opskit_db_connections_used_ratio",
    "db.transactions": "opskit_db_transactions_total",
    "db.transactions_per_s": "opskit_db_transactions_per_second",
    "db.queries": "opskit_db_queries_total",
    "db.queries_per_s": "opskit_db_queries_per_second",
    "db.cache.hits": "opskit_db_cache_hits_total",
    "db.cache.lookups": "opskit_db_cache_lookups_total",
    "db.cache_hit_percent": "opskit_db_cache_hit_ratio",
    "db.slow_queries": "opskit_db_slow_queries_total",
    "db.slow_queries_per_min": "opskit_db_slow_queries_per_second",
    "db.slow_queries.running": "opskit_db_slow_queries_running",
    "db.locks.waiting": "opskit_db_locks_waiting",
    "db.deadlocks": "opskit_db_deadlocks_total",
    "db.deadlocks_per_h": "opskit_db_deadlocks_per_second",
    "db.longest_query_s": "opskit_db_longest_query_seconds",
    "db.replication.lag_s": "opskit_db_replication_lag_seconds",
    "db.size_bytes": "opskit_db_size_bytes",
    "db.table_size_bytes": "opskit_db_table_size_bytes",
    "db.temp_bytes": "opskit_db_temp_bytes_total",
    "db.temp_bytes_per_s": "opskit_db_temp_bytes_per_second",
    "db.temp_disk_tables": "opskit_db_temp_disk_tables_total",
    "db.temp_disk_tables_per_min": "opskit_db_temp_disk_tables_per_second",
    "db.checkpoints": "opskit_db_checkpoints_total",
    "db.checkpoints_per_h": "opskit_db_checkpoints_per_second",
    "db.checkpoints_requested": "opskit_db_checkpoints_requested_total",
    "db.checkpoints_requested_per_h": "opskit_db_checkpoints_requested_per_second",
    "db.buffer_pool.used_percent": "opskit_db_buffer_pool_used_ratio",
}

URGENCIES = ("A", "B", "C")
ALERT_STATES = ("firing", "acknowledged", "onsite")
RISK_KINDS = ("alert", "request")
RISK_STATES = ("warning", "breached")
#: the most open alerts or requests one scrape reads for the SLA figures (a bound, not a goal)
OPEN_LIMIT = 50_000


@dataclass
class Family:
    """One metric family: its samples as (labels, value)."""

    name: str
    kind: str  # gauge | counter
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)


# --- the text format ------------------------------------------------------------------------


def _escape(text: str, quote: bool = True) -> str:
    text = text.replace("\\", "\\\\").replace("\n", "\\n")
    return text.replace('"', '\\"') if quote else text


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) or abs(value) >= 1e15 else str(int(value))


def render(families: Iterable[Family]) -> str:
    """The families in the text exposition format 0.0.4 (HELP, TYPE, one line per sample)."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {_escape(family.help, quote=False)}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            pairs = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            series = f"{family.name}{{{pairs}}}" if pairs else family.name
            lines.append(f"{series} {_number(value)}")
    return "\n".join(lines) + "\n"


# --- the families -----------------------------------------------------------------------------


def unit_of(metric: str) -> tuple[str, float]:
    """The exposed unit word and the factor from opskit's unit to it."""
    return UNITS[METRICS[metric]["unit"]]


def _places(asset_ids: list[int]) -> dict[int, dict[str, str]]:
    """asset id → its labels (site, room, asset tag, asset kind): one query per
    ``IDS_PER_QUERY`` assets for their tags, one for their rooms, one for every room."""
    rooms = {room.id: (room.site.name, room.name) for room in assets.all_rooms()}
    out: dict[int, dict[str, str]] = {}
    step = assets.IDS_PER_QUERY
    for start in range(0, len(asset_ids), step):
        chunk = asset_ids[start : start + step]
        room_of = assets.room_ids_of_assets(chunk)
        for asset_id, tag, _name, kind in assets.asset_labels(chunk):
            room_id = room_of.get(asset_id)
            site, room = rooms.get(room_id, ("", "")) if room_id is not None else ("", "")
            out[asset_id] = {"site": site, "room": room, "asset": tag, "asset_kind": kind}
    return out


def reading_families(now: datetime) -> list[Family]:
    """Each metric's latest fresh values (see the module's docstring), families by name."""
    latest = queries.latest_values(since=now - queries.LATEST_WINDOW)
    places = _places(sorted(latest))
    families: dict[str, Family] = {}
    for asset_id in sorted(latest):
        place = places.get(asset_id)
        if place is None:  # deleted between the two queries
            continue
        for (metric, instance), reading in sorted(latest[asset_id].items()):
            name = NAMES.get(metric)
            if name is None or metric not in METRICS:
                continue
            spec = METRICS[metric]
            unit, factor = unit_of(metric)
            family = families.get(name)
            if family is None:
                family = families[name] = Family(
                    name,
                    "counter" if spec["kind"] == "counter" else "gauge",
                    f"{spec['description']} (opskit metric {metric}"
                    + (f", in {unit})" if unit else ")"),
                )
            labels = {**place, "metric": metric, "metric_instance": instance, "unit": unit}
            if spec["kind"] == "state":
                for state in spec["states"]:
                    family.samples.append(
                        ({**labels, "state": state}, 1.0 if reading.text == state else 0.0)
                    )
            elif reading.value is not None:
                family.samples.append((labels, reading.value * factor))
    return [families[name] for name in sorted(families)]


def _alert_state(alert: Any) -> str:
    return "onsite" if alert.onsite_at is not None else str(alert.status)


def _worst(states: Iterable[str]) -> str | None:
    found = set(states)
    return next((s for s in ("breached", "warning") if s in found), None)


def desk_families(now: datetime) -> list[Family]:
    """Open alerts by urgency and state; alerts and requests at risk of their SLA."""
    open_alerts = [
        a
        for a in alerts.list_alerts(status="open", limit=OPEN_LIMIT)
        if a.source not in alerts.NOTICE_SOURCES
    ]
    counts = Counter((a.urgency, _alert_state(a)) for a in open_alerts)
    opened = Family(
        "opskit_alerts_open",
        "gauge",
        "Open alerts by urgency (A, B, C) and state (firing, acknowledged, onsite: an "
        "engineer is on site)",
    )
    for urgency in URGENCIES:
        for state in ALERT_STATES:
            opened.samples.append(
                ({"urgency": urgency, "state": state}, float(counts[(urgency, state)]))
            )
    risk: Counter[tuple[str, str, str]] = Counter()
    for view in alerts.with_clocks(open_alerts, now):
        worst = _worst(c.state for c in view.clocks if c.done_at is None)
        if worst:
            risk[("alert", view.alert.urgency, worst)] += 1
    requests = desk.list_requests(open_only=True, limit=OPEN_LIMIT)
    for request_view in desk.with_clocks(requests, now):
        running = [c for c in request_view.clocks if c.done_at is None]
        worst = _worst("breached" if c.overdue else "warning" if c.warning else "" for c in running)
        if worst:
            risk[("request", request_view.request.urgency, worst)] += 1
    at_risk = Family(
        "opskit_sla_at_risk",
        "gauge",
        "Open alerts (kind=alert) and service requests (kind=request) whose running SLA clock "
        "is past the policy's warning share of its time (state=warning) or past its deadline "
        "(state=breached), by urgency",
    )
    for kind in RISK_KINDS:
        for urgency in URGENCIES:
            for state in RISK_STATES:
                at_risk.samples.append(
                    (
                        {"kind": kind, "urgency": urgency, "state": state},
                        float(risk[(kind, urgency, state)]),
                    )
                )
    return [opened, at_risk]


def poller_families(now: datetime) -> list[Family]:
    """Monitors enabled, due, overdue (due for longer than their interval), failing (down),
    and the age of the last completed poll cycle (absent before the first)."""
    rows = db.session().execute(
        select(Monitor.next_due_at, Monitor.interval_s, Monitor.state).where(
            Monitor.enabled.is_(True)
        )
    )
    enabled = due = overdue = failing = 0
    for next_due_at, interval_s, state in rows:
        enabled += 1
        if next_due_at <= now:
            due += 1
            if next_due_at < now - timedelta(seconds=interval_s):
                overdue += 1
        if state == MonitorState.DOWN.value:
            failing += 1
    out = [
        Family("opskit_monitors_enabled", "gauge", "Enabled monitors", [({}, float(enabled))]),
        Family(
            "opskit_monitors_due", "gauge", "Enabled monitors due for a poll", [({}, float(due))]
        ),
        Family(
            "opskit_monitors_overdue",
            "gauge",
            "Enabled monitors due for longer than their interval (the poller is behind or stopped)",
            [({}, float(overdue))],
        ),
        Family(
            "opskit_monitors_failing",
            "gauge",
            "Enabled monitors whose checks fail (state down)",
            [({}, float(failing))],
        ),
    ]
    health = queries.poller_health(now)
    age = Family(
        "opskit_poller_last_cycle_age_seconds",
        "gauge",
        "Seconds since a poller last completed a cycle (absent: never)",
    )
    if health["age_s"] is not None:
        age.samples.append(({}, float(max(0, health["age_s"]))))
    out.append(age)
    return out


def families(now: datetime | None = None) -> Iterator[Family]:
    """Every family, read now."""
    now = now or db.utcnow()
    yield from reading_families(now)
    yield from desk_families(now)
    yield from poller_families(now)


@bp.get("/metrics")
@scraped
def metrics() -> Response:
    """The exposition, for Prometheus (``opskit.auth.scraped``: a token or an allowed
    address)."""
    return Response(render(families()), content_type=CONTENT_TYPE)
