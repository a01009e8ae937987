"""Sites, rooms and racks in the API."""

from __future__ import annotations

from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AliasPath, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.api.common import Notes, bp, item_routes
from assets.models import Rack, Room, Site
from opskit import openapi
from opskit.apischema import Id, Input, Name, Output, Page, Paging, Text, partial
from opskit.jsonapi import paginate, saver
from opskit.openapi import operation

openapi.tag("sites", _l("Sites"))
openapi.tag("rooms", _l("Rooms"))
openapi.tag("racks", _l("Racks and their units"))

# --- sites ----------------------------------------------------------------------------------


class SiteCreate(Input):
    """A customer site (a building or campus)."""

    name: Annotated[Name, Field(max_length=100, examples=["总部"])]
    address: Annotated[Text, Field(max_length=255)] = ""
    notes: Notes = ""


class SiteOut(Output):
    """A customer site (a building or campus)."""

    id: int
    name: str
    address: str
    notes: str


@operation(
    bp, "GET", "/sites", query=Paging, response=Page[SiteOut], tag="sites", summary=_l("List sites")
)
def list_sites(query: Paging) -> Any:
    return paginate(select(Site), (Site.name, Site.id), query)


item_routes(
    "site",
    _l("site"),
    "sites",
    "/sites",
    Site,
    SiteOut,
    SiteCreate,
    saver(services.save_site),
    patch=partial(SiteCreate),
)


# --- rooms ----------------------------------------------------------------------------------


class RoomCreate(Input):
    """A machine room (机房) inside a site."""

    site_id: Id
    name: Annotated[Name, Field(max_length=100, examples=["A机房"])]
    floor: Annotated[Text, Field(max_length=32)] = ""
    notes: Notes = ""


class RoomOut(Output):
    """A machine room (机房) inside a site."""

    id: int
    site_id: int
    site: str = Field(validation_alias=AliasPath("site", "name"))
    name: str
    floor: str
    notes: str


class RoomFilter(Paging):
    site_id: Id | None = None


@operation(
    bp,
    "GET",
    "/rooms",
    query=RoomFilter,
    response=Page[RoomOut],
    tag="rooms",
    summary=_l("List rooms"),
)
def list_rooms(query: RoomFilter) -> Any:
    stmt = select(Room).options(joinedload(Room.site))
    if query.site_id is not None:
        stmt = stmt.where(Room.site_id == query.site_id)
    return paginate(stmt, (Room.name, Room.id), query)


item_routes(
    "room",
    _l("room"),
    "rooms",
    "/rooms",
    Room,
    RoomOut,
    RoomCreate,
    saver(services.save_room, {"site_id": ("site", Site)}),
    patch=partial(RoomCreate),
)


# --- racks ----------------------------------------------------------------------------------

Watts = Annotated[int, Field(ge=1, le=1_000_000)]


class RackCreate(Input):
    """A rack (机柜) of u_height units."""

    room_id: Id
    name: Annotated[Name, Field(max_length=100, examples=["A01"])]
    u_height: Annotated[int, Field(ge=1, le=60, examples=[42])] = 42
    descending_units: bool = False
    power_a_watts: Watts | None = None
    power_b_watts: Watts | None = None
    notes: Notes = ""


class RackOut(Output):
    """A rack (机柜) of u_height units; ``used_units`` are taken by assets."""

    id: int
    room_id: int
    room: str = Field(validation_alias=AliasPath("room", "name"))
    site_id: int = Field(validation_alias=AliasPath("room", "site_id"))
    site: str = Field(validation_alias=AliasPath("room", "site", "name"))
    name: str
    u_height: int
    descending_units: bool
    power_a_watts: int | None
    power_b_watts: int | None
    notes: str
    used_units: int


class RackRow:
    """A rack as the API shows it: its columns and the units in use."""

    def __init__(self, rack: Rack) -> None:
        self.rack = rack
        self.used_units = queries.rack_utilisation(rack)[0]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rack, name)


class RackFilter(Paging):
    room_id: Id | None = None


@operation(
    bp,
    "GET",
    "/racks",
    query=RackFilter,
    response=Page[RackOut],
    tag="racks",
    summary=_l("List racks"),
)
def list_racks(query: RackFilter) -> Any:
    stmt = select(Rack).options(joinedload(Rack.room).joinedload(Room.site))
    if query.room_id is not None:
        stmt = stmt.where(Rack.room_id == query.room_id)
    return paginate(stmt, (Rack.name, Rack.id), query, lambda racks: [RackRow(r) for r in racks])


item_routes(
    "rack",
    _l("rack"),
    "racks",
    "/racks",
    Rack,
    RackOut,
    RackCreate,
    saver(services.save_rack, {"room_id": ("room", Room)}),
    patch=partial(RackCreate),
    shown=RackRow,
)
