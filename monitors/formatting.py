"""Metric names, values and monitors as people read them (the monitoring pages' template
filters, registered by ``monitors.views``)."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors import kinds, metrics
from monitors.profiles import load_profiles
from opskit.alerts.wording import human_duration

#: Metrics shown first on the monitors list (one value each), in this order.
KEY_METRICS = (
    "ups.output.source",
    "ups.output.load_percent",
    "ups.battery.charge_percent",
    "env.temperature_c",
    "env.humidity_percent",
    "ac.supply_temperature_c",
    "host.cpu.load_percent",
    "host.memory.used_percent",
    "pdu.current_a",
    "service.up",
)


#: the device profiles' titles (``title:`` in monitors/profiles/*.yaml), written here so the
#: catalog extracts them; a test checks every shipped profile's title is listed
PROFILE_TITLES = (
    _l("AKCP sensorProbe"),
    _l("APC cooling unit (InRow DX/RD)"),
    _l("APC environment monitoring unit"),
    _l("APC InRow RC air conditioner"),
    _l("APC NetBotz environment monitor"),
    _l("APC rack PDU"),
    _l("APC rack automatic transfer switch"),
    _l("APC Smart-UPS"),
    _l("ARP table (IP-MIB)"),
    _l("Delta UPS network card"),
    _l("Eaton UPS (XUPS-MIB)"),
    _l("Hardware inventory (ENTITY-MIB)"),
    _l("Host resources (HOST-RESOURCES-MIB)"),
    _l("HW group Poseidon / Damocles"),
    _l("HW group STE / STE2"),
    _l("Interfaces (IF-MIB)"),
    _l("Liebert / Vertiv (LIEBERT-GP)"),
    _l("LLDP neighbours (LLDP-MIB)"),
    _l("Raritan PX rack PDU"),
    _l("Raritan PX2 / PX3 rack PDU"),
    _l("Rittal CMC III monitoring unit"),
    _l("Rittal LCP cooling (Carel pCOWeb)"),
    _l("Server Technology Sentry PDU"),
    _l("Server Technology Sentry3 CDU"),
    _l("Socomec UPS (NetVision)"),
    _l("Stulz air conditioner (WIB 8000)"),
    _l("System group (SNMPv2-MIB)"),
    _l("Net-SNMP host (UCD-SNMP-MIB)"),
    _l("UPS (RFC 1628 UPS-MIB)"),
    _l("UPS on a Megatec NetAgent card (XPPC-MIB)"),
)


def profile_title(name: str) -> str:
    """A device profile as people call it, translated (``apc_ups`` → APC Smart-UPS); a profile
    without a title reads as its description's first words, never its key."""
    for profile in load_profiles():
        if profile.name == name:
            text = profile.title or profile.description.split(",")[0][:60]
            return _(text) if text else name
    return name


def _number(value: float) -> str:
    if value != value:  # NaN
        return "—"
    if abs(value) >= 1e6:
        return f"{value:.0f}"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


_BYTE_UNITS = ("B", "KB", "MB", "GB", "TB", "PB")
_BIT_UNITS = ("bit/s", "kbit/s", "Mbit/s", "Gbit/s", "Tbit/s")


def _scaled(value: float, step: int, units: tuple[str, ...]) -> str:
    i = 0
    while abs(value) >= step and i < len(units) - 1:
        value /= step
        i += 1
    return f"{_number(value)} {units[i]}"


def metric_label(metric: str) -> str:
    """The metric's translated name (``ups.output.load_percent`` → 输出负载)."""
    return metrics.label(metric)


def monitor_kind(kind: str) -> str:
    """A monitor kind as a word (``snmp`` → SNMP, ``host`` → 本服务器 ...)."""
    return str(kinds.of(kind).label)


def availability_percent(percent: float | None) -> str:
    """An availability as a percentage with two decimals, rounded down so that any downtime
    never reads 100.00 %; "—" when there was no up or down time."""
    if percent is None:
        return "—"
    return f"{math.floor(percent * 100) / 100:.2f}%"


def time_span(value: timedelta) -> str:
    """A length of time as people say it ("3 days 4 hours", "24 min"); zero: "0"."""
    return human_duration(value) if value > timedelta(0) else "0"


def monitor_target(monitor: Any) -> str:
    """What a monitor checks, as people read it (``10.0.0.5:161``, a URL, "" for this host)."""
    return kinds.of(monitor.kind).describe(monitor.settings or {})


def display_value(metric: str, value: Any, unit: str | None = None) -> str:
    """A reading as people read it: a translated state word, or the number with its unit
    (bytes and bits per second scaled, an uptime in days and hours)."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return metrics.state_label(metric, value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if unit is None:
        unit = metrics.METRICS.get(metric, {}).get("unit", "")
    if unit == "B":
        return _scaled(float(value), 1024, _BYTE_UNITS)
    if unit == "bit/s":
        return _scaled(float(value), 1000, _BIT_UNITS)
    if metric == "host.uptime_seconds" and value >= 86400:
        days, rest = divmod(int(value), 86400)
        return _("%(days)d d %(hours)d h", days=days, hours=rest // 3600)
    number = _number(float(value))
    if unit in ("%", "°C", ""):
        return number + unit
    return f"{number} {metrics.unit_label(unit)}"


def reading_value(r: Any) -> str:
    """A stored reading (``text`` for states, ``value`` for numbers) as people read it."""
    return display_value(r.metric, r.text if r.text is not None else r.value)


def probed_value(m: dict[str, Any]) -> str:
    """One metric of a probe result (``{metric, value, unit}``) as people read it."""
    return display_value(m["metric"], m.get("value"), m.get("unit"))


def metric_unit(metric: str) -> str:
    """The metric's unit as people read it (translated), "" for states and counts."""
    return metrics.unit_label(metrics.METRICS.get(metric, {}).get("unit", ""))


def key_values(readings: dict[tuple[str, str], Any], limit: int = 4) -> list[dict[str, Any]]:
    """A few headline values of one asset: the key metrics first, one instance each."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    ordered = sorted(
        readings.items(),
        key=lambda kv: (
            KEY_METRICS.index(kv[0][0]) if kv[0][0] in KEY_METRICS else 99,
            kv[0],
        ),
    )
    for (metric, instance), r in ordered:
        if metric in seen or metric not in KEY_METRICS:
            continue
        seen.add(metric)
        out.append(
            {
                "metric": metric,
                "instance": instance,
                "label": metric_label(metric),
                "value": reading_value(r),
            }
        )
        if len(out) >= limit:
            break
    return out
