"""Repair pages: record a repair from a request or from an asset (part rows added on the
tablet), a repair's page, editing, the engineer's and the customer's signatures drawn on the
tablet, the written report as a print view and as a Word file, the repair history on the asset
page and the registry's list of assets with repeated faults (both added through
``assets.extensions``). A thin blueprint over ``services`` and ``repair_queries``.

Engineers, supervisors and admins write (the forms answer 403 to a viewer); everyone logged in
reads. A refused form answers 400 with the errors beside the fields and everything typed kept
(the drawn signatures too); the form's client id makes a retried save one repair.
"""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.routing import BuildError

from assets import extensions
from assets import queries as registry
from opskit import clock, db
from opskit.auth import require_roles
from opskit.models import Role
from opskit.servicedesk import repair_forms, repair_queries, repair_report, services
from opskit.servicedesk.models import Repair, ServiceRequest
from opskit.validation import ValidationFailed

bp = Blueprint("repairs", __name__)

WORKERS = (Role.ADMIN, Role.SUPERVISOR, Role.ENGINEER)
#: the request page's endpoint, linked when the desk's request pages are there
REQUEST_ENDPOINT = "requests.detail"
#: the part rows a new form shows
BLANK_ROWS = 1
#: the most the repeated-faults filters take
MAX_OVER, MAX_DAYS = 1000, 3660


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    extensions.ASSET_PANELS["repairs"] = lambda asset_id: url_for(
        "repairs.asset_panel", asset_id=asset_id
    )
    extensions.REGISTRY_TABS["repeated_faults"] = (
        "repairs.repeated_faults",
        _l("Repeated faults"),
    )


def _can_write() -> bool:
    return bool(current_user.is_authenticated and current_user.role in WORKERS)


def _repair_or_404(repair_id: int) -> Repair:
    return repair_queries.get_repair(repair_id) or abort(404)


def _request_url(req: ServiceRequest | None) -> str | None:
    if req is None:
        return None
    try:
        return url_for(REQUEST_ENDPOINT, request_id=req.id)
    except BuildError:
        return None


def _errors(errors: dict[str, list[str]]) -> dict[str, str]:
    return {key: " ".join(messages) for key, messages in errors.items()}


def _form_page(
    *,
    title: str,
    asset: registry.Asset | None,
    req: ServiceRequest | None,
    repair: Repair | None,
    values: dict[str, str],
    rows: list[dict[str, str]],
    errors: dict[str, list[str]],
    cancel_url: str,
    asset_editable: bool,
) -> Any:
    while len(rows) < BLANK_ROWS:
        rows.append({"part": "", "serial_out": "", "serial_in": "", "quantity": ""})
    return render_template(
        "servicedesk/repairs/form.html",
        title=title,
        asset=asset,
        req=req,
        request_url=_request_url(req),
        repair=repair,
        form=values,
        rows=rows,
        errors=_errors(errors),
        cancel_url=cancel_url,
        asset_editable=asset_editable,
    ), (400 if errors else 200)


def _save_new(
    *, req: ServiceRequest | None, asset: registry.Asset | None
) -> tuple[Any, dict[str, list[str]], repair_forms.Parsed]:
    """The POST of a new repair's form: (the redirect to the repair saved, or None; the
    errors; what was typed). From a request the asset is the typed tag (else the request's);
    from an asset page it is that asset."""
    parsed = repair_forms.parse(request.form, clock.site_tz())
    if parsed.errors:  # the rules too, so every wrong field is named at once
        return None, services.repair_errors(parsed.data) | parsed.errors, parsed
    try:
        repair = db.write(
            lambda: services.record_repair(
                parsed.data,
                request_id=req.id if req is not None else None,
                asset_tag=parsed.asset_tag if req is not None else None,
                asset_id=asset.id if asset is not None and req is None else None,
                client_id=parsed.client_id,
            )
        )
    except services.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        return None, exc.errors, parsed
    flash(_("Repair %(number)s recorded.", number=repair_queries.repair_number(repair)), "success")
    return redirect(url_for("repairs.detail", repair_id=repair.id), 303), {}, parsed


