"""LLDP neighbours and ARP sightings read by SNMP monitors, kept with first/last seen times.

Each poll of a device that answers LLDP-MIB / IP-MIB upserts what it saw: a known row gets
``last_seen`` = the poll's time (and the details that may change), a new one is inserted with
``first_seen`` = ``last_seen``. Rows not seen again keep their old ``last_seen``, so "who was
there in a period" is ``last_seen >= start and first_seen < end``. Neighbours are matched to
registered assets (``assets.queries.assets_by_identity``: system name, host name, chassis MAC,
management IP). A few queries per poll, whatever the table size.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from assets.queries import assets_by_identity
from monitors.models import ArpSighting, LldpNeighbor


def _insert_new(session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str]) -> None:
    """Insert rows, skipping any another poller inserted meanwhile (two monitors, one device)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(model).on_conflict_do_nothing(index_elements=keys), rows)


def _cut(value: Any, size: int) -> str:
    return str(value or "")[:size]


def looks_like_ip(value: str) -> bool:
    """Whether ``value`` is an IPv4 or IPv6 address (an LLDP chassis id may be one)."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def store_lldp(
    session: Session, asset_id: int, neighbors: list[dict[str, Any]], now: datetime
) -> int:
    """Upsert one device's LLDP neighbours seen at ``now``; returns how many rows were new."""
    seen: dict[tuple[str, str, str], dict[str, Any]] = {}
    for n in neighbors:
        key = (
            _cut(n.get("local_port"), 64),
            _cut(n.get("remote_chassis_id"), 64),
            _cut(n.get("remote_port"), 64),
        )
        if key[0] and (key[1] or key[2]):
            seen[key] = {"remote_sys_name": _cut(n.get("remote_sys_name"), 255)}
    if not seen:
        return 0
    names = [v["remote_sys_name"] for v in seen.values() if v["remote_sys_name"]]
    chassis = [k[1] for k in seen]
    matched = assets_by_identity(
        names=names,
        macs=[c for c in chassis if len(c) == 17 and c.count(":") == 5],
        ips=[c for c in chassis + names if looks_like_ip(c)],
    )
    for (_, chassis_id, _), v in seen.items():
        name = v["remote_sys_name"].strip().lower()
        remote = matched.get(name) or matched.get(chassis_id.lower()) or matched.get(chassis_id)
        v["remote_asset_id"] = remote if remote != asset_id else None
    existing = {
        (row.local_port, row.remote_chassis_id, row.remote_port): row
        for row in session.execute(
            select(
                LldpNeighbor.id,
                LldpNeighbor.local_port,
                LldpNeighbor.remote_chassis_id,
                LldpNeighbor.remote_port,
                LldpNeighbor.remote_sys_name,
                LldpNeighbor.remote_asset_id,
            ).where(LldpNeighbor.asset_id == asset_id)
        )
    }
    new, same, changed = [], [], []
    for key, v in seen.items():
        row = existing.get(key)
        if row is None:
            new.append(
                {
                    "asset_id": asset_id,
                    "local_port": key[0],
                    "remote_chassis_id": key[1],
                    "remote_port": key[2],
                    "first_seen": now,
                    "last_seen": now,
                    **v,
                }
            )
        elif (row.remote_sys_name, row.remote_asset_id) == (
            v["remote_sys_name"],
            v["remote_asset_id"],
        ):
            same.append(row.id)
        else:
            changed.append({"id": row.id, **v})
    if new:
        keys = ["asset_id", "local_port", "remote_chassis_id", "remote_port"]
        _insert_new(session, LldpNeighbor, new, keys)
    if same:
        session.execute(
            update(LldpNeighbor)
            .where(LldpNeighbor.id.in_(same))
            .values(last_seen=now)
            .execution_options(synchronize_session=False)
        )
    for change in changed:
        session.execute(
            update(LldpNeighbor)
            .where(LldpNeighbor.id == change.pop("id"))
            .values(last_seen=now, **change)
            .execution_options(synchronize_session=False)
        )
    return len(new)


def store_arp(session: Session, asset_id: int, entries: list[dict[str, Any]], now: datetime) -> int:
    """Upsert one device's ARP entries seen at ``now``; returns how many rows were new."""
    seen: dict[tuple[str, str], str] = {}
    for e in entries:
        ip, mac = _cut(e.get("ip"), 45), _cut(e.get("mac"), 17).lower()
        if ip and mac:
            seen[(ip, mac)] = _cut(e.get("interface"), 64)
    if not seen:
        return 0
    existing = {
        (row.ip, row.mac): row
        for row in session.execute(
            select(ArpSighting.id, ArpSighting.ip, ArpSighting.mac, ArpSighting.interface).where(
                ArpSighting.asset_id == asset_id
            )
        )
    }
    new, same, moved = [], [], []
    for (ip, mac), interface in seen.items():
        row = existing.get((ip, mac))
        if row is None:
            new.append(
                {
                    "asset_id": asset_id,
                    "ip": ip,
                    "mac": mac,
                    "interface": interface,
                    "first_seen": now,
                    "last_seen": now,
                }
            )
        elif row.interface == interface:
            same.append(row.id)
        else:
            moved.append((row.id, interface))
    if new:
        _insert_new(session, ArpSighting, new, ["asset_id", "ip", "mac"])
    for start in range(0, len(same), 1000):
        session.execute(
            update(ArpSighting)
            .where(ArpSighting.id.in_(same[start : start + 1000]))
            .values(last_seen=now)
            .execution_options(synchronize_session=False)
        )
    for row_id, interface in moved:
        session.execute(
            update(ArpSighting)
            .where(ArpSighting.id == row_id)
            .values(last_seen=now, interface=interface)
            .execution_options(synchronize_session=False)
        )
    return len(new)
