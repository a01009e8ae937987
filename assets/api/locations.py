"""Sites, rooms and racks in the API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.api.common import (
    ID,
    NOTES,
    PAGING,
    bp,
    declare_operations,
    item_routes,
    list_args,
    page_of,
    ref_field,
    saver,
    text_field,
)
from assets.models import (
    Rack,
    Room,
    Site,
)
from opskit.openapi import Field, ObjectSchema

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


item_routes("site", "/sites", "site_id", SITE, Site, saver(services.save_site))


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
ROOM_REFS = {"site_id": ("site", Site)}
declare_operations("room", "rooms", "/api/v1/rooms", "room_id", ROOM, ROOM_FILTERS)


@bp.get("/rooms")
def list_rooms() -> Any:
    args = list_args((*PAGING, *ROOM_FILTERS))
    stmt = select(Room).options(joinedload(Room.site))
    if "site_id" in args:
        stmt = stmt.where(Room.site_id == args["site_id"])
    return page_of(stmt, (Room.name, Room.id), ROOM, args)


item_routes("room", "/rooms", "room_id", ROOM, Room, saver(services.save_room, ROOM_REFS))


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
        Field("power_a_watts", "integer", nullable=True, minimum=1, maximum=1_000_000),
        Field("power_b_watts", "integer", nullable=True, minimum=1, maximum=1_000_000),
        NOTES,
        Field("used_units", "integer", read_only=True, get=_used_units),
    ],
    "A rack (机柜) of u_height units.",
)
RACK_FILTERS = (ref_field("room_id"),)
RACK_REFS = {"room_id": ("room", Room)}
declare_operations("rack", "racks", "/api/v1/racks", "rack_id", RACK, RACK_FILTERS)


@bp.get("/racks")
def list_racks() -> Any:
    args = list_args((*PAGING, *RACK_FILTERS))
    stmt = select(Rack).options(joinedload(Rack.room).joinedload(Room.site))
    if "room_id" in args:
        stmt = stmt.where(Rack.room_id == args["room_id"])
    return page_of(stmt, (Rack.name, Rack.id), RACK, args)


item_routes("rack", "/racks", "rack_id", RACK, Rack, saver(services.save_rack, RACK_REFS))
