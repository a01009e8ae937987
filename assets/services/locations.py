"""Sites, rooms and racks: found or created by name (the importer), saved from forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from assets.models import (
    Rack,
    RackUnit,
    Room,
    Site,
)
from opskit import db
from opskit.validation import ValidationFailed

DEFAULT_RACK_HEIGHT = 42


def get_or_create_site(name: str) -> tuple[Site, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("site", _("A site name is required."))
    sess = db.session()
    site = sess.scalar(select(Site).where(Site.name == name))
    if site is not None:
        return site, False
    site = Site(name=name)
    sess.add(site)
    return site, True


def get_or_create_room(site: Site, name: str) -> tuple[Room, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("room", _("A room name is required."))
    sess = db.session()
    room = None
    if site.id is not None:
        room = sess.scalar(select(Room).where(Room.site_id == site.id, Room.name == name))
    if room is not None:
        return room, False
    room = Room(site=site, name=name)
    sess.add(room)
    return room, True


def get_or_create_rack(room: Room, name: str, u_height: int | None = None) -> tuple[Rack, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("rack", _("A rack name is required."))
    sess = db.session()
    rack = None
    if room.id is not None:
        rack = sess.scalar(select(Rack).where(Rack.room_id == room.id, Rack.name == name))
    if rack is not None:
        return rack, False
    height = u_height or DEFAULT_RACK_HEIGHT
    if not 1 <= height <= 60:
        raise ValidationFailed.one("u_height", _("A rack is 1 to 60 U high."))
    rack = Rack(room=room, name=name, u_height=height)
    sess.add(rack)
    return rack, True


def save_site(values: Mapping[str, Any], site: Site | None = None) -> Site:
    """Create or update a site: ``name`` (unique), ``address``, ``notes``."""
    sess = db.session()
    name = str(values.get("name", site.name if site else "") or "").strip()
    if not name:
        raise ValidationFailed.one("name", _("A site name is required."))
    clash = sess.scalar(select(Site.id).where(Site.name == name))
    if clash is not None and (site is None or clash != site.id):
        raise ValidationFailed.one("name", _("Site %(name)s already exists.", name=name))
    if site is None:
        site = Site(name=name, address="", notes="")
        sess.add(site)
    site.name = name
    for key in ("address", "notes"):
        if key in values:
            setattr(site, key, str(values[key] or "").strip())
    return site


def save_room(values: Mapping[str, Any], room: Room | None = None) -> Room:
    """Create or update a room: ``site`` (a Site), ``name`` (unique in the site), ``floor``,
    ``notes``."""
    sess = db.session()
    site: Site | None = values.get("site", room.site if room else None)
    if site is None:
        raise ValidationFailed.one("site", _("A site is required."))
    name = str(values.get("name", room.name if room else "") or "").strip()
    if not name:
        raise ValidationFailed.one("name", _("A room name is required."))
    clash = sess.scalar(select(Room.id).where(Room.site_id == site.id, Room.name == name))
    if clash is not None and (room is None or clash != room.id):
        raise ValidationFailed.one(
            "name", _("Room %(name)s already exists in %(site)s.", name=name, site=site.name)
        )
    if room is None:
        room = Room(floor="", notes="")
        sess.add(room)
    room.site, room.name = site, name
    for key in ("floor", "notes"):
        if key in values:
            setattr(room, key, str(values[key] or "").strip())
    return room


def save_rack(values: Mapping[str, Any], rack: Rack | None = None) -> Rack:
    """Create or update a rack: ``room`` (a Room), ``name`` (unique in the room),
    ``u_height`` (1-60, not below a unit in use), ``descending_units``, ``notes``, and the
    rated watts of its feeds ``power_a_watts`` / ``power_b_watts`` (whole, above 0, B only
    with A; None: not known). Moving a rack to another room moves its assets with it."""
    sess = db.session()
    errors: dict[str, list[str]] = {}
    room: Room | None = values.get("room", rack.room if rack else None)
    if room is None:
        raise ValidationFailed.one("room", _("A room is required."))
    name = str(values.get("name", rack.name if rack else "") or "").strip()
    if not name:
        errors["name"] = [_("A rack name is required.")]
    else:
        clash = sess.scalar(select(Rack.id).where(Rack.room_id == room.id, Rack.name == name))
        if clash is not None and (rack is None or clash != rack.id):
            errors["name"] = [
                _("Rack %(name)s already exists in %(room)s.", name=name, room=room.name)
            ]
    height = values.get("u_height", rack.u_height if rack else DEFAULT_RACK_HEIGHT)
    height = DEFAULT_RACK_HEIGHT if height is None else height
    if not isinstance(height, int) or not 1 <= height <= 60:
        errors["u_height"] = [_("A rack is 1 to 60 U high.")]
    elif rack is not None:
        top = sess.scalar(select(func.max(RackUnit.unit)).where(RackUnit.rack_id == rack.id))
        if top is not None and top > height:
            errors["u_height"] = [
                _("U%(unit)d is in use: the rack needs at least %(unit)d U.", unit=top)
            ]
    power = {}
    for key in ("power_a_watts", "power_b_watts"):
        value = values.get(key, getattr(rack, key) if rack else None)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 1_000_000
        ):
            errors[key] = [_("The rated power is a whole number of watts above 0.")]
        power[key] = value
    if power["power_b_watts"] is not None and power["power_a_watts"] is None:
        errors.setdefault("power_a_watts", []).append(
            _("A rack with a feed B needs the rating of its feed A.")
        )
    if errors:
        raise ValidationFailed(errors)
    if rack is None:
        rack = Rack(notes="", descending_units=False)
        sess.add(rack)
    elif rack.room is not room:
        for asset in rack.assets:  # the assets move with their rack
            asset.room = room
    rack.room, rack.name, rack.u_height = room, name, height
    rack.power_a_watts, rack.power_b_watts = power["power_a_watts"], power["power_b_watts"]
    if "descending_units" in values:
        rack.descending_units = bool(values["descending_units"])
    if "notes" in values:
        rack.notes = str(values["notes"] or "").strip()
    return rack
