"""Which site a plan that names none is fitted in (``assets.plan.fit``).

The capacity model reads measurements (PDU percentiles, switch port states and traffic) per
site, so fitting in every site costs as much as every site's readings. A plan naming a room or
a rack to be near is fitted in that room's site. A plan naming nothing is fitted in one site,
chosen first from the registry alone (no readings): the site with a room whose free rack units
(neither occupied nor held by a live reservation) in racks with a power rating can take every
device (contiguous runs, largest device first), the most such free units first, then by name.
When no site passes, every site is fitted, so the answer says why each rack is refused.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from assets import capacity
from assets.capacity import Capacity, RackCapacity
from assets.models import Rack, RackUnit, Room, Site
from assets.plan_request import Request
from assets.services import reservations
from opskit import clock, db


def site_of(request: Request, now: datetime | None = None) -> tuple[int | None, bool]:
    """(the site to fit ``request`` in, whether it was chosen here); (None, False): every
    site."""
    if request.site_id is not None:
        return request.site_id, False
    sess = db.session()
    if request.room_id is not None:
        return sess.scalar(select(Room.site_id).where(Room.id == request.room_id)), False
    if request.near is not None:
        return sess.scalar(
            select(Room.site_id).join(Rack, Rack.room_id == Room.id).where(Rack.id == request.near)
        ), False
    chosen = _roomiest(request, now or clock.now())
    return chosen, chosen is not None


def load(request: Request, now: datetime | None = None) -> tuple[Capacity, bool]:
    """(the capacity model of the request's scope, whether its site was chosen here)."""
    site_id, chosen = site_of(request, now)
    return capacity.load(site_id, request.room_id, now, request.days), chosen


def _roomiest(request: Request, now: datetime) -> int | None:
    """The site with the most free rated units in a room that can take every device."""
    sess = db.session()
    racks: dict[int, RackCapacity] = {}
    where: dict[int, tuple[int, str, int]] = {}  # rack → (site, site name, room)
    for rack_id, height, rated, room_id, site_id, site in sess.execute(
        select(Rack.id, Rack.u_height, Rack.power_a_watts, Rack.room_id, Room.site_id, Site.name)
        .join(Room, Room.id == Rack.room_id)
        .join(Site, Site.id == Room.site_id)
        .where(Rack.power_a_watts.is_not(None))
    ):
        racks[rack_id] = RackCapacity(rack_id, "", room_id, height, set(), rated, None)
        where[rack_id] = (site_id, site, room_id)
    for rack_id, unit in sess.execute(select(RackUnit.rack_id, RackUnit.unit)):
        if rack_id in racks:
            racks[rack_id].used.add(unit)
    for rack_id, units in reservations.held(now)["units"].items():
        if rack_id in racks:
            racks[rack_id].used |= units
    runs_by_room: dict[int, list[int]] = {}
    free_by_site: dict[int, int] = {}
    for rack_id, rack in racks.items():
        site_id, _name, room_id = where[rack_id]
        runs = [last - first + 1 for first, last in rack.free_runs()]
        runs_by_room.setdefault(room_id, []).extend(runs)
        free_by_site[site_id] = free_by_site.get(site_id, 0) + sum(runs)
    heights = sorted((d.u for d in request.devices), reverse=True)
    fitting = {site for site, _name, room in where.values() if _takes(runs_by_room[room], heights)}
    names = {site_id: name for site_id, name, _room in where.values()}
    best = sorted(fitting, key=lambda s: (-free_by_site[s], names[s]))
    return best[0] if best else None


def _takes(runs: list[int], heights: list[int]) -> bool:
    """Whether runs of free units of these lengths take devices of these heights (each in the
    smallest run that holds it, the tallest first)."""
    free = sorted(runs)
    for height in heights:
        for i, length in enumerate(free):
            if length >= height:
                free[i] = length - height
                free.sort()
                break
        else:
            return False
    return True
