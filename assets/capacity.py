"""The capacity model: what each rack and room of the registry has left (容量).

Per **rack**:

- **Units**: the free contiguous runs of units (``free_runs``: (first, last), lowest first,
  numbered as the registry numbers them, ``RackUnit.unit``); a unit a reservation holds
  (``assets.services.reservations``, not expired) is not free.
- **Power**: the rated watts of feed A and feed B (``Rack.power_a_watts`` / ``power_b_watts``)
  against the rack's draw, which is, in this order: *measured*, the sum of the 95th percentiles
  of its PDUs' hourly power over the window (``assets.extensions.power_draw``, from
  ``monitors``), when every PDU of the rack has readings; else *nameplate*, the sum of its
  assets' ``power_watts`` spec; else, for an asset without one, the stated default of its kind
  (``capacity.yaml``: the rack's draw is then *estimated*); plus the planned watts of the
  devices reservations hold in it. Retired and spare assets draw nothing. **Redundancy**: with
  two feeds either may fail, so the whole draw must fit on each feed alone; a feed may carry at
  most ``limit_percent`` (80 %) of its rating.

Per **room**:

- **Cooling**: the ``cooling_watts`` spec of its in-service precision air conditioners, against
  the room's IT load (the sum of its racks' draw), at most ``limit_percent`` of the capacity;
  unknown (not checked) when no air conditioner states its capacity.
- **Temperature**: the trend of its probes' readings against its upper normal limit
  (``assets.room_temperature``: the p95 of the window, its headroom and slope), shown beside
  the watts as the cooling headroom the room actually has.
- **Ports**: the free ports of its switches: an interface the monitors saw ``down`` (operational
  state) and not administratively down, with no registered link on it and no traffic in the
  window (``assets.extensions.port_states``), counted by speed (the speed read by the monitors,
  else from the interface's name, ``capacity.yaml``); a port a reservation holds is not free.

**IP space** is the registry's own utilisation and next-free logic (``assets.queries``), less
the addresses reservations hold.

Everything is read for the racks in scope (a site, a room, or all) in a fixed number of queries
plus the PDUs' percentiles, so a plan for one site does not read the others.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from assets import extensions, room_temperature
from assets.models import Asset, AssetKind, AssetStatus, Link, Rack, RackUnit, Room, Site
from assets.services import reservations
from opskit import clock, db
from opskit.rulefiles import load_yaml

NOT_DRAWING = (AssetStatus.RETIRED.value, AssetStatus.SPARE.value)
MEASURED, NAMEPLATE, ESTIMATED = "measured", "nameplate", "estimated"
#: the words of where a rack's draw comes from
LOAD_SOURCES = {
    MEASURED: _l("measured (95th percentile of the PDUs)"),
    NAMEPLATE: _l("nameplate"),
    ESTIMATED: _l("estimated (default per kind)"),
}


@functools.cache
def settings() -> dict[str, Any]:
    """The stated figures of ``capacity.yaml``."""
    text = resources.files("assets").joinpath("capacity.yaml").read_text(encoding="utf-8")
    data: dict[str, Any] = load_yaml(text)  # libyaml when available (a report pack reads it)
    return data


def _fold(name: str) -> str:
    return re.sub(r"[\s\-_]+", "", name).lower()


def speed_word(bps: float) -> str:
    """``10000000000`` → ``10G``; ``100000000`` → ``100M``."""
    if bps >= 1e9:
        return f"{bps / 1e9:g}G"
    return f"{bps / 1e6:g}M"


_SPEED = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(g|m)(?:e|b|bps|bit/s)?$")


def read_speed(text: str) -> str | None:
    """A typed speed (``10G``, ``10 GE``, ``1g``, ``100M``) as its word, or None."""
    match = _SPEED.match(str(text).strip().lower())
    if match is None or float(match[1]) <= 0:
        return None
    return speed_word(float(match[1]) * (1e9 if match[2] == "g" else 1e6))


def port_speed(port: extensions.Port) -> str | None:
    """The speed word of a port: read by the monitors, else from its name (None: unknown)."""
    if port.speed_bps:
        return speed_word(port.speed_bps)
    name = _fold(port.name)
    for prefix, word in settings()["port_speeds"]:
        if name.startswith(prefix):
            return str(word)
    return None


@dataclass(frozen=True)
class FreePort:
    switch_id: int
    switch: str  # the switch's asset tag
    rack_id: int | None
    port: str
    speed: str


@dataclass
class RackCapacity:
    id: int
    name: str
    room_id: int
    u_height: int
    used: set[int]  # occupied by an asset or held by a reservation
    rated_a: int | None
    rated_b: int | None
    load_w: float = 0.0
    load_source: str = NAMEPLATE
    #: feed → measured watts of its PDUs (measured racks only)
    feed_w: dict[str, float] = field(default_factory=dict)
    reserved: set[int] = field(default_factory=set)  # the units reservations hold
    reserved_w: float = 0.0  # their devices' planned draw, included in load_w
    pdu_ids: list[int] = field(default_factory=list)  # its PDUs, in feed order

    @property
    def feeds(self) -> int:
        return 2 if self.rated_b else 1 if self.rated_a else 0

    def free_runs(self, used: set[int] | None = None) -> list[tuple[int, int]]:
        """(first, last) of each run of free units, lowest first."""
        taken = self.used if used is None else used
        runs: list[tuple[int, int]] = []
        start = None
        for unit in range(1, self.u_height + 2):
            free = unit <= self.u_height and unit not in taken
            if free and start is None:
                start = unit
            elif not free and start is not None:
                runs.append((start, unit - 1))
                start = None
        return runs

    @property
    def free_units(self) -> int:
        return self.u_height - len(self.used)

    def feed_ratings(self) -> dict[str, int]:
        """feed → rated watts: A, and B when the rack has two feeds."""
        out = {}
        if self.rated_a:
            out["A"] = self.rated_a
        if self.rated_b:
            out["B"] = self.rated_b
        return out


@dataclass
class RoomCapacity:
    id: int
    name: str
    site_id: int
    site: str
    rack_ids: list[int] = field(default_factory=list)
    cooling_w: float | None = None  # None: no air conditioner states its capacity
    ports: list[FreePort] = field(default_factory=list)
    ports_seen: int = 0  # its switches' ports of a known speed, free or not
    temperature: room_temperature.TemperatureTrend | None = None  # None: no probe readings

    def it_load_w(self, racks: dict[int, RackCapacity]) -> float:
        return sum(racks[r].load_w for r in self.rack_ids)

    def figures(self, racks: dict[int, RackCapacity]) -> dict[str, tuple[float, float | None]]:
        """resource → (used, capacity) of the room, the capacity None when not recorded:

        - ``u``: units used (an asset or a reservation in them) of its racks' units;
        - ``power``: the draw of its racks with a rating against their capacity, each rack's
          being one feed's rating (with two feeds either may fail: the smaller);
        - ``cooling``: its IT load against its air conditioners' stated capacity;
        - ``ports``: its switches' ports not free of those of a known speed the monitors saw.
        """
        mine = [racks[r] for r in self.rack_ids]
        rated = [r for r in mine if r.feeds]
        power_cap = sum(min(r.feed_ratings().values()) for r in rated)
        return {
            "u": (
                float(sum(r.u_height - r.free_units for r in mine)),
                float(sum(r.u_height for r in mine)),
            ),
            "power": (sum(r.load_w for r in rated), float(power_cap) or None),
            "cooling": (self.it_load_w(racks), self.cooling_w),
            "ports": (float(self.ports_seen - len(self.ports)), float(self.ports_seen) or None),
        }


@dataclass
class Capacity:
    racks: dict[int, RackCapacity]
    rooms: dict[int, RoomCapacity]
    start: datetime
    end: datetime
    #: prefix id → addresses reservations hold (not registered yet)
    held_addresses: dict[int, int] = field(default_factory=dict)


def scope_rooms(site_id: int | None = None, room_id: int | None = None) -> Select[Any]:
    """The ids of the rooms in scope: one room, a site's rooms, or every room."""
    query = select(Room.id)
    if room_id is not None:
        query = query.where(Room.id == room_id)
    if site_id is not None:
        query = query.where(Room.site_id == site_id)
    return query