@bp.route("/requests/<int:request_id>/repairs/new", methods=["GET", "POST"])
@require_roles(*WORKERS)
def new_for_request(request_id: int) -> Any:
    req = db.session().get(ServiceRequest, request_id) or abort(404)
    asset = registry.get_asset(req.asset_id) if req.asset_id is not None else None
    values: dict[str, str] = {
        "client_id": services.new_client_id(),
        "asset_tag": asset.asset_tag if asset is not None else "",
        "fault": req.description,
        "diagnosis": req.cause,
        "work_done": req.work_done,
    }
    rows: list[dict[str, str]] = []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        saved, errors, parsed = _save_new(req=req, asset=asset)
        if saved is not None:
            return saved
        values, rows = request.form.to_dict(), parsed.rows
    return _form_page(
        title=_("Record a repair for %(number)s", number=req.number),
        asset=asset,
        req=req,
        repair=None,
        values=values,
        rows=rows,
        errors=errors,
        cancel_url=_request_url(req) or url_for("home.index"),
        asset_editable=True,
    )


@bp.route("/assets/<int:asset_id>/repairs/new", methods=["GET", "POST"])
@require_roles(*WORKERS)
def new_for_asset(asset_id: int) -> Any:
    asset = registry.get_asset(asset_id) or abort(404)
    values: dict[str, str] = {"client_id": services.new_client_id()}
    rows: list[dict[str, str]] = []
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        saved, errors, parsed = _save_new(req=None, asset=asset)
        if saved is not None:
            return saved
        values, rows = request.form.to_dict(), parsed.rows
    return _form_page(
        title=_("Record a repair of %(tag)s", tag=asset.asset_tag),
        asset=asset,
        req=None,
        repair=None,
        values=values,
        rows=rows,
        errors=errors,
        cancel_url=url_for("assets.detail", asset_id=asset.id),
        asset_editable=False,
    )


@bp.route("/repairs/<int:repair_id>/edit", methods=["GET", "POST"])
@require_roles(*WORKERS)
def edit(repair_id: int) -> Any:
    repair = _repair_or_404(repair_id)
    tz = clock.site_tz()
    asset = registry.get_asset(repair.asset_id)
    req = db.session().get(ServiceRequest, repair.request_id) if repair.request_id else None
    values, rows = repair_forms.values_of(repair, tz)
    values["asset_tag"] = asset.asset_tag if asset is not None else ""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        parsed = repair_forms.parse(request.form, tz)
        errors = dict(parsed.errors)
        if not errors:
            try:
                db.write(
                    lambda: services.update_repair(
                        _repair_or_404(repair_id), parsed.data, asset_tag=parsed.asset_tag
                    )
                )
            except services.NotAllowed:
                abort(403)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                number = repair_queries.repair_number(repair)
                flash(_("Repair %(number)s saved.", number=number), "success")
                return redirect(url_for("repairs.detail", repair_id=repair_id), 303)
        else:
            errors = services.repair_errors(parsed.data) | errors
        values, rows = request.form.to_dict(), parsed.rows
    return _form_page(
        title=_("Edit repair %(number)s", number=repair_queries.repair_number(repair)),
        asset=asset,
        req=req,
        repair=repair,
        values=values,
        rows=rows,
        errors=errors,
        cancel_url=url_for("repairs.detail", repair_id=repair_id),
        asset_editable=True,
    )


def _report_context(repair: Repair) -> dict[str, Any]:
    req = db.session().get(ServiceRequest, repair.request_id) if repair.request_id else None
    return {
        "repair": repair,
        "number": repair_queries.repair_number(repair),
        "asset": registry.get_asset(repair.asset_id),
        "req": req,
        "request_url": _request_url(req),
    }


@bp.route("/repairs/<int:repair_id>")
def detail(repair_id: int) -> Any:
    repair = _repair_or_404(repair_id)
    report = repair_report.report_of(repair)  # the same words as the report, on screen
    return render_template(
        "servicedesk/repairs/detail.html",
        report=report,
        can_write=_can_write(),
        **_report_context(repair),
    )


