"""Sites, rooms and racks: the locations page, their forms, and a rack's elevation."""

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

from assets import extensions, queries, services
from assets.forms import (
    RackForm,
    RoomForm,
    SiteForm,
    apply_errors,
    choices,
)
from assets.models import Rack, Room, Site
from assets.views.common import (
    bp,
    commit_or_error,
    form_page,
    get_or_404,
)
from opskit import db
from opskit.validation import ValidationFailed

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
            if commit_or_error(form, "name"):
                flash(_("Site %(name)s saved.", name=site.name), "success")
                return redirect(url_for("assets.locations"))
    title = _("Edit site") if site is not None else _("New site")
    return form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/sites/new", methods=["GET", "POST"])
def site_create() -> Any:
    return _site_form_page(None)


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
def site_edit(site_id: int) -> Any:
    return _site_form_page(get_or_404(Site, site_id))


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
            if commit_or_error(form, "name"):
                flash(_("Room %(name)s saved.", name=room.name), "success")
                return redirect(url_for("assets.locations"))
    title = _("Edit room") if room is not None else _("New room")
    return form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/rooms/new", methods=["GET", "POST"])
def room_create() -> Any:
    return _room_form_page(None)


@bp.route("/rooms/<int:room_id>/edit", methods=["GET", "POST"])
def room_edit(room_id: int) -> Any:
    return _room_form_page(get_or_404(Room, room_id))


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
            "u_height": int(form.u_height.data or 0),  # DataRequired: a whole number >= 1
            "descending_units": bool(form.descending_units.data),
            "power_a_watts": form.power_a_watts.data,
            "power_b_watts": form.power_b_watts.data,
            "notes": form.notes.data,
        }
        try:
            rack = services.save_rack(values, rack)
        except ValidationFailed as exc:
            apply_errors(form, exc.errors)
        else:
            if commit_or_error(form, "name"):
                flash(_("Rack %(name)s saved.", name=rack.name), "success")
                return redirect(url_for("assets.rack_detail", rack_id=rack.id))
    title = _("Edit rack") if rack is not None else _("New rack")
    return form_page("assets/simple_form.html", form, failed, title=title)


@bp.route("/racks/new", methods=["GET", "POST"])
def rack_create() -> Any:
    return _rack_form_page(None)


@bp.route("/racks/<int:rack_id>/edit", methods=["GET", "POST"])
def rack_edit(rack_id: int) -> Any:
    return _rack_form_page(get_or_404(Rack, rack_id))


@bp.route("/racks/<int:rack_id>")
def rack_detail(rack_id: int) -> Any:
    rack = get_or_404(Rack, rack_id)
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