def _asset_watts(kind: str, specs: dict[str, Any] | None) -> tuple[float, bool]:
    """(watts, from its nameplate) of one asset."""
    value = (specs or {}).get("power_watts")
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value), True
    return float(settings()["kind_watts"].get(kind, 0)), kind not in settings()["kind_watts"]


def _feed_order(pdus: list[tuple[int, str, dict[str, Any]]]) -> list[int]:
    """A rack's PDUs in feed order: by their ``feed`` spec (A, B), then asset tag."""
    return [p[0] for p in sorted(pdus, key=lambda p: (str((p[2] or {}).get("feed", "~")), p[1]))]


def load(
    site_id: int | None = None,
    room_id: int | None = None,
    now: datetime | None = None,
    days: int | None = None,
) -> Capacity:
    """The capacity of the racks and rooms in scope, measured over the ``days`` before ``now``
    (default ``capacity.yaml``'s ``window_days``)."""
    end = now or clock.now()
    start = end - timedelta(days=days or int(settings()["window_days"]))
    sess = db.session()
    rooms_q = scope_rooms(site_id, room_id)
    rooms: dict[int, RoomCapacity] = {}
    for rid, name, sid, site in sess.execute(
        select(Room.id, Room.name, Room.site_id, Site.name)
        .join(Site, Site.id == Room.site_id)
        .where(Room.id.in_(rooms_q))
        .order_by(Site.name, Room.name)
    ):
        rooms[rid] = RoomCapacity(rid, name, sid, site)
    racks: dict[int, RackCapacity] = {}
    for rack in sess.execute(
        select(
            Rack.id, Rack.name, Rack.room_id, Rack.u_height, Rack.power_a_watts, Rack.power_b_watts
        )
        .where(Rack.room_id.in_(rooms_q))
        .order_by(Rack.name, Rack.id)
    ):
        racks[rack.id] = RackCapacity(
            rack.id, rack.name, rack.room_id, rack.u_height, set(), rack.power_a_watts,
            rack.power_b_watts,
        )  # fmt: skip
        rooms[rack.room_id].rack_ids.append(rack.id)
    in_scope = select(Rack.id).where(Rack.room_id.in_(rooms_q))
    for rack_id, unit in sess.execute(
        select(RackUnit.rack_id, RackUnit.unit).where(RackUnit.rack_id.in_(in_scope))
    ):
        racks[rack_id].used.add(unit)
    assets: list[Any] = list(
        sess.execute(
            select(
                Asset.id, Asset.asset_tag, Asset.kind, Asset.status, Asset.rack_id, Asset.room_id
            )
            .add_columns(Asset.specs)
            .where(Asset.room_id.in_(rooms_q))
            .order_by(Asset.asset_tag)
        )
    )
    held = reservations.held(end)
    for rack_id, units in held["units"].items():
        if rack_id in racks:
            racks[rack_id].reserved = units - racks[rack_id].used
            racks[rack_id].used |= units
    _power(racks, assets, start, end)
    for rack_id, watts in held["watts"].items():  # the planned draw of what is held
        if rack_id in racks:
            racks[rack_id].load_w += watts
            racks[rack_id].reserved_w = watts
    _rooms(rooms, racks, assets, start, end, held["ports"])
    min_days = int(settings()["temperature_min_days"])
    for rid, found in room_temperature.trends(
        list(rooms), start, end, clock.site_tz(), min_days
    ).items():
        rooms[rid].temperature = found
    return Capacity(racks, rooms, start, end, held["addresses"])


