"""The asset pages: the list, an asset's detail and history, create, edit, delete, and the
warranty reminders."""

from __future__ import annotations

from typing import Any

from flask import (
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import select

from assets import extensions, queries, services
from assets.forms import (
    IMPORTANCE_LABELS,
    KIND_LABELS,
    STATUS_LABELS,
    AssetForm,
    ConfirmForm,
    apply_errors,
    choices,
    label,
)
from assets.models import Asset, Rack, Room
from assets.moves import queries as move_queries
from assets.specs import labelled as labelled_specs
from assets.views.common import (
    ASSET_TEXT_FIELDS,
    PER_PAGE,
    WARRANTY_SORTS,
    bp,
    commit_or_error,
    form_page,
    get_or_404,
    int_arg,
    is_htmx,
    local_today,
    warranty_state,
)
from opskit import audit, db
from opskit.validation import ValidationFailed

# --- asset list -----------------------------------------------------------------------------


@bp.route("/")
def index() -> Any:
    args = request.args
    q = args.get("q", "").strip()[:100]
    kind = args.get("kind", "") if args.get("kind") in KIND_LABELS else ""
    status = args.get("status", "") if args.get("status") in STATUS_LABELS else ""
    room, rack = int_arg("room"), int_arg("rack")
    room_racks = queries.racks_of_room(room) if room else []
    if rack and room and rack not in {k.id for k in room_racks}:
        rack = None  # the room changed: the old rack no longer applies
    sort = args.get("sort", "") if args.get("sort") in queries.LIST_SORTS else "asset_tag"
    direction = "desc" if args.get("dir") == "desc" else "asc"
    result = queries.list_assets(
        q=q,
        kind=kind or None,
        status=status or None,
        room_id=room,
        rack_id=rack,
        sort=sort,
        descending=direction == "desc",
        page=int_arg("page") or 1,
        per_page=PER_PAGE,
    )
    params = {
        "q": q,
        "kind": kind,
        "status": status,
        "room": room or "",
        "rack": rack or "",
        "sort": sort,
        "dir": direction,
    }

    def list_url(**changes: Any) -> str:
        merged = {**params, **changes}
        return url_for("assets.index", **{k: v for k, v in merged.items() if v not in ("", None)})

    def sort_url(key: str) -> str:
        flip = "desc" if (sort == key and direction == "asc") else "asc"
        return list_url(sort=key, dir=flip, page=None)

    context = {
        "result": result,
        "params": params,
        "list_url": list_url,
        "sort_url": sort_url,
        "today": local_today(),
        "warranty_state": warranty_state,
    }
    # Only the chosen room's racks: the page must not grow with the size of the site.
    context["racks"] = room_racks
    if is_htmx():
        response = render_template("assets/_asset_table.html", rack_oob=True, **context)
    else:
        response = render_template("assets/index.html", rooms=queries.all_rooms(), **context)
    return response, 200, {"Vary": "HX-Request"}


# --- asset detail, create, edit, delete -----------------------------------------------------


def _history_rows(asset: Asset) -> list[dict[str, Any]]:
    """Audit rows of the asset and its line details, newest first, values made readable."""
    rows = audit.history("asset", asset.id) + audit.history("communication_line", asset.id)
    rows.sort(key=lambda r: (r.at, r.id), reverse=True)
    labels = {name: f.label.text for name, f in AssetForm(formdata=None)._fields.items()}
    labels.update({"room_id": _("Room"), "rack_id": _("Rack"), "specs": _("Specifications")})
    ids: dict[str, set[int]] = {"room_id": set(), "rack_id": set()}
    for row in rows:
        for key in ids:
            for value in row.changes.get(key, []):
                if isinstance(value, int):
                    ids[key].add(value)
    sess = db.session()
    names: dict[str, dict[Any, Any]] = {
        key: dict(sess.execute(select(model.id, model.name).where(model.id.in_(ids[key]))).all())
        for key, model in (("room_id", Room), ("rack_id", Rack))
    }
    enums = {"kind": KIND_LABELS, "status": STATUS_LABELS, "importance": IMPORTANCE_LABELS}

    def show(key: str, value: Any) -> str:
        if value is None or value == "":
            return "—"
        if key in names:
            return str(names[key].get(value, value))
        if key in enums:
            return label(enums[key], value)
        if key == "specs" and isinstance(value, dict):
            return "; ".join(f"{k}: {v}" for k, v in labelled_specs(value)) or "—"
        return str(value)

    out = []
    for row in rows:
        changes = [
            (labels.get(key, key), show(key, before), show(key, after))
            for key, (before, after) in row.changes.items()
            if key not in {"id", "asset_id"}
        ]
        out.append({"at": row.at, "actor": row.actor, "action": row.action, "changes": changes})
    return out


@bp.route("/<int:asset_id>")
def detail(asset_id: int) -> Any:
    asset = get_or_404(Asset, asset_id)
    today = local_today()
    state, days = warranty_state(asset, today)
    return render_template(
        "assets/detail.html",
        asset=asset,
        addresses=queries.addresses_of_asset(asset.id),
        links=queries.links_of_asset(asset.id),
        warranty=(state, days),
        specs=list(labelled_specs(asset.specs)),
        history=_history_rows(asset),
        moves=move_queries.moves_of_asset(asset.id),
        move_states=move_queries.step_state_labels(),
        where=move_queries.where,
        panels=extensions.asset_panels(asset.id),
    )


def _location_choices(form: AssetForm) -> None:
    rooms = queries.all_rooms()
    racks = queries.all_racks()
    form.room.choices = choices(
        [("", "—")] + [(str(r.id), f"{r.site.name} / {r.name}") for r in rooms]
    )
    form.rack.choices = choices(
        [("", "—")] + [(str(k.id), f"{k.room.name} / {k.name}") for k in racks]
    )
    form.rack_rooms = {str(k.id): str(k.room_id) for k in racks}


def _asset_data(asset: Asset) -> dict[str, Any]:
    data = {name: getattr(asset, name) for name in ASSET_TEXT_FIELDS}
    data.update(
        room=str(asset.room_id or ""),
        rack=str(asset.rack_id or ""),
        u_position=asset.u_position,
        u_height=asset.u_height,
        **AssetForm.spec_data(asset.specs),
    )
    if asset.line is not None:
        for name in AssetForm.LINE_FIELDS:
            data[name] = getattr(asset.line, name)
    return data


def _save_asset(form: AssetForm, asset: Asset | None) -> Asset:
    sess = db.session()
    values: dict[str, Any] = {name: getattr(form, name).data for name in ASSET_TEXT_FIELDS}
    values["specs"] = form.spec_values()
    values["room"] = sess.get(Room, int(form.room.data)) if form.room.data else None
    values["rack"] = sess.get(Rack, int(form.rack.data)) if form.rack.data else None
    values["u_position"] = form.u_position.data
    values["u_height"] = form.u_height.data if form.u_height.data is not None else 1
    saved = services.save_asset(values, asset)
    line_values = {name: getattr(form, name).data for name in AssetForm.LINE_FIELDS}
    if saved.kind == "line":
        services.save_line(saved, line_values)
    return saved


def _asset_form_page(form: AssetForm, asset: Asset | None) -> Any:
    failed = request.method == "POST"
    if form.validate_on_submit():
        try:
            saved = _save_asset(form, asset)
            db.session().flush()
        except ValidationFailed as exc:
            db.session().rollback()
            form.form_errors = apply_errors(form, exc.errors)
        else:
            if commit_or_error(form, "asset_tag"):
                if asset is None:
                    flash(_("Asset %(tag)s registered.", tag=saved.asset_tag), "success")
                else:
                    flash(_("Asset %(tag)s saved.", tag=saved.asset_tag), "success")
                return redirect(url_for("assets.detail", asset_id=saved.id))
    return form_page("assets/form.html", form, failed, asset=asset)


@bp.route("/new", methods=["GET", "POST"])
def create() -> Any:
    form = AssetForm()
    _location_choices(form)
    if request.method == "GET":
        if rack_id := int_arg("rack"):
            rack = db.session().get(Rack, rack_id)
            if rack is not None:
                form.rack.data, form.room.data = str(rack.id), str(rack.room_id)
        form.u_position.data = int_arg("u_position")
        if request.args.get("kind") in KIND_LABELS:
            form.kind.data = request.args["kind"]
        # a host a scan found, to register (the vulnerability scan pages' links)
        form.name.data = request.args.get("name", "").strip()[:128] or None
        form.mgmt_ip.data = request.args.get("mgmt_ip", "").strip()[:45] or None
    return _asset_form_page(form, None)


@bp.route("/<int:asset_id>/edit", methods=["GET", "POST"])
def edit(asset_id: int) -> Any:
    asset = get_or_404(Asset, asset_id)
    form = AssetForm(data=_asset_data(asset)) if request.method == "GET" else AssetForm()
    _location_choices(form)
    return _asset_form_page(form, asset)


@bp.route("/<int:asset_id>/delete", methods=["GET", "POST"])
def delete(asset_id: int) -> Any:
    asset = get_or_404(Asset, asset_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        tag = asset.asset_tag
        services.delete_asset(asset)
        db.session().commit()
        flash(_("Asset %(tag)s deleted.", tag=tag), "success")
        return redirect(url_for("assets.index"))
    return render_template(
        "assets/delete.html",
        asset=asset,
        form=form,
        address_count=len(queries.addresses_of_asset(asset.id)),
        link_count=len(queries.links_of_asset(asset.id)),
    )


# --- warranty reminders ---------------------------------------------------------------------


@bp.route("/warranty")
def warranty() -> Any:
    today = local_today()
    reminders = queries.warranty_reminders(today, within_days=90)
    counts = {state: 0 for state in ("expired", "30", "90")}
    for r in reminders:
        counts[r.state] += 1
    state = request.args.get("state", "")
    if state in counts:
        reminders = [r for r in reminders if r.state == state]
    else:
        state = ""
    sort = request.args.get("sort", "")
    sort = sort if sort in WARRANTY_SORTS else "warranty_end"
    direction = "desc" if request.args.get("dir") == "desc" else "asc"
    reminders.sort(
        key=lambda r: (
            (getattr(r.asset, sort) or "", r.asset.asset_tag)
            if sort != "warranty_end"
            else (r.days_left, r.asset.asset_tag)
        ),
        reverse=direction == "desc",
    )

    def sort_url(key: str) -> str:
        flip = "desc" if (sort == key and direction == "asc") else "asc"
        params: dict[str, Any] = {"sort": key, "dir": flip}  # Any: url_for's **values
        if state:
            params["state"] = state
        return url_for("assets.warranty", **params)

    return render_template(
        "assets/warranty.html",
        reminders=reminders,
        counts=counts,
        state=state,
        sort=sort,
        direction=direction,
        sort_url=sort_url,
        today=today,
    )
