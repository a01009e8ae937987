"""Over 500 lines: the one vocabulary of every metric, its labels and unit ranges, kept as data.

The metric vocabulary: the stable names every device profile maps its OIDs onto.

Alerts, reports and the dashboard only ever see these names, never vendor OIDs, so a new vendor is a
new YAML profile and nothing else. Each entry: ``unit`` (what the value is measured in after the
profile's scale; "" for states), ``kind`` (``gauge`` a level, ``state`` one of ``states``,
``counter`` a monotonically increasing total), ``instance`` (what the instance names, "" when the
metric is one per device) and ``description``; optionally ``range`` (see :data:`UNIT_RANGES`).
"""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

KINDS = ("gauge", "state", "counter")

METRICS: dict[str, dict[str, Any]] = {
    # UPS (RFC 1628 UPS-MIB, APC PowerNet, ...)
    "ups.battery.status": {
        "unit": "",
        "kind": "state",
        "states": ["normal", "low", "depleted", "unknown"],
        "instance": "",
        "description": "Battery condition",
    },
    "ups.battery.charge_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "Remaining battery charge",
    },
    "ups.battery.runtime_minutes": {
        "unit": "min",
        "kind": "gauge",
        "instance": "",
        "description": "Estimated runtime on battery at the present load",
    },
    "ups.battery.temperature_c": {
        "unit": "°C",
        "kind": "gauge",
        "instance": "",
        "description": "Battery temperature",
    },
    "ups.input.voltage_v": {
        "unit": "V",
        "kind": "gauge",
        "instance": "input line",
        "description": "Input voltage",
    },
    "ups.input.frequency_hz": {
        "unit": "Hz",
        "kind": "gauge",
        "instance": "input line",
        "description": "Input frequency",
    },
    "ups.output.voltage_v": {
        "unit": "V",
        "kind": "gauge",
        "instance": "output line",
        "description": "Output voltage",
    },
    "ups.output.load_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "output line",
        "description": "Output load as a share of capacity",
        "range": (0, None),  # an overloaded UPS reads above 100 %
    },
    "ups.output.source": {
        "unit": "",
        "kind": "state",
        "states": ["normal", "battery", "bypass", "other"],
        "instance": "",
        "description": "What feeds the output",
    },
    "ups.alarms.count": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "Alarms present",
    },
    # Environment probes
    "env.temperature_c": {
        "unit": "°C",
        "kind": "gauge",
        "instance": "probe name",
        "description": "Air temperature at a probe",
    },
    "env.humidity_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "probe name",
        "description": "Relative humidity at a probe",
    },
    # Precision air conditioning
    "ac.supply_temperature_c": {
        "unit": "°C",
        "kind": "gauge",
        "instance": "unit (gateways with several units)",
        "description": "Supply (cold) air temperature",
    },
    "ac.return_temperature_c": {
        "unit": "°C",
        "kind": "gauge",
        "instance": "unit (gateways with several units)",
        "description": "Return (hot) air temperature",
    },
    "ac.humidity_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "unit (gateways with several units)",
        "description": "Return air relative humidity",
    },
    "ac.state": {
        "unit": "",
        "kind": "state",
        "states": ["on", "off", "standby", "alarm", "unknown"],
        "instance": "unit (gateways with several units)",
        "description": "Unit operating state",
    },
    # Rack PDUs
    "pdu.current_a": {
        "unit": "A",
        "kind": "gauge",
        "instance": "phase or bank",
        "description": "Current drawn",
    },
    "pdu.power_w": {
        "unit": "W",
        "kind": "gauge",
        "instance": "",
        "description": "Active power drawn",
    },
    # Automatic transfer switches (two input sources, one output)
    "ats.selected_source": {
        "unit": "",
        "kind": "state",
        "states": ["source_a", "source_b", "unknown"],
        "instance": "",
        "description": "Input source feeding the output",
    },
    "ats.redundancy": {
        "unit": "",
        "kind": "state",
        "states": ["redundant", "lost", "unknown"],
        "instance": "",
        "description": "Whether the switch could move the load to the other source",
    },
    # Hosts (HOST-RESOURCES-MIB; load averages from UCD-SNMP-MIB)
    "host.cpu.load_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "Processor load, average over all processors",
    },
    "host.memory.used_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "Physical memory in use",
    },
    "host.storage.used_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "volume",
        "description": "Space used on a volume",
    },
    "host.storage.size_bytes": {
        "unit": "B",
        "kind": "gauge",
        "instance": "volume",
        "description": "Size of a volume",
    },
    "host.uptime_seconds": {
        "unit": "s",
        "kind": "gauge",
        "instance": "",
        "description": "Time since the host started",
    },
    "host.load.1min": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "System load average over 1 minute (UCD-SNMP-MIB laLoad)",
    },
    "host.load.5min": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "System load average over 5 minutes (UCD-SNMP-MIB laLoad)",
    },
    "host.load.15min": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "System load average over 15 minutes (UCD-SNMP-MIB laLoad)",
    },
    # Interfaces (IF-MIB)
    "if.oper_status": {
        "unit": "",
        "kind": "state",
        "states": ["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"],
        "instance": "interface name",
        "description": "Operational status of an interface",
    },
    "if.admin_status": {
        "unit": "",
        "kind": "state",
        "states": ["up", "down", "testing", "unknown"],
        "instance": "interface name",
        "description": "Administrative status of an interface (down: shut down by an admin)",
    },
    "if.speed_bps": {
        "unit": "bit/s",
        "kind": "gauge",
        "instance": "interface name",
        "description": "Interface speed (IF-MIB ifHighSpeed x 1,000,000, else ifSpeed)",
    },
    "if.in_bps": {
        "unit": "bit/s",
        "kind": "gauge",
        "instance": "interface name",
        "description": "Inbound traffic (the poller derives it from if.in_octets)",
    },
    "if.out_bps": {
        "unit": "bit/s",
        "kind": "gauge",
        "instance": "interface name",
        "description": "Outbound traffic (the poller derives it from if.out_octets)",
    },
    "if.in_octets": {
        "unit": "B",
        "kind": "counter",
        "instance": "interface name",
        "description": "Octets received (64-bit counter when the agent has one)",
    },
    "if.out_octets": {
        "unit": "B",
        "kind": "counter",
        "instance": "interface name",
        "description": "Octets sent (64-bit counter when the agent has one)",
    },
    # service checks (monitor kinds ping, tcp and http)
    "tcp.connect_ms": {
        "unit": "ms",
        "kind": "gauge",
        "instance": "",
        "description": "Time to open the TCP connection",
    },
    "ping.rtt_ms": {
        "unit": "ms",
        "kind": "gauge",
        "instance": "",
        "description": "Mean ICMP echo round-trip time of the answered requests",
    },
    "ping.loss_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "Share of ICMP echo requests left unanswered",
    },
    "http.latency_ms": {
        "unit": "ms",
        "kind": "gauge",
        "instance": "",
        "description": "Time to the complete HTTP response",
    },
    "http.status_code": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "HTTP status code of the check URL",
    },
    "http.cert_days_left": {
        "unit": "d",
        "kind": "gauge",
        "instance": "",
        "description": "Days until the HTTPS certificate expires",
    },
    # Databases (monitor kinds postgresql and mysql). Counters are per database on PostgreSQL
    # (instance = database name, "" = the whole server), per server on MySQL/MariaDB; the poller
    # turns them into the rates below (monitors.counters: no rate across a restart or a reset).
    "db.connections.used": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "Client connections open on the server",
    },
    "db.connections.used_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "Client connections open as a share of the server's max_connections",
    },
    "db.transactions": {
        "unit": "",
        "kind": "counter",
        "instance": 'database ("" = the whole server)',
        "description": "Transactions committed and rolled back (PostgreSQL pg_stat_database)",
    },
    "db.transactions_per_s": {
        "unit": "/s",
        "kind": "gauge",
        "instance": 'database ("" = the whole server)',
        "description": "Transactions per second (committed and rolled back, from db.transactions)",
    },
    "db.queries": {
        "unit": "",
        "kind": "counter",
        "instance": "",
        "description": "Statements the server executed (MySQL/MariaDB status Queries; "
        "PostgreSQL: the calls pg_stat_statements counted)",
    },
    "db.queries_per_s": {
        "unit": "/s",
        "kind": "gauge",
        "instance": "",
        "description": "Statements per second (from db.queries)",
    },
    "db.cache.hits": {
        "unit": "",
        "kind": "counter",
        "instance": 'database ("" = the whole server)',
        "description": "Page reads served from the buffer cache (PostgreSQL blks_hit, "
        "InnoDB read requests not read from disk)",
    },
    "db.cache.lookups": {
        "unit": "",
        "kind": "counter",
        "instance": 'database ("" = the whole server)',
        "description": "Page reads asked of the buffer cache (hits and reads from disk)",
    },
    "db.cache_hit_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": 'database ("" = the whole server)',
        "description": "Share of page reads served from the buffer cache between two checks",
    },
    "db.slow_queries": {
        "unit": "",
        "kind": "counter",
        "instance": "",
        "description": "Statements slower than long_query_time (MySQL/MariaDB Slow_queries)",
    },
    "db.slow_queries_per_min": {
        "unit": "/min",
        "kind": "gauge",
        "instance": "",
        "description": "Slow statements per minute (from db.slow_queries; MySQL/MariaDB)",
    },
    "db.slow_queries.running": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "Statements running longer than the monitor's slow threshold at the check",
    },
    "db.locks.waiting": {
        "unit": "",
        "kind": "gauge",
        "instance": "",
        "description": "Sessions waiting for a lock (PostgreSQL pg_locks not granted, InnoDB "
        "row lock waits)",
    },
    "db.deadlocks": {
        "unit": "",
        "kind": "counter",
        "instance": 'database ("" = the whole server)',
        "description": "Deadlocks detected",
    },
    "db.deadlocks_per_h": {
        "unit": "/h",
        "kind": "gauge",
        "instance": 'database ("" = the whole server)',
        "description": "Deadlocks per hour (from db.deadlocks)",
    },
    "db.longest_query_s": {
        "unit": "s",
        "kind": "gauge",
        "instance": "",
        "description": "Run time so far of the longest statement running (0 when none)",
    },
    "db.replication.lag_s": {
        "unit": "s",
        "kind": "gauge",
        "instance": "",
        "description": "How far a replica's applied changes trail its primary (replicas only)",
    },
    "db.size_bytes": {
        "unit": "B",
        "kind": "gauge",
        "instance": "database",
        "description": "Size of a database (MySQL/MariaDB: its tables' data and indexes)",
    },
    "db.table_size_bytes": {
        "unit": "B",
        "kind": "gauge",
        "instance": "database.schema.table (MySQL/MariaDB: schema.table)",
        "description": "Size of one of the ten largest tables with its indexes (PostgreSQL: "
        "of the database the monitor connects to)",
    },
    "db.temp_bytes": {
        "unit": "B",
        "kind": "counter",
        "instance": 'database ("" = the whole server)',
        "description": "Bytes written to temporary files by queries (PostgreSQL temp_bytes)",
    },
    "db.temp_bytes_per_s": {
        "unit": "B/s",
        "kind": "gauge",
        "instance": 'database ("" = the whole server)',
        "description": "Temporary file bytes written per second (from db.temp_bytes)",
    },
    "db.temp_disk_tables": {
        "unit": "",
        "kind": "counter",
        "instance": "",
        "description": "Internal temporary tables created on disk (MySQL/MariaDB)",
    },
    "db.temp_disk_tables_per_min": {
        "unit": "/min",
        "kind": "gauge",
        "instance": "",
        "description": "Temporary tables created on disk per minute (from db.temp_disk_tables)",
    },
    "db.checkpoints": {
        "unit": "",
        "kind": "counter",
        "instance": "",
        "description": "Checkpoints, timed and requested (PostgreSQL)",
    },
    "db.checkpoints_per_h": {
        "unit": "/h",
        "kind": "gauge",
        "instance": "",
        "description": "Checkpoints per hour (from db.checkpoints; PostgreSQL)",
    },
    "db.checkpoints_requested": {
        "unit": "",
        "kind": "counter",
        "instance": "",
        "description": "Checkpoints requested before their time, mostly by WAL volume (PostgreSQL)",
    },
    "db.checkpoints_requested_per_h": {
        "unit": "/h",
        "kind": "gauge",
        "instance": "",
        "description": "Requested checkpoints per hour (from db.checkpoints_requested)",
    },
    "db.buffer_pool.used_percent": {
        "unit": "%",
        "kind": "gauge",
        "instance": "",
        "description": "InnoDB buffer pool pages in use (MySQL/MariaDB)",
    },
}

