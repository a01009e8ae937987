"""Importing a scanner file and tracking its findings (writes; the caller commits).

``import_file`` is all or nothing: it parses the whole file first (a bad file writes nothing),
then writes everything in the caller's transaction; ``dry_run`` writes nothing (it only counts).
New findings, hosts and services are inserted in batches (``db.insert_rows``: a scan of a /16 is
tens of thousands of rows); a new finding's creation is recorded by the scan that found it
(``first_scan_id``), its later changes in the audit log. The tracking rules, per import:

- the same file again (same SHA-256) is the scan already imported: nothing is written;
- a finding is the same finding when scanner, host address, plugin and port/protocol are the
  same: it is *seen again* (``last_seen`` moves to this scan's start, never backwards); a fixed
  one that is seen again is opened again;
- a host the file covers (also one without findings) whose earlier findings of the same
  scanner are not in this file, in a scan that started after they were last seen: those become
  已修复, ``fixed_by_scan`` this scan (not with ``partial``: a scan of a few plugins proves no
  fix);
- an accepted risk past its ``accepted_until`` (the site's date, ``opskit.clock``) is opened
  again (``reopen_expired``, also run by every import), alerting again where a new one would;
- a new finding's due date comes from its severity and the asset's importance, and a new
  critical/high one on a core asset raises an alert (``tracking.yaml``), as does such a fixed
  one found again; its alert is resolved when a scan proves it fixed, or when the risk is
  accepted or the finding called a false positive.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from assets import queries as registry
from inspections.vulns import parsers, tracking
from inspections.vulns.models import (
    OPEN_STATES,
    STATES,
    VulnFinding,
    VulnScan,
    VulnScanHost,
    VulnService,
)
from inspections.vulns.parsers.base import Finding, Host, Scan
from opskit import clock, db
from opskit.alerts import services as alerts

#: rows written in one driver call (db.insert_rows)
BATCH = 2000
#: the states a later scan without the finding moves to 已修复
FIXABLE_STATES = (*OPEN_STATES, "accepted")


class ImportRefused(ValueError):
    """The file cannot be imported; the message says why (a ParseError's, or the database's)."""


@dataclass
class Summary:
    """What an import did (or, dry, would do); ``as_json`` is the CLI's ``--json`` object."""

    scanner: str
    hosts: int = 0
    hosts_matched: int = 0
    hosts_unmatched: list[dict[str, str]] = field(default_factory=list)
    services: int = 0
    findings_new: int = 0
    findings_seen_again: int = 0
    findings_fixed: int = 0
    findings_reopened: int = 0
    alerts_raised: int = 0
    scan_id: int | None = None
    already_imported: bool = False
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "scanner": self.scanner,
            "hosts": self.hosts,
            "hosts_matched": self.hosts_matched,
            "hosts_unmatched": len(self.hosts_unmatched),  # a count, like hosts, hosts_matched
            "unmatched_hosts": self.hosts_unmatched,  # which: ip, hostname, mac (to register)
            "services": self.services,
            "findings_new": self.findings_new,
            "findings_seen_again": self.findings_seen_again,
            "findings_fixed": self.findings_fixed,
            "findings_reopened": self.findings_reopened,
            "alerts_raised": self.alerts_raised,
            "scan_id": self.scan_id,
            "already_imported": self.already_imported,
            "dry_run": self.dry_run,
            "warnings": self.warnings,
        }


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while chunk := raw.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Match:
    asset_id: int | None
    matched_by: str
    importance: str | None


def _match_hosts(hosts: Iterable[Host]) -> dict[str, _Match]:
    """host IP → the registered asset it is (by IP, else host name, else MAC)."""
    hosts = list(hosts)
    found = registry.assets_by_identity(
        names=[h.hostname for h in hosts if h.hostname],
        macs=[h.mac for h in hosts if h.mac],
        ips=[h.ip for h in hosts],
    )
    importance = {a.id: a.importance for a in registry.assets_by_ids(sorted(set(found.values())))}
    out: dict[str, _Match] = {}
    for host in hosts:
        name = host.hostname.strip().lower()
        for key, by in ((host.ip, "ip"), (name, "hostname"), (host.mac.lower(), "mac")):
            if key and key in found:
                out[host.ip] = _Match(found[key], by, importance.get(found[key]))
                break
        else:
            out[host.ip] = _Match(None, "", None)
    return out


