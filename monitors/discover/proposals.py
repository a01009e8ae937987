"""What a sweep's responders (and the LLDP neighbours no asset matches) would be registered as.

A :class:`Proposal` per address that answered: the asset's name (sysName, else the address), a
tag made from it, its kind and maker from the matched device profiles (``asset: {kind, vendor}``
in ``monitors/profiles/*.yaml``; the most specific profile that says one: a sysObjectID match
before a subtree one, as the probe orders its inventory), model / serial / firmware from the
probe's inventory, and its monitor: SNMP with the credentials of the sweep, or ping for an
address that answered ICMP only. An address already registered (an asset's management IP, one of
an asset's registered addresses, or the host of a monitor) carries that asset in ``registered``
and is never proposed again.

:func:`lldp_offers` are the LLDP neighbours the poller stored (``monitors.discovery``) that match
no asset: name, chassis id, the device and port that saw them, and a management address when
the chassis id is an address or an ARP table the poller read names the chassis MAC.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from assets import queries as registry
from monitors import kinds, snmp
from monitors.discover.sweep import Responder, Sweep
from monitors.discovery import looks_like_ip
from monitors.models import ArpSighting, LldpNeighbor, Monitor
from monitors.profiles import Profile, load_profiles
from opskit import db
from opskit.db import utcnow

OTHER = "other"
#: LLDP neighbours seen within this long are offered
LLDP_RECENT = timedelta(days=7)
_NOT_IN_TAG = re.compile(r"[^\w.\-/#]+")


@dataclass
class Proposal:
    """One device to register. ``monitor``: ``{"kind", "settings"}`` without the secret (the
    credentials stay with the sweep); ``registered``: ``{"asset_id", "asset_tag", "name"}`` of
    the asset that already has this address, else ``None``."""

    address: str
    name: str
    asset_tag: str
    kind: str = OTHER
    kind_from: str = ""  # the profile that implied the kind ("": none did)
    vendor: str = ""
    model: str = ""
    serial: str = ""
    firmware: str = ""
    answered_by: list[str] = field(default_factory=list)
    profiles: list[str] = field(default_factory=list)
    sys_descr: str = ""
    sys_object_id: str = ""
    monitor: dict[str, Any] | None = None
    registered: dict[str, Any] | None = None
    error: str = ""
    source: str = "sweep"  # or "lldp"
    chassis: str = ""  # LLDP: the neighbour's chassis id
    seen_by: list[str] = field(default_factory=list)  # LLDP: "TAG port" of who saw it

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Proposal:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _specificity(profile: Profile) -> tuple[bool, bool, str]:
    """The probe's order for the inventory: vendor matches first, generic (always) last."""
    return (profile.always, profile.subtree is not None, profile.file)


def implied_asset(profile_names: list[str]) -> tuple[str, str, str]:
    """(asset kind, vendor, the profile giving the kind) the matched profiles imply; the kind
    is "" when none of them says."""
    wanted = set(profile_names)
    matched = sorted((p for p in load_profiles() if p.name in wanted), key=_specificity)
    kind_from = next((p for p in matched if p.asset_kind), None)
    vendor = next((p.vendor for p in matched if p.vendor), "")
    return (kind_from.asset_kind if kind_from else "", vendor, kind_from.name if kind_from else "")


def snmp_settings(address: str, port: int, credentials: snmp.Credentials) -> dict[str, Any]:
    """The SNMP monitor's settings for an agent answering to ``credentials`` (no secret)."""
    settings: dict[str, Any] = {"host": address, "port": port, "version": credentials.version}
    if credentials.version == "3":
        settings.update(
            user=credentials.user,
            auth_proto=credentials.auth_proto,
            priv_proto=credentials.priv_proto,
            context=credentials.context,
        )
    return kinds.SNMP.validate(settings)


def snmp_secret(credentials: snmp.Credentials) -> dict[str, str]:
    """The SNMP monitor's secret for ``credentials`` (stored encrypted, never shown)."""
    if credentials.version == "3":
        keys = {"auth_key": credentials.auth_key, "priv_key": credentials.priv_key}
        return {k: v for k, v in keys.items() if v}
    return {"community": credentials.community}


def _ping_monitor(address: str) -> dict[str, Any]:
    return {"kind": "ping", "settings": kinds.of("ping").validate({"host": address})}


def _tag_from(name: str, address: str) -> str:
    tag = _NOT_IN_TAG.sub("-", name).strip("-")[:64]
    return tag or "ip-" + _NOT_IN_TAG.sub("-", address)


def _from_responder(found: Responder, sweep: Sweep) -> Proposal:
    result = found.probe or {}
    sys_name = (result.get("sys_name") or found.sys_name or "").strip()
    name = sys_name or found.address  # nameless: the address, tagged ip-<address>
    proposal = Proposal(found.address, name[:128], _tag_from(sys_name, found.address))
    proposal.answered_by = found.answered_by
    proposal.error = found.error
    if found.snmp:
        proposal.profiles = list(result.get("profiles", []))
        kind, vendor, kind_from = implied_asset(proposal.profiles)
        proposal.kind, proposal.vendor, proposal.kind_from = kind or OTHER, vendor, kind_from
        inventory = result.get("inventory") or {}
        proposal.model = str(inventory.get("model") or "")[:128]
        proposal.serial = str(inventory.get("serial") or "")[:128]
        proposal.firmware = str(inventory.get("firmware") or "")[:128]
        proposal.sys_descr = str(result.get("sys_descr") or "")
        proposal.sys_object_id = str(result.get("sys_object_id") or "")
        settings = snmp_settings(found.address, sweep.port, sweep.credentials)
        proposal.monitor = {"kind": kinds.SNMP.key, "settings": settings}
    else:
        proposal.monitor = _ping_monitor(found.address)
    return proposal


