"""Reads of the vulnerability scans (the public read surface for the pages, the report kind and
other packages to come): scans, findings of an asset, counts by severity and state, overdue
findings, the hosts no one registered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import contains_eager

from assets.queries import Asset
from inspections.vulns.models import (
    OPEN_STATES,
    SEVERITIES,
    SEVERITY_LABELS,
    STATES,
    VulnFinding,
    VulnScan,
    VulnScanHost,
    VulnService,
)
from opskit import clock, db
from opskit.db import Page


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


# --- for the report kind 漏洞扫描与修补 (reports/kinds/vulns.py) --------------------------------


def scanner_labels() -> dict[str, str]:
    """Each scanner format's key → what pages and reports call it (product names)."""
    return {"nmap": "nmap", "openvas": "Greenbone/OpenVAS", "nessus": "Nessus", "csv": "CSV"}


def scans_between(start: datetime, end: datetime) -> list[VulnScan]:
    """The scans that started in ``[start, end)``, in time order."""
    query = (
        select(VulnScan)
        .where(VulnScan.started_at >= start, VulnScan.started_at < end)
        .order_by(VulnScan.started_at, VulnScan.id)
    )
    return list(db.session().scalars(query))


def findings_first_seen_before(end: datetime) -> list[VulnFinding]:
    """Every finding first seen before ``end`` (what a report judges at moments up to ``end``:
    open, fixed, overdue), by id."""
    query = select(VulnFinding).where(VulnFinding.first_seen < end).order_by(VulnFinding.id)
    return list(db.session().scalars(query))


def scan_times(scan_ids: list[int]) -> dict[int, datetime]:
    """Scan id → when it started (the scans that proved findings fixed)."""
    if not scan_ids:
        return {}
    query = select(VulnScan.id, VulnScan.started_at).where(VulnScan.id.in_(sorted(set(scan_ids))))
    return {scan_id: started for scan_id, started in db.session().execute(query)}


def severity_labels() -> dict[str, Any]:
    """Each severity's key → its words (lazy)."""
    return dict(SEVERITY_LABELS)


def state_labels() -> dict[str, Any]:
    """Each state's key → its words (lazy)."""
    return dict(STATES)


# --- the pages' reads (inspections/vulns/views.py) --------------------------------------------

#: the findings list's state filter: "active" = still to fix (待处理 and 修复中), "" = all
ACTIVE = "active"
#: the findings list's importance filter for a host no asset matched
UNREGISTERED = "unregistered"


def _severity_rank() -> Any:
    """CASE severity → 0 (critical) … 4 (info), for ordering in the database."""
    return case({s: i for i, s in enumerate(SEVERITIES)}, value=VulnFinding.severity, else_=9)


