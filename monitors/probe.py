"""Probe one agent, over 500 lines: discovery, then each section the profiles map (metrics,
interfaces, storage, LLDP, ARP, inventory) read from one set of requests, kept in one module.

:func:`probe` returns one JSON-ready dict::

    {"host", "port", "sys_name", "sys_descr", "sys_object_id", "sys_uptime_seconds",
     "profiles": [names matched],
     "matched_because": {name: why it matched, e.g. "the agent answers under 1.3.6.1.2.1.33
                         (1.3.6.1.2.1.33.1.2.1.0)" or "sysObjectID ... is under ..."},
     "metrics": [{"metric", "instance", "value", "unit",
                  "status"}],  # status: ok / warning / critical / None
     "interfaces": [{"index", "name", "descr", "alias", "type", "speed_bps", "mac",
                     "admin_status", "oper_status", "in_octets", "out_octets"}],
     "storage": [{"index", "descr", "type", "allocation_units", "size_bytes", "used_bytes",
                  "used_percent"}],
     "lldp_neighbors": [{"local_port", "remote_sys_name", "remote_port", "remote_chassis_id"}],
     "arp": [{"ip", "mac", "interface"}],
     "inventory": {"model", "serial", "firmware"},
     "notes": [{"metric", "instance", "raw", "value", "why"}]}  # readings dropped as impossible

A profile entry with ``unit: °F`` reads degrees Fahrenheit: the value is converted to °C. A reading
outside the range its unit allows (``monitors.metrics.UNIT_RANGES``) is not returned as a metric;
``notes`` names it, with the raw value the agent sent and why it was dropped.

An agent that does not answer raises :class:`monitors.snmp.SnmpError` (one-line message).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Callable
from typing import Any

from monitors import snmp
from monitors.metrics import METRICS, impossible
from monitors.profiles import INDEX_PART, MetricSpec, Profile, load_profiles, where_columns

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"

IF = "1.3.6.1.2.1.2.2.1."
IFX = "1.3.6.1.2.1.31.1.1.1."
IF_COLUMNS = {
    "descr": IF + "2",
    "type": IF + "3",
    "speed": IF + "5",
    "mac": IF + "6",
    "admin": IF + "7",
    "oper": IF + "8",
    "in": IF + "10",
    "out": IF + "16",
    "name": IFX + "1",
    "hc_in": IFX + "6",
    "hc_out": IFX + "10",
    "high_speed": IFX + "15",
    "alias": IFX + "18",
}
IF_STATUS: dict[object, str] = {  # keyed by whatever the agent answered
    1: "up",
    2: "down",
    3: "testing",
    4: "unknown",
    5: "dormant",
    6: "notPresent",
    7: "lowerLayerDown",
}

HR = "1.3.6.1.2.1.25.2.3.1."
HR_COLUMNS = {
    "type": HR + "2",
    "descr": HR + "3",
    "units": HR + "4",
    "size": HR + "5",
    "used": HR + "6",
}
HR_TYPES = {
    "1.3.6.1.2.1.25.2.1.1": "other",
    "1.3.6.1.2.1.25.2.1.2": "ram",
    "1.3.6.1.2.1.25.2.1.3": "virtual_memory",
    "1.3.6.1.2.1.25.2.1.4": "fixed_disk",
    "1.3.6.1.2.1.25.2.1.5": "removable_disk",
    "1.3.6.1.2.1.25.2.1.6": "floppy_disk",
    "1.3.6.1.2.1.25.2.1.7": "compact_disc",
    "1.3.6.1.2.1.25.2.1.8": "ram_disk",
    "1.3.6.1.2.1.25.2.1.9": "network_disk",
    "1.3.6.1.2.1.25.2.1.10": "flash_memory",
}

LLDP_LOC_PORT_ID = "1.0.8802.1.1.2.1.3.7.1.3"
LLDP_LOC_PORT_DESC = "1.0.8802.1.1.2.1.3.7.1.4"
LLDP_REM = "1.0.8802.1.1.2.1.4.1.1."
LLDP_COLUMNS = {
    "chassis_subtype": LLDP_REM + "4",
    "chassis_id": LLDP_REM + "5",
    "port_subtype": LLDP_REM + "6",
    "port_id": LLDP_REM + "7",
    "port_desc": LLDP_REM + "8",
    "sys_name": LLDP_REM + "9",
}

ARP_MEDIA = "1.3.6.1.2.1.4.22.1.2"  # ipNetToMediaPhysAddress.ifIndex.a.b.c.d
ARP_PHYSICAL = "1.3.6.1.2.1.4.35.1.4"  # ipNetToPhysicalPhysAddress.ifIndex.type.len.addr...


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, bytes):  # some agents return numbers as text
        try:
            return float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            return None
    return None


def _clean(value: float) -> int | float:
    value = round(value, 4)
    return int(value) if float(value).is_integer() else value


def _key(value: Any) -> str:
    """A raw value as the string used in ``states`` and ``where`` lists."""
    if isinstance(value, bytes):
        return snmp.text(value)
    return str(value)


def _part(index: str, at: int) -> str | None:
    """One part of a row index (``at`` as a Python list position), None when it has fewer."""
    parts = index.split(".")
    return parts[at] if -len(parts) <= at < len(parts) else None


def _index_sort(index: str) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in index.split("."))
    except ValueError:
        return ()


class _Reader:
    """The values read from one agent, plus the logic turning them into readings."""

    def __init__(self, scalars: dict[str, Any], tables: dict[str, dict[str, Any]]) -> None:
        self.scalars, self.tables = scalars, tables

    def col(self, oid: str) -> dict[str, Any]:
        return self.tables.get(oid, {})

    def rows(self, spec: MetricSpec) -> list[str]:
        first = spec.column or (spec.percent[0] if spec.percent else spec.product[0])  # type: ignore[index]
        return self.kept(sorted(self.col(first), key=_index_sort), spec.where)

    def kept(self, indexes: list[str], where: tuple[tuple[str, frozenset[str]], ...]) -> list[str]:
        """The indexes whose row meets every ``where`` condition."""
        for column, allowed in where:
            if column.startswith(INDEX_PART):  # a part of the row index (1 the first, -1 the last)
                at = int(column.removeprefix(INDEX_PART))
                at = at - 1 if at > 0 else at
                indexes = [i for i in indexes if _part(i, at) in allowed]
                continue
            values = self.col(column)
            indexes = [i for i in indexes if i in values and _key(values[i]) in allowed]
        return indexes

    def name(self, names: dict[str, Any], index: str) -> str:
        """The name of a row: same index, else the longest index that prefixes it."""
        parts = index.split(".")
        for end in range(len(parts), 0, -1):
            value = names.get(".".join(parts[:end]))
            if value is not None:
                return snmp.text(value)
        return ""

    def used_total(self, spec: MetricSpec, index: str) -> tuple[float, float] | None:
        """A percent entry's (used, total) in one row; None when a value is missing."""
        assert spec.percent is not None
        total = _number(self.col(spec.percent[1]).get(index))
        if spec.free:  # used = total - the free parts (e.g. UCD memory: free, buffers, cache)
            free = [f for c in spec.free if (f := _number(self.col(c).get(index))) is not None]
            # a part the agent does not have (no buffers/cache figure) counts as 0
            return None if total is None or not free else (total - sum(free), total)
        used = _number(self.col(spec.percent[0]).get(index))
        return None if used is None or total is None else (used, total)

    def raw_row(self, spec: MetricSpec, index: str) -> float | None:
        if spec.column:
            return _number(self.col(spec.column).get(index))
        if spec.percent:
            pair = self.used_total(spec, index)
            if pair is None or not pair[1]:
                return None
            return 100.0 * pair[0] / pair[1]
        result: float = 1
        for column in spec.product or ():
            n = _number(self.col(column).get(index))
            if n is None:
                return None
            result *= n
        return result

    def readings(self, spec: MetricSpec) -> list[tuple[str, Any]]:
        """[(instance, raw value)] for one profile entry."""
        if spec.oid:
            value = self.scalars.get(spec.oid)
            return [] if value is None or _key(value) in spec.skip else [("", value)]
        out: list[tuple[str, Any]] = []
        if spec.percent and spec.aggregate == "sum":
            # A share of a sum is the sum of the parts over the sum of the totals.
            used = total = 0.0
            for index in self.rows(spec):
                pair = self.used_total(spec, index)
                if pair is not None and pair[1]:
                    used, total = used + pair[0], total + pair[1]
            return [("", 100.0 * used / total)] if total else []
        names = self.col(spec.instance) if spec.instance else {}
        for index in self.rows(spec):
            value = self.raw_row(spec, index)
            if value is None or _key(value) in spec.skip:
                continue
            instance = self.name(names, index) if spec.instance else index
            out.append((instance or index, value))
        if spec.aggregate and out:
            values = [v for _, v in out]
            aggregates: dict[str, Callable[[list[Any]], Any]] = {
                "avg": lambda v: sum(v) / len(v),
                "sum": sum,
                "min": min,
                "max": max,
                "first": lambda v: v[0],
            }
            out = [("", aggregates[spec.aggregate](values))]
        return out


