"""Pages of the registry: a thin blueprint over ``assets.services`` (writes) and ``assets.queries``.

Every form page answers 400 with the errors beside the fields and everything typed kept when
the form or a service rule refuses it; a list answers only its table part to htmx requests.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from assets import extensions, queries, services
from assets.forms import (
    ADDRESS_STATUS_LABELS,
    IMPORTANCE_LABELS,
    KIND_LABELS,
    LINK_SOURCE_LABELS,
    STATUS_LABELS,
    WARRANTY_LABELS,
    AddressForm,
    AssetForm,
    ConfirmForm,
    LinkForm,
    PrefixForm,
    RackForm,
    RoomForm,
    SiteForm,
    apply_errors,
    choices,
    format_specs,
    label,
    parse_specs,
)
from assets.models import Asset, IPAddress, Prefix, Rack, Room, Site
from opskit import audit, clock, db
from opskit.models import WRITER_ROLES
from opskit.validation import ValidationFailed

bp = Blueprint("assets", __name__, url_prefix="/assets")

PER_PAGE = 50
ASSET_TEXT_FIELDS = (
    "asset_tag",
    "name",
    "kind",
    "status",
    "importance",
    "vendor",
    "model",
    "serial",
    "owner",
    "contact",
    "mgmt_ip",
    "purchase_date",
    "warranty_end",
    "support_level",
    "notes",
)
WARRANTY_SORTS = ("warranty_end", "asset_tag", "name", "kind", "support_level", "status")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "importance_labels": IMPORTANCE_LABELS,
        "address_status_labels": ADDRESS_STATUS_LABELS,
        "link_source_labels": LINK_SOURCE_LABELS,
        "warranty_labels": WARRANTY_LABELS,
        "label": label,
        "can_write": current_user.is_authenticated and current_user.role in WRITER_ROLES,
    }


# --- helpers --------------------------------------------------------------------------------


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if value > 0 else None


def _is_htmx() -> bool:
    """A partial is wanted: htmx asked, and not to restore a page from history."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get(
        "HX-History-Restore-Request"
    )


def _today() -> date:
    return clock.site_today()


def warranty_state(asset: Asset, today: date) -> tuple[str, int | None]:
    """("expired" | "30" | "90" | "ok" | "unknown", days left)."""
    if asset.warranty_end is None:
        return "unknown", None
    days = (asset.warranty_end - today).days
    if days < 0:
        return "expired", days
    if days <= 30:
        return "30", days
    if days <= 90:
        return "90", days
    return "ok", days


def _get(model: type, object_id: int) -> Any:
    obj = db.session().get(model, object_id)
    if obj is None:
        abort(404)
    return obj


def _form_page(template: str, form: Any, failed: bool, **context: Any) -> Any:
    return render_template(template, form=form, **context), (400 if failed else 200)


def _commit_or_error(form: Any, field: str) -> bool:
    """Commit; a concurrent duplicate (unique constraint) becomes an error beside ``field``."""
    try:
        db.session().commit()
    except IntegrityError:
        db.session().rollback()
        apply_errors(form, {field: [_("Someone saved the same entry just now; check and retry.")]})
        return False
    return True


# --- asset list -----------------------------------------------------------------------------