def _key(f: Finding | VulnFinding) -> tuple[str, str, int, str]:
    ip = f.ip if isinstance(f, Finding) else f.host_ip
    return (ip, f.plugin_id, f.port, f.protocol)


def reopen_expired(today: date | None = None) -> int:
    """Accepted risks whose acceptance ended before ``today`` (the site's date) opened again."""
    today = today or clock.site_today()
    expired = db.session().scalars(
        select(VulnFinding).where(
            VulnFinding.state == "accepted",
            VulnFinding.accepted_until.is_not(None),
            VulnFinding.accepted_until < today,
        )
    )
    reopened = list(expired)
    for finding in reopened:
        finding.state = "open"
        finding.state_reason = f"acceptance ended {finding.accepted_until}: {finding.state_reason}"
    rules = tracking.rules()
    owners = [f.asset_id for f in reopened if f.asset_id is not None]
    importance = {a.id: a.importance for a in registry.assets_by_ids(sorted(set(owners)))}
    raised = []
    for finding in reopened:  # alerting again, as a new finding would
        urgency = rules.alert_urgency(finding.severity, importance.get(finding.asset_id or 0))
        if urgency is not None:
            raised.append((finding, _raise(finding, urgency, clock.now())))
    db.session().flush()
    for finding, alert in raised:
        finding.alert_id = alert.id
    return len(reopened)


def import_file(
    path: Path,
    scanner: str = "auto",
    *,
    file_name: str | None = None,
    dry_run: bool = False,
    partial: bool = False,
    user_id: int | None = None,
) -> Summary:
    """Import the scanner file at ``path`` (see the module); ParseError → ImportRefused."""
    try:
        scan = parsers.parse(path, scanner)
    except parsers.ParseError as exc:
        raise ImportRefused(str(exc)) from None
    digest = sha256_of(path)
    summary = Summary(scanner=scan.scanner, dry_run=dry_run, warnings=list(scan.warnings))
    matches = _match_hosts(scan.hosts.values())
    summary.hosts = len(scan.hosts)
    summary.hosts_matched = sum(1 for m in matches.values() if m.asset_id is not None)
    summary.hosts_unmatched = [
        {"ip": h.ip, "hostname": h.hostname, "mac": h.mac}
        for h in scan.hosts.values()
        if matches[h.ip].asset_id is None
    ]
    summary.services = len(scan.services)
    sess = db.session()
    previous = sess.scalar(select(VulnScan).where(VulnScan.sha256 == digest))
    if previous is not None:
        summary.already_imported = True
        summary.scan_id = previous.id
        summary.findings_seen_again = len({_key(f) for f in scan.findings})
        return summary
    started = scan.started_at or clock.now()
    if not dry_run:
        summary.findings_reopened += reopen_expired()
    record = VulnScan(
        scanner=scan.scanner,
        scanner_version=scan.version[:64],
        file_name=(file_name or path.name)[:255],
        sha256=digest,
        started_at=started,
        finished_at=scan.finished_at,
        hosts_scanned=len(scan.hosts),
        findings_count=len(scan.findings),
        services_count=len(scan.services),
        imported_at=clock.now(),
        imported_by_id=user_id,
    )
    if not dry_run:
        sess.add(record)
        sess.flush()
        summary.scan_id = record.id
    _track(scan, record, matches, summary, dry_run=dry_run, partial=partial)
    if dry_run:
        return summary
    _write_inventory(scan, record, matches)
    return summary


def import_upload(stream: IO[bytes], scanner: str = "auto", **options: Any) -> Summary:
    """``import_file`` of an uploaded file (the page's form, the API's body), read from
    ``stream`` into a private temporary file first; ``options`` are ``import_file``'s."""
    with tempfile.TemporaryDirectory(prefix="opskit-vulns-") as folder:
        path = Path(folder) / "upload"
        with path.open("wb") as out:
            shutil.copyfileobj(stream, out, 1024 * 1024)
        return import_file(path, scanner, **options)