def _power(
    racks: dict[int, RackCapacity], assets: list[Any], start: datetime, end: datetime
) -> None:
    pdus: dict[int, list[tuple[int, str, dict[str, Any]]]] = {}
    nameplate: dict[int, float] = {}
    guessed: set[int] = set()
    for a in assets:
        if a.rack_id is None or a.status in NOT_DRAWING:
            continue
        if a.kind == AssetKind.PDU.value:
            pdus.setdefault(a.rack_id, []).append((a.id, a.asset_tag, a.specs))
            continue
        watts, known = _asset_watts(a.kind, a.specs)
        nameplate[a.rack_id] = nameplate.get(a.rack_id, 0.0) + watts
        if not known:
            guessed.add(a.rack_id)
    measured = extensions.power_draw([p[0] for ps in pdus.values() for p in ps], start, end)
    for rack in racks.values():
        mine = rack.pdu_ids = _feed_order(pdus.get(rack.id, []))
        if mine and all(p in measured for p in mine):
            rack.load_source = MEASURED
            rack.feed_w = {"AB"[min(i, 1)]: 0.0 for i in range(len(mine))}
            for i, pdu in enumerate(mine):
                rack.feed_w["AB"[min(i, 1)]] += measured[pdu]
            rack.load_w = round(sum(measured[p] for p in mine), 1)
        else:
            rack.load_source = ESTIMATED if rack.id in guessed else NAMEPLATE
            rack.load_w = nameplate.get(rack.id, 0.0)


