"""Where does it fit (设备规划): placing a list of planned devices in the registry's racks.

A **request** is a list of devices (``name``, ``u``, optional ``watts``, ``feeds`` 1 or 2,
``ports`` by speed, ``addresses`` by prefix, ``kind``: the asset kind it is registered as when
installed, server unless said) and constraints (``site``, ``room``, ``together``:
all in one rack, ``near``: a rack whose neighbours are preferred). :func:`read_request` checks
it against the registry (``assets.plan_request``) and raises :class:`PlanInputError` naming each
device and field.

**A candidate** places every device in racks of one room (ports and cooling are a room's). For
each rack of each room in scope, taken first, the devices are placed in order, each in the
first rack that takes it: the racks already used, then the first rack, then the room's other
racks (nearest to ``near`` first, else by name); ``together`` allows the first rack only. A rack
takes a device when it has a free run of ``u`` contiguous units (the smallest such run, its
lowest units: fragments are filled before long runs are cut), a feed for each of the device's
feeds, a recorded power rating, and after it the rack's whole draw within the limit on every
feed (redundancy: either feed may carry everything), the room's IT load within its cooling
limit (when known), the room's free ports of each speed asked for, and the prefixes' free
addresses. The figures are ``assets.capacity``'s.

**Ranking** (deterministic): fewest racks; then nearest to ``near`` (the sum of the racks'
distance in the room's rack order); then most power headroom left (the smallest share of a
feed's rating left in any rack used, after the plan); then most free units left in the racks
used; then site, room and rack names. Identical placements are one candidate.

**Scope**: the site named, else the site of the room or of the rack to be near, else one site
chosen from the registry's free rack units (``assets.plan_scope``: the measurements are read for
that site only; ``site_chosen`` in the answer names it).

**Rejected**: each rack in scope that no candidate uses, with the reason it could not take the
devices on its own (the first device it refused and why), in the user's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import capacity, plan_scope, queries
from assets.capacity import Capacity, FreePort, RackCapacity, RoomCapacity
from assets.models import Prefix
from assets.plan_request import Device, PlanInputError, Request, read_request
from opskit import db

__all__ = ["Device", "PlanInputError", "Request", "fit", "read_request"]


@dataclass(frozen=True)
class Reason:
    code: str  # u, feeds, rating, power, cooling, ports, prefix
    text: str


@dataclass
class _Attempt:
    """What a candidate has taken so far (the model itself is never changed)."""

    used: dict[int, set[int]] = field(default_factory=dict)  # rack → units incl. planned
    added_w: dict[int, float] = field(default_factory=dict)  # rack → planned watts
    ports: set[tuple[int, str]] = field(default_factory=set)  # (switch, port) taken
    addresses: dict[str, int] = field(default_factory=dict)  # prefix → addresses taken
    placements: list[dict[str, Any]] = field(default_factory=list)


class _Fit:
    def __init__(self, request: Request, model: Capacity) -> None:
        self.request = request
        self.model = model
        self.limit = float(capacity.settings()["limit_percent"])
        self.default_w = float(capacity.settings()["planned_device_watts"])
        cidrs = sorted({cidr for d in request.devices for cidr, _n in d.addresses})
        found = db.session().scalars(select(Prefix).where(Prefix.cidr.in_(cidrs))).all()
        self.prefixes = {p.cidr: p for p in found}
        # the registry's utilisation, one query for all (assets.queries)
        utilisation = queries.prefix_utilisations(list(found))
        held = model.held_addresses
        self.prefix_free = {p.cidr: utilisation[p.id].free - held.get(p.id, 0) for p in found}

    def watts(self, device: Device) -> float:
        return device.watts if device.watts is not None else self.default_w

    def room_load(self, room: RoomCapacity, attempt: _Attempt) -> float:
        planned = sum(w for r, w in attempt.added_w.items() if r in room.rack_ids)
        return room.it_load_w(self.model.racks) + planned

    def try_place(
        self, device: Device, rack: RackCapacity, attempt: _Attempt
    ) -> dict[str, Any] | Reason:
        """Place ``device`` in ``rack`` (recorded in ``attempt``), or why it cannot go there."""
        room = self.model.rooms[rack.room_id]
        used = attempt.used.get(rack.id, rack.used)
        runs = [r for r in rack.free_runs(used) if r[1] - r[0] + 1 >= device.u]
        if not runs:
            longest = max((r[1] - r[0] + 1 for r in rack.free_runs(used)), default=0)
            return Reason(
                "u",
                _("no contiguous %(u)dU (longest free run %(free)dU)", u=device.u, free=longest),
            )
        if device.feeds > rack.feeds and rack.feeds:
            return Reason(
                "feeds",
                _(
                    "needs %(feeds)d feeds, the rack has %(has)d",
                    feeds=device.feeds,
                    has=rack.feeds,
                ),
            )
        if not rack.feeds:
            return Reason("rating", _("no power rating recorded for the rack"))
        after = rack.load_w + attempt.added_w.get(rack.id, 0.0) + self.watts(device)
        for feed, rated in rack.feed_ratings().items():
            if after > rated * self.limit / 100:
                return Reason(
                    "power",
                    _(
                        "feed %(feed)s over %(limit)g %% (%(after).0f of %(rated)d W, %(pct).0f"
                        " %%)",
                        feed=feed,
                        limit=self.limit,
                        after=after,
                        rated=rated,
                        pct=100 * after / rated,
                    ),
                )
        if room.cooling_w:
            room_after = self.room_load(room, attempt) + self.watts(device)
            if room_after > room.cooling_w * self.limit / 100:
                return Reason(
                    "cooling",
                    _(
                        "room %(room)s cooling over %(limit)g %% (%(after).0f of %(rated).0f W)",
                        room=room.name,
                        limit=self.limit,
                        after=room_after,
                        rated=room.cooling_w,
                    ),
                )
        chosen: list[FreePort] = []
        for speed, count in sorted(device.ports.items()):
            free = [
                p
                for p in room.ports
                if p.speed == speed and (p.switch_id, p.port) not in attempt.ports
            ]
            if len(free) < count:
                return Reason(
                    "ports",
                    _(
                        "no free %(speed)s port (%(free)d free in room %(room)s, %(count)d needed)",
                        speed=speed,
                        free=len(free),
                        room=room.name,
                        count=count,
                    ),
                )
            free.sort(key=lambda p: p.rack_id != rack.id)  # the rack's own switch first
            chosen.extend(free[:count])
        for cidr, count in device.addresses:
            left = self.prefix_free[cidr] - attempt.addresses.get(cidr, 0)
            if left < count:
                return Reason(
                    "prefix",
                    _(
                        "prefix %(prefix)s full (%(free)d free, %(count)d needed)",
                        prefix=cidr,
                        free=max(left, 0),
                        count=count,
                    ),
                )
        first, _last = min(runs, key=lambda r: (r[1] - r[0], r[0]))
        units = set(range(first, first + device.u))
        attempt.used[rack.id] = used | units
        attempt.added_w[rack.id] = attempt.added_w.get(rack.id, 0.0) + self.watts(device)
        attempt.ports.update((p.switch_id, p.port) for p in chosen)
        taken = {}
        for cidr, count in device.addresses:
            taken[cidr] = attempt.addresses.get(cidr, 0)
            attempt.addresses[cidr] = taken[cidr] + count
        placement = {
            "device": device.name,
            "kind": device.kind,
            "site": room.site,
            "room": room.name,
            "rack": rack.name,
            "rack_id": rack.id,
            "u_start": first,
            "u_end": first + device.u - 1,
            "watts": self.watts(device),
            "feeds": "A+B" if device.feeds == 2 else "A",
            "ports": [{"switch": p.switch, "port": p.port, "speed": p.speed} for p in chosen],
            "addresses": {cidr: count for cidr, count in device.addresses},
        }
        attempt.placements.append(placement)
        return placement

    def order(self, room: RoomCapacity, first: RackCapacity) -> list[RackCapacity]:
        racks = [self.model.racks[r] for r in room.rack_ids]
        rest = sorted(
            (r for r in racks if r.id != first.id), key=lambda r: (self.distance(r), r.name)
        )
        return [first, *rest]

    def distance(self, rack: RackCapacity) -> int:
        """How far ``rack`` is from the ``near`` rack in its room's order (0 without ``near``)."""
        near = self.request.near
        if near is None or near not in self.model.racks:
            return 0
        room = self.model.rooms[rack.room_id]
        if near not in room.rack_ids:
            return 10_000
        return abs(room.rack_ids.index(rack.id) - room.rack_ids.index(near))

    def attempt(self, racks: list[RackCapacity]) -> tuple[_Attempt, Reason | None, int]:
        """Place every device in ``racks`` (racks already used first); the reason and index of
        the first device no rack took."""
        attempt = _Attempt()
        for index, device in enumerate(self.request.devices):
            used = [r for r in racks if r.id in attempt.added_w]
            first_reason: Reason | None = None
            for rack in [*used, *(r for r in racks if r.id not in attempt.added_w)]:
                result = self.try_place(device, rack, attempt)
                if isinstance(result, Reason):
                    first_reason = first_reason or result
                    continue
                break
            else:
                return attempt, first_reason, index
        return attempt, None, -1

    def figures(self, attempt: _Attempt) -> list[dict[str, Any]]:
        out = []
        for rack_id in sorted(attempt.added_w, key=lambda r: self.model.racks[r].name):
            rack = self.model.racks[rack_id]
            room = self.model.rooms[rack.room_id]
            after = rack.load_w + attempt.added_w[rack_id]
            taken = [p for p in room.ports if (p.switch_id, p.port) in attempt.ports]
            left = [p for p in room.ports if (p.switch_id, p.port) not in attempt.ports]
            out.append(
                {
                    "rack": rack.name,
                    "room": room.name,
                    "u_free_before": rack.free_units,
                    "u_free_after": rack.u_height - len(attempt.used[rack_id]),
                    "load_w": rack.load_w,
                    "load_source": rack.load_source,
                    "planned_w": attempt.added_w[rack_id],
                    "rated_w": rack.feed_ratings(),
                    "feed_percent_after": {
                        feed: round(100 * after / rated, 1)
                        for feed, rated in rack.feed_ratings().items()
                    },
                    "room_cooling_w": room.cooling_w,
                    "room_cooling_percent_after": (
                        round(100 * self.room_load(room, attempt) / room.cooling_w, 1)
                        if room.cooling_w
                        else None
                    ),
                    # the room's temperature trend (assets.room_temperature): None without probes
                    "room_temperature_p95": room.temperature.p95 if room.temperature else None,
                    "room_temperature_limit": (
                        room.temperature.limit if room.temperature else None
                    ),
                    "room_temperature_per_30_days": (
                        room.temperature.per_30_days if room.temperature else None
                    ),
                    "room_ports_taken": len(taken),
                    "room_ports_free_after": capacity.ports_by_speed(left),
                }
            )
        return out

    def headroom(self, attempt: _Attempt) -> float:
        """The smallest share of a feed's rating left in any rack used (0 to 1)."""
        shares = []
        for rack_id, planned in attempt.added_w.items():
            rack = self.model.racks[rack_id]
            for rated in rack.feed_ratings().values():
                shares.append(1 - (rack.load_w + planned) / rated)
        return min(shares, default=0.0)


