"""Scanner files the tests write: Nessus v2 scans of chosen hosts and findings at a chosen time,
in the shape of the public sample (samples/nessus_issue_6992_excerpt.nessus)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SAMPLES = Path(__file__).with_name("samples")


@dataclass
class Item:
    plugin: str
    port: int = 443
    severity: int = 4  # Nessus: 0 info, 1 low, 2 medium, 3 high, 4 critical
    name: str = ""
    cves: tuple[str, ...] = ()
    protocol: str = "tcp"


@dataclass
class ScanHost:
    ip: str
    fqdn: str = ""
    mac: str = ""
    items: list[Item] = field(default_factory=list)


def nessus(path: Path, start: datetime, hosts: list[ScanHost]) -> Path:
    lines = ['<?xml version="1.0" ?>', "<NessusClientData_v2>", '<Report name="t">']
    for host in hosts:
        tags = {"host-ip": host.ip, "HOST_START_TIMESTAMP": str(int(start.timestamp()))}
        if host.fqdn:
            tags["host-fqdn"] = host.fqdn
        if host.mac:
            tags["mac-address"] = host.mac
        lines.append(f"<ReportHost name={quoteattr(host.ip)}><HostProperties>")
        lines += [f"<tag name={quoteattr(k)}>{escape(v)}</tag>" for k, v in tags.items()]
        lines.append("</HostProperties>")
        for item in host.items:
            lines.append(
                f'<ReportItem port="{item.port}" protocol="{item.protocol}" '
                f'severity="{item.severity}" pluginID="{item.plugin}" '
                f"pluginName={quoteattr(item.name or f'Plugin {item.plugin}')}>"
            )
            lines += [f"<cve>{c}</cve>" for c in item.cves]
            lines.append(f"<solution>Patch {item.plugin}.</solution></ReportItem>")
        lines.append("</ReportHost>")
    lines += ["</Report>", "</NessusClientData_v2>"]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path
