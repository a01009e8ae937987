"""Logbook pages: who is in the room (one-tap sign-out), quick forms, filtered lists, Excel export.

Every writer role records; viewers (the customer) read and export. The forms carry a hidden
client token so that a double tap or a retried request records once (``services.Duplicate``).
Each write is one transaction, committed here (``opskit.db.write``).
"""

from __future__ import annotations

import io
import re
import secrets
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from assets import queries as assets
from inspections.logbook import export as logbook_export
from inspections.logbook import queries, services
from inspections.logbook.models import AccessEntry, PowerEvent
from inspections.logbook.queries import Filters
from opskit import clock, db
from opskit.auth import require_roles
from opskit.db import Page
from opskit.i18n import site_tz
from opskit.validation import ValidationFailed

bp = Blueprint("logbook", __name__, url_prefix="/patrol/logbook")

WRITERS = ("admin", "engineer", "supervisor")
ACTION_LABELS = {
    "on": _l("Power on"),
    "off": _l("Power off"),
    "restart": _l("Restart (power cycle)"),
}
COLUMN_LABELS = {
    "room": _l("Room"),
    "name": _l("Full name"),
    "organisation": _l("Organisation"),
    "purpose": _l("Purpose of visit"),
    "escort": _l("Escort"),
    "id_number": _l("ID number (masked)"),
    "in_at": _l("Time in"),
    "out_at": _l("Time out"),
    "recorded_by": _l("Recorded by"),
    "occurred_at": _l("Time"),
    "asset_tag": _l("Asset tag"),
    "asset_name": _l("Asset name"),
    "action": _l("Action"),
    "reason": _l("Reason"),
    "change_ref": _l("Change reference"),
    "performed_by": _l("Done by"),
    "sheet_access": _l("Room access"),
    "sheet_power": _l("Power on-off"),
}


def _new_token() -> str:
    return secrets.token_urlsafe(16)


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filters() -> Filters:
    room = request.args.get("room", "")
    return Filters(
        start=_date_arg("start"),
        end=_date_arg("end"),
        room_id=int(room) if room.isdigit() else None,
        q=request.args.get("q", "").strip()[:100],
        inside=request.args.get("inside") == "1",
    )


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {k: " ".join(v) for k, v in exc.errors.items()}


def _page_arg() -> tuple[int, str]:
    """The page asked for (``?page=``, 1 when absent) and, when it is no page number, a message
    (the first page is shown then)."""
    raw = request.args.get("page", "").strip()
    if not raw:
        return 1, ""
    if re.fullmatch(r"[0-9]{1,18}", raw) and int(raw) >= 1:
        return int(raw), ""
    if re.fullmatch(r"[0-9]+", raw) and int(raw[:19]) >= 1:
        return 10**18, ""  # a very long number: past the last page
    return 1, _("“%(value)s” is not a page number; showing page 1.", value=raw[:20])


def _pager(tab: str, result: Page, args: dict[str, str]) -> dict[str, Any]:
    """What the page links show: the position, the total and the neighbours' URLs (filters kept)."""

    def link(page: int) -> str | None:
        if not 1 <= page <= result.pages or page == result.page:
            return None
        values: dict[str, Any] = {**args, "tab": tab, "page": page}  # Any: url_for's **values
        return url_for("logbook.index", **values)

    return {
        "page": result.page,
        "pages": result.pages,
        "total": format_decimal(result.total),
        "prev_url": link(result.page - 1),
        "next_url": link(result.page + 1),
    }


@bp.route("/")
def index() -> Any:
    """The lists, one tab at a time, ``PER_PAGE`` rows a page (newest first; filters apply to
    the rows, the count and every page link). A page past the last shows the last one and a
    page that is no number the first, each with a message naming what was asked."""
    tab = request.args.get("tab", "access")
    if tab not in ("access", "power"):
        tab = "access"
    filters = _filters()
    tz = site_tz()
    asked, page_message = _page_arg()
    result = (
        queries.access_page(filters, tz, asked)
        if tab == "access"
        else queries.power_page(filters, tz, asked)
    )
    if asked > result.pages:
        page_message = _(
            "There is no page %(asked)s: %(pages)s in all. Showing the last page.",
            asked=request.args.get("page", "").strip()[:20],
            pages=result.pages,
        )
    args = {k: v for k, v in request.args.items() if k not in ("tab", "page")}
    return render_template(
        "inspections/logbook.html",
        tab=tab,
        rows=result.items,
        pager=_pager(tab, result, args),
        page_message=page_message,
        filters=filters,
        args=args,
        rooms=assets.room_choices(),
        inside=queries.people_inside(filters.room_id) if tab == "access" else [],
        actions=ACTION_LABELS,
        can_write=current_user.role in WRITERS,
    )


