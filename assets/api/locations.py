"""Sites, rooms and racks in the API."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.api.common import (
    ID,
    NOTES,
    PAGING,
    bp,
    created,
    declare_operations,
    get_or_404,
    list_args,
    lookup,
    page_of,
    parse_body,
    ref_field,
    renamed,
    text_field,
    updated,
)
from assets.models import (
    Rack,
    Room,
    Site,
)
from opskit import db
from opskit.openapi import Field, ObjectSchema
from opskit.validation import ValidationFailed

# --- sites ----------------------------------------------------------------------------------

SITE = ObjectSchema(
    "Site",
    [
        ID,
        text_field("name", 100, required=True, min_length=1, example="总部"),
        text_field("address", 255),
        NOTES,
    ],
    "A customer site (a building or campus).",
)
declare_operations("site", "sites", "/api/v1/sites", "site_id", SITE, ())


@bp.get("/sites")
def list_sites() -> Any:
    args = list_args(PAGING)
    return page_of(select(Site), (Site.name, Site.id), SITE, args)


@bp.get("/sites/<int:site_id>")
def get_site(site_id: int) -> Any:
    return jsonify(SITE.dump(get_or_404(Site, site_id)))


def _save_site(values: dict[str, Any], site: Site | None = None) -> Site:
    saved = services.save_site(values, site)
    db.session().flush()
    return saved


@bp.post("/sites")
def create_site() -> Any:
    site = _save_site(parse_body(SITE, partial=False))
    return created(SITE, site, "assets_api.get_site", site_id=site.id)


@bp.patch("/sites/<int:site_id>")
def update_site(site_id: int) -> Any:
    site = get_or_404(Site, site_id)
    return updated(SITE, _save_site(parse_body(SITE, partial=True), site))


# --- rooms ----------------------------------------------------------------------------------

ROOM = ObjectSchema(
    "Room",
    [
        ID,
        ref_field("site_id", required=True),
        text_field("site", read_only=True, get=lambda r: r.site.name),
        text_field("name", 100, required=True, min_length=1, example="A机房"),
        text_field("floor", 32),
        NOTES,
    ],
    "A machine room (机房) inside a site.",
)
ROOM_FILTERS = (ref_field("site_id"),)
declare_operations("room", "rooms", "/api/v1/rooms", "room_id", ROOM, ROOM_FILTERS)


@bp.get("/rooms")
def list_rooms() -> Any:
    args = list_args((*PAGING, *ROOM_FILTERS))
    stmt = select(Room).options(joinedload(Room.site))
    if "site_id" in args:
        stmt = stmt.where(Room.site_id == args["site_id"])
    return page_of(stmt, (Room.name, Room.id), ROOM, args)


@bp.get("/rooms/<int:room_id>")
def get_room(room_id: int) -> Any:
    return jsonify(ROOM.dump(get_or_404(Room, room_id)))


def _save_room(values: dict[str, Any], room: Room | None = None) -> Room:
    data = dict(values)
    if "site_id" in data:
        data["site"] = lookup(Site, data.pop("site_id"), "site_id")
    try:
        saved = services.save_room(data, room)
        db.session().flush()
    except ValidationFailed as exc:
        raise renamed(exc, {"site": "site_id"}) from None
    return saved


@bp.post("/rooms")
def create_room() -> Any:
    room = _save_room(parse_body(ROOM, partial=False))
    return created(ROOM, room, "assets_api.get_room", room_id=room.id)


@bp.patch("/rooms/<int:room_id>")
def update_room(room_id: int) -> Any:
    room = get_or_404(Room, room_id)
    return updated(ROOM, _save_room(parse_body(ROOM, partial=True), room))


# --- racks ----------------------------------------------------------------------------------


def _used_units(rack: Rack) -> int:
    return queries.rack_utilisation(rack)[0]


RACK = ObjectSchema(
    "Rack",
    [
        ID,
        ref_field("room_id", required=True),
        text_field("room", read_only=True, get=lambda r: r.room.name),
        Field("site_id", "integer", read_only=True, get=lambda r: r.room.site_id),
        text_field("site", read_only=True, get=lambda r: r.room.site.name),
        text_field("name", 100, required=True, min_length=1, example="A01"),
        Field("u_height", "integer", minimum=1, maximum=60, example=42),
        Field("descending_units", "boolean"),
        NOTES,
        Field("used_units", "integer", read_only=True, get=_used_units),
    ],
    "A rack (机柜) of u_height units.",
)
RACK_FILTERS = (ref_field("room_id"),)
declare_operations("rack", "racks", "/api/v1/racks", "rack_id", RACK, RACK_FILTERS)


@bp.get("/racks")
def list_racks() -> Any:
    args = list_args((*PAGING, *RACK_FILTERS))
    stmt = select(Rack).options(joinedload(Rack.room).joinedload(Room.site))
    if "room_id" in args:
        stmt = stmt.where(Rack.room_id == args["room_id"])
    return page_of(stmt, (Rack.name, Rack.id), RACK, args)


@bp.get("/racks/<int:rack_id>")
def get_rack(rack_id: int) -> Any:
    return jsonify(RACK.dump(get_or_404(Rack, rack_id)))


def _save_rack(values: dict[str, Any], rack: Rack | None = None) -> Rack:
    data = dict(values)
    if "room_id" in data:
        data["room"] = lookup(Room, data.pop("room_id"), "room_id")
    try:
        saved = services.save_rack(data, rack)
        db.session().flush()
    except ValidationFailed as exc:
        raise renamed(exc, {"room": "room_id"}) from None
    return saved


@bp.post("/racks")
def create_rack() -> Any:
    rack = _save_rack(parse_body(RACK, partial=False))
    return created(RACK, rack, "assets_api.get_rack", rack_id=rack.id)


@bp.patch("/racks/<int:rack_id>")
def update_rack(rack_id: int) -> Any:
    rack = get_or_404(Rack, rack_id)
    return updated(RACK, _save_rack(parse_body(RACK, partial=True), rack))
