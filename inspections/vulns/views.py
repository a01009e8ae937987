"""Vulnerability scan pages (``/vulns``): the findings by severity and by age with their
filters, a finding's page (CVEs, CVSS, solution, history, the state form), the scan history, a
scan's page with nmap's inventory compared with the registry, the upload page (the import the
CLI runs) and the asset page's 安全 section (htmx, through ``assets.extensions``).

Everyone logged in reads. Engineers and admins upload scans. Engineers, supervisors and admins
move a finding (待处理, 修复中, 误报) and record its fix (a service request opened through the desk,
an upgrade record of its asset linked: ``fixes``); accepting a risk is the supervisor's or the
admin's, as the customer's side signs for a risk left open. A refused form answers 400 with the
errors beside the fields and what was typed kept.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from assets import extensions
from assets import queries as registry
from inspections.vulns import fixes, inventory, parsers, queries, services
from inspections.vulns.models import SEVERITIES, SEVERITY_LABELS, STATES
from opskit import audit, clock, db
from opskit.auth import require_roles
from opskit.models import Role, User
from opskit.servicedesk import queries as desk_queries
from opskit.servicedesk import services as desk
from opskit.validation import ValidationFailed

bp = Blueprint("vulns", __name__, url_prefix="/vulns")

UPLOADERS = (Role.ADMIN, Role.ENGINEER)
STATE_WRITERS = (Role.ADMIN, Role.ENGINEER, Role.SUPERVISOR)
ACCEPTERS = (Role.ADMIN, Role.SUPERVISOR)
PER_PAGE = 50
#: the state filter's "every state" (its default, ``queries.ACTIVE``, is 待处理 and 修复中)
ALL = "all"
#: what the pages call each scanner
SCANNER_LABELS: dict[str, Any] = {
    "nmap": "nmap",
    "openvas": "Greenbone / OpenVAS",
    "nessus": "Nessus",
    "csv": _l("CSV export"),
}
SORTS: dict[str, Any] = {"severity": _l("By severity"), "age": _l("By age")}
#: the states a person may choose on a finding's page (已修复 is a later scan's)
CHOSEN_STATES = ("open", "in_progress", "accepted", "false_positive")
SEVERITY_COLOURS = {
    "critical": "danger",
    "high": "warning",
    "medium": "info",
    "low": "secondary",
    "info": "light",
}
#: a panel lists at most this many of an asset's open findings
PANEL_ROWS = 10


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    extensions.ASSET_PANELS["vulns"] = lambda asset_id: url_for(
        "vulns.asset_panel", asset_id=asset_id
    )

    @app.context_processor
    def _words() -> dict[str, Any]:
        return {"vuln_severity_colours": SEVERITY_COLOURS}


def _role_in(roles: tuple[Role, ...]) -> bool:
    return bool(current_user.is_authenticated and current_user.role in roles)


def _int_arg(name: str, default: int = 1) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return max(1, default)


def _age_days(finding: Any) -> int:
    """Days since the finding was first seen (the site's dates)."""
    return (clock.site_today() - finding.first_seen.astimezone(clock.site_tz()).date()).days


def _words() -> dict[str, Any]:
    return {
        "age_days": _age_days,
        "severity_labels": SEVERITY_LABELS,
        "state_labels": STATES,
        "scanner_labels": SCANNER_LABELS,
        "importance_labels": registry.importance_labels(),
        "severities": SEVERITIES,
    }


# --- the findings -------------------------------------------------------------------------------


@bp.get("/")
def findings() -> Any:
    """Findings by severity or by age, filtered by severity, state, importance, overdue (and
    one asset's, from its page's section)."""
    args = request.args
    importances = registry.importance_labels()
    asset = registry.get_asset(_int_arg("asset", 0)) if args.get("asset") else None
    filters = {
        "severity": args.get("severity", "") if args.get("severity") in SEVERITIES else "",
        "state": args.get("state", queries.ACTIVE),
        "importance": args.get("importance", ""),
        "overdue": "1" if args.get("overdue") else "",
        "sort": args.get("sort", "severity") if args.get("sort") in SORTS else "severity",
        "asset": str(asset.id) if asset is not None else "",
    }
    if filters["state"] not in (queries.ACTIVE, ALL, *STATES):
        filters["state"] = queries.ACTIVE
    if filters["importance"] not in (*importances, queries.UNREGISTERED):
        filters["importance"] = ""
    today = clock.site_today()
    page = queries.findings_page(
        severity=filters["severity"],
        state="" if filters["state"] == ALL else filters["state"],
        importance=filters["importance"],
        overdue_only=bool(filters["overdue"]),
        asset_id=asset.id if asset is not None else None,
        sort=filters["sort"],
        page=_int_arg("page"),
        per_page=PER_PAGE,
        today=today,
    )

    def page_url(number: int) -> str:
        values: dict[str, Any] = {k: v for k, v in {**filters, "page": number}.items() if v}
        return url_for("vulns.findings", **values)

    return render_template(
        "vulns/findings.html",
        page=page,
        filters=filters,
        asset=asset,
        page_url=page_url,
        open_counts=queries.open_counts_by_severity(),
        today=today,
        sorts=SORTS,
        unregistered=queries.UNREGISTERED,
        active=queries.ACTIVE,
        all_states=ALL,
        **_words(),
    )


def _state_values(finding: Any) -> dict[str, str]:
    return {
        "state": finding.state if finding.state in CHOSEN_STATES else "open",
        "reason": finding.state_reason,
        "approver": finding.approver or (current_user.display_name if _role_in(ACCEPTERS) else ""),
        "accepted_until": finding.accepted_until.isoformat() if finding.accepted_until else "",
    }


def _fix(finding: Any) -> dict[str, Any]:
    """The finding's fix as its page shows it: the request, the upgrade record, the choices."""
    upgrade = fixes.current_upgrade(finding)
    return {
        "fix_request": fixes.current_request(finding),
        "fix_upgrade": upgrade,
        "upgrade_choices": fixes.upgrade_choices(finding),
        "upgrade_states": fixes.UPGRADE_STATES,
        "request_words": desk_queries.request_words(),
        "upgrade_url": (
            url_for("upgrades.detail", upgrade_id=upgrade.id)
            if upgrade is not None and "upgrades.detail" in current_app.view_functions
            else None
        ),
        "client_id": desk.new_client_id(),
    }


def _finding_page(
    finding: Any,
    values: dict[str, str],
    errors: dict[str, str],
    fix_errors: dict[str, str] | None = None,
) -> Any:
    scans = queries.scans_of_host(finding.scanner, finding.host_ip)
    labels = _change_labels()
    changes = [
        row
        for row in audit.history("vuln_finding", finding.id)
        if row.action == "update" and set(row.changes or {}) & set(labels)
    ]
    choices = [s for s in CHOSEN_STATES if s != "accepted" or _role_in(ACCEPTERS)]
    return render_template(
        "vulns/finding.html",
        finding=finding,
        asset=finding.asset,
        scans=scans,
        first_scan=queries.get_scan(finding.first_scan_id) if finding.first_scan_id else None,
        last_scan=queries.get_scan(finding.last_scan_id) if finding.last_scan_id else None,
        fixed_scan=(
            queries.get_scan(finding.fixed_by_scan_id) if finding.fixed_by_scan_id else None
        ),
        changes=changes,
        field_labels=labels,
        values=values,
        errors=errors,
        choices=choices,
        can_write=_role_in(STATE_WRITERS),
        can_accept=_role_in(ACCEPTERS),
        today=clock.site_today(),
        fix_errors=fix_errors or {},
        **_fix(finding),
        **_words(),
    ), (400 if errors or fix_errors else 200)


def _change_labels() -> dict[str, Any]:
    """The audited fields a finding's page lists in its history, by name."""
    return {
        "state": _("State"),
        "state_reason": _("Reason"),
        "approver": _("Approved by"),
        "accepted_until": _("Accepted until"),
        "severity": _("Severity"),
        "fixed_at": _("Fixed"),
        "due_date": _("Due date"),
    }


@bp.get("/findings/<int:vuln_id>")
def finding(vuln_id: int) -> Any:
    found = queries.get_finding(vuln_id) or abort(404)
    return _finding_page(found, _state_values(found), {})


def check_state_form(values: dict[str, str]) -> tuple[dict[str, str], date | None]:
    """The state form's errors by field (in the reader's language) and the acceptance's end."""
    errors: dict[str, str] = {}
    state = values["state"]
    if state not in CHOSEN_STATES:
        errors["state"] = _("Choose a state: a fix is recorded by a later scan.")
        return errors, None
    if state == "accepted" and not _role_in(ACCEPTERS):
        errors["state"] = _("Only a supervisor or an admin may accept a risk.")
    until = None
    if state == "accepted":
        if not values["reason"].strip():
            errors["reason"] = _("Say why the risk is accepted.")
        if not values["approver"].strip():
            errors["approver"] = _("Name who approved the risk.")
        try:
            until = date.fromisoformat(values["accepted_until"].strip())
        except ValueError:
            errors["accepted_until"] = _("A last day is needed, as YYYY-MM-DD.")
        else:
            if until < clock.site_today():
                errors["accepted_until"] = _("This day is already past.")
    if state == "false_positive" and not values["reason"].strip():
        errors["reason"] = _("Say why this is a false positive.")
    return errors, until


@bp.post("/findings/<int:vuln_id>/state")
@require_roles(*STATE_WRITERS)
def set_state(vuln_id: int) -> Any:
    """Move a finding: 待处理, 修复中, 接受风险 (supervisor, admin), 误报."""
    found = queries.get_finding(vuln_id) or abort(404)
    form = request.form
    values = {key: form.get(key, "") for key in ("state", "reason", "approver", "accepted_until")}
    errors, until = check_state_form(values)
    if not errors:
        try:
            services.set_state(
                found,
                values["state"],
                reason=values["reason"].strip(),
                approver=values["approver"].strip(),
                accepted_until=until,
            )
            db.session().commit()
        except ValueError as exc:  # the service's own rules, should the page's miss one
            db.session().rollback()
            errors["state"] = str(exc)
        else:
            flash(
                _("The finding is now: %(state)s.", state=STATES[values["state"]]),
                "success",
            )
            return redirect(url_for("vulns.finding", vuln_id=found.id))
    return _finding_page(found, values, errors)


@bp.post("/findings/<int:vuln_id>/request")
@require_roles(*STATE_WRITERS)
def open_request(vuln_id: int) -> Any:
    """Open the service request that fixes the finding (once: asking again shows it)."""
    found = queries.get_finding(vuln_id) or abort(404)
    try:
        req, created = fixes.open_fix_request(found, client_id=request.form.get("client_id"))
        db.session().commit()
    except (fixes.FixRefused, ValidationFailed) as exc:
        db.session().rollback()
        return _finding_page(found, _state_values(found), {}, {"request": _refusal(exc)})
    if created:
        flash(_("Service request %(number)s opened for this fix.", number=req.number), "success")
    else:
        flash(_("This finding already has service request %(number)s.", number=req.number), "info")
    return redirect(url_for("vulns.finding", vuln_id=found.id))


@bp.post("/findings/<int:vuln_id>/upgrade")
@require_roles(*STATE_WRITERS)
def link_upgrade(vuln_id: int) -> Any:
    """Link one of the asset's upgrade records as the fix (an empty choice unlinks)."""
    found = queries.get_finding(vuln_id) or abort(404)
    chosen = request.form.get("upgrade_id", "").strip()
    try:
        fixes.link_upgrade(found, int(chosen) if chosen else None)
        db.session().commit()
    except ValueError as exc:  # FixRefused, or a choice that is no number
        db.session().rollback()
        message = str(exc) if isinstance(exc, fixes.FixRefused) else ""
        message = message or _("Choose one of this asset's upgrade records.")
        return _finding_page(found, _state_values(found), {}, {"upgrade": message})
    flash(_("The finding's fix is saved."), "success")
    return redirect(url_for("vulns.finding", vuln_id=found.id))


def _refusal(exc: Exception) -> str:
    if isinstance(exc, ValidationFailed):
        return "; ".join(str(m) for messages in exc.errors.values() for m in messages)
    return str(exc)


# --- the scans ----------------------------------------------------------------------------------


@bp.get("/scans")
def scans() -> Any:
    page = queries.scans_page(_int_arg("page"), PER_PAGE)
    return render_template(
        "vulns/scans.html",
        page=page,
        counts=queries.scan_counts([s.id for s in page.items]),
        page_url=lambda n: url_for("vulns.scans", page=n),
        can_upload=_role_in(UPLOADERS),
        **_words(),
    )


def _person(user_id: int | None) -> str:
    user = db.session().get(User, user_id) if user_id else None
    return user.username if user is not None else ""


def _address_key(ip: str) -> tuple[int, int | str]:
    """Addresses in numeric order (10.0.0.2 before 10.0.0.11), IPv4 before IPv6."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return (9, ip)
    return (address.version, int(address))


@bp.get("/scans/<int:scan_id>")
def scan(scan_id: int) -> Any:
    """A scan: its hosts (registered or not) and, for nmap, the inventory against the registry."""
    found = queries.get_scan(scan_id) or abort(404)
    hosts = sorted(queries.hosts_of_scan(found.id), key=lambda h: _address_key(h.ip))
    assets = {
        a.id: a for a in registry.assets_by_ids(sorted({h.asset_id for h in hosts if h.asset_id}))
    }
    compared = inventory.compare(queries.services_of_scan(found.id))
    return render_template(
        "vulns/scan.html",
        scan=found,
        hosts=hosts,
        assets=assets,
        counts=queries.scan_counts([found.id])[found.id],
        compared=compared,
        imported_by=_person(found.imported_by_id),
        **_words(),
    )


# --- the upload ---------------------------------------------------------------------------------


def _upload_page(values: dict[str, str], status: int = 200, **extra: Any) -> Any:
    limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
    return render_template(
        "vulns/upload.html",
        values=values,
        choices=("auto", *parsers.FORMATS),
        limit_mb=limit // (1024 * 1024),
        **{"summary": None, "refused": "", "errors": {}, "filename": "", **extra},
        **_words(),
    ), status


@bp.route("/import", methods=["GET", "POST"])
@require_roles(*UPLOADERS)
def upload() -> Any:
    """A scanner file imported by the CLI's service: all or nothing, the same file twice once."""
    values = {"scanner": "auto", "dry_run": ""}
    if request.method == "GET":
        return _upload_page(values)
    form = request.form
    values = {"scanner": form.get("scanner", "auto"), "dry_run": "1" if form.get("dry_run") else ""}
    errors: dict[str, str] = {}
    if values["scanner"] not in ("auto", *parsers.FORMATS):
        errors["scanner"] = _("Choose the scanner that wrote the file, or automatic.")
        values["scanner"] = "auto"
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        errors["file"] = _("Choose a scanner file to import.")
    if errors or upload is None:
        return _upload_page(values, 400, errors=errors)
    name = Path(upload.filename or "scan").name[:255]
    sess = db.session()
    try:
        summary = services.import_upload(
            upload.stream,
            values["scanner"],
            file_name=name,
            dry_run=bool(values["dry_run"]),
            user_id=current_user.id,
        )
        if values["dry_run"]:
            sess.rollback()
        else:
            sess.commit()
    except services.ImportRefused as exc:
        sess.rollback()
        return _upload_page(values, 422, refused=str(exc), filename=name)
    except IntegrityError:  # the same file imported at the same moment by someone else
        sess.rollback()
        refused = _("Another import wrote the same scan at the same time: nothing was imported.")
        return _upload_page(values, 409, refused=refused, filename=name)
    return _upload_page(
        values,
        summary=summary,
        filename=name,
        previous=queries.get_scan(summary.scan_id)
        if summary.already_imported and summary.scan_id
        else None,
    )


# --- the asset page's section -------------------------------------------------------------------


@bp.get("/panel/<int:asset_id>")
def asset_panel(asset_id: int) -> Any:
    """The asset page's 安全 section: its open findings by severity (htmx)."""
    asset = registry.get_asset(asset_id) or abort(404)
    last = queries.last_scan_of_asset(asset.id)
    rows = queries.findings_of_asset(asset.id, open_only=True)
    if last is None and not rows:
        return ""  # never scanned: no section (a UPS page stays clean)
    return render_template(
        "vulns/_asset_panel.html",
        asset=asset,
        last=last,
        rows=rows[:PANEL_ROWS],
        more=max(0, len(rows) - PANEL_ROWS),
        counts=queries.open_counts_by_severity(asset.id),
        today=clock.site_today(),
        **_words(),
    )