@bp.route("/access/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def access_new() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        form: dict[str, Any] = request.form.to_dict()
        try:
            entry = db.write(lambda: services.record_entry(form, site_tz(), current_user))
        except services.Duplicate:
            flash(_("This entry was already recorded."), "info")
            return redirect(url_for("logbook.index", tab="access"), 303)
        except ValidationFailed as exc:
            errors = _errors(exc)
        else:
            flash(_("%(name)s signed in.", name=entry.name), "success")
            return redirect(url_for("logbook.index", tab="access"), 303)
    else:
        rooms = assets.room_choices()
        room = request.args.get("room", "")
        form = {
            "client_token": _new_token(),
            "room_id": room if room.isdigit() else (str(rooms[0][0]) if len(rooms) == 1 else ""),
        }
    return render_template(
        "inspections/logbook_access_form.html",
        form=form,
        errors=errors,
        rooms=assets.room_choices(),
    ), (400 if errors else 200)


def _local_input(value: datetime | None) -> str:
    """A stored time as the value of a ``datetime-local`` input (site time)."""
    return value.astimezone(site_tz()).strftime("%Y-%m-%dT%H:%M") if value else ""


@bp.route("/access/<int:entry_id>/edit", methods=["GET", "POST"])
@require_roles(*WRITERS)
def access_edit(entry_id: int) -> Any:
    """Correct a visit (typo, forgotten sign-out time); the audit log keeps the old values."""
    entry = db.session().get(AccessEntry, entry_id) or abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form: dict[str, Any] = request.form.to_dict()
        try:
            db.write(lambda: services.correct_entry(entry, form, site_tz()))
        except ValidationFailed as exc:
            errors = _errors(exc)
        else:
            flash(_("Entry of %(name)s corrected.", name=entry.name), "success")
            return redirect(url_for("logbook.index", tab="access"), 303)
    else:
        form = {
            "room_id": str(entry.room_id),
            "name": entry.name,
            "organisation": entry.organisation,
            "purpose": entry.purpose,
            "escort": entry.escort,
            "in_at": _local_input(entry.in_at),
            "out_at": _local_input(entry.out_at),
        }
    return render_template(
        "inspections/logbook_access_form.html",
        form=form,
        errors=errors,
        rooms=assets.room_choices(),
        entry=entry,
    ), (400 if errors else 200)


@bp.route("/power/<int:event_id>/edit", methods=["GET", "POST"])
@require_roles(*WRITERS)
def power_edit(event_id: int) -> Any:
    """Correct a power event; the audit log keeps the old values."""
    event = db.session().get(PowerEvent, event_id) or abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        form: dict[str, Any] = request.form.to_dict()
        try:
            db.write(lambda: services.correct_power(event, form, site_tz(), current_user))
        except ValidationFailed as exc:
            errors = _errors(exc)
        else:
            flash(_("Power event of %(tag)s corrected.", tag=event.asset.asset_tag), "success")
            return redirect(url_for("logbook.index", tab="power"), 303)
    else:
        form = {
            "asset_tag": event.asset.asset_tag,
            "action": event.action,
            "reason": event.reason,
            "change_ref": event.change_ref,
            "performed_by": event.performed_by,
            "occurred_at": _local_input(event.occurred_at),
        }
    return render_template(
        "inspections/logbook_power_form.html",
        form=form,
        errors=errors,
        asset=assets.asset_by_tag(form.get("asset_tag", "")) if "asset_tag" not in errors else None,
        actions=ACTION_LABELS,
        event=event,
    ), (400 if errors else 200)


@bp.post("/access/<int:entry_id>/out")
@require_roles(*WRITERS)
def access_out(entry_id: int) -> Any:
    db.session().get(AccessEntry, entry_id) or abort(404)

    def work() -> tuple[AccessEntry, bool]:
        entry = db.session().get(AccessEntry, entry_id)
        assert entry is not None
        return entry, services.sign_out(entry)

    entry, changed = db.write(work)
    if changed:
        flash(_("%(name)s signed out.", name=entry.name), "success")
    else:
        flash(_("%(name)s had already signed out.", name=entry.name), "info")
    back = request.form.get("back", "")
    if back.startswith("/") and not back.startswith("//"):
        return redirect(back, 303)
    return redirect(url_for("logbook.index", tab="access"), 303)


@bp.route("/power/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def power_new() -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        form: dict[str, Any] = request.form.to_dict()
        try:
            event = db.write(lambda: services.record_power(form, site_tz(), current_user))
        except services.Duplicate:
            flash(_("This entry was already recorded."), "info")
            return redirect(url_for("logbook.index", tab="power"), 303)
        except ValidationFailed as exc:
            errors = _errors(exc)
        else:
            flash(
                _(
                    "%(action)s of %(tag)s recorded.",
                    action=ACTION_LABELS[event.action],
                    tag=event.asset.asset_tag,
                ),
                "success",
            )
            return redirect(url_for("logbook.index", tab="power"), 303)
    else:
        form = {
            "client_token": _new_token(),
            "asset_tag": request.args.get("tag", "").strip()[:64],
            "action": request.args.get("action", ""),
        }
    asset = None
    if form.get("asset_tag") and "asset_tag" not in errors:
        asset = assets.asset_by_tag(form["asset_tag"])
    return render_template(
        "inspections/logbook_power_form.html",
        form=form,
        errors=errors,
        asset=asset,
        actions=ACTION_LABELS,
    ), (400 if errors else 200)


@bp.route("/export.xlsx")
def export() -> Any:
    """GET: viewers may download too. The current filters apply; ID numbers stay masked."""
    filters = _filters()
    with tempfile.TemporaryDirectory(prefix="opskit-logbook-") as folder:
        path = Path(folder) / "logbook.xlsx"
        logbook_export.export_workbook(path, filters, site_tz(), COLUMN_LABELS, ACTION_LABELS)
        data = io.BytesIO(path.read_bytes())
    stamp = clock.site_now().strftime("%Y%m%d")
    return send_file(
        data,
        as_attachment=True,
        download_name=_("logbook-%(date)s.xlsx", date=stamp),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
