"""A finding's fix (writes; the caller commits): a service request opened for it through the
desk, or a firmware upgrade record of its asset linked as the fix.

- ``open_fix_request``: a finding still to fix (待处理 or 修复中) gets one request — title from
  the asset tag, the vulnerability's name and its severity, urgency from severity × the asset's
  importance (``tracking.yaml``'s ``request_urgency``), the request linked back to the finding
  (``service_request.vuln_finding_id``: its page shows where it came from). The finding keeps
  the request (``request_id``) and moves to 修复中. Asking again (a retried form, two engineers at
  once) gives the request it already has while that one is open (the finding's row is locked
  while it is decided); once it is resolved or closed and the finding still needs work (a later
  scan found it again), asking opens the next one.
- ``link_upgrade``: one of the asset's upgrade records (``monitors.configs.upgrades``, read
  through its queries) as the fix, or none; a 待处理 finding moves to 修复中.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from inspections.vulns import tracking
from inspections.vulns.models import OPEN_STATES, SEVERITY_LABELS, VulnFinding
from inspections.vulns.services import set_state
from monitors.configs.upgrades import queries as upgrades
from opskit import db
from opskit.servicedesk import queries as desk_queries
from opskit.servicedesk import services as desk

#: the desk's title is at most this long
TITLE_LENGTH = 200


class FixRefused(ValueError):
    """The fix cannot be recorded; the message says why, in the reader's language."""


def _locked(finding: VulnFinding) -> VulnFinding:
    """The finding's row again, locked until the transaction ends (PostgreSQL; SQLite writes
    one at a time anyway), so two requests for it at once make one."""
    row = db.session().scalar(
        select(VulnFinding)
        .where(VulnFinding.id == finding.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise FixRefused(_("No such finding."))
    return row


def request_title(finding: VulnFinding) -> str:
    where = finding.asset.asset_tag if finding.asset is not None else finding.host_ip
    severity = str(SEVERITY_LABELS[finding.severity])
    return f"{where} {finding.name}（{severity}）"[:TITLE_LENGTH]


def request_description(finding: VulnFinding) -> str:
    port = f"{finding.port}/{finding.protocol}" if finding.port else _("the host as a whole")
    lines = [
        _("Vulnerability scan finding #%(id)s", id=finding.id),
        f"{finding.name}",
        _("Host: %(ip)s, port: %(port)s", ip=finding.host_ip, port=port),
    ]
    if finding.cves:
        lines.append("CVE: " + ", ".join(finding.cves))
    if finding.cvss_score is not None:
        lines.append(f"CVSS: {finding.cvss_score:g} {finding.cvss_vector}".rstrip())
    if finding.due_date is not None:
        lines.append(_("Due: %(day)s", day=finding.due_date.isoformat()))
    if finding.solution.strip():
        lines += ["", _("Solution:"), finding.solution.strip()]
    return "\n".join(lines)


def current_request(finding: VulnFinding) -> Any:
    """The request opened for the finding (None: none, or it no longer exists)."""
    if finding.request_id is None:
        return None
    return desk_queries.get_request(finding.request_id)


def open_fix_request(finding: VulnFinding, *, client_id: str | None = None) -> tuple[Any, bool]:
    """The finding's service request and whether this call opened it (see the module)."""
    row = _locked(finding)
    existing = current_request(row)
    if existing is not None and (existing.is_open or existing.client_id == client_id):
        return existing, False
    if row.state not in OPEN_STATES:
        raise FixRefused(_("Only a finding pending or being fixed gets a service request."))
    importance = row.asset.importance if row.asset is not None else None
    req = desk.open_request_from_vuln_finding(
        row.id,
        description=request_description(row),
        urgency=tracking.rules().request_urgency(row.severity, importance),
        title=request_title(row),
        asset_id=row.asset_id,
        client_id=client_id or None,
    )
    created = row.request_id != req.id and req.vuln_finding_id == row.id
    row.request_id = req.id
    if row.state == "open":
        set_state(row, "in_progress")
    db.session().flush()
    return req, created


def upgrade_choices(finding: VulnFinding) -> list[Any]:
    """The upgrade records the finding's asset has (newest first; none without an asset)."""
    return upgrades.of_asset(finding.asset_id) if finding.asset_id is not None else []


def current_upgrade(finding: VulnFinding) -> Any:
    return upgrades.get(finding.upgrade_id) if finding.upgrade_id is not None else None


def link_upgrade(finding: VulnFinding, upgrade_id: int | None) -> VulnFinding:
    """Link one of the asset's upgrade records as the fix (None: unlink)."""
    row = _locked(finding)
    if upgrade_id is None:
        row.upgrade_id = None
        db.session().flush()
        return row
    record = upgrades.get(upgrade_id)
    if record is None or row.asset_id is None or record.asset_id != row.asset_id:
        raise FixRefused(_("Choose one of this asset's upgrade records."))
    if row.state not in OPEN_STATES:
        raise FixRefused(_("Only a finding pending or being fixed takes an upgrade as its fix."))
    row.upgrade_id = record.id
    if row.state == "open":
        set_state(row, "in_progress")
    db.session().flush()
    return row


#: the words of an upgrade record's state (its own queries' labels)
UPGRADE_STATES = upgrades.STATE_LABELS
