"""Firmware upgrade record pages: a device's records (``/configs/<asset_id>/upgrades``), planning
one, and one record (``/configs/upgrades/<id>``) with its buttons: fetch a backup now, start
(refused without a fresh backup), finish as done or failed, read the version back.

Everyone logged in reads; engineers and admins write. A refused form answers 400 with the
errors beside the fields and everything typed kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assets import queries as registry
from monitors.configs import queries as configs
from monitors.configs.history import queries as history
from monitors.configs.upgrades import queries, services
from monitors.configs.upgrades.models import DEFAULT_BACKUP_HOURS, ConfigUpgrade
from opskit import clock, db
from opskit.auth import require_roles
from opskit.models import Role
from opskit.validation import ValidationFailed

bp = Blueprint("upgrades", __name__, url_prefix="/configs")

WRITERS = (Role.ADMIN, Role.ENGINEER)
FIELDS = (
    "to_version",
    "from_version",
    "reason",
    "advisory",
    "window_start",
    "window_end",
    "files_backed_up",
    "backup_hours",
)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)


def _can_write() -> bool:
    return bool(current_user.is_authenticated and current_user.role in WRITERS)


def _local_time(raw: str) -> datetime | None:
    """A ``datetime-local`` value, read in the site's time zone, as UTC."""
    if not raw.strip():
        return None
    try:
        at = datetime.fromisoformat(raw.strip())
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=clock.site_tz())
    return at.astimezone(UTC)


def _record_or_404(upgrade_id: int) -> ConfigUpgrade:
    return queries.get(upgrade_id) or abort(404)


@bp.get("/<int:asset_id>/upgrades")
def of_asset(asset_id: int) -> Any:
    """The device's upgrade records."""
    asset = registry.get_asset(asset_id) or abort(404)
    records = queries.of_asset(asset.id)
    return render_template(
        "configs/upgrades.html",
        asset=asset,
        records=records,
        windows={r.id: queries.window_of(r) for r in records},
        states=queries.STATE_LABELS,
        can_write=_can_write(),
    )


@bp.route("/<int:asset_id>/upgrades/new", methods=["GET", "POST"])
@require_roles(*WRITERS)
def new(asset_id: int) -> Any:
    """Plan an upgrade: versions, reason, advisory, the maintenance window, files backed up."""
    asset = registry.get_asset(asset_id) or abort(404)
    values = {name: "" for name in FIELDS}
    values["from_version"] = services.current_firmware(asset.id)
    values["backup_hours"] = str(DEFAULT_BACKUP_HOURS)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        start, end = _local_time(values["window_start"]), _local_time(values["window_end"])
        bad_time = _("A date and time is needed, e.g. 2026-10-01 22:00.")
        if values["window_start"].strip() and start is None:
            errors["window_start"] = [bad_time]
        if values["window_end"].strip() and end is None:
            errors["window_end"] = [bad_time]
        try:
            record = services.plan(
                asset.id,
                services.PlanValues(
                    to_version=values["to_version"],
                    from_version=values["from_version"],
                    reason=values["reason"],
                    advisory=values["advisory"],
                    window_start=start,
                    window_end=end,
                    files_backed_up=values["files_backed_up"],
                    backup_hours=values["backup_hours"],
                ),
            )
            if errors:
                raise ValidationFailed(errors)
            db.session().commit()
        except ValidationFailed as exc:
            db.session().rollback()
            errors = {**exc.errors, **errors}
        else:
            flash(
                _("Upgrade planned; its maintenance window holds the device's alerts."), "success"
            )
            return redirect(url_for("upgrades.detail", upgrade_id=record.id))
    return render_template(
        "configs/upgrade_form.html", asset=asset, values=values, errors=errors
    ), (400 if errors else 200)


@bp.get("/upgrades/<int:upgrade_id>")
def detail(upgrade_id: int) -> Any:
    """One upgrade record: its window, the backup rule, the version read back."""
    record = _record_or_404(upgrade_id)
    asset = registry.get_asset(record.asset_id) or abort(404)
    backup = (
        history.version(record.asset_id, record.backup_version_id)
        if record.backup_version_id
        else None
    )
    return render_template(
        "configs/upgrade.html",
        asset=asset,
        record=record,
        window=queries.window_of(record),
        deadline=services.backup_deadline(record),
        fresh=services.fresh_backup(record) if record.state == "planned" else None,
        backup=backup,
        device=configs.device_of_asset(record.asset_id),
        states=queries.STATE_LABELS,
        sources=queries.SOURCE_LABELS,
        can_write=_can_write(),
    )


def _done(upgrade_id: int, message: str) -> Any:
    try:
        db.session().commit()
    except Exception:
        db.session().rollback()
        raise
    flash(message, "success")
    return redirect(url_for("upgrades.detail", upgrade_id=upgrade_id))


def _refused(upgrade_id: int, exc: ValidationFailed) -> Any:
    db.session().rollback()
    flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "danger")
    return redirect(url_for("upgrades.detail", upgrade_id=upgrade_id))


@bp.post("/upgrades/<int:upgrade_id>/start")
@require_roles(*WRITERS)
def start(upgrade_id: int) -> Any:
    _record_or_404(upgrade_id)
    try:
        services.start(upgrade_id)
    except ValidationFailed as exc:
        return _refused(upgrade_id, exc)
    return _done(upgrade_id, _("Upgrade started."))


@bp.post("/upgrades/<int:upgrade_id>/finish")
@require_roles(*WRITERS)
def finish(upgrade_id: int) -> Any:
    _record_or_404(upgrade_id)
    outcome = request.form.get("outcome", "")
    if outcome not in ("done", "failed"):
        abort(400)
    try:
        services.finish(upgrade_id, outcome == "done", request.form.get("note", ""))
    except ValidationFailed as exc:
        return _refused(upgrade_id, exc)
    return _done(upgrade_id, _("Upgrade finished; the version was read back."))


@bp.post("/upgrades/<int:upgrade_id>/read-back")
@require_roles(*WRITERS)
def read_back(upgrade_id: int) -> Any:
    record = _record_or_404(upgrade_id)
    if record.state not in ("done", "failed"):
        return _refused(
            upgrade_id,
            ValidationFailed.one("state", _("The version is read back after the work.")),
        )
    services.read_back(record)
    return _done(upgrade_id, _("The version was read back."))
