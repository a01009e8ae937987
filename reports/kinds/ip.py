"""Report kind IP分配 (IP allocation): per prefix size/used/free/utilisation
(``assets.queries.prefix_utilisation``), every registered address, and conflicts with the ARP
tables seen in the period (``monitors.queries.arp_sightings_between``):

- *seen, not registered*: an IP in some ARP table but not registered (or registered as free);
- *registered active, not seen*: an active address never in an ARP table during the period, in
  a prefix the ARP tables cover (at least one of its registered addresses was seen there);
- *one IP, several MACs*: an IP seen with two or more MAC addresses during the period;
- *MAC differs from registered*: seen with one MAC, registered with another.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import all_addresses, assets_by_ids, list_prefixes, prefix_utilisations
from monitors.queries import arp_sightings_between
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATETIME, INT, PERCENT, Col, Sheet
from reports.kinds.base import Context, Kind, local_time

_CANONICAL_MAC = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#: an IPv4 address exactly as ``str(ipaddress.ip_address(...))`` writes it
_CANONICAL_V4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}\Z")


def canonical_ip(text: str) -> str:
    """``str(ipaddress.ip_address(text))``, without parsing the usual canonical IPv4 text."""
    if _CANONICAL_V4.match(text):
        return text
    return str(ipaddress.ip_address(text))


def ip_order(text: str) -> tuple[int, int]:
    """Numeric order of an address text: (version, integer); IPv4 before IPv6."""
    if _CANONICAL_V4.match(text):
        return 4, int.from_bytes(socket.inet_aton(text), "big")
    address = ipaddress.ip_address(text)
    return address.version, int(address)


def norm_mac(mac: str | None) -> str:
    if mac and _CANONICAL_MAC.match(mac):
        return mac
    digits = re.sub(r"[^0-9a-f]", "", (mac or "").lower())
    if len(digits) != 12:
        return (mac or "").lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


@dataclass(slots=True)
class Seen:
    """What the ARP tables showed of one IP (tuples, not sets: most IPs have one MAC)."""

    macs: tuple[str, ...]
    by: tuple[int, ...]
    first: datetime
    last: datetime


def local_times(ctx: Context) -> Callable[[datetime | None], datetime | None]:
    """``local_time`` remembering what it converted: ARP tables are polled at a few moments, so
    thousands of sightings share each first/last time."""
    done: dict[datetime, datetime | None] = {}

    def local(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        found = done.get(moment)
        if found is None:
            found = done[moment] = local_time(moment, ctx)
        return found

    return local


def macs_text(entry: Seen | None) -> str:
    if entry is None:
        return ""
    return entry.macs[0] if len(entry.macs) == 1 else ", ".join(sorted(entry.macs))


def ip_allocation(ctx: Context) -> list[Sheet]:
    period = ctx.period
    local = local_times(ctx)
    seen: dict[str, Seen] = {}
    # ARP tables are polled at a few moments: sightings share one datetime object per moment
    # (at 80,000 sightings, 7 MB less)
    moments: dict[datetime, datetime] = {}
    moment = moments.setdefault
    for asset_id, ip, mac, first, last in arp_sightings_between(period.start, period.end):
        key = canonical_ip(ip)
        mac = norm_mac(mac)
        entry = seen.get(key)
        if entry is None:
            seen[key] = Seen((mac,), (asset_id,), moment(first, first), moment(last, last))
            continue
        if mac not in entry.macs:
            entry.macs += (mac,)
        if asset_id not in entry.by:
            entry.by += (asset_id,)
        entry.first = min(entry.first, first)
        entry.last = max(entry.last, last)
    reporters = {
        a.id: a.asset_tag for a in assets_by_ids(sorted({i for e in seen.values() for i in e.by}))
    }
    status_text = {
        "active": _("active"),
        "reserved": _("reserved"),
        "dhcp": "DHCP",
        "free": _("free"),
    }

    prefixes = list_prefixes()
    usage = prefix_utilisations(prefixes)
    prefix_rows = []
    total_used = total_size = 0
    for p in prefixes:
        u = usage[p.id]
        total_used += u.used
        total_size += u.size
        prefix_rows.append(
            {
                "cidr": p.cidr,
                "vlan": p.vlan,
                "purpose": p.purpose,
                "gateway": p.gateway,
                "size": u.size,
                "used": u.used,
                "free": u.free,
                "util": u.used / u.size if u.size else None,
            }
        )

    # One pass over the registry: which addresses ARP saw, which prefixes ARP covers (at least
    # one registered address seen there), and the registered addresses in conflict, in address
    # order. "Registered active, not seen" depends on the coverage, known only at the end, so
    # those rows wait as candidates (kind None) and are judged afterwards.
    free, active = "free", "active"  # stored values of the registry's AddressStatus
    several, differs = _("One IP, several MACs"), _("MAC differs from registered")
    registered: set[str] = set()
    covered: set[int] = set()
    candidates: list[tuple[str | None, tuple[Any, ...]]] = []
    for row in all_addresses():
        address, status, _interface, hostname, mac, prefix_id, cidr, tag = row[:8]
        if status == free:
            continue
        registered.add(address)
        entry = seen.get(address)
        if entry is None:
            if status == active:
                candidates.append((None, (address, prefix_id, cidr, tag, hostname, mac)))
            continue
        covered.add(prefix_id)
        if len(entry.macs) > 1:
            candidates.append((several, (address, prefix_id, cidr, tag, hostname, mac)))
        elif mac and mac not in entry.macs and norm_mac(mac) not in entry.macs:  # seen: canonical
            candidates.append((differs, (address, prefix_id, cidr, tag, hostname, mac)))

    conflicts: list[dict[str, Any]] = []

    def conflict(kind: str, ip: str, **values: Any) -> None:
        entry = seen.get(ip)
        conflicts.append(
            {
                "kind": kind,
                "ip": ip,
                "seen_macs": ", ".join(sorted(entry.macs)) if entry else "",
                "seen_by": ", ".join(sorted(reporters.get(i, str(i)) for i in entry.by))
                if entry
                else "",
                "first": local(entry.first) if entry else None,
                "last": local(entry.last) if entry else None,
                **values,
            }
        )

    nets = [(ipaddress.ip_network(p.cidr), p.cidr) for p in prefixes]
    unregistered = sorted((ip for ip in seen if ip not in registered), key=ip_order)
    for ip in unregistered:
        addr = ipaddress.ip_address(ip)
        inside = [(n.prefixlen, c) for n, c in nets if n.version == addr.version and addr in n]
        conflict(_("Seen, not registered"), ip, prefix=max(inside)[1] if inside else "")
    not_seen = _("Registered active, not seen")
    for kind, (address, prefix_id, cidr, tag, hostname, mac) in candidates:
        if kind is None:
            if prefix_id not in covered:
                continue
            kind = not_seen
        values = {"prefix": cidr, "device": tag or "", "hostname": hostname, "mac": mac or ""}
        conflict(kind, address, **values)
    del candidates
    for ip in unregistered:
        if len(seen[ip].macs) > 1:
            conflict(several, ip)
    conflict_ips = {c["ip"] for c in conflicts}

    ctx.headline[_("IP addresses in use")] = total_used
    ctx.headline[_("IP utilisation")] = Figure(
        total_used / total_size if total_size else None, PERCENT
    )
    ctx.headline[_("IP conflicts")] = len(conflicts)

    def address_rows() -> Iterator[dict[str, Any]]:
        status_of = status_text.get
        for row in all_addresses():
            address, status, interface, hostname, mac, _prefix_id, cidr, tag, name = row[:9]
            entry = seen.get(address)
            yield {
                "address": address,
                "prefix": cidr,
                "status": status_of(status, status),
                "device": tag or "",
                "device_name": name or "",
                "hostname": hostname,
                "interface": interface,
                "mac": mac or "",
                "seen_macs": macs_text(entry),
                "last": None if entry is None else local(entry.last),
                "conflict": address in conflict_ips,
            }

    return [
        Sheet(
            _("Prefixes"),
            [
                Col("cidr", _("Prefix")),
                Col("vlan", "VLAN", INT),
                Col("purpose", _("Purpose")),
                Col("gateway", _("Gateway")),
                Col("size", _("Size"), INT),
                Col("used", _("Used"), INT),
                Col("free", _("Free"), INT),
                Col("util", _("Utilisation"), PERCENT),
            ],
            prefix_rows,
            highlight=lambda r: (r["util"] or 0) >= 0.8,
            note=_(
                "Used = registered addresses not marked free, plus the gateway; "
                "%(limit)s %% or more highlighted.",
                limit=80,
            ),
            charts=[
                {"type": "bar", "category": "cidr", "values": ["util"], "title": _("Utilisation")}
            ],
        ),
        Sheet(
            _("IP addresses"),
            [
                Col("address", _("Address")),
                Col("prefix", _("Prefix")),
                Col("status", _("Status")),
                Col("device", _("Device")),
                Col("device_name", _("Device name")),
                Col("hostname", _("Hostname")),
                Col("interface", _("Interface")),
                Col("mac", "MAC"),
                Col("seen_macs", _("MACs seen by ARP")),
                Col("last", _("Last seen by ARP"), DATETIME),
            ],
            address_rows(),
            highlight=lambda r: r["conflict"],
        ),
        Sheet(
            _("IP conflicts"),
            [
                Col("kind", _("Conflict")),
                Col("ip", _("Address")),
                Col("prefix", _("Prefix")),
                Col("device", _("Registered device")),
                Col("hostname", _("Hostname")),
                Col("mac", _("Registered MAC")),
                Col("seen_macs", _("MACs seen by ARP")),
                Col("seen_by", _("In the ARP table of")),
                Col("first", _("First seen"), DATETIME),
                Col("last", _("Last seen"), DATETIME),
            ],
            conflicts,
            note=_(
                "ARP tables polled in %(period)s compared with the registry.", period=period.text
            ),
        ),
    ]


KIND = Kind(_l("IP allocation"), ip_allocation)
