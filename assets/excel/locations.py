"""The sites, rooms and racks an import's rows name: found by name (full-width characters, case
and runs of spaces do not matter) or created, their ids remembered by name across batches."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from assets import services
from assets.excel.columns import name_key
from assets.excel.result import ImportResult
from assets.excel.sheets import ImportSheet
from assets.models import Rack, Room, Site

RACK_CACHE = 5000  # rack names remembered (by room); past it the cache starts over
LOCATIONS = (Site, Room, Rack)  # kept in the session across batches (see Importer.end_batch)


class Misplaced(Exception):
    """A row's location cannot be used: the column to blame and why."""

    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


class Locations:
    """Sites, rooms and racks by name; those a row names but the registry lacks are created
    (and listed in the import's summary)."""

    def __init__(self, sess: Session, result: ImportResult) -> None:
        self.sess = sess
        self.result = result
        self.sites: dict[str, int] = {}
        self.rooms: dict[tuple[str, str], int] = {}
        self.racks: dict[tuple[str, str, str], int] = {}
        self.rack_rooms: set[int] = set()  # rooms whose racks are all in self.racks

    def preload(self) -> None:
        sess = self.sess
        site_keys: dict[int, str] = {}
        for site_id, name in sess.execute(select(Site.id, Site.name).order_by(Site.id)):
            self.sites.setdefault(name_key(name), site_id)
            site_keys[site_id] = name_key(name)
        for room_id, site_id, name in sess.execute(
            select(Room.id, Room.site_id, Room.name).order_by(Room.id)
        ):
            if site_id in site_keys:
                self.rooms.setdefault((site_keys[site_id], name_key(name)), room_id)

    def site(self, name: str) -> Site:
        key = name_key(name)
        site_id = self.sites.get(key)
        if site_id is not None:
            return self.sess.get_one(Site, site_id)
        site, _created = services.get_or_create_site(name)
        self.sess.flush()
        self.sites[key] = site.id
        self.result.created_location(_("New site: %(name)s", name=site.name))
        return site

    def room(self, site: Site, name: str) -> Room:
        key = (name_key(site.name), name_key(name))
        room_id = self.rooms.get(key)
        if room_id is not None:
            return self.sess.get_one(Room, room_id)
        room, _created = services.get_or_create_room(site, name)
        self.sess.flush()
        self.rooms[key] = room.id
        self.result.created_location(
            _("New room: %(site)s / %(name)s", site=site.name, name=room.name)
        )
        return room

    def rack(self, room: Room, name: str, height: int | None) -> Rack:
        room_key = (name_key(room.site.name), name_key(room.name))
        key = (*room_key, name_key(name))
        rack_id = self.racks.get(key)
        if rack_id is None and room.id not in self.rack_rooms:
            if len(self.racks) > RACK_CACHE:
                self.racks.clear()
                self.rack_rooms.clear()
            for found_id, found_name in self.sess.execute(
                select(Rack.id, Rack.name).where(Rack.room_id == room.id).order_by(Rack.id)
            ):
                self.racks.setdefault((*room_key, name_key(found_name)), found_id)
            self.rack_rooms.add(room.id)
            rack_id = self.racks.get(key)
        if rack_id is not None:
            return self.sess.get_one(Rack, rack_id)
        rack, _created = services.get_or_create_rack(room, name, height)
        self.sess.flush()
        self.racks[key] = rack.id
        self.result.created_location(
            _(
                "New rack: %(site)s / %(room)s / %(name)s (%(height)d U)",
                site=room.site.name,
                room=room.name,
                name=rack.name,
                height=rack.u_height,
            )
        )
        return rack

    def locate(self, sheet: ImportSheet, values: dict[str, Any]) -> tuple[Room | None, Rack | None]:
        """The room and rack of a row (None, None when it names none); raises Misplaced."""
        v = values
        site_name, room_name, rack_name = v.get("site", ""), v.get("room", ""), v.get("rack", "")
        if not (site_name or room_name or rack_name):
            return None, None
        if not room_name:
            raise Misplaced(
                "room" if sheet.has("room") else ("rack" if rack_name else "site"),
                _("name the room (机房) as well"),
            )
        if not site_name:
            candidates = [r for k, r in self.rooms.items() if k[1] == name_key(room_name)]
            if len(candidates) == 1:
                site = self.sess.get_one(Room, candidates[0]).site
            elif not candidates and len(self.sites) == 1:
                site = self.sess.get_one(Site, next(iter(self.sites.values())))
            else:
                raise Misplaced("room", _("name the site (站点) of this room as well"))
        else:
            site = self.site(site_name)
        room = self.room(site, room_name)
        if not rack_name:
            if v.get("rack_u_height") is not None:
                raise Misplaced("rack_u_height", _("a rack height needs a rack (机柜)"))
            return room, None
        height = v.get("rack_u_height")
        if height is not None and not 1 <= height <= 60:
            raise Misplaced("rack_u_height", _("A rack is 1 to 60 U high."))
        rack = self.rack(room, rack_name, height)
        if height is not None and rack.u_height != height:
            raise Misplaced(
                "rack_u_height",
                _(
                    "rack %(rack)s is %(height)d U high; change the rack itself to change it",
                    rack=rack.name,
                    height=rack.u_height,
                ),
            )
        return room, rack
