"""Configuration backup pages: a device's 配置备份 section on its asset page (htmx), its history
(``/configs/<asset_id>``: access, host key, versions), the access form, one version with its
unified and side-by-side diff against the version before (``/configs/<asset_id>/versions/<id>``,
the page a 配置变更 alert links), the buttons "fetch now" and "accept the new host key".

Everyone logged in reads, and sees masked texts only (the full text with its secrets leaves only
through ``opskit configs export``); engineers and admins set a device up and fetch it; only an
admin accepts a changed host key. A refused form answers 400 with the errors beside the fields
and everything typed kept, the passwords excepted (never echoed; blank keeps what is stored).
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from assets import extensions
from assets import queries as registry
from monitors.configs import diffs, platforms, queries, services
from monitors.configs.history import queries as history
from monitors.configs.history import services as history_services
from monitors.configs.models import DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, TRANSPORTS
from opskit import db
from opskit.auth import require_roles
from opskit.models import Role
from opskit.validation import ValidationFailed

bp = Blueprint("configs", __name__, url_prefix="/configs")

WRITERS = (Role.ADMIN, Role.ENGINEER)
#: context lines kept around each change on the diff pages
CONTEXT = 3
#: versions listed on a device's page
LISTED = 200
#: a version page shows at most this many lines of the whole configuration (a 10 MB one has
#: 400,000): the rest is in the masked text's download (``version_text``)
TEXT_LINES = 2000
#: a diff whose changed part has more lines than this on either side is not drawn (nor computed)
#: on the page: the page says so and links the download
DIFF_LINES = 20000
FORM_FIELDS = ("platform", "transport", "host", "port", "username", "commands", "interval_h")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    extensions.ASSET_PANELS["configs"] = lambda asset_id: url_for(
        "configs.asset_panel", asset_id=asset_id
    )


def _can_write() -> bool:
    return bool(current_user.is_authenticated and current_user.role in WRITERS)


def _is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.role == Role.ADMIN)


def _asset_or_404(asset_id: int) -> registry.Asset:
    return registry.get_asset(asset_id) or abort(404)


def _platform_title(name: str) -> str:
    found = platforms.load().get(name)
    return found.title if found is not None else name


def _reason(device: Any) -> str:
    """The last failure in words (its reason's label, then the attempt's own text)."""
    if device is None or not device.last_error:
        return ""
    label = queries.REASON_LABELS.get(device.last_reason)
    return f"{label}: {device.last_error}" if label else device.last_error


@bp.get("/panel/<int:asset_id>")
def asset_panel(asset_id: int) -> Any:
    """The asset page's 配置备份 section (loaded into it by htmx)."""
    asset = _asset_or_404(asset_id)
    device = queries.device_of_asset(asset.id)
    if device is None and not _can_write():
        return ""  # a UPS or a PDU has no configuration to back up: no section for readers
    return render_template(
        "configs/_asset_panel.html",
        asset=asset,
        device=device,
        platform=_platform_title(device.platform) if device else "",
        latest=queries.latest_version(asset.id) if device else None,
        count=history.version_count(asset.id) if device else 0,
        reason=_reason(device),
        can_write=_can_write(),
    )


@bp.get("/<int:asset_id>")
def device(asset_id: int) -> Any:
    """A device's backups: access, host key, the versions (newest first)."""
    asset = _asset_or_404(asset_id)
    found = queries.device_of_asset(asset.id)
    versions = queries.versions(asset.id, LISTED)
    return render_template(
        "configs/device.html",
        asset=asset,
        device=found,
        platform=_platform_title(found.platform) if found else "",
        versions=versions,
        total=history.version_count(asset.id),
        reason=_reason(found),
        can_write=_can_write(),
        is_admin=_is_admin(),
        upgrades_url=url_for("upgrades.of_asset", asset_id=asset.id),
    )


@bp.get("/<int:asset_id>/versions/<int:version_id>")
def version(asset_id: int, version_id: int) -> Any:
    """One version: its diff with the version before (unified and side by side), or its text."""
    asset = _asset_or_404(asset_id)
    shown = history.version(asset.id, version_id) or abort(404)
    before = history.previous(shown)
    after = history.following(shown)
    view = request.args.get("view", "split")
    if view not in ("split", "unified", "text"):
        view = "split"
    old = before.masked_text if before is not None else ""
    new = shown.masked_text
    too_big = max(diffs.changed_lines(old, new)) > DIFF_LINES
    lines = new.splitlines()
    return render_template(
        "configs/version.html",
        asset=asset,
        version=shown,
        before=before,
        after=after,
        view=view,
        too_big=too_big,
        diff_lines=DIFF_LINES,
        split=[] if too_big or view != "split" else diffs.side_by_side(old, new, CONTEXT),
        unified=[] if too_big or view == "text" else diffs.unified_rows(old, new, CONTEXT),
        summary=None if too_big else diffs.summary(old, new),
        lines=lines[:TEXT_LINES],
        total_lines=len(lines),
    )


