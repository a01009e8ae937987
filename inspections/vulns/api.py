"""Vulnerability scans in the JSON API (``/api/v1/vulns/...``), what the pages offer.

- ``GET /vulns/scans``: the imported scans, the latest first, paged, with what each did (hosts
  covered and matched, findings it found first and fixed).
- ``GET /vulns/findings``: filters ``state`` (``active`` = 待处理 and 修复中, or one state; none
  given: every state), ``severity``, ``importance`` (of the asset, or ``unregistered``),
  ``asset_id`` or ``asset_tag``, ``overdue`` (still to fix and past its due day), ``due_before``
  (a day); ``sort`` ``severity`` (most severe, then oldest; the default) or ``age``; paged. Each
  finding with its words (severity, state) in the reader's language.
- ``GET /vulns/findings/{id}``: one finding, with its solution and its fix (request, upgrade).
- ``POST /vulns/findings/{id}/state``: move it as the finding's page does — 待处理 (``open``),
  修复中 (``in_progress``), 误报 (``false_positive``, a reason required), 接受风险
  (``accepted``: supervisor or admin only, reason, approver and a last day not past); 已修复 is a
  later scan's. Audited with the token's user (the finding is an audited row).
- ``POST /vulns/findings/{id}/upgrade``: link one of its asset's upgrade records as the fix
  (null: none), as the page does.
- ``POST /vulns/findings/{id}/request``: open the service request that fixes it, once (a retry,
  or asking while one is open, gives the same request; ``created`` says which).
- ``POST /vulns/scans``: import a scanner file (nmap ``-oX``, Greenbone/OpenVAS, Nessus, the
  CSV export), the file itself as the body (``curl --data-binary @scan.xml``), as the upload
  page does (engineers and admins): ``scanner`` (``auto`` reads it from the file),
  ``dry_run``, ``file_name`` in the query; answers what it did (or would do). A bad file is a
  422 on ``file`` naming what was wrong (line, column, element), nothing written; the same
  file again is the scan already imported (``already_imported``, nothing written twice).

Viewer tokens only read (the access hook refuses their writes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field
from sqlalchemy.exc import IntegrityError

from assets import queries as registry
from inspections.vulns import fixes, parsers, queries, services, views
from inspections.vulns.models import SCANNERS, SEVERITIES, STATES, VulnFinding, VulnScan
from opskit import clock, db, jsonapi, openapi
from opskit.apischema import Day, Id, Input, Output, Page, Paging, Query, Text, one_of
from opskit.jsonapi import ApiError
from opskit.openapi import Upload, operation
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("vulns_api", __name__)
TAG = "vulns"
openapi.tag(TAG, _l("Vulnerability scans"))

Severity = Annotated[str, one_of(SEVERITIES)]
State = Annotated[str, one_of(STATES)]
LongText = Annotated[Text, Field(max_length=10_000)]


class ScanOut(Output):
    """One scanner file imported."""

    id: int
    scanner: Annotated[str, one_of(SCANNERS)]
    scanner_label: str = Field(description="What the pages call the scanner")
    scanner_version: str
    file_name: str
    started_at: datetime
    finished_at: datetime | None
    imported_at: datetime
    hosts_scanned: int
    hosts_matched: int = Field(description="Hosts matched to a registered asset")
    findings_count: int
    findings_new: int = Field(description="Findings this scan saw first")
    findings_fixed: int = Field(description="Findings this scan found fixed")


@dataclass(frozen=True)
class ScanRow:
    scan: VulnScan
    counts: queries.ScanCounts

    def __getattr__(self, name: str) -> Any:
        return getattr(self.scan, name)

    @property
    def scanner_label(self) -> str:
        return str(views.SCANNER_LABELS.get(self.scan.scanner, self.scan.scanner))

    @property
    def hosts_matched(self) -> int:
        return self.counts.hosts_matched

    @property
    def findings_new(self) -> int:
        return self.counts.findings_new

    @property
    def findings_fixed(self) -> int:
        return self.counts.findings_fixed


class FindingOut(Output):
    """A vulnerability on one host, tracked across the scans that report it."""

    id: int
    scanner: Annotated[str, one_of(SCANNERS)]
    asset_id: int | None
    asset_tag: str | None = Field(description="null: no registered asset matched the host")
    host_ip: str
    hostname: str
    port: int = Field(description="0: the host as a whole")
    protocol: str
    plugin_id: str
    name: str
    cves: list[str]
    cvss_score: float | None
    cvss_vector: str
    severity: Severity
    severity_label: str = Field(examples=["严重"], description="In the reader's language")
    state: State
    state_label: str = Field(examples=["待处理"], description="In the reader's language")
    state_reason: str
    approver: str
    accepted_until: date | None
    due_date: date | None
    overdue: bool = Field(description="Still to fix and past its due day (site's date)")
    first_seen: datetime
    last_seen: datetime
    fixed_at: datetime | None
    solution: str
    alert_id: int | None
    request_id: int | None = Field(description="The service request opened to fix it")
    upgrade_id: int | None = Field(description="The upgrade record linked as its fix")


@dataclass(frozen=True)
class FindingRow:
    finding: VulnFinding

    def __getattr__(self, name: str) -> Any:
        return getattr(self.finding, name)

    @property
    def asset_tag(self) -> str | None:
        asset = self.finding.asset
        return asset.asset_tag if asset is not None else None

    @property
    def severity_label(self) -> str:
        return str(queries.severity_labels()[self.finding.severity])

    @property
    def state_label(self) -> str:
        return str(STATES[self.finding.state])

    @property
    def overdue(self) -> bool:
        due = self.finding.due_date
        return bool(
            self.finding.state in ("open", "in_progress")
            and due is not None
            and due < clock.site_today()
        )


def _scan_rows(scans: list[VulnScan]) -> list[ScanRow]:
    counts = queries.scan_counts([s.id for s in scans])
    return [ScanRow(s, counts.get(s.id, queries.ScanCounts())) for s in scans]


def _page(found: Any, shown: Any) -> dict[str, Any]:
    return {
        "items": shown(found.items),
        "total": found.total,
        "page": found.page,
        "per_page": found.per_page,
    }


@operation(
    bp,
    "GET",
    "/vulns/scans",
    query=Paging,
    response=Page[ScanOut],
    tag=TAG,
    summary=_l("List vulnerability scans"),
)
def list_scans(query: Paging) -> Any:
    """The scans imported, the latest first."""
    return _page(queries.scans_page(query.page, query.per_page), _scan_rows)


@operation(
    bp,
    "GET",
    "/vulns/scans/<int:scan_id>",
    response=ScanOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a vulnerability scan"),
)
def get_scan(scan_id: int) -> Any:
    return _scan_rows([jsonapi.get_or_404(VulnScan, scan_id)])[0]


class FindingFilter(Paging):
    state: Annotated[str, one_of([queries.ACTIVE, *STATES])] | None = Field(
        None, description="active = pending or being fixed; none given: every state"
    )
    severity: Severity | None = None
    importance: Annotated[str, one_of([*registry.Importance, queries.UNREGISTERED])] | None = Field(
        None, description="The asset's importance, or unregistered (no asset matched)"
    )
    asset_id: Id | None = None
    asset_tag: Annotated[Text, Field(max_length=64, description="The asset's tag")] | None = None
    overdue: bool = Field(False, description="Only those still to fix and past their due day")
    due_before: Day | None = Field(None, description="Only those due before this day")
    sort: Annotated[str, one_of(views.SORTS)] = Field(
        "severity", description="severity: most severe, then oldest; age: oldest first"
    )


def _asset_of(query: FindingFilter) -> int | None:
    """The asset the filter names by id or tag (an unknown tag: 422 on ``asset_tag``)."""
    if not query.asset_tag:
        return query.asset_id
    asset = registry.asset_by_tag(query.asset_tag.strip())
    if asset is None or query.asset_id not in (None, asset.id):
        message = _("No asset has the tag %(tag)s.", tag=query.asset_tag.strip())
        raise ValidationFailed.one("asset_tag", message)
    return asset.id


@operation(
    bp,
    "GET",
    "/vulns/findings",
    query=FindingFilter,
    response=Page[FindingOut],
    tag=TAG,
    summary=_l("List vulnerability findings"),
)
def list_findings(query: FindingFilter) -> Any:
    """Findings with the list page's filters, most severe (or oldest) first."""
    found = queries.findings_page(
        severity=query.severity or "",
        state=query.state or "",
        importance=query.importance or "",
        overdue_only=query.overdue,
        asset_id=_asset_of(query),
        due_before=query.due_before,
        sort=query.sort,
        page=query.page,
        per_page=query.per_page,
    )
    return _page(found, lambda rows: [FindingRow(f) for f in rows])