# --- what is physically possible --------------------------------------------------------------
# One table for every profile: a reading outside the range of its unit cannot be a measurement
# (an absent or broken sensor, a vendor's "no value" code the profile does not list under
# ``skip``). The probe drops it and says so in its ``notes``. A metric's own ``range`` in METRICS
# overrides its unit's (an overloaded UPS's load exceeds 100 %). None: no bound on that side.
UNIT_RANGES: dict[str, tuple[float | None, float | None]] = {
    "°C": (-273.15, None),  # absolute zero
    "%": (0, 100),
    "V": (0, None),
    "A": (0, None),
    "W": (0, None),
    "Hz": (0, None),
    "min": (0, None),
    "s": (0, None),
    "ms": (0, None),
    "B": (0, None),
    "bit/s": (0, None),
    "B/s": (0, None),
    "/s": (0, None),
    "/min": (0, None),
    "/h": (0, None),
}


def value_range(metric: str) -> tuple[float | None, float | None]:
    """The (low, high) bounds a reading of ``metric`` must lie within (inclusive)."""
    entry = METRICS[metric]
    found = entry.get("range") or UNIT_RANGES.get(entry["unit"])
    return (found[0], found[1]) if found else (None, None)


def impossible(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a reading of ``metric`` (outside its range), else None."""
    low, high = value_range(metric)
    unit = METRICS[metric]["unit"]
    if low is not None and value < low:
        return f"below {low:g} {unit}, the lowest possible value".replace("  ", " ")
    if high is not None and value > high:
        return f"above {high:g} {unit}, the highest possible value".replace("  ", " ")
    return None


# --- what people read: labels (translated, zh_CN by default) ---------------------------------
# Kept apart from METRICS so the vocabulary stays plain data; every metric needs a label
# (tests/monitors/test_views.py checks it). States and units a person reads are translated too.

LABELS: dict[str, Any] = {
    "ups.battery.status": _l("Battery status"),
    "ups.battery.charge_percent": _l("Battery charge"),
    "ups.battery.runtime_minutes": _l("Battery runtime"),
    "ups.battery.temperature_c": _l("Battery temperature"),
    "ups.input.voltage_v": _l("Input voltage"),
    "ups.input.frequency_hz": _l("Input frequency"),
    "ups.output.voltage_v": _l("Output voltage"),
    "ups.output.load_percent": _l("Output load"),
    "ups.output.source": _l("Output source"),
    "ups.alarms.count": _l("UPS alarms present"),
    "env.temperature_c": _l("Ambient temperature"),
    "env.humidity_percent": _l("Ambient humidity"),
    "ac.supply_temperature_c": _l("Supply air temperature"),
    "ac.return_temperature_c": _l("Return air temperature"),
    "ac.humidity_percent": _l("Return air humidity"),
    "ac.state": _l("Air conditioner state"),
    "pdu.current_a": _l("PDU current"),
    "pdu.power_w": _l("PDU power"),
    "ats.selected_source": _l("Transfer switch source"),
    "ats.redundancy": _l("Transfer switch redundancy"),
    "host.cpu.load_percent": _l("CPU load"),
    "host.memory.used_percent": _l("Memory used"),
    "host.storage.used_percent": _l("Storage used"),
    "host.storage.size_bytes": _l("Volume size"),
    "host.uptime_seconds": _l("Uptime"),
    "host.load.1min": _l("Load average (1 min)"),
    "host.load.5min": _l("Load average (5 min)"),
    "host.load.15min": _l("Load average (15 min)"),
    "if.oper_status": _l("Interface status"),
    "if.admin_status": _l("Interface administrative status"),
    "if.speed_bps": _l("Interface speed"),
    "if.in_bps": _l("Inbound traffic"),
    "if.out_bps": _l("Outbound traffic"),
    "if.in_octets": _l("Octets received"),
    "if.out_octets": _l("Octets sent"),
    "tcp.connect_ms": _l("TCP connect time"),
    "ping.rtt_ms": _l("Ping round-trip time"),
    "ping.loss_percent": _l("Ping packet loss"),
    "http.latency_ms": _l("HTTP response time"),
    "http.status_code": _l("HTTP status code"),
    "http.cert_days_left": _l("Certificate days left"),
    "db.connections.used": _l("Database connections"),
    "db.connections.used_percent": _l("Database connections used"),
    "db.transactions": _l("Transactions"),
    "db.transactions_per_s": _l("Transactions per second"),
    "db.queries": _l("Statements executed"),
    "db.queries_per_s": _l("Statements per second"),
    "db.cache.hits": _l("Buffer cache hits"),
    "db.cache.lookups": _l("Buffer cache lookups"),
    "db.cache_hit_percent": _l("Buffer cache hit rate"),
    "db.slow_queries": _l("Slow statements"),
    "db.slow_queries_per_min": _l("Slow statements per minute"),
    "db.slow_queries.running": _l("Slow statements running"),
    "db.locks.waiting": _l("Sessions waiting for locks"),
    "db.deadlocks": _l("Deadlocks"),
    "db.deadlocks_per_h": _l("Deadlocks per hour"),
    "db.longest_query_s": _l("Longest running statement"),
    "db.replication.lag_s": _l("Replication lag"),
    "db.size_bytes": _l("Database size"),
    "db.table_size_bytes": _l("Table size"),
    "db.temp_bytes": _l("Temporary file bytes"),
    "db.temp_bytes_per_s": _l("Temporary file writes"),
    "db.temp_disk_tables": _l("Temporary tables on disk"),
    "db.temp_disk_tables_per_min": _l("Temporary tables on disk per minute"),
    "db.checkpoints": _l("Checkpoints"),
    "db.checkpoints_per_h": _l("Checkpoints per hour"),
    "db.checkpoints_requested": _l("Requested checkpoints"),
    "db.checkpoints_requested_per_h": _l("Requested checkpoints per hour"),
    "db.buffer_pool.used_percent": _l("InnoDB buffer pool used"),
}

_UNKNOWN = _l("unknown")
STATE_LABELS: dict[str, dict[str, Any]] = {
    "ups.battery.status": {
        "normal": _l("Battery normal"),
        "low": _l("Battery low"),
        "depleted": _l("Battery depleted"),
        "unknown": _UNKNOWN,
    },
    "ups.output.source": {
        "normal": _l("On mains"),
        "battery": _l("On battery"),
        "bypass": _l("Bypass"),
        "other": _l("Other source"),
    },
    "ac.state": {
        "on": _l("Unit running"),
        "off": _l("Unit off"),
        "standby": _l("Unit standby"),
        "alarm": _l("Unit alarm"),
        "unknown": _UNKNOWN,
    },
    "ats.selected_source": {
        "source_a": _l("On source A"),
        "source_b": _l("On source B"),
        "unknown": _UNKNOWN,
    },
    "ats.redundancy": {
        "redundant": _l("Redundant"),
        "lost": _l("Redundancy lost"),
        "unknown": _UNKNOWN,
    },
    "if.admin_status": {
        "up": _l("Enabled"),
        "down": _l("Shut down by an administrator"),
        "testing": _l("Link testing"),
        "unknown": _UNKNOWN,
    },
    "if.oper_status": {
        "up": _l("Link up"),
        "down": _l("Link down"),
        "testing": _l("Link testing"),
        "unknown": _UNKNOWN,
        "dormant": _l("Link dormant"),
        "notPresent": _l("Interface not present"),
        "lowerLayerDown": _l("Lower layer down"),
    },
}

UNIT_LABELS: dict[str, Any] = {
    "min": _l("min"),
    "s": _l("s"),
    "d": _l("d"),
    "/s": _l("/s"),
    "/min": _l("/min"),
    "/h": _l("/h"),
}


def label(metric: str) -> str:
    """The metric's name for people (translated); the stable name when it has no label."""
    found = LABELS.get(metric)
    return str(found) if found is not None else metric


def state_label(metric: str, state: str) -> str:
    """A state word of ``metric`` for people (translated); the word itself when unknown."""
    found = STATE_LABELS.get(metric, {}).get(state)
    return str(found) if found is not None else state


def unit_label(unit: str) -> str:
    found = UNIT_LABELS.get(unit)
    return str(found) if found is not None else unit
