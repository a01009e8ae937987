"""Patrol administration: checklists (view, add by YAML, limit overrides) and patrol plans.

Everyone logged in may look; admins change checklists and overrides; admins and supervisors
change plans. Plans are written through ``inspections.services.save_plan``; overrides and
checklist files through ``inspections.limits``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from assets import queries as assets
from inspections import limits, queries, recurrence, services
from inspections.checklists import Checklist, Limits
from inspections.items import kind_of
from opskit import db
from opskit.auth import require_roles
from opskit.validation import ValidationFailed

bp = Blueprint("patrol_admin", __name__, url_prefix="/patrol/admin")

MAX_YAML_BYTES = 256 * 1024
SCOPE_NAMES = {"site": _l("Site"), "room": _l("Room"), "asset": _l("Asset")}
PLAN_EDITORS = ("admin", "supervisor")


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {k: " ".join(v) for k, v in exc.errors.items()}


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def limits_text(lim: Limits, unit: str) -> dict[str, str]:
    """Readable limits: the normal range, and the values beyond which a warning/critical is."""

    def band(low: float | None, high: float | None) -> str:
        if low is None and high is None:
            return "—"
        if low is None:
            return f"≤ {_fmt(high)}{unit}"
        if high is None:
            return f"≥ {_fmt(low)}{unit}"
        return f"{_fmt(low)}–{_fmt(high)}{unit}"

    def beyond(low: float | None, high: float | None) -> str:
        parts = [f"< {_fmt(low)}{unit}"] if low is not None else []
        parts += [f"> {_fmt(high)}{unit}"] if high is not None else []
        return " / ".join(parts) or "—"

    return {
        "normal": band(lim.normal_min, lim.normal_max),
        "warning": beyond(lim.warning_low, lim.warning_high),
        "critical": beyond(lim.critical_low, lim.critical_high),
    }


# --- checklists -------------------------------------------------------------------------------


def _checklist_page(form: dict[str, Any], errors: dict[str, str]) -> Any:
    loaded = limits.site_checklists()
    shipped = limits.shipped_keys()
    folder = limits.checklist_dir()
    rows = []
    for key, checklist in sorted(loaded.checklists.items()):
        in_instance = str(folder) in checklist.source
        rows.append(
            {
                "checklist": checklist,
                "origin": "replaced"
                if in_instance and key in shipped
                else ("added" if in_instance else "shipped"),
                "readings": sum(1 for i in checklist.items if kind_of(i).has_limits),
            }
        )
    return render_template(
        "inspections/admin_checklists.html",
        rows=rows,
        load_errors=loaded.errors,
        folder=folder,
        form=form,
        errors=errors,
        is_admin=current_user.role == "admin",
    ), (400 if errors else 200)


@bp.route("/checklists")
def checklists() -> Any:
    return _checklist_page({}, {})


@bp.post("/checklists")
@require_roles("admin")
def checklist_add() -> Any:
    form = {"key": request.form.get("key", ""), "yaml": request.form.get("yaml", "")}
    upload = request.files.get("file")
    text = form["yaml"]
    try:
        if upload is not None and upload.filename:
            raw = upload.read(MAX_YAML_BYTES + 1)
            if len(raw) > MAX_YAML_BYTES:
                raise ValidationFailed.one(
                    "file", _("The file is larger than %(size)s KB.", size=MAX_YAML_BYTES // 1024)
                )
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise ValidationFailed.one("file", _("The file is not UTF-8 text.")) from None
            form["yaml"] = text
            if not form["key"].strip():
                form["key"] = upload.filename.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        checklist = limits.save_checklist_yaml(form["key"], text)
    except ValidationFailed as exc:
        return _checklist_page(form, _errors(exc))
    flash(_("Checklist %(title)s saved.", title=checklist.title), "success")
    return redirect(url_for("patrol_admin.checklist_detail", key=checklist.key), 303)


def _get_checklist(key: str) -> Checklist:
    found = limits.site_checklists().checklists.get(key)
    if found is None:
        abort(404)
    return found


def _target_label(scope: str, target_id: int) -> str:
    place: Any = assets.get_place(scope, target_id)
    if place is None:
        return f"#{target_id}"
    if scope == "site":
        return place.name
    if scope == "room":
        return f"{place.site.name} / {place.name}"
    return f"{place.asset_tag} {place.name}"


def _detail_page(checklist: Checklist, form: dict[str, Any], errors: dict[str, str]) -> Any:
    overrides = []
    for row in limits.overrides_of(checklist.key):
        try:
            item = checklist.item(row.item)
        except KeyError:
            item = None
        overrides.append(
            {
                "row": row,
                "item": item,
                "target": _target_label(row.scope, row.target_id),
                "fields": limits.limit_fields_of(row.limits),
            }
        )
    return render_template(
        "inspections/admin_checklist.html",
        checklist=checklist,
        kind_of=kind_of,
        scopes=SCOPE_NAMES,
        limits_text=limits_text,
        overrides=overrides,
        sites=assets.all_sites(),
        rooms=assets.all_rooms(),
        form=form,
        errors=errors,
        is_admin=current_user.role == "admin",
        is_added=str(limits.checklist_dir()) in checklist.source,
        shipped=checklist.key in limits.shipped_keys(),
    ), (400 if errors else 200)


@bp.route("/checklists/<key>")
def checklist_detail(key: str) -> Any:
    checklist = _get_checklist(key)
    form: dict[str, Any] = {"scope": "room"}
    # ?item=&scope=&target= : edit an existing override (pre-filled)
    item, scope, target = (request.args.get(k, "") for k in ("item", "scope", "target"))
    if item and scope in limits.SCOPES and target.isdigit():
        form = {"item": item, "scope": scope, f"{scope}_id": target}
        for row in limits.overrides_of(key):
            if (row.item, row.scope, row.target_id) == (item, scope, int(target)):
                form.update(limits.limit_fields_of(row.limits), note=row.note)
                if scope == "asset":
                    asset = assets.get_asset(row.target_id)
                    form["asset_tag"] = asset.asset_tag if asset else ""
    return _detail_page(checklist, form, {})


@bp.post("/checklists/<key>/overrides")
@require_roles("admin")
def override_save(key: str) -> Any:
    checklist = _get_checklist(key)
    form = request.form.to_dict()
    scope = form.get("scope", "")
    try:
        target_id: int | None = None
        if scope == "asset":
            tag = form.get("asset_tag", "").strip()
            asset = assets.asset_by_tag(tag) if tag else None
            if asset is None:
                raise ValidationFailed.one(
                    "asset_tag", _("No asset has the tag “%(tag)s”.", tag=tag[:64])
                )
            target_id = asset.id
        elif scope in ("site", "room"):
            raw = form.get(f"{scope}_id", "")
            if not raw.isdigit():
                raise ValidationFailed.one(f"{scope}_id", _("Choose where the limits apply."))
            target_id = int(raw)
        else:
            raise ValidationFailed.one("scope", _("Choose site, room or asset."))
        row = limits.save_override(checklist, form.get("item", ""), scope, target_id, form)
        db.session().commit()
    except ValidationFailed as exc:
        db.session().rollback()
        return _detail_page(checklist, form, _errors(exc))
    if row is None:
        flash(_("Override removed: the broader limits apply again."), "success")
    else:
        flash(_("Limits saved."), "success")
    return redirect(url_for("patrol_admin.checklist_detail", key=key), 303)


@bp.post("/checklists/<key>/file/delete")
@require_roles("admin")
def checklist_file_delete(key: str) -> Any:
    using = [p.name for p in queries.plans() if key in p.checklist_keys]
    if using and key not in limits.shipped_keys():
        flash(
            _(
                "Checklist %(key)s is used by the plan(s) %(plans)s; take it out of them first.",
                key=key,
                plans=", ".join(using),
            ),
            "error",
        )
        return redirect(url_for("patrol_admin.checklist_detail", key=key), 303)
    if limits.delete_checklist_file(key):
        flash(_("The site's file for %(key)s was removed.", key=key), "success")
    return redirect(url_for("patrol_admin.checklists"), 303)


# --- plans ------------------------------------------------------------------------------------


def _plan_form(plan: Any) -> dict[str, Any]:
    if plan is None:
        return {
            "grace_minutes": "120",
            "enabled": "1",
            "schedule_times": "09:00, 15:00",
            "frequency": "daily",
        }
    recurs = recurrence.from_stored(plan.recurrence)
    return {
        "frequency": recurs.freq,
        "weekdays": [str(d) for d in recurs.weekdays],
        "month_day": "" if recurs.day is None else str(recurs.day),
        "quarter_month": "" if recurs.month is None else str(recurs.month),
        "name": plan.name,
        "room_id": str(plan.room_id or ""),
        "site_id": str(plan.site_id or "") if plan.room_id is None else "",
        "checklist_keys": list(plan.checklist_keys),
        "asset_kinds": list(plan.asset_kinds),
        "schedule_times": ", ".join(plan.schedule_times),
        "grace_minutes": str(plan.grace_minutes),
        "enabled": "1" if plan.enabled else "",
        "notes": plan.notes,
    }


def _plan_page(plan: Any, form: dict[str, Any], errors: dict[str, str]) -> Any:
    return render_template(
        "inspections/admin_plan_form.html",
        plan=plan,
        form=form,
        errors=errors,
        rooms=assets.all_rooms(),
        sites=assets.all_sites(),
        checklists=sorted(limits.site_checklists().checklists.values(), key=lambda c: c.key),
        kinds=assets.asset_kind_labels(),
        frequencies=recurrence.FREQUENCY_LABELS,
        weekday_labels=recurrence.WEEKDAY_LABELS,
        quarter_month_labels=recurrence.QUARTER_MONTH_LABELS,
        month_day_values=[str(n) for n in range(1, 29)] + [recurrence.LAST],
    ), (400 if errors else 200)


@bp.route("/plans")
def plans() -> Any:
    rooms = {r.id: f"{r.site.name} / {r.name}" for r in assets.all_rooms()}
    sites = {s.id: s.name for s in assets.all_sites()}
    return render_template(
        "inspections/admin_plans.html",
        plans=queries.plans(),
        rooms=rooms,
        sites=sites,
        checklists=limits.site_checklists().checklists,
        recurrence_text=queries.recurrence_text,
        can_edit=current_user.role in PLAN_EDITORS,
    )


def _save_plan(plan: Any) -> Any:
    form: dict[str, Any] = request.form.to_dict()
    form["checklist_keys"] = request.form.getlist("checklist_keys")
    form["asset_kinds"] = request.form.getlist("asset_kinds")
    form["weekdays"] = request.form.getlist("weekdays")
    where = form.get("where", "")
    data = dict(form)
    if where.startswith("site:"):
        data["site_id"], data["room_id"] = where[5:], ""
    elif where.startswith("room:"):
        data["room_id"], data["site_id"] = where[5:], ""
    else:
        data["room_id"] = data["site_id"] = ""
    data["enabled"] = form.get("enabled", "")
    try:
        saved = services.save_plan(data, plan)
        db.session().commit()
    except ValidationFailed as exc:
        db.session().rollback()
        errors = _errors(exc)
        if "room_id" in errors:
            errors["where"] = errors.pop("room_id")
        form["room_id"] = data["room_id"]
        form["site_id"] = data["site_id"]
        return _plan_page(plan, form, errors)
    flash(_("Plan %(name)s saved.", name=saved.name), "success")
    return redirect(url_for("patrol_admin.plans"), 303)


@bp.route("/plans/new", methods=["GET", "POST"])
@require_roles(*PLAN_EDITORS)
def plan_new() -> Any:
    if request.method == "POST":
        return _save_plan(None)
    return _plan_page(None, _plan_form(None), {})


@bp.route("/plans/<int:plan_id>", methods=["GET", "POST"])
@require_roles(*PLAN_EDITORS)
def plan_edit(plan_id: int) -> Any:
    plan = queries.get_plan(plan_id) or abort(404)
    if request.method == "POST":
        return _save_plan(plan)
    return _plan_page(plan, _plan_form(plan), {})