def fit(
    request: Request,
    model: Capacity | None = None,
    now: datetime | None = None,
    chosen: bool = False,
) -> dict[str, Any]:
    """Ranked candidates and rejected racks for ``request`` (the rules in the module's
    docstring): ``{"candidates": [{"placements", "racks", "why", "figures"}], "rejected":
    [{"rack", "room", "code", "reason"}], "window": {"start", "end"}, "prefixes": {...}}``."""
    if model is None:  # else ``chosen``: whether the model's site was chosen by plan_scope
        model, chosen = plan_scope.load(request, now)
    job = _Fit(request, model)
    found: dict[tuple[Any, ...], tuple[tuple[Any, ...], _Attempt]] = {}
    alone: dict[int, tuple[Reason | None, int]] = {}
    for room in model.rooms.values():
        if request.near is not None and request.near not in room.rack_ids:
            continue
        for rack_id in room.rack_ids:
            rack = model.racks[rack_id]
            single = job.attempt([rack])
            alone[rack_id] = (single[1], single[2])
            if request.together:
                attempt, reason = single[0], single[1]
            else:
                attempt, reason, _index = job.attempt(job.order(room, rack))
            if reason is not None:
                continue
            key = tuple((p["device"], p["rack_id"], p["u_start"]) for p in attempt.placements)
            names = sorted(model.racks[r].name for r in attempt.added_w)
            rank = (
                len(attempt.added_w),
                sum(job.distance(model.racks[r]) for r in attempt.added_w),
                -round(job.headroom(attempt), 6),
                -sum(model.racks[r].u_height - len(attempt.used[r]) for r in attempt.added_w),
                room.site,
                room.name,
                names,
            )
            if key not in found or rank < found[key][0]:
                found[key] = (rank, attempt)
    ranked = sorted(found.values(), key=lambda item: item[0])[: request.limit]
    used_racks = {r for _rank, attempt in found.values() for r in attempt.added_w}
    candidates = []
    for _rank, attempt in ranked:
        figures = job.figures(attempt)
        candidates.append(
            {
                "site": attempt.placements[0]["site"],
                "room": attempt.placements[0]["room"],
                "placements": attempt.placements,
                "racks": [f["rack"] for f in figures],
                "why": _why(attempt.placements[0]["site"], figures, job.headroom(attempt)),
                "figures": figures,
            }
        )
    rejected = []
    for rack_id, (reason, index) in alone.items():
        if rack_id in used_racks or reason is None:
            continue
        rack = model.racks[rack_id]
        device = request.devices[index].name
        rejected.append(
            {
                "rack": rack.name,
                "room": model.rooms[rack.room_id].name,
                "device": device,
                "code": reason.code,
                "reason": reason.text,
            }
        )
    rejected.sort(key=lambda r: (r["room"], r["rack"]))
    return {
        "candidates": candidates,
        "rejected": rejected,
        "window": {"start": model.start.isoformat(), "end": model.end.isoformat()},
        # no site, room or rack named: the site chosen for it (``assets.plan_scope``)
        "site_chosen": next(iter(model.rooms.values())).site if chosen and model.rooms else None,
        "prefixes": {
            cidr: {"free_before": free, "next_free": _next_free(job.prefixes[cidr])}
            for cidr, free in sorted(job.prefix_free.items())
        },
    }


def _next_free(prefix: Prefix) -> str | None:
    return queries.next_free_address(prefix)


def _why(site: str, figures: list[dict[str, Any]], headroom: float) -> str:
    racks = "、".join(f"{site}/{f['room']}/{f['rack']}" for f in figures)
    return _(
        "%(count)d rack(s): %(racks)s; power headroom left %(headroom).0f %%; %(free)d U left free",
        count=len(figures),
        racks=racks,
        headroom=100 * headroom,
        free=sum(f["u_free_after"] for f in figures),
    )