@bp.get("/<int:asset_id>/versions/<int:version_id>/masked.txt")
def version_text(asset_id: int, version_id: int) -> Any:
    """The version's whole masked text as a file (what the page shows, without its bounds)."""
    asset = _asset_or_404(asset_id)
    shown = history.version(asset.id, version_id) or abort(404)
    name = f"{asset.asset_tag}-v{shown.number}-masked.txt"
    response = Response(shown.masked_text, mimetype="text/plain")
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


def _form_values(device: Any) -> dict[str, str]:
    if device is None:
        return {
            "platform": "",
            "transport": "ssh",
            "host": "",
            "port": "",
            "username": "",
            "commands": "",
            "interval_h": str(DEFAULT_INTERVAL_S // 3600),
            "timeout_s": str(DEFAULT_TIMEOUT_S),
            "enabled": "1",
        }
    return {
        "platform": device.platform,
        "transport": device.transport,
        "host": device.host,
        "port": "" if device.port is None else str(device.port),
        "username": device.username,
        "commands": "\n".join(device.commands or ()),
        "interval_h": _hours(device.interval_s),
        "timeout_s": str(device.timeout_s),
        "enabled": "1" if device.enabled else "",
    }


def _hours(seconds: int) -> str:
    hours = seconds / 3600
    return str(int(hours)) if hours == int(hours) else f"{hours:g}"


def _interval_s(text: str, errors: dict[str, list[str]]) -> int:
    try:
        hours = float(text.strip().replace(",", "."))
    except ValueError:
        errors["interval_h"] = [_("A number of hours is needed, e.g. 24.")]
        return DEFAULT_INTERVAL_S
    if not 0.1 <= hours <= 366 * 24:
        errors["interval_h"] = [_("Between 0.1 and 8784 hours.")]
    return round(hours * 3600)


@bp.route("/<int:asset_id>/access", methods=["GET", "POST"])
@require_roles(*WRITERS)
def access(asset_id: int) -> Any:
    """Set up or change how the device is reached for backups."""
    asset = _asset_or_404(asset_id)
    found = queries.device_of_asset(asset.id)
    values = _form_values(found)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        form = request.form
        values = {key: form.get(key, "") for key in values}
        values["enabled"] = "1" if form.get("enabled") else ""
        interval = _interval_s(values["interval_h"], errors)
        try:
            services.save_device(
                asset.id,
                platform=values["platform"],
                username=values["username"],
                transport=values["transport"],
                host=values["host"],
                port=values["port"],
                password=form.get("password") or None,
                enable_password=form.get("enable_password") or None,
                commands=values["commands"].splitlines(),
                interval_s=interval,
                timeout_s=values["timeout_s"],
                enabled=bool(values["enabled"]),
            )
            if errors:  # the interval in hours, read here
                raise ValidationFailed(errors)
            db.session().commit()
        except ValidationFailed as exc:
            db.session().rollback()
            errors = {**exc.errors, **errors}
            if "interval_s" in errors:
                errors["interval_h"] = errors.pop("interval_s")
        else:
            flash(_("Backup settings saved."), "success")
            return redirect(url_for("configs.device", asset_id=asset.id))
    return render_template(
        "configs/access.html",
        asset=asset,
        device=found,
        values=values,
        errors=errors,
        platforms=sorted(platforms.load().values(), key=lambda p: p.title.lower()),
        transports=TRANSPORTS,
        stored={
            "password": bool(found is not None and found.password),
            "enable_password": bool(found is not None and found.enable_password),
        },
        field_names=(*FORM_FIELDS, "timeout_s", "password", "enable_password"),
    ), (400 if errors else 200)


def _back(asset_id: int) -> str:
    """Where a button's POST returns: its ``next`` when it is a page of this site."""
    target = request.form.get("next", "")
    # a path of this site: not "//host" nor "/\\host", which browsers read as another site
    if target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return url_for("configs.device", asset_id=asset_id)


@bp.post("/<int:asset_id>/fetch")
@require_roles(*WRITERS)
def fetch(asset_id: int) -> Any:
    """Fetch the configuration now (the device page's and the upgrade record's button)."""
    asset = _asset_or_404(asset_id)
    try:
        result = history_services.fetch_now(asset.id)
    except ValidationFailed as exc:
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "danger")
        return redirect(_back(asset.id))
    if not result.ok:
        label = queries.REASON_LABELS.get(result.reason)
        words = f"{label}: {result.error}" if label else result.error
        flash(_("The backup failed: %(reason)s", reason=words), "danger")
    elif result.new_version:
        flash(_("Configuration fetched: it changed, a new version is stored."), "success")
    else:
        flash(_("Configuration fetched: unchanged since the last version."), "success")
    return redirect(_back(asset.id))


@bp.post("/<int:asset_id>/accept-key")
@require_roles(Role.ADMIN)
def accept_key(asset_id: int) -> Any:
    """Pin the host key the device now offers (after an admin checked its fingerprint)."""
    asset = _asset_or_404(asset_id)
    try:
        services.accept_host_key(asset.id, request.form.get("fingerprint") or None)
        db.session().commit()
    except ValidationFailed as exc:
        db.session().rollback()
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "danger")
    else:
        flash(_("The new host key is accepted: backups of this device resume."), "success")
    return redirect(url_for("configs.device", asset_id=asset.id))
