"""nmap's inventory compared with the registry (a scan's page): the hosts no asset matched,
and the open ports of registered assets that nobody registered, i.e. that no monitor of the
asset checks (a TCP check's port, an HTTP check's URL, a database check's port, SNMP's 161/udp).
A port opskit watches is one someone set up on purpose; any other open port is a service to
look at (close it, or register a check for it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from inspections.vulns.models import VulnScanHost, VulnService
from monitors import queries as monitoring

#: database monitor kinds and their port when the settings name none
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "snmp": 161}


def watched_ports(monitors: list[Any]) -> set[tuple[int, str]]:
    """The (port, protocol) pairs the given monitors check."""
    out: set[tuple[int, str]] = set()
    for monitor in monitors:
        settings = monitor.settings or {}
        if monitor.kind in ("tcp", "postgresql", "mysql"):
            port = settings.get("port") or DEFAULT_PORTS.get(monitor.kind)
            if port:
                out.add((int(port), "tcp"))
        elif monitor.kind == "snmp":
            out.add((int(settings.get("port") or 161), "udp"))
        elif monitor.kind == "http":
            try:
                url = urlsplit(str(settings.get("url") or ""))
                port = url.port or (443 if url.scheme == "https" else 80)
            except ValueError:
                continue
            out.add((port, "tcp"))
    return out


@dataclass
class Compared:
    """A scan's services sorted by what the registry knows of them."""

    #: hosts no asset matched, each with its open ports
    unregistered: list[tuple[VulnScanHost, list[VulnService]]] = field(default_factory=list)
    #: open ports of registered assets that no monitor checks
    unwatched: list[tuple[VulnScanHost, VulnService]] = field(default_factory=list)
    #: open ports of registered assets that a monitor checks
    watched: list[tuple[VulnScanHost, VulnService]] = field(default_factory=list)

    @property
    def services(self) -> int:
        return sum(len(s) for _h, s in self.unregistered) + len(self.unwatched) + len(self.watched)


def compare(rows: list[tuple[VulnScanHost, VulnService]]) -> Compared:
    """``rows`` (``queries.services_of_scan``) sorted into :class:`Compared`."""
    out = Compared()
    by_host: dict[int, tuple[VulnScanHost, list[VulnService]]] = {}
    watched: dict[int, set[tuple[int, str]]] = {}
    for host, service in rows:
        if host.asset_id is None:
            by_host.setdefault(host.id, (host, []))[1].append(service)
            continue
        if host.asset_id not in watched:
            watched[host.asset_id] = watched_ports(monitoring.monitors(host.asset_id))
        key = (service.port, service.protocol)
        (out.watched if key in watched[host.asset_id] else out.unwatched).append((host, service))
    out.unregistered = list(by_host.values())
    return out