@bp.route("/repairs/<int:repair_id>/sign", methods=["GET", "POST"])
@require_roles(*WORKERS)
def sign(repair_id: int) -> Any:
    repair = _repair_or_404(repair_id)
    errors: dict[str, list[str]] = {}
    values = {
        "engineer_name": repair.signed_by_engineer
        or current_user.display_name
        or current_user.username,
        "customer_name": repair.signed_by_customer,
    }
    if request.method == "POST":
        values = {
            name: request.form.get(name, "")
            for name in (
                "engineer_name",
                "customer_name",
                "engineer_signature",
                "customer_signature",
            )
        }
        try:
            db.write(
                lambda: services.sign_repair(
                    _repair_or_404(repair_id),
                    engineer_signature=values["engineer_signature"],
                    engineer_name=values["engineer_name"],
                    customer_signature=values["customer_signature"],
                    customer_name=values["customer_name"],
                )
            )
        except services.NotAllowed:
            abort(403)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            flash(_("Signatures saved."), "success")
            return redirect(url_for("repairs.detail", repair_id=repair_id), 303)
    return render_template(
        "servicedesk/repairs/sign.html",
        form=values,
        errors=_errors(errors),
        report=repair_report.report_of(repair),
        **_report_context(repair),
    ), (400 if errors else 200)


@bp.route("/repairs/<int:repair_id>/report")
def report(repair_id: int) -> Any:
    """The written report as a page to print (A4, Chinese)."""
    repair = _repair_or_404(repair_id)
    with repair_report.report_locale():
        words = repair_report.report_of(repair)
        page = render_template(
            "servicedesk/repairs/report.html", report=words, **_report_context(repair)
        )
    return page


@bp.route("/repairs/<int:repair_id>/report.docx")
def report_docx(repair_id: int) -> Any:
    """The written report as a Word document."""
    repair = _repair_or_404(repair_id)
    with repair_report.report_locale():
        words = repair_report.report_of(repair)
        data = repair_report.docx_bytes(words)
    return send_file(
        io.BytesIO(data),
        mimetype="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        as_attachment=True,
        download_name=f"{words.number}.docx",
    )


@bp.route("/assets/<int:asset_id>/repairs")
def asset_panel(asset_id: int) -> Any:
    """The asset page's repair history (loaded into it by htmx)."""
    asset = registry.get_asset(asset_id) or abort(404)
    repairs = repair_queries.repairs_of_asset(asset.id)
    return render_template(
        "servicedesk/repairs/_asset_panel.html",
        asset=asset,
        repairs=repairs,
        numbers={r.id: repair_queries.repair_number(r) for r in repairs},
        when=repair_queries.repair_when,
        downtime={r.id: repair_report.span(repair_report.downtime(r)) for r in repairs},
        can_write=_can_write(),
    )


def _int_arg(name: str, default: int, most: int) -> tuple[int, str | None]:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default, None
    if raw.isdigit() and len(raw) <= 6 and int(raw) <= most:
        return int(raw), None
    return default, _("Expected a whole number from 0 to %(most)s.", most=most)


@bp.route("/assets/repeated-faults")
def repeated_faults() -> Any:
    """The registry's assets with repeated faults (requests and repairs in a window)."""
    default_over, default_days = repair_queries.repeated_faults_defaults()
    over, over_error = _int_arg("over", default_over, MAX_OVER)
    days, days_error = _int_arg("days", default_days, MAX_DAYS)
    days = max(days, 1)
    errors = {k: v for k, v in (("over", over_error), ("days", days_error)) if v}
    rows = repair_queries.repeated_faults(over=over, days=days)
    return render_template(
        "servicedesk/repairs/repeated_faults.html",
        rows=rows,
        over=over,
        days=days,
        errors=errors,
        form={
            "over": request.args.get("over", str(over)),
            "days": request.args.get("days", str(days)),
        },
    )