@operation(
    bp,
    "GET",
    "/vulns/findings/<int:finding_id>",
    response=FindingOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a vulnerability finding"),
)
def get_finding(finding_id: int) -> Any:
    return FindingRow(jsonapi.get_or_404(VulnFinding, finding_id))


def _to_change(finding_id: int) -> VulnFinding:
    """The finding a write names (404), if the token's role may change findings (403)."""
    found: VulnFinding = jsonapi.get_or_404(VulnFinding, finding_id)
    if current_user.role not in views.STATE_WRITERS:
        raise ApiError(403, "forbidden", _("Your role may not change findings."))
    return found


class StateBody(Input):
    state: Annotated[str, one_of(views.CHOSEN_STATES)] = Field(
        description="open, in_progress, false_positive, or accepted (supervisor, admin)"
    )
    reason: LongText = Field("", description="Required for accepted and false_positive")
    approver: Annotated[Text, Field(max_length=100)] = Field(
        "", description="Who approved the risk (accepted)"
    )
    accepted_until: Day | None = Field(None, description="The risk's last day (accepted)")


@operation(
    bp,
    "POST",
    "/vulns/findings/<int:finding_id>/state",
    body=StateBody,
    response=FindingOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Move a vulnerability finding"),
)
def set_state(finding_id: int, body: StateBody) -> Any:
    """Move the finding as its page does; accepting a risk is a supervisor's or an admin's."""
    found = _to_change(finding_id)
    until = body.accepted_until
    values = {
        "state": body.state,
        "reason": body.reason,
        "approver": body.approver,
        "accepted_until": until.isoformat() if until is not None else "",
    }
    errors, until = views.check_state_form(values)
    if body.state == "accepted" and current_user.role not in views.ACCEPTERS:
        raise ApiError(403, "forbidden", errors["state"], {"state": [errors["state"]]})
    if errors:
        raise ValidationFailed({k: [v] for k, v in errors.items()})
    try:
        services.set_state(
            found,
            body.state,
            reason=body.reason.strip(),
            approver=body.approver.strip(),
            accepted_until=until,
        )
    except ValueError as exc:  # the service's own rules, should the form's miss one
        db.session().rollback()
        raise ValidationFailed.one("state", str(exc)) from None
    db.session().commit()
    return FindingRow(found)