def registered(addresses: list[str]) -> dict[str, dict[str, Any]]:
    """The registered asset of each address that has one: {address: {asset_id, asset_tag,
    name}}. Registered means an asset's management IP, an address registered to an asset, or
    the host of one of its monitors (two queries and one over the monitors' settings)."""
    wanted = set(addresses)
    if not wanted:
        return {}
    owners = dict(registry.assets_by_identity(ips=sorted(wanted)))
    for asset_id, settings in db.session().execute(select(Monitor.asset_id, Monitor.settings)):
        host = str((settings or {}).get("host") or "")
        if host in wanted:
            owners.setdefault(host, asset_id)
    labels = {row.id: row for row in registry.asset_labels(sorted(set(owners.values())))}
    return {
        address: {"asset_id": aid, "asset_tag": labels[aid].asset_tag, "name": labels[aid].name}
        for address, aid in owners.items()
        if aid in labels
    }


def _unique_tags(proposals: list[Proposal]) -> None:
    """A tag another asset (or an earlier proposal) has gets the address appended."""
    used: set[str] = set()
    for p in proposals:
        if p.registered:
            continue
        if p.asset_tag in used or registry.asset_by_tag(p.asset_tag) is not None:
            p.asset_tag = _tag_from(f"{p.asset_tag[:40]}-{p.address}", p.address)
        used.add(p.asset_tag)


def propose(sweep: Sweep) -> list[Proposal]:
    """A proposal per responder of ``sweep``, registered ones marked, in address order."""
    proposals = [_from_responder(found, sweep) for found in sweep.responders]
    mark_registered(proposals)
    _unique_tags(proposals)
    return proposals


def mark_registered(proposals: list[Proposal]) -> None:
    owners = registered([p.address for p in proposals if p.address])
    for p in proposals:
        p.registered = owners.get(p.address)


def lldp_offers() -> list[Proposal]:
    """The LLDP neighbours seen in the last 7 days that match no asset, one per chassis (or
    name), by name."""
    sess = db.session()
    rows = sess.execute(
        select(
            LldpNeighbor.asset_id,
            LldpNeighbor.local_port,
            LldpNeighbor.remote_sys_name,
            LldpNeighbor.remote_chassis_id,
        )
        .where(
            LldpNeighbor.remote_asset_id.is_(None),
            LldpNeighbor.last_seen >= utcnow() - LLDP_RECENT,
        )
        .order_by(LldpNeighbor.remote_sys_name, LldpNeighbor.id)
    ).all()
    groups: dict[str, dict[str, Any]] = {}
    for asset_id, port, name, chassis in rows:
        key = (chassis or name or "").strip().lower()
        if key:
            group = groups.setdefault(key, {"name": name, "chassis": chassis, "seen": []})
            group["seen"].append((asset_id, port))
    if not groups:
        return []
    names = [g["name"] for g in groups.values() if g["name"]]
    chassis_ids = [g["chassis"].lower() for g in groups.values() if g["chassis"]]
    macs = [c for c in chassis_ids if len(c) == 17 and c.count(":") == 5]
    known = registry.assets_by_identity(
        names=names, macs=macs, ips=[c for c in chassis_ids if looks_like_ip(c)]
    )
    arp: dict[str, str] = {}
    if macs:
        for mac, ip in sess.execute(
            select(ArpSighting.mac, ArpSighting.ip)
            .where(ArpSighting.mac.in_(macs))
            .order_by(ArpSighting.last_seen)
        ):
            arp[mac] = ip  # the newest sighting wins
    labels = {
        row.id: row.asset_tag
        for row in registry.asset_labels(sorted({a for g in groups.values() for a, _ in g["seen"]}))
    }
    out = []
    for g in groups.values():
        name, chassis_id = (g["name"] or "").strip(), (g["chassis"] or "").strip()
        short = name.lower().split(".")[0]
        if any(k in known for k in (name.lower(), short, chassis_id.lower(), chassis_id)):
            continue
        address = chassis_id if looks_like_ip(chassis_id) else arp.get(chassis_id.lower(), "")
        shown = name or chassis_id
        offer = Proposal(address, shown[:128], _tag_from(shown, address or chassis_id))
        offer.source, offer.chassis = "lldp", chassis_id
        offer.seen_by = [f"{labels.get(a, a)} {port}".strip() for a, port in g["seen"]]
        offer.monitor = _ping_monitor(address) if address else None
        out.append(offer)
    mark_registered(out)
    out = [o for o in out if not o.registered]
    _unique_tags(out)
    return sorted(out, key=lambda o: o.name.lower())
