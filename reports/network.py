"""Report kinds 网络拓扑 (topology) and IP分配 (IP allocation).

Topology compares the registry's links (``assets.queries.all_links``) with the LLDP neighbours
the poller saw during the period (``monitors.queries.lldp_neighbours_between``), by the one
comparison the topology page also draws (``monitors.queries.compare_links``): a registered link
is *seen*, *not seen* or *not checked* (neither device reported LLDP data); a neighbour matching
no registered link is *seen, not registered* (one row per pair of ends).

IP allocation: per prefix size/used/free/utilisation (``assets.queries.prefix_utilisation``),
every registered address, and conflicts with the ARP tables seen in the period
(``monitors.queries.arp_sightings_between``):

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

from opskit.xlsx.writer import DATETIME, INT, PERCENT, Col, Sheet
from reports.kinds import Context, Image, _local

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


# --- 网络拓扑 -----------------------------------------------------------------------------------


def topology(ctx: Context) -> list[Any]:
    from assets.models import LinkSource
    from assets.queries import all_links, asset_labels
    from monitors.queries import compare_links, lldp_neighbours_between
    from reports import diagram

    period = ctx.period
    links = all_links()
    neighbours = lldp_neighbours_between(period.start, period.end)
    comparison = compare_links(links, neighbours)
    states = comparison.states
    unregistered = comparison.unregistered

    # asset id → (tag, name, kind) of every device in a link or an LLDP table
    names: dict[int | None, tuple[str, str, str]] = {
        a.id: (a.asset_tag, a.name, a.kind)
        for a in asset_labels(
            sorted(
                {n.asset_id for n in neighbours}
                | {n.remote_asset_id for n in neighbours if n.remote_asset_id}
            )
        )
    }
    for link in links:
        names.setdefault(link.a_asset_id, (link.a_tag, link.a_name, link.a_kind))
        if link.b_tag is not None:
            names.setdefault(link.b_asset_id, (link.b_tag, link.b_name, link.b_kind))
    state_text = {
        "ok": _("seen"),
        "not_seen": _("not seen"),
        "unchecked": _("no LLDP data"),
        "unregistered": _("seen, not registered"),
    }
    sources = {
        LinkSource.MANUAL.value: _("registered"),
        LinkSource.DISCOVERED.value: _("discovered (registered)"),
    }

    def tag(asset_id: int | None) -> str:
        return names[asset_id][0] if asset_id in names else ""

    def name(asset_id: int | None) -> str:
        return names[asset_id][1] if asset_id in names else ""

    link_rows = [
        {
            "a_tag": tag(link.a_asset_id),
            "a_name": name(link.a_asset_id),
            "a_port": link.a_port,
            "b_tag": tag(link.b_asset_id),
            "b_name": name(link.b_asset_id),
            "b_port": link.b_port,
            "medium": link.medium,
            "source": sources.get(link.source, link.source),
            "lldp": state_text[states[link.id]],
            "state": states[link.id],
        }
        for link in links
    ]
    extra = sorted(unregistered, key=lambda n: (tag(n.asset_id), n.local_port))
    link_rows += [
        {
            "a_tag": tag(n.asset_id),
            "a_name": name(n.asset_id),
            "a_port": n.local_port,
            "b_tag": tag(n.remote_asset_id) or n.remote_sys_name,
            "b_name": name(n.remote_asset_id),
            "b_port": n.remote_port,
            "medium": "",
            "source": _("LLDP, not registered"),
            "lldp": state_text["ok"],
            "state": "unregistered",
        }
        for n in extra
    ]
    unseen = [r for r in link_rows if r["state"] == "not_seen"]
    ctx.headline[_("Links registered")] = len(links)
    ctx.headline[_("Links seen but not registered")] = len(extra)
    ctx.headline[_("Links registered but not seen")] = len(unseen)

    nodes = {aid: diagram.Node(aid, *label) for aid, label in names.items()}
    edges = [diagram.Edge(link.a_asset_id, link.b_asset_id, states[link.id]) for link in links] + [
        diagram.Edge(n.asset_id, n.remote_asset_id, "unregistered")
        for n in extra
        if n.remote_asset_id is not None
    ]
    legend = {
        "ok": _("registered, seen by LLDP"),
        "not_seen": _("registered, not seen"),
        "unregistered": _("seen, not registered"),
        "unchecked": _("registered, no LLDP data"),
    }
    png = diagram.draw(list(nodes.values()), edges, legend)
    link_cols = [
        Col("a_tag", _("Device A")),
        Col("a_name", _("Name A")),
        Col("a_port", _("Port A")),
        Col("b_tag", _("Device B")),
        Col("b_name", _("Name B")),
        Col("b_port", _("Port B")),
        Col("medium", _("Medium")),
        Col("source", _("Source")),
        Col("lldp", _("LLDP in the period")),
    ]
    return [
        Sheet(
            _("Network links"),
            link_cols,
            link_rows,
            highlight=lambda r: r["state"] in ("not_seen", "unregistered"),
            note=_(
                "Registered links compared with the LLDP neighbours polled in %(period)s.",
                period=period.text,
            ),
        ),
        Sheet(
            _("Seen, not registered"),
            [
                Col("device", _("Device")),
                Col("name", _("Name")),
                Col("port", _("Local port")),
                Col("remote", _("Neighbour system name")),
                Col("remote_port", _("Neighbour port")),
                Col("chassis", _("Neighbour chassis ID")),
                Col("matched", _("Matched asset")),
                Col("first", _("First seen"), DATETIME),
                Col("last", _("Last seen"), DATETIME),
            ],
            [
                {
                    "device": tag(n.asset_id),
                    "name": name(n.asset_id),
                    "port": n.local_port,
                    "remote": n.remote_sys_name,
                    "remote_port": n.remote_port,
                    "chassis": n.remote_chassis_id,
                    "matched": tag(n.remote_asset_id),
                    "first": _local(n.first_seen, ctx),
                    "last": _local(n.last_seen, ctx),
                }
                for n in extra
            ],
        ),
        Sheet(
            _("Registered, not seen"),
            link_cols[:-2],
            unseen,
            note=_("Links whose devices reported LLDP neighbours, but not this link."),
        ),
        Image(
            _("Topology diagram"),
            _("Network topology %(period)s", period=period.text),
            png,
            _("Boxes are devices (tag and name); lines are links, coloured by what LLDP showed."),
        ),
    ]


# --- IP分配 ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Seen:
    """What the ARP tables showed of one IP (tuples, not sets: most IPs have one MAC)."""

    macs: tuple[str, ...]
    by: tuple[int, ...]
    first: datetime
    last: datetime


def local_times(ctx: Context) -> Callable[[datetime | None], datetime | None]:
    """``_local`` remembering what it converted: ARP tables are polled at a few moments, so
    thousands of sightings share each first/last time."""
    done: dict[datetime, datetime | None] = {}

    def local(moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        found = done.get(moment)
        if found is None:
            found = done[moment] = _local(moment, ctx)
        return found

    return local


def macs_text(entry: Seen | None) -> str:
    if entry is None:
        return ""
    return entry.macs[0] if len(entry.macs) == 1 else ", ".join(sorted(entry.macs))


def ip_allocation(ctx: Context) -> list[Sheet]:
    from assets.models import AddressStatus
    from assets.queries import all_addresses, assets_by_ids, list_prefixes, prefix_utilisations
    from monitors.queries import arp_sightings_between

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
    free, active = AddressStatus.FREE.value, AddressStatus.ACTIVE.value
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
    ctx.headline[_("IP utilisation")] = f"{total_used / total_size:.1%}" if total_size else "-"
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