class FixRequestBody(Input):
    client_id: Annotated[Text, Field(max_length=64)] | None = Field(
        None, description="The caller's id for this ask: a retry with it is the same request"
    )


class FixRequestOut(Output):
    """The service request that fixes a finding."""

    created: bool = Field(description="false: the finding already had this request")
    request_id: int
    request_number: str
    finding: FindingOut


@operation(
    bp,
    "POST",
    "/vulns/findings/<int:finding_id>/request",
    body=FixRequestBody,
    response=FixRequestOut,
    errors=(404, 409),
    tag=TAG,
    summary=_l("Open the service request that fixes a finding"),
)
def open_request(finding_id: int, body: FixRequestBody) -> Any:
    """Once: asking again while it is open (or with the same client id) gives the same one."""
    found = _to_change(finding_id)
    try:
        req, created = fixes.open_fix_request(found, client_id=body.client_id)
    except fixes.FixRefused as exc:
        db.session().rollback()
        raise ApiError(409, "conflict", str(exc), {"state": [str(exc)]}) from None
    db.session().commit()
    db.session().refresh(found)
    return {
        "created": created,
        "request_id": req.id,
        "request_number": req.number,
        "finding": FindingRow(found),
    }


class UpgradeBody(Input):
    upgrade_id: Id | None = Field(
        description="One of the asset's upgrade records (monitors' configs); null unlinks"
    )


