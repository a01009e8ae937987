"""The metric vocabulary: the stable names every device profile maps its OIDs onto.

Alerts, reports and the dashboard only ever see these names, never vendor OIDs, so a new vendor is a
new YAML profile and nothing else. Each entry: ``unit`` (what the value is measured in after the
profile's scale; "" for states), ``kind`` (``gauge`` a level, ``state`` one of ``states``,
``counter`` a monotonically increasing total), ``instance`` (what the instance names, "" when the
metric is one per device) and ``description``.
"""

from __future__ import annotations

from typing import Any

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
    # Hosts (HOST-RESOURCES-MIB)
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
    # Interfaces (IF-MIB)
    "if.oper_status": {
        "unit": "",
        "kind": "state",
        "states": ["up", "down", "testing", "unknown", "dormant", "notPresent", "lowerLayerDown"],
        "instance": "interface name",
        "description": "Operational status of an interface",
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
}