def findings_page(
    *,
    severity: str = "",
    state: str = ACTIVE,
    importance: str = "",
    overdue_only: bool = False,
    asset_id: int | None = None,
    due_before: date | None = None,
    sort: str = "severity",
    page: int = 1,
    per_page: int = 50,
    today: date | None = None,
) -> Page:
    """One page of findings with the list's filters: ``sort`` "severity" (most severe, then
    oldest first) or "age" (oldest first sighting first); ``importance`` an asset importance or
    ``UNREGISTERED``; ``overdue_only``: still to fix and due before ``today`` (the site's);
    ``asset_id``: one asset's; ``due_before``: due before that day (any state). ``state`` "" is
    every state."""
    query = select(VulnFinding).outerjoin(Asset, Asset.id == VulnFinding.asset_id)
    if asset_id is not None:
        query = query.where(VulnFinding.asset_id == asset_id)
    if severity:
        query = query.where(VulnFinding.severity == severity)
    if state == ACTIVE:
        query = query.where(VulnFinding.state.in_(OPEN_STATES))
    elif state:
        query = query.where(VulnFinding.state == state)
    if importance == UNREGISTERED:
        query = query.where(VulnFinding.asset_id.is_(None))
    elif importance:
        query = query.where(Asset.importance == importance)
    if overdue_only:
        query = query.where(
            VulnFinding.state.in_(OPEN_STATES),
            VulnFinding.due_date.is_not(None),
            VulnFinding.due_date < (today or clock.site_today()),
        )
    if due_before is not None:
        query = query.where(VulnFinding.due_date < due_before)
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(query.subquery())) or 0
    if sort == "age":
        order = (VulnFinding.first_seen, _severity_rank(), VulnFinding.id)
    else:
        order = (_severity_rank(), VulnFinding.first_seen, VulnFinding.id)
    page = max(1, page)
    rows = sess.scalars(
        query.options(contains_eager(VulnFinding.asset))
        .order_by(*order)
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


def open_counts_by_severity(asset_id: int | None = None) -> dict[str, int]:
    """Findings still to fix (待处理, 修复中) by severity, of one asset or of all."""
    query = select(VulnFinding.severity, func.count()).where(VulnFinding.state.in_(OPEN_STATES))
    if asset_id is not None:
        query = query.where(VulnFinding.asset_id == asset_id)
    found = {sev: n for sev, n in db.session().execute(query.group_by(VulnFinding.severity))}
    return {s: found.get(s, 0) for s in SEVERITIES}


def get_scan(scan_id: int) -> VulnScan | None:
    return db.session().get(VulnScan, scan_id)


def scans_page(page: int = 1, per_page: int = 50) -> Page:
    """The scans, the latest first, a page at a time."""
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(VulnScan)) or 0
    page = max(1, page)
    rows = sess.scalars(
        select(VulnScan)
        .order_by(VulnScan.started_at.desc(), VulnScan.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


@dataclass(frozen=True)
class ScanCounts:
    """What one scan did: hosts it covered and matched, findings it found first and fixed."""

    hosts: int = 0
    hosts_matched: int = 0
    findings_new: int = 0
    findings_fixed: int = 0


def _count_by(column: Any, scan_ids: list[int]) -> dict[int, int]:
    """Findings per value of ``column`` (a scan id column) among ``scan_ids``."""
    query = select(column, func.count()).where(column.in_(scan_ids)).group_by(column)
    return {scan: n for scan, n in db.session().execute(query)}


def scan_counts(scan_ids: list[int]) -> dict[int, ScanCounts]:
    """Each scan's :class:`ScanCounts` (a scan without hosts or findings: zeros)."""
    if not scan_ids:
        return {}
    sess = db.session()
    hosts = {
        scan: (total, matched or 0)
        for scan, total, matched in sess.execute(
            select(
                VulnScanHost.scan_id,
                func.count(),
                func.sum(case((VulnScanHost.asset_id.is_not(None), 1), else_=0)),
            )
            .where(VulnScanHost.scan_id.in_(scan_ids))
            .group_by(VulnScanHost.scan_id)
        )
    }
    new = _count_by(VulnFinding.first_scan_id, scan_ids)
    fixed = _count_by(VulnFinding.fixed_by_scan_id, scan_ids)
    return {
        scan: ScanCounts(*hosts.get(scan, (0, 0)), new.get(scan, 0), fixed.get(scan, 0))
        for scan in scan_ids
    }


def hosts_of_scan(scan_id: int) -> list[VulnScanHost]:
    """The hosts one scan covered, by address."""
    query = select(VulnScanHost).where(VulnScanHost.scan_id == scan_id).order_by(VulnScanHost.ip)
    return list(db.session().scalars(query))


def scans_of_host(scanner: str, ip: str, limit: int = 50) -> list[VulnScan]:
    """The scans of one scanner that covered the host at ``ip``, the latest first (a finding's
    history: the scans that saw it, and those after)."""
    query = (
        select(VulnScan)
        .join(VulnScanHost, VulnScanHost.scan_id == VulnScan.id)
        .where(VulnScan.scanner == scanner, VulnScanHost.ip == ip)
        .order_by(VulnScan.started_at.desc(), VulnScan.id.desc())
        .limit(limit)
    )
    return list(db.session().scalars(query))


def last_scan_of_asset(asset_id: int) -> VulnScan | None:
    """The latest scan that covered a host matched to the asset (None: never scanned)."""
    query = (
        select(VulnScan)
        .join(VulnScanHost, VulnScanHost.scan_id == VulnScan.id)
        .where(VulnScanHost.asset_id == asset_id)
        .order_by(VulnScan.started_at.desc(), VulnScan.id.desc())
        .limit(1)
    )
    return db.session().scalar(query)