def _write_inventory(scan: Scan, record: VulnScan, matches: dict[str, _Match]) -> None:
    """The scan's hosts and nmap's services, in batches (``db.insert_rows``)."""
    hosts = [
        {
            "scan_id": record.id,
            "ip": ip,
            "hostname": host.hostname[:255],
            "mac": host.mac[:17],
            "asset_id": matches[ip].asset_id,
            "matched_by": matches[ip].matched_by,
        }
        for ip, host in scan.hosts.items()
    ]
    for start in range(0, len(hosts), BATCH):
        db.insert_rows(VulnScanHost.__table__, hosts[start : start + BATCH])
    if not scan.services:
        return
    query = select(VulnScanHost.ip, VulnScanHost.id).where(VulnScanHost.scan_id == record.id)
    host_ids = {ip: host_id for ip, host_id in db.session().execute(query)}
    seen: set[tuple[str, int, str]] = set()
    batch: list[dict[str, Any]] = []
    for service in scan.services:
        key = (service.ip, service.port, service.protocol[:8])
        if key in seen:
            continue
        seen.add(key)
        batch.append(
            {
                "host_id": host_ids[service.ip],
                "port": service.port,
                "protocol": service.protocol[:8],
                "state": service.state[:16],
                "service": service.service[:64],
                "product": service.product[:128],
                "version": service.version[:128],
            }
        )
        if len(batch) >= BATCH:
            db.insert_rows(VulnService.__table__, batch)
            batch = []
    db.insert_rows(VulnService.__table__, batch)


def _track(
    scan: Scan,
    record: VulnScan,
    matches: dict[str, _Match],
    summary: Summary,
    *,
    dry_run: bool,
    partial: bool,
) -> None:
    """New, seen again, fixed: the findings' rows against this scan (see the module)."""
    sess = db.session()
    rules = tracking.rules()
    started = record.started_at
    known: dict[tuple[str, str, int, str], VulnFinding] = {}
    ips = sorted(scan.hosts)
    for start in range(0, len(ips), 500):  # stays under every database's parameter limit
        for found in sess.scalars(
            select(VulnFinding).where(
                VulnFinding.scanner == scan.scanner,
                VulnFinding.host_ip.in_(ips[start : start + 500]),
            )
        ):
            known[_key(found)] = found
    in_file: dict[tuple[str, str, int, str], Finding] = {}
    for finding in scan.findings:
        in_file.setdefault(_key(finding), finding)  # a plugin reported twice: one finding
    batch: list[dict[str, Any]] = []  # new findings, written BATCH at a time
    alerting: list[tuple[tuple[str, str, int, str], str]] = []  # new ones that raise an alert
    site_day = started.astimezone(clock.site_tz()).date()
    moved: list[VulnFinding] = []  # seen again in a later scan: last seen moves (UPDATE a chunk)
    again: list[tuple[VulnFinding, str]] = []  # fixed, found again, alerting again
    for key, finding in in_file.items():
        match = matches[finding.ip]
        old = known.get(key)
        if old is not None:
            summary.findings_seen_again += 1
            later = started >= old.last_seen
            if later and old.state == "fixed":
                summary.findings_reopened += 1
            if dry_run:
                continue
            if later:
                moved.append(old)
                _refresh(old, finding)
                if old.state == "fixed":
                    old.state, old.fixed_at, old.fixed_by_scan_id = "open", None, None
                    urgency = rules.alert_urgency(old.severity, match.importance)
                    if urgency is not None:
                        summary.alerts_raised += 1
                        again.append((old, urgency))
            if match.asset_id is not None:
                old.asset_id = match.asset_id
            continue
        summary.findings_new += 1
        urgency = rules.alert_urgency(finding.severity, match.importance)
        if urgency is not None:
            summary.alerts_raised += 1
        if dry_run:
            continue
        host = scan.hosts[finding.ip]
        batch.append(
            {
                "scanner": scan.scanner,
                "asset_id": match.asset_id,
                "host_ip": finding.ip,
                "hostname": host.hostname[:255],
                "mac": host.mac[:17],
                "port": finding.port,
                "protocol": finding.protocol,
                "plugin_id": finding.plugin_id[:128],
                "name": finding.name[:500],
                "cves": list(finding.cves),
                "cvss_score": finding.cvss_score,
                "cvss_vector": finding.cvss_vector[:200],
                "severity": finding.severity,
                "solution": finding.solution,
                "first_seen": started,
                "last_seen": started,
                "first_scan_id": record.id,
                "last_scan_id": record.id,
                "state": "open",
                "state_reason": "",
                "approver": "",
                "accepted_until": None,
                "due_date": rules.due_date(finding.severity, match.importance, site_day),
                "fixed_at": None,
                "fixed_by_scan_id": None,
                "alert_id": None,
            }
        )
        if urgency is not None:
            alerting.append((key, urgency))
        if len(batch) >= BATCH:
            db.insert_rows(VulnFinding.__table__, batch)
            batch = []
    fixed: list[VulnFinding] = []
    if not partial:
        for key, row in known.items():
            if key in in_file or row.state not in FIXABLE_STATES or started <= row.last_seen:
                continue
            summary.findings_fixed += 1
            fixed.append(row)
    if dry_run:
        return
    db.insert_rows(VulnFinding.__table__, batch)
    for start in range(0, len(moved), 500):
        chunk = moved[start : start + 500]
        sess.execute(
            update(VulnFinding)
            .where(VulnFinding.id.in_([row.id for row in chunk]))
            .values(last_seen=started, last_scan_id=record.id)
            .execution_options(synchronize_session=False)
        )
        for row in chunk:  # the loaded rows say what the database now holds
            set_committed_value(row, "last_seen", started)
            set_committed_value(row, "last_scan_id", record.id)
    for row in fixed:
        row.state, row.fixed_at, row.fixed_by_scan_id = "fixed", started, record.id
        if row.alert_id is not None:
            alerts.clear_alert(_alert_key(row), at=started, note=f"fixed: scan {record.id}")
    sess.flush()
    raised: list[tuple[VulnFinding, Any]] = [(row, _raise(row, u, started)) for row, u in again]
    for (ip, plugin, port, protocol), urgency in alerting:
        row = sess.scalars(
            select(VulnFinding).where(
                VulnFinding.scanner == scan.scanner,
                VulnFinding.host_ip == ip,
                VulnFinding.plugin_id == plugin[:128],
                VulnFinding.port == port,
                VulnFinding.protocol == protocol,
            )
        ).one()
        raised.append((row, _raise(row, urgency, started)))
    sess.flush()  # the alerts get their ids
    for row, alert in raised:
        row.alert_id = alert.id
    sess.flush()


