"""Greenbone/OpenVAS XML reports (GSA's "XML" report format, ``<report>`` or the
``<get_reports_response>`` of gvm-cli): each ``<result>`` a finding (its NVT's OID the plugin,
``80/tcp`` or ``general/tcp`` the port), each report-level ``<host>`` a host scanned, also those
without results. Log-level results (severity 0) are notes, not findings."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

from inspections.vulns.parsers.base import (
    Finding,
    Host,
    ParseError,
    Scan,
    iso,
    local,
    number,
    severity_of_score,
    xml_events,
)

NAME = "openvas"
ROOTS = ("report", "get_reports_response")
#: the GMP protocol versions (report/gmp/version, major part) this parser was written against
KNOWN_VERSIONS = ("7", "8", "9", "20", "21", "22")
THREATS = {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}
#: the elements read whole when they end (a result, a report-level host, the GMP version)
RECORDS = frozenset({"result", "host", "gmp"})
CVE = re.compile(r"CVE-\d{4}-\d{4,}")


def parse(path: Path) -> Scan:
    scan = Scan(scanner=NAME)
    results = 0
    for event, element, parent_element in xml_events(path, RECORDS):
        if event == "start" or parent_element is None:
            continue
        name, parent = local(element.tag), local(parent_element.tag)
        if name == "result" and parent == "results":
            results += 1
            _result(scan, element, results)
        elif name == "host" and parent == "report":
            _report_host(scan, element)
        elif name == "version" and parent == "gmp":
            scan.version = (element.text or "").strip()
        elif name == "scan_start" and parent == "report" and scan.started_at is None:
            scan.started_at = iso(element.text)
        elif name == "scan_end" and parent == "report":
            scan.finished_at = iso(element.text)
    if scan.started_at is None and not scan.hosts:
        raise ParseError(
            "no <scan_start> and no <host> in <report>: not a Greenbone/OpenVAS XML report"
        )
    major = scan.version.split(".")[0]
    if major not in KNOWN_VERSIONS:
        scan.warnings.append(
            f"Greenbone GMP version {scan.version or '(none)'} not seen before "
            f"(known: {', '.join(KNOWN_VERSIONS)}); read as 22"
        )
    return scan


def _text(element: Element, path: str) -> str:
    found = element.find(path)
    return (found.text or "").strip() if found is not None and found.text else ""


def _report_host(scan: Scan, element: Element) -> None:
    ip = _text(element, "ip")
    if not ip:
        return
    host = Host(ip=ip)
    for detail in element.iter("detail"):
        key, value = _text(detail, "name"), _text(detail, "value")
        if key == "hostname" and not host.hostname:
            host.hostname = value
        elif key == "MAC" and not host.mac:
            host.mac = value.lower()
    scan.add_host(host, "a report-level <host> <ip>")
    start = iso(_text(element, "start"))
    if start and (scan.started_at is None or start < scan.started_at):
        scan.started_at = start


def _result(scan: Scan, element: Element, ordinal: int) -> None:
    where = f"<result> number {ordinal}"
    host_element = element.find("host")
    ip = (host_element.text or "").strip() if host_element is not None else ""
    if not ip:
        raise ParseError(f"{where} has no <host> address")
    hostname = _text(host_element, "hostname") if host_element is not None else ""
    ip = scan.add_host(Host(ip=ip, hostname=hostname), f"{where} <host>").ip
    nvt = element.find("nvt")
    oid = nvt.get("oid", "") if nvt is not None else ""
    if nvt is None or not oid:
        raise ParseError(f"{where} ({ip}) has no <nvt oid=...>")
    score = number(_text(element, "severity"), f"{where} ({ip}) <severity>")
    threat = _text(element, "threat").lower()
    severity = severity_of_score(score) if score is not None else THREATS.get(threat)
    if severity is None and threat in ("log", "debug", "false positive", ""):
        severity = "info"
    if severity is None:
        raise ParseError(f"{where} ({ip}): threat {threat!r} is not a known level")
    if severity == "info":
        return
    tags = dict(part.split("=", 1) for part in _text(nvt, "tags").split("|") if "=" in part)
    cves = [ref.get("id", "") for ref in nvt.iter("ref") if ref.get("type") == "cve"]
    cves += CVE.findall(_text(nvt, "cve"))
    port_text = _text(element, "port") or "general/tcp"
    port_part, _, protocol = port_text.partition("/")
    solution = _text(nvt, "solution") or tags.get("solution", "")
    scan.add_finding(
        Finding(
            ip=ip,
            plugin_id=oid,
            name=_text(element, "name") or _text(nvt, "name") or oid,
            severity=severity,
            port=int(port_part) if port_part.isdigit() else 0,
            protocol=protocol.lower()[:8],
            cves=tuple(dict.fromkeys(c for c in cves if c)),
            cvss_score=score,
            cvss_vector=tags.get("cvss_base_vector", ""),
            solution=solution.strip(),
        )
    )