def _metric_rows(
    reader: _Reader, spec: MetricSpec, notes: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """One profile entry's readings; an impossible value is left out and described in ``notes``."""
    vocab = METRICS[spec.metric]
    rows = []
    for instance, raw in reader.readings(spec):
        status = None
        if vocab["kind"] == "state":
            fallback = "unknown" if "unknown" in vocab["states"] else "other"
            value: Any = spec.states.get(_key(raw), fallback)
            status = spec.status.get(value)
        else:
            number = _number(raw)
            if number is None or not math.isfinite(number):
                continue
            converted = number * spec.scale + spec.offset
            if spec.fahrenheit:
                converted = (converted - 32) * 5 / 9
            value = _clean(converted)
            why = impossible(spec.metric, converted)
            if why is not None:
                if notes is not None:
                    notes.append(
                        {
                            "metric": spec.metric,
                            "instance": instance,
                            "raw": _clean(number),
                            "value": value,
                            "why": f"impossible: {why}; not recorded",
                        }
                    )
                continue
        rows.append(
            {
                "metric": spec.metric,
                "instance": instance,
                "value": value,
                "unit": vocab["unit"],
                "status": status,
            }
        )
    return rows


def _interfaces(reader: _Reader) -> list[dict[str, Any]]:
    c = {k: reader.col(v) for k, v in IF_COLUMNS.items()}
    indexes = sorted(set(c["descr"]) | set(c["name"]), key=_index_sort)
    out = []
    for i in indexes:
        high = _number(c["high_speed"].get(i))
        speed = high * 1_000_000 if high else _number(c["speed"].get(i))
        out.append(
            {
                "index": int(i) if i.isdigit() else i,
                "name": snmp.text(c["name"].get(i)) or snmp.text(c["descr"].get(i)),
                "descr": snmp.text(c["descr"].get(i)),
                "alias": snmp.text(c["alias"].get(i)),
                "type": c["type"].get(i),
                "speed_bps": int(speed) if speed is not None else None,
                "mac": snmp.mac(c["mac"].get(i)),
                "admin_status": IF_STATUS.get(c["admin"].get(i), "unknown"),
                "oper_status": IF_STATUS.get(c["oper"].get(i), "unknown"),
                "in_octets": c["hc_in"].get(i, c["in"].get(i)),
                "out_octets": c["hc_out"].get(i, c["out"].get(i)),
            }
        )
    return out


def _interface_metrics(interfaces: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for itf in interfaces:
        admin = itf["admin_status"]
        for metric, value in (
            ("if.oper_status", itf["oper_status"]),
            # what the capacity model needs: a port shut down is not free; its real speed
            ("if.admin_status", admin if admin in METRICS["if.admin_status"]["states"] else None),
            ("if.speed_bps", itf["speed_bps"] or None),
            ("if.in_octets", itf["in_octets"]),
            ("if.out_octets", itf["out_octets"]),
        ):
            if value is None:
                continue
            rows.append(
                {
                    "metric": metric,
                    "instance": itf["name"],
                    "value": value,
                    "unit": METRICS[metric]["unit"],
                    "status": None,
                }
            )
    return rows


def _storage(reader: _Reader) -> list[dict[str, Any]]:
    c = {k: reader.col(v) for k, v in HR_COLUMNS.items()}
    out = []
    for i in sorted(c["descr"], key=_index_sort):
        units = _number(c["units"].get(i)) or 0
        size = _number(c["size"].get(i))
        used = _number(c["used"].get(i))
        kind = c["type"].get(i)
        out.append(
            {
                "index": int(i) if i.isdigit() else i,
                "descr": snmp.text(c["descr"].get(i)),
                "type": HR_TYPES.get(str(kind), str(kind) if kind else None),
                "allocation_units": int(units),
                "size_bytes": int(size * units) if size is not None else None,
                "used_bytes": int(used * units) if used is not None else None,
                "used_percent": _clean(100.0 * used / size) if size and used is not None else None,
            }
        )
    return out


def _lldp(reader: _Reader) -> list[dict[str, Any]]:
    loc_id, loc_desc = reader.col(LLDP_LOC_PORT_ID), reader.col(LLDP_LOC_PORT_DESC)
    c = {k: reader.col(v) for k, v in LLDP_COLUMNS.items()}
    out = []
    for index in sorted(set(c["sys_name"]) | set(c["chassis_id"]), key=_index_sort):
        parts = index.split(".")
        local = parts[1] if len(parts) >= 3 else ""
        chassis = c["chassis_id"].get(index)
        chassis_id = (
            snmp.mac(chassis) if c["chassis_subtype"].get(index) == 4 else snmp.text(chassis)
        )
        port = c["port_id"].get(index)
        remote_port = snmp.mac(port) if c["port_subtype"].get(index) == 3 else snmp.text(port)
        out.append(
            {
                "local_port": snmp.text(loc_id.get(local))
                or snmp.text(loc_desc.get(local))
                or local,
                "remote_sys_name": snmp.text(c["sys_name"].get(index)),
                "remote_port": remote_port or snmp.text(c["port_desc"].get(index)),
                "remote_chassis_id": chassis_id,
            }
        )
    return out


def _if_names(reader: _Reader) -> dict[str, str]:
    names = {i: snmp.text(v) for i, v in reader.col(IF_COLUMNS["descr"]).items()}
    names.update({i: snmp.text(v) for i, v in reader.col(IF_COLUMNS["name"]).items() if v})
    return names


def _arp(reader: _Reader) -> list[dict[str, Any]]:
    names = _if_names(reader)
    seen: set[tuple[str, str]] = set()
    out = []

    def add(if_index: str, ip: str, mac: Any) -> None:
        entry = (ip, snmp.mac(mac))
        if entry in seen or not entry[1]:
            return
        seen.add(entry)
        out.append({"ip": ip, "mac": entry[1], "interface": names.get(if_index, if_index)})

    for index, mac in reader.col(ARP_MEDIA).items():
        parts = index.split(".")
        if len(parts) == 5:
            add(parts[0], ".".join(parts[1:]), mac)
    for index, mac in reader.col(ARP_PHYSICAL).items():
        octets = [int(p) for p in index.split(".")]
        if len(octets) < 3 or len(octets) != 3 + octets[2]:
            continue
        raw = bytes(octets[3:])
        try:
            ip = str(ipaddress.ip_address(raw))
        except ValueError:
            continue
        add(str(octets[0]), ip, mac)
    return out


def _inventory(reader: _Reader, profiles: list[Profile]) -> dict[str, str | None]:
    inventory: dict[str, str | None] = {"model": None, "serial": None, "firmware": None}
    for profile in profiles:
        for key, source in profile.inventory.items():
            if inventory[key]:
                continue
            if isinstance(source, str):
                value = snmp.text(reader.scalars.get(source))
            else:
                values = reader.col(source["column"])
                indexes = reader.kept(sorted(values, key=_index_sort), source["where"])
                value = next((snmp.text(values[i]) for i in indexes if snmp.text(values[i])), "")
            inventory[key] = value or None
    return inventory


def _section_columns(sections: set[str]) -> list[str]:
    columns: list[str] = []
    if "interfaces" in sections or "arp" in sections:
        columns += list(IF_COLUMNS.values())
    if "storage" in sections:
        columns += list(HR_COLUMNS.values())
    if "lldp" in sections:
        columns += [LLDP_LOC_PORT_ID, LLDP_LOC_PORT_DESC, *LLDP_COLUMNS.values()]
    if "arp" in sections:
        columns += [ARP_MEDIA, ARP_PHYSICAL]
    return columns


async def probe_async(
    client: snmp.SnmpClient, profiles: list[Profile] | None = None
) -> dict[str, Any]:
    profiles = load_profiles() if profiles is None else profiles
    first = await client.get([SYS_DESCR, SYS_OBJECT_ID, SYS_UPTIME, SYS_NAME])
    # capability discovery: one GETNEXT of every profile's subtree root, in one request
    roots = sorted({p.subtree for p in profiles if p.subtree})
    following = await client.next(roots) if roots else {}
    sys_descr = snmp.text(first.get(SYS_DESCR))
    sys_object_id = str(first.get(SYS_OBJECT_ID) or "")
    reasons = {p.name: p.why(sys_object_id, sys_descr, following) for p in profiles}
    matched = [p for p in profiles if reasons[p.name] is not None]
    # Generic profiles (always) first, so a specific profile's reading of the same metric wins.
    matched.sort(key=lambda p: (not p.always, p.file))

    scalar_oids: list[str] = []
    columns: list[str] = []
    sections: set[str] = set()
    for profile in matched:
        for spec in profile.metrics:
            if spec.oid:
                scalar_oids.append(spec.oid)
            columns += spec.columns
        for source in profile.inventory.values():
            if isinstance(source, str):
                scalar_oids.append(source)
            else:
                columns.append(source["column"])
                columns += where_columns(source["where"])
        sections |= profile.sections
    columns += _section_columns(sections)
    scalars = dict(first)
    missing = [o for o in dict.fromkeys(scalar_oids) if o not in scalars]
    scalars.update(await client.get(missing))
    reader = _Reader(scalars, await client.table(columns))

    readings: dict[tuple[str, str], dict[str, Any]] = {}
    notes: list[dict[str, Any]] = []
    for profile in matched:
        for spec in profile.metrics:
            for row in _metric_rows(reader, spec, notes):
                readings[(row["metric"], row["instance"])] = row
    interfaces = _interfaces(reader) if "interfaces" in sections else []
    for row in _interface_metrics(interfaces):
        readings.setdefault((row["metric"], row["instance"]), row)
    uptime = _number(scalars.get(SYS_UPTIME))
    # Specific profiles (vendor files) supply the inventory before generic ones (ENTITY-MIB).
    by_specificity = sorted(matched, key=lambda p: (p.always, p.subtree is not None, p.file))
    return {
        "host": client.host,
        "port": client.port,
        "sys_name": snmp.text(scalars.get(SYS_NAME)),
        "sys_descr": sys_descr,
        "sys_object_id": sys_object_id,
        "sys_uptime_seconds": _clean(uptime / 100) if uptime is not None else None,
        "profiles": [p.name for p in sorted(matched, key=lambda p: p.file)],
        "matched_because": {p.name: reasons[p.name] for p in sorted(matched, key=lambda p: p.file)},
        "metrics": list(readings.values()),
        "interfaces": interfaces,
        "storage": _storage(reader) if "storage" in sections else [],
        "lldp_neighbors": _lldp(reader) if "lldp" in sections else [],
        "arp": _arp(reader) if "arp" in sections else [],
        "inventory": _inventory(reader, by_specificity),
        "notes": notes,
    }


def probe(
    host: str,
    port: int = 161,
    credentials: snmp.Credentials | None = None,
    timeout: float = 2.0,
    retries: int = 1,
    profiles: list[Profile] | None = None,
) -> dict[str, Any]:
    """Probe one agent synchronously (see the module docstring for the result)."""
    client = snmp.SnmpClient(host, port, credentials, timeout=timeout, retries=retries)
    return snmp.run(probe_async(client, profiles))
