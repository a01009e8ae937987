"""Nessus ``.nessus`` files (version 2, ``<NessusClientData_v2>``): each ``<ReportHost>`` a host
scanned (its ``HostProperties`` tags: host-ip, host-fqdn, mac-address, HOST_START/END), each
``<ReportItem>`` a finding (pluginID the plugin; severity 0-4; CVSS v3 preferred over v2).
Severity 0 items are Nessus's notes (service detection, traceroute), not findings."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from xml.etree.ElementTree import Element

from inspections.vulns.parsers.base import (
    Finding,
    Host,
    ParseError,
    Scan,
    epoch,
    local,
    number,
    xml_events,
)

NAME = "nessus"
ROOTS = ("NessusClientData_v2",)
#: the elements read whole when they end
RECORDS = frozenset({"HostProperties", "ReportItem"})
SEVERITIES = {"0": "info", "1": "low", "2": "medium", "3": "high", "4": "critical"}


def parse(path: Path) -> Scan:
    scan = Scan(scanner=NAME, version="v2")
    host: Host | None = None
    hosts = items = 0
    for event, element, _parent in xml_events(path, RECORDS):
        name = local(element.tag)
        if event == "start":
            if name == "ReportHost":
                hosts += 1
                host = None
            continue
        if name == "HostProperties":
            host = _host(scan, element, hosts)
        elif name == "ReportItem":
            items += 1
            if host is None:
                raise ParseError(
                    f"<ReportItem> number {items} comes before its <ReportHost>'s "
                    "<HostProperties>: not a Nessus v2 file?"
                )
            _item(scan, host, element, items)
        elif name == "ReportHost" and host is None:  # no HostProperties: its name is the address
            address = element.get("name", "")
            if not address:
                raise ParseError(f"<ReportHost> number {hosts} has no name and no host-ip")
            scan.add_host(Host(ip=address), f"<ReportHost> number {hosts}")
    if not hosts:
        raise ParseError("no <ReportHost> in the file: an empty scan or not a .nessus file")
    return scan


def _nessus_time(tags: dict[str, str], name: str) -> datetime | None:
    found = epoch(tags.get(f"{name}_TIMESTAMP"))
    if found is not None:
        return found
    text = tags.get(name, "").strip()
    try:
        return datetime.strptime(text, "%a %b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None


def _host(scan: Scan, element: Element, ordinal: int) -> Host:
    tags = {t.get("name", ""): (t.text or "").strip() for t in element.iter("tag")}
    ip = tags.get("host-ip", "")
    if not ip:
        raise ParseError(f"<ReportHost> number {ordinal}: its <HostProperties> has no host-ip")
    mac = tags.get("mac-address", "").split()[0].lower() if tags.get("mac-address") else ""
    host = scan.add_host(
        Host(ip=ip, hostname=tags.get("host-fqdn") or tags.get("netbios-name", ""), mac=mac),
        f"<ReportHost> number {ordinal} host-ip",
    )
    start, end = _nessus_time(tags, "HOST_START"), _nessus_time(tags, "HOST_END")
    if start and (scan.started_at is None or start < scan.started_at):
        scan.started_at = start
    if end and (scan.finished_at is None or end > scan.finished_at):
        scan.finished_at = end
    return host


def _item(scan: Scan, host: Host, element: Element, ordinal: int) -> None:
    where = f"<ReportItem> number {ordinal} ({host.ip})"
    severity = SEVERITIES.get(element.get("severity", ""))
    if severity is None:
        raise ParseError(f"{where}: severity {element.get('severity')!r} is not 0-4")
    if severity == "info":
        return
    plugin = element.get("pluginID", "")
    if not plugin:
        raise ParseError(f"{where} has no pluginID")
    port = element.get("port", "0")
    if not port.isdigit():
        raise ParseError(f"{where}: port {port!r} is not a number")

    def text(tag: str) -> str:
        found = element.find(tag)
        return (found.text or "").strip() if found is not None else ""

    score = number(text("cvss3_base_score"), f"{where} <cvss3_base_score>")
    vector = text("cvss3_vector")
    if score is None:
        score = number(text("cvss_base_score"), f"{where} <cvss_base_score>")
        vector = text("cvss_vector")
    scan.add_finding(
        Finding(
            ip=host.ip,
            plugin_id=plugin,
            name=element.get("pluginName") or text("plugin_name") or plugin,
            severity=severity,
            port=int(port),
            protocol=element.get("protocol", "").lower()[:8] if int(port) else "",
            cves=tuple(dict.fromkeys((c.text or "").strip() for c in element.iter("cve"))),
            cvss_score=score,
            cvss_vector=vector,
            solution=text("solution"),
        )
    )