@operation(
    bp,
    "POST",
    "/vulns/findings/<int:finding_id>/upgrade",
    body=UpgradeBody,
    response=FindingOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Link an upgrade record as a finding's fix"),
)
def link_upgrade(finding_id: int, body: UpgradeBody) -> Any:
    """As the finding's page: a pending finding moves to 修复中; another asset's record, or a
    finding no longer to fix, is a 422 on ``upgrade_id``."""
    found = _to_change(finding_id)
    try:
        fixes.link_upgrade(found, body.upgrade_id)
    except fixes.FixRefused as exc:
        db.session().rollback()
        raise ValidationFailed.one("upgrade_id", str(exc)) from None
    db.session().commit()
    db.session().refresh(found)
    return FindingRow(found)


# --- importing a scan ---------------------------------------------------------------------------


class ImportQuery(Query):
    scanner: Annotated[str, one_of(("auto", *parsers.FORMATS))] = Field(
        "auto", description="The scanner that wrote the file; auto: read from the file"
    )
    dry_run: bool = Field(False, description="Only say what the import would do; write nothing")
    file_name: Annotated[Text, Field(max_length=255)] | None = Field(
        None, description="The file's name as the scan history shows it (default: upload)"
    )


class UnmatchedHost(Output):
    ip: str
    hostname: str
    mac: str


class ImportOut(Output):
    """What an import did (or, dry, would do), as the upload page says it."""

    scanner: Annotated[str, one_of(SCANNERS)]
    scan_id: int | None = Field(description="The scan written, or the one imported before")
    already_imported: bool = Field(description="The same file was imported before: no write")
    dry_run: bool
    hosts: int
    hosts_matched: int = Field(description="Hosts matched to a registered asset")
    hosts_unmatched: int
    unmatched_hosts: list[UnmatchedHost] = Field(description="The hosts to register")
    services: int = Field(description="Open ports nmap recognised")
    findings_new: int
    findings_seen_again: int
    findings_fixed: int
    findings_reopened: int
    alerts_raised: int
    warnings: list[str]


@operation(
    bp,
    "POST",
    "/vulns/scans",
    query=ImportQuery,
    body=Upload(
        ("application/octet-stream",),
        "The scanner file itself (any content type: application/xml and text/csv are read "
        "the same way), not a form",
    ),
    response=ImportOut,
    errors=(409, 413),
    tag=TAG,
    summary=_l("Import a vulnerability scan"),
)
def import_scan(query: ImportQuery) -> Any:
    """All or nothing, as the upload page (engineers, admins); the same file twice is one scan."""
    if current_user.role not in views.UPLOADERS:
        raise ApiError(403, "forbidden", _("Only engineers and admins import scans."))
    if request.mimetype.startswith("multipart/"):
        message = _("Send the scanner file itself as the body, not a form.")
        raise ValidationFailed.one("file", message)
    sess = db.session()
    try:
        summary = services.import_upload(
            request.stream,
            query.scanner,
            file_name=query.file_name or "upload",
            dry_run=query.dry_run,
            user_id=current_user.id,
        )
        if query.dry_run:
            sess.rollback()
        else:
            sess.commit()
    except services.ImportRefused as exc:
        sess.rollback()
        raise ValidationFailed.one("file", str(exc)) from None
    except IntegrityError:  # the same file imported at the same moment by someone else
        sess.rollback()
        message = _("Another import wrote the same scan at the same time: nothing was imported.")
        raise ApiError(409, "conflict", message) from None
    return summary.as_json()
