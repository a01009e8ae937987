"""Reads of the vulnerability scans (the public read surface for the pages, the report kind and
other packages to come): scans, findings of an asset, counts by severity and state, overdue
findings, the hosts no one registered."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from inspections.vulns.models import (
    OPEN_STATES,
    SEVERITIES,
    VulnFinding,
    VulnScan,
    VulnScanHost,
    VulnService,
)
from opskit import clock, db


def recent_scans(limit: int = 50) -> list[VulnScan]:
    """The scans, the latest first."""
    query = select(VulnScan).order_by(VulnScan.started_at.desc(), VulnScan.id.desc())
    return list(db.session().scalars(query.limit(limit)))


def get_finding(finding_id: int) -> VulnFinding | None:
    return db.session().get(VulnFinding, finding_id)


def findings_of_asset(asset_id: int, open_only: bool = False) -> list[VulnFinding]:
    """An asset's findings, the most severe and oldest first."""
    query = select(VulnFinding).where(VulnFinding.asset_id == asset_id)
    if open_only:
        query = query.where(VulnFinding.state.in_(OPEN_STATES))
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = list(db.session().scalars(query))
    return sorted(rows, key=lambda f: (rank[f.severity], f.first_seen, f.id))


def counts_by_severity_and_state() -> dict[tuple[str, str], int]:
    """(severity, state) → number of findings."""
    query = select(VulnFinding.severity, VulnFinding.state, func.count()).group_by(
        VulnFinding.severity, VulnFinding.state
    )
    return {(sev, state): n for sev, state, n in db.session().execute(query)}


def overdue(today: date | None = None) -> list[VulnFinding]:
    """Findings still to fix whose due date is before ``today`` (the site's date)."""
    today = today or clock.site_today()
    query = (
        select(VulnFinding)
        .where(
            VulnFinding.state.in_(OPEN_STATES),
            VulnFinding.due_date.is_not(None),
            VulnFinding.due_date < today,
        )
        .order_by(VulnFinding.due_date, VulnFinding.id)
    )
    return list(db.session().scalars(query))


def unregistered_hosts(scan_id: int) -> list[VulnScanHost]:
    """The hosts of a scan that no registered asset matched (to register them)."""
    query = (
        select(VulnScanHost)
        .where(VulnScanHost.scan_id == scan_id, VulnScanHost.asset_id.is_(None))
        .order_by(VulnScanHost.ip)
    )
    return list(db.session().scalars(query))


def services_of_scan(scan_id: int) -> list[tuple[VulnScanHost, VulnService]]:
    """nmap's inventory of one scan: (host, open port) by address and port."""
    query = (
        select(VulnScanHost, VulnService)
        .join(VulnService, VulnService.host_id == VulnScanHost.id)
        .where(VulnScanHost.scan_id == scan_id)
        .order_by(VulnScanHost.ip, VulnService.port, VulnService.protocol)
    )
    return [(host, service) for host, service in db.session().execute(query)]
