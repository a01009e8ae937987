"""nmap's XML output (``nmap -sV -oX``): the hosts that were up and their open ports with the
service nmap recognised, an inventory to compare with the registry. No findings."""

from __future__ import annotations

from pathlib import Path
from xml.etree.ElementTree import Element

from inspections.vulns.parsers.base import Host, ParseError, Scan, Service, epoch, local, xml_events

NAME = "nmap"
ROOTS = ("nmaprun",)
#: the ``xmloutputversion`` values this parser was written against (nmap 5.x to 7.9x)
KNOWN_VERSIONS = ("1.01", "1.02", "1.03", "1.04", "1.05")


def parse(path: Path) -> Scan:
    scan = Scan(scanner=NAME)
    hosts = 0
    for event, element, _parent in xml_events(path, frozenset({"host"})):
        name = local(element.tag)
        if event == "start":
            if name == "nmaprun":
                scan.version = element.get("version", "")
                scan.started_at = epoch(element.get("start"))
                output_version = element.get("xmloutputversion", "")
                if output_version not in KNOWN_VERSIONS:
                    scan.warnings.append(
                        f"nmap XML output version {output_version or '(none)'} not seen before "
                        f"(known: {', '.join(KNOWN_VERSIONS)}); read as 1.05"
                    )
            continue
        if name == "host":
            hosts += 1
            _host(scan, element, hosts)
        elif name == "finished":
            scan.finished_at = epoch(element.get("time"))
    if scan.started_at is None:
        raise ParseError("<nmaprun> has no start attribute: not nmap's XML output (-oX)?")
    return scan


def _host(scan: Scan, element: Element, ordinal: int) -> None:
    status = element.find("status")
    if status is not None and status.get("state") != "up":
        return
    ip = mac = ""
    for address in element.iter("address"):
        kind = address.get("addrtype", "")
        if kind in ("ipv4", "ipv6") and not ip:
            ip = address.get("addr", "")
        elif kind == "mac":
            mac = address.get("addr", "").lower()
    if not ip:
        raise ParseError(f"<host> number {ordinal} has no IPv4/IPv6 <address>")
    names = [h.get("name", "") for h in element.iter("hostname")]
    host = scan.add_host(
        Host(ip=ip, hostname=next((n for n in names if n), ""), mac=mac), f"<host> number {ordinal}"
    )
    for port in element.iter("port"):
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        portid = port.get("portid", "")
        if not portid.isdigit():
            raise ParseError(f"<host> {host.ip}: <port> with portid {portid!r}, not a number")
        service = port.find("service")
        scan.services.append(
            Service(
                ip=host.ip,
                port=int(portid),
                protocol=port.get("protocol", "tcp"),
                state="open",
                service=service.get("name", "") if service is not None else "",
                product=service.get("product", "") if service is not None else "",
                version=service.get("version", "") if service is not None else "",
            )
        )