def _rooms(
    rooms: dict[int, RoomCapacity],
    racks: dict[int, RackCapacity],
    assets: list[Any],
    start: datetime,
    end: datetime,
    held_ports: set[tuple[int, str]],
) -> None:
    switches: dict[int, Any] = {}
    for a in assets:
        if a.status in NOT_DRAWING or a.room_id not in rooms:
            continue
        room = rooms[a.room_id]
        if a.kind == AssetKind.PRECISION_AC.value and a.status == AssetStatus.IN_SERVICE.value:
            cooling = (a.specs or {}).get("cooling_watts")
            if isinstance(cooling, int | float) and not isinstance(cooling, bool) and cooling > 0:
                room.cooling_w = (room.cooling_w or 0.0) + float(cooling)
        if a.kind == AssetKind.SWITCH.value and a.status == AssetStatus.IN_SERVICE.value:
            switches[a.id] = a
    if not switches:
        return
    ids = list(switches)
    linked = {
        (asset_id, _fold(port))
        for a_id, a_port, b_id, b_port in db.session().execute(
            select(Link.a_asset_id, Link.a_port, Link.b_asset_id, Link.b_port).where(
                or_(Link.a_asset_id.in_(ids), Link.b_asset_id.in_(ids))
            )
        )
        for asset_id, port in ((a_id, a_port), (b_id, b_port))
    }
    states = extensions.port_states(ids, start, end)
    for switch_id in sorted(states, key=lambda i: switches[i].asset_tag):
        switch = switches[switch_id]
        for port in sorted(states[switch_id], key=lambda p: _natural(p.name)):
            speed = port_speed(port)
            rooms[switch.room_id].ports_seen += speed is not None
            free = (
                port.oper == "down"
                and port.admin != "down"
                and (switch_id, _fold(port.name)) not in linked
                and (switch_id, port.name) not in held_ports
                and not port.peak_bps
                and speed is not None
            )
            if free:
                rooms[switch.room_id].ports.append(
                    FreePort(switch_id, switch.asset_tag, switch.rack_id, port.name, speed or "")
                )


def _natural(name: str) -> list[Any]:
    """``GE1/0/10`` after ``GE1/0/9``."""
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)
    ]


def ports_by_speed(ports: list[FreePort]) -> dict[str, int]:
    out: dict[str, int] = {}
    for port in ports:
        out[port.speed] = out.get(port.speed, 0) + 1
    return dict(sorted(out.items()))
