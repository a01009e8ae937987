"""Vulnerability scans as findings (issue #20): what a scanner reported, tied to the registry.

- ``VulnScan``: one imported scanner file (nmap, Greenbone/OpenVAS, Nessus, a CSV export): which
  scanner, the file's name and SHA-256 (the same file imported twice is one scan), when it ran.
- ``VulnScanHost``: a host the scan covered, as the scanner named it (IP, host name, MAC), and
  the registered asset it was matched to (empty: a host no one registered).
- ``VulnService``: an open port nmap found on a host (the service inventory), per scan.
- ``VulnFinding``: one vulnerability on one host, tracked across scans: the same scanner, host
  address, plugin (NVT/plugin id) and port/protocol are the same finding (``dedup_key``), whose
  ``last_seen`` moves with each scan that reports it again. Its state (待处理 → 修复中 → 已修复 /
  接受风险 until ``accepted_until`` / 误报) and its due date (severity × the asset's importance,
  ``due_dates.yaml``) are the engineer's; ``fixed_by_scan`` is the later scan of the host that no
  longer reported it.

The asset is the registry's row, named by its mapped class (``"Asset"``) so this module imports
nothing of ``assets``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from opskit.db import Base, utcnow
from opskit.models import Audited

SCANNERS = ("nmap", "openvas", "nessus", "csv")
SEVERITIES = ("critical", "high", "medium", "low", "info")
#: the states of a finding, stored key → what pages and reports call it
STATES: dict[str, Any] = {
    "open": _l("Pending fix"),  # 待处理
    "in_progress": _l("Fixing"),  # 修复中
    "fixed": _l("Fixed"),  # 已修复
    "accepted": _l("Risk accepted"),  # 接受风险
    "false_positive": _l("False positive"),  # 误报
}
SEVERITY_LABELS: dict[str, Any] = {
    "critical": _l("Critical risk"),
    "high": _l("High risk"),
    "medium": _l("Medium risk"),
    "low": _l("Low risk"),
    "info": _l("Informational"),
}
#: states in which a finding still needs work (it counts as open, it can become overdue)
OPEN_STATES = ("open", "in_progress")


def _in(values: tuple[str, ...] | dict[str, Any]) -> str:
    return ", ".join(f"'{v}'" for v in values)


class VulnScan(Base):
    """One scanner file imported: a row per distinct file (``sha256`` unique)."""

    __tablename__ = "vuln_scan"
    __table_args__ = (
        CheckConstraint(f"scanner IN ({_in(SCANNERS)})", name="scanner_known"),
        Index("ix_vuln_scan_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scanner: Mapped[str] = mapped_column(String(16))
    scanner_version: Mapped[str] = mapped_column(String(64), default="")
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    hosts_scanned: Mapped[int] = mapped_column(default=0)
    findings_count: Mapped[int] = mapped_column(default=0)
    services_count: Mapped[int] = mapped_column(default=0)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
    imported_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    hosts: Mapped[list[VulnScanHost]] = relationship(
        back_populates="scan", cascade="all, delete-orphan"
    )


class VulnScanHost(Base):
    """A host one scan covered, and the asset it was matched to (None: unregistered)."""

    __tablename__ = "vuln_scan_host"
    __table_args__ = (UniqueConstraint("scan_id", "ip", name="uq_vuln_scan_host_scan_ip"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("vuln_scan.id", ondelete="CASCADE"))
    ip: Mapped[str] = mapped_column(String(45))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    mac: Mapped[str] = mapped_column(String(17), default="")
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    #: how the asset was found: "ip", "hostname", "mac" or "" (not matched)
    matched_by: Mapped[str] = mapped_column(String(16), default="")

    scan: Mapped[VulnScan] = relationship(back_populates="hosts")
    services: Mapped[list[VulnService]] = relationship(
        back_populates="host", cascade="all, delete-orphan"
    )


class VulnService(Base):
    """An open port on a scanned host and what listens there (nmap's -sV guess)."""

    __tablename__ = "vuln_service"
    __table_args__ = (
        UniqueConstraint("host_id", "port", "protocol", name="uq_vuln_service_host_port"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("vuln_scan_host.id", ondelete="CASCADE"))
    port: Mapped[int]
    protocol: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default="open")
    service: Mapped[str] = mapped_column(String(64), default="")
    product: Mapped[str] = mapped_column(String(128), default="")
    version: Mapped[str] = mapped_column(String(128), default="")

    host: Mapped[VulnScanHost] = relationship(back_populates="services")


class VulnFinding(Audited, Base):
    """One vulnerability on one host, the same row across the scans that report it."""

    __tablename__ = "vuln_finding"
    __table_args__ = (
        CheckConstraint(f"scanner IN ({_in(SCANNERS)})", name="scanner_known"),
        CheckConstraint(f"severity IN ({_in(SEVERITIES)})", name="severity_known"),
        CheckConstraint(f"state IN ({_in(STATES)})", name="state_known"),
        UniqueConstraint(
            "scanner", "host_ip", "plugin_id", "port", "protocol", name="uq_vuln_finding_key"
        ),
        Index("ix_vuln_finding_state_severity", "state", "severity"),
        Index("ix_vuln_finding_host_ip", "host_ip"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scanner: Mapped[str] = mapped_column(String(16))
    asset_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="SET NULL"), index=True
    )
    host_ip: Mapped[str] = mapped_column(String(45))
    hostname: Mapped[str] = mapped_column(String(255), default="")
    mac: Mapped[str] = mapped_column(String(17), default="")
    #: 0 with protocol "" for a finding about the host as a whole (Nessus port 0, OpenVAS general)
    port: Mapped[int] = mapped_column(default=0)
    protocol: Mapped[str] = mapped_column(String(8), default="")
    plugin_id: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(500))
    cves: Mapped[list[str]] = mapped_column(JSON, default=list)
    cvss_score: Mapped[float | None] = mapped_column(Float)
    cvss_vector: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(String(16))
    solution: Mapped[str] = mapped_column(Text, default="")
    first_seen: Mapped[datetime]
    #: moved by every scan that reports it again: bookkeeping, not audited
    last_seen: Mapped[datetime] = mapped_column(info={"audit": False})
    first_scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("vuln_scan.id", ondelete="SET NULL")
    )
    last_scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("vuln_scan.id", ondelete="SET NULL"), info={"audit": False}
    )
    state: Mapped[str] = mapped_column(String(16), default="open")
    state_reason: Mapped[str] = mapped_column(Text, default="")
    approver: Mapped[str] = mapped_column(String(100), default="")
    accepted_until: Mapped[date | None]
    due_date: Mapped[date | None]
    fixed_at: Mapped[datetime | None]
    fixed_by_scan_id: Mapped[int | None] = mapped_column(
        ForeignKey("vuln_scan.id", ondelete="SET NULL")
    )
    #: the alert a new critical/high finding on a core asset raised (opskit.alerts)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alert.id", ondelete="SET NULL"))
    #: the fix: the service request opened for it (the desk's) and/or the firmware upgrade
    #: record of its asset (monitors.configs.upgrades) linked as the fix
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_request.id", ondelete="SET NULL")
    )
    upgrade_id: Mapped[int | None] = mapped_column(
        ForeignKey("config_upgrade.id", ondelete="SET NULL")
    )

    asset: Mapped[Any] = relationship("Asset")

    @property
    def dedup_key(self) -> tuple[str, str, str, int, str]:
        return (self.scanner, self.host_ip, self.plugin_id, self.port, self.protocol)

    @property
    def audit_label(self) -> str:
        where = f"{self.host_ip}:{self.port}/{self.protocol}" if self.port else self.host_ip
        return f"{self.plugin_id} {where}"