def _refresh(row: VulnFinding, finding: Finding) -> None:
    """What the scanner says of a finding now (its plugin may have been revised); only what
    differs is written, so a scan that repeats itself changes (and audits) nothing."""
    values = {
        "name": finding.name[:500],
        "severity": finding.severity,
        "cves": list(finding.cves),
        "cvss_score": finding.cvss_score,
        "cvss_vector": finding.cvss_vector[:200],
        "solution": finding.solution,
    }
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _alert_key(row: VulnFinding) -> str:
    return f"vulns:{row.id}"


def _raise(row: VulnFinding, urgency: str, at: datetime) -> Any:
    where = f"{row.host_ip}:{row.port}/{row.protocol}" if row.port else row.host_ip
    cves = f" ({', '.join(row.cves[:3])})" if row.cves else ""
    alert = alerts.raise_alert(
        _alert_key(row),
        source="vulns",
        rule=f"vulns.{row.severity}",
        urgency=urgency,
        message=f"{row.name}{cves} · {where}",
        asset_id=row.asset_id,
        room_id=None,
        at=at,
    )
    return alert


def set_state(
    finding: VulnFinding,
    state: str,
    *,
    reason: str = "",
    approver: str = "",
    accepted_until: date | None = None,
) -> VulnFinding:
    """Move a finding by hand: 修复中, 接受风险 (reason, approver and an end date required), 误报
    (a reason required), or back to 待处理. 已修复 is set by a later scan, not by hand."""
    if state not in STATES or state == "fixed":
        raise ValueError(f"state: {state!r} cannot be set by hand")
    if state == "accepted":
        missing = [
            name
            for name, value in (
                ("reason", reason),
                ("approver", approver),
                ("accepted_until", accepted_until),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"accepting a risk needs {', '.join(missing)}")
        if accepted_until is not None and accepted_until < clock.site_today():
            raise ValueError(f"accepted_until: {accepted_until} is already past")
    if state == "false_positive" and not reason:
        raise ValueError("a false positive needs a reason")
    finding.state = state
    finding.state_reason = reason
    finding.approver = approver if state == "accepted" else ""
    finding.accepted_until = accepted_until if state == "accepted" else None
    if state in ("accepted", "false_positive") and finding.alert_id is not None:
        alerts.clear_alert(_alert_key(finding), note=f"{state}: {reason}")
    db.session().flush()
    return finding