@bp.route("/")
def index() -> Any:
    args = request.args
    q = args.get("q", "").strip()[:100]
    kind = args.get("kind", "") if args.get("kind") in KIND_LABELS else ""
    status = args.get("status", "") if args.get("status") in STATUS_LABELS else ""
    room, rack = _int_arg("room"), _int_arg("rack")
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
        page=_int_arg("page") or 1,
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
        "today": _today(),
        "warranty_state": warranty_state,
    }
    # Only the chosen room's racks: the page must not grow with the size of the site.
    context["racks"] = room_racks
    if _is_htmx():
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
    labels.update({"room_id": _("Room"), "rack_id": _("Rack")})
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
            return "; ".join(f"{k}: {v}" for k, v in value.items()) or "—"
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
    asset = _get(Asset, asset_id)
    today = _today()
    state, days = warranty_state(asset, today)
    return render_template(
        "assets/detail.html",
        asset=asset,
        addresses=queries.addresses_of_asset(asset.id),
        links=queries.links_of_asset(asset.id),
        warranty=(state, days),
        history=_history_rows(asset),
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
    form.rack_rooms = {str(k.id): str(k.room_id) for k in racks}  # type: ignore[attr-defined]


def _asset_data(asset: Asset) -> dict[str, Any]:
    data = {name: getattr(asset, name) for name in ASSET_TEXT_FIELDS}
    data.update(
        room=str(asset.room_id or ""),
        rack=str(asset.rack_id or ""),
        u_position=asset.u_position,
        u_height=asset.u_height,
        specs=format_specs(asset.specs),
    )
    if asset.line is not None:
        for name in AssetForm.LINE_FIELDS:
            data[name] = getattr(asset.line, name)
    return data


def _save_asset(form: AssetForm, asset: Asset | None) -> Asset:
    sess = db.session()
    values: dict[str, Any] = {name: getattr(form, name).data for name in ASSET_TEXT_FIELDS}
    values["specs"] = parse_specs(form.specs.data or "")
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
            if _commit_or_error(form, "asset_tag"):
                if asset is None:
                    flash(_("Asset %(tag)s registered.", tag=saved.asset_tag), "success")
                else:
                    flash(_("Asset %(tag)s saved.", tag=saved.asset_tag), "success")
                return redirect(url_for("assets.detail", asset_id=saved.id))
    return _form_page("assets/form.html", form, failed, asset=asset)


@bp.route("/new", methods=["GET", "POST"])
def create() -> Any:
    form = AssetForm()
    _location_choices(form)
    if request.method == "GET":
        if rack_id := _int_arg("rack"):
            rack = db.session().get(Rack, rack_id)
            if rack is not None:
                form.rack.data, form.room.data = str(rack.id), str(rack.room_id)
        form.u_position.data = _int_arg("u_position")
        if request.args.get("kind") in KIND_LABELS:
            form.kind.data = request.args["kind"]
    return _asset_form_page(form, None)


@bp.route("/<int:asset_id>/edit", methods=["GET", "POST"])
def edit(asset_id: int) -> Any:
    asset = _get(Asset, asset_id)
    form = AssetForm(data=_asset_data(asset)) if request.method == "GET" else AssetForm()
    _location_choices(form)
    return _asset_form_page(form, asset)


@bp.route("/<int:asset_id>/delete", methods=["GET", "POST"])
def delete(asset_id: int) -> Any:
    asset = _get(Asset, asset_id)
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


# --- locations: sites, rooms, racks ---------------------------------------------------------


@bp.route("/locations/")
def locations() -> Any:
    sites = queries.sites_with_rooms_and_racks()
    return render_template("assets/locations.html", sites=sites, usage=queries.rack_usage())


def _site_form_page(site: Site | None) -> Any:
    form = SiteForm(obj=site) if request.method == "GET" else SiteForm()
    failed = request.method == "POST"
    if form.validate_on_submit():
        values = {"name": form.name.data, "address": form.address.data, "notes": form.notes.data}
        try:
            site = services.save_site(values, site)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            if _commit_or_error(form, "name"):
                flash(_("Site %(name)s saved.", name=site.name), "success")
                return redirect(url_for("assets.locations"))
    title = _("Edit site") if site is not None else _("New site")
    return _form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/sites/new", methods=["GET", "POST"])
def site_create() -> Any:
    return _site_form_page(None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def site_edit(site_id: int) -> Any:
    return _site_form_page(_get(Site, site_id))


def _room_form_page(room: Room | None) -> Any:
    if request.method == "GET":
        form = RoomForm(obj=room, site=str(room.site_id) if room else request.args.get("site"))
    else:
        form = RoomForm()
    form.site.choices = choices([("", "—")] + [(str(s.id), s.name) for s in queries.all_sites()])
    failed = request.method == "POST"
    if form.validate_on_submit():
        values = {
            "site": db.session().get(Site, int(form.site.data)),
            "name": form.name.data,
            "floor": form.floor.data,
            "notes": form.notes.data,
        }
        try:
            room = services.save_room(values, room)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            if _commit_or_error(form, "name"):
                flash(_("Room %(name)s saved.", name=room.name), "success")
                return redirect(url_for("assets.locations"))
    title = _("Edit room") if room is not None else _("New room")
    return _form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/rooms/new", methods=["GET", "POST"])
def room_create() -> Any:
    return _room_form_page(None)


@bp.route("/rooms/<int:room_id>/edit", methods=["GET", "POST"])
def room_edit(room_id: int) -> Any:
    return _room_form_page(_get(Room, room_id))


def _rack_form_page(rack: Rack | None) -> Any:
    if request.method == "GET":
        form = RackForm(obj=rack, room=str(rack.room_id) if rack else request.args.get("room"))
    else:
        form = RackForm()
    form.room.choices = choices(
        [("", "—")] + [(str(r.id), f"{r.site.name} / {r.name}") for r in queries.all_rooms()]
    )
    failed = request.method == "POST"
    if form.validate_on_submit():
        values = {
            "room": db.session().get(Room, int(form.room.data)),
            "name": form.name.data,
            "u_height": int(form.u_height.data),
            "descending_units": bool(form.descending_units.data),
            "notes": form.notes.data,
        }
        try:
            rack = services.save_rack(values, rack)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            if _commit_or_error(form, "name"):
                flash(_("Rack %(name)s saved.", name=rack.name), "success")
                return redirect(url_for("assets.rack_detail", rack_id=rack.id))
    title = _("Edit rack") if rack is not None else _("New rack")
    return _form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/racks/new", methods=["GET", "POST"])
def rack_create() -> Any:
    return _rack_form_page(None)


@bp.route("/racks/<int:rack_id>/edit", methods=["GET", "POST"])
def rack_edit(rack_id: int) -> Any:
    return _rack_form_page(_get(Rack, rack_id))


@bp.route("/racks/<int:rack_id>")
def rack_detail(rack_id: int) -> Any:
    rack = _get(Rack, rack_id)
    slots = queries.rack_elevation_loaded(rack)
    if rack.descending_units:  # U1 at the top: draw lowest numbers first
        slots = list(reversed(slots))
    used, size = queries.rack_utilisation(rack)
    states = extensions.asset_states([s.asset.id for s in slots if s.asset is not None])
    return render_template(
        "assets/rack.html",
        rack=rack,
        slots=slots,
        states=states,
        unplaced=queries.rack_unplaced(rack),
        used=used,
        size=size,
    )


# --- prefixes and addresses -----------------------------------------------------------------


@bp.route("/prefixes/")
def prefixes() -> Any:
    rows = [(p, queries.prefix_utilisation(p)) for p in queries.list_prefixes()]
    return render_template("assets/prefixes.html", rows=rows)


def _prefix_form_page(prefix: Prefix | None) -> Any:
    if request.method == "GET":
        form = PrefixForm(obj=prefix, site=str(prefix.site_id or "") if prefix else "")
    else:
        form = PrefixForm()
    form.site.choices = choices([("", "—")] + [(str(s.id), s.name) for s in queries.all_sites()])
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        values = {
            "cidr": form.cidr.data or "",
            "vlan": form.vlan.data,
            "purpose": form.purpose.data or "",
            "gateway": (form.gateway.data or "").strip() or None,
            "notes": form.notes.data or "",
            "site": sess.get(Site, int(form.site.data)) if form.site.data else None,
        }
        try:
            saved = services.save_prefix(values, prefix)
            sess.flush()
        except ValidationFailed as exc:
            sess.rollback()
            form.form_errors = apply_errors(form, exc.errors)
        else:
            if _commit_or_error(form, "cidr"):
                flash(_("Prefix %(cidr)s saved.", cidr=saved.cidr), "success")
                return redirect(url_for("assets.prefix_detail", prefix_id=saved.id))
    title = _("Edit prefix") if prefix is not None else _("New prefix")
    return _form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/prefixes/new", methods=["GET", "POST"])
def prefix_create() -> Any:
    return _prefix_form_page(None)


@bp.route("/prefixes/<int:prefix_id>/edit", methods=["GET", "POST"])
def prefix_edit(prefix_id: int) -> Any:
    return _prefix_form_page(_get(Prefix, prefix_id))


@bp.route("/prefixes/<int:prefix_id>")
def prefix_detail(prefix_id: int) -> Any:
    prefix = _get(Prefix, prefix_id)
    return render_template(
        "assets/prefix.html",
        prefix=prefix,
        utilisation=queries.prefix_utilisation(prefix),
        free=list(queries.free_ranges(prefix, limit=20)),
        next_free=queries.next_free_address(prefix),
        addresses=queries.prefix_addresses(prefix, page=_int_arg("page") or 1),
    )


def _address_form_page(prefix: Prefix, address: IPAddress | None) -> Any:
    if request.method == "GET":
        initial = {}
        if address is not None:
            initial["asset"] = address.asset.asset_tag if address.asset else ""
        else:
            wanted = request.args.get("address", "").strip()
            initial["address"] = wanted or queries.next_free_address(prefix) or ""
        form = AddressForm(obj=address, **initial)
    else:
        form = AddressForm()
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        tag = (form.asset.data or "").strip()
        asset = queries.asset_by_tag(tag) if tag else None
        if tag and asset is None:
            apply_errors(form, {"asset": [_("No asset has the tag %(tag)s.", tag=tag)]})
        else:
            values = {
                "address": form.address.data or "",
                "prefix": prefix,
                "status": form.status.data,
                "asset": asset,
                "interface": form.interface.data or "",
                "hostname": form.hostname.data or "",
                "mac": form.mac.data or None,
                "notes": form.notes.data or "",
            }
            try:
                services.save_address(values, address)
                sess.flush()
            except ValidationFailed as exc:
                sess.rollback()
                form.form_errors = apply_errors(form, exc.errors)
            else:
                if _commit_or_error(form, "address"):
                    flash(_("Address %(ip)s saved.", ip=values["address"].strip()), "success")
                    return redirect(url_for("assets.prefix_detail", prefix_id=prefix.id))
    title = (
        _("Edit address in %(cidr)s", cidr=prefix.cidr)
        if address is not None
        else _("New address in %(cidr)s", cidr=prefix.cidr)
    )
    back = url_for("assets.prefix_detail", prefix_id=prefix.id)
    return _form_page("assets/simple_form.html", form, failed, title=title, back=back)


@bp.route("/prefixes/<int:prefix_id>/addresses/new", methods=["GET", "POST"])
def address_create(prefix_id: int) -> Any:
    return _address_form_page(_get(Prefix, prefix_id), None)


@bp.route("/addresses/<int:address_id>/edit", methods=["GET", "POST"])
def address_edit(address_id: int) -> Any:
    address = _get(IPAddress, address_id)
    return _address_form_page(address.prefix, address)


# --- links ----------------------------------------------------------------------------------


@bp.route("/links/")
def links() -> Any:
    q = request.args.get("q", "").strip()[:100]
    result = queries.list_links(page=_int_arg("page") or 1, per_page=PER_PAGE, q=q)
    return render_template("assets/links.html", result=result, q=q)


@bp.route("/links/new", methods=["GET", "POST"])
def link_create() -> Any:
    if request.method == "GET":
        form = LinkForm(a_asset=request.args.get("a_asset", ""))
    else:
        form = LinkForm()
    failed = request.method == "POST"
    if form.validate_on_submit():
        sess = db.session()
        ends: dict[str, Asset | None] = {}
        errors: dict[str, list[str]] = {}
        for field in ("a_asset", "b_asset"):
            tag = (getattr(form, field).data or "").strip()
            ends[field] = queries.asset_by_tag(tag)
            if ends[field] is None:
                errors[field] = [_("No asset has the tag %(tag)s.", tag=tag)]
        if errors:
            apply_errors(form, errors)
        else:
            try:
                services.save_link(
                    ends["a_asset"],  # type: ignore[arg-type]
                    form.a_port.data or "",
                    ends["b_asset"],  # type: ignore[arg-type]
                    form.b_port.data or "",
                    medium=form.medium.data or "",
                    notes=form.notes.data or "",
                )
                sess.flush()
            except ValidationFailed as exc:
                sess.rollback()
                form.form_errors = apply_errors(form, exc.errors)
            else:
                if _commit_or_error(form, "a_port"):
                    flash(_("Link saved."), "success")
                    return redirect(url_for("assets.links"))
    return _form_page(
        "assets/simple_form.html", form, failed, title=_("New link"), back=url_for("assets.links")
    )


# --- warranty reminders ---------------------------------------------------------------------


@bp.route("/warranty")
def warranty() -> Any:
    today = _today()
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
        return url_for("assets.warranty", sort=key, dir=flip, **({"state": state} if state else {}))

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
