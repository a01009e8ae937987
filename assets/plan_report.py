"""The planning report (设备配置现状及设备规划报告): one workbook per plan, for the customer.

Written from the same capacity model the fit answered on (``assets.capacity``,
``assets.plan.fit``) by the project's one writer (``opskit.xlsx``):

- **Cover**: the plan, its room(s), the candidate reported, why it was chosen, the headline
  figures, a table of contents and a sign-off block; the workbook's properties.
- **Current state** of the affected rooms (the candidate's room; every room in scope when there
  is no candidate): each rack's units used and free, its draw against each feed's rating (the
  whole draw on one feed: the other may fail), each room's IT load against its cooling, the
  free switch ports by speed, and the utilisation of the IP prefixes of the plan and of the
  rooms' sites (reservations' addresses counted as used).
- **The plan**: the placements, the new addresses (each prefix's next free ones, skipping those
  reservations hold, as accepting would take them) and the cabling (device port → switch port).
- **Effect**: before and after utilisation per rack (units, each feed), room (cooling) and
  prefix.
- **Risks**, in words: a feed over the limit (80 %) on failover, cooling headroom under 20 %
  (or unknown), a room's temperature p95 at its limit or rising to it within 90 days, a prefix
  over 80 % after the plan, no candidate at all.

This module computes what the workbook says (:func:`collect`, :class:`Report`);
``assets.plan_workbook`` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import or_, select

from assets import capacity, queries
from assets.capacity import Capacity, RackCapacity, RoomCapacity
from assets.models import Prefix
from assets.plan import Request
from assets.services import reservations
from opskit import clock, db

#: a rising room temperature reaching its limit within this many days is a risk
TEMPERATURE_SOON_DAYS = 90


@dataclass
class Report:
    """What the workbook says, computed before anything is written (tests read it too)."""

    plan: str
    candidate: dict[str, Any] | None
    rank: int
    rooms: list[RoomCapacity]
    racks: list[RackCapacity]
    prefixes: list[dict[str, Any]]  # cidr, vlan, purpose, size, used, planned
    addresses: list[dict[str, Any]]  # device, prefix, address
    limit: float
    model: Capacity
    risks: list[dict[str, str]] = field(default_factory=list)

    def planned_w(self, rack_id: int) -> float:
        return sum(p["watts"] for p in self.placements if p.get("rack_id") == rack_id)

    def planned_units(self, rack_id: int) -> int:
        return sum(
            p["u_end"] - p["u_start"] + 1 for p in self.placements if p.get("rack_id") == rack_id
        )

    @property
    def placements(self) -> list[dict[str, Any]]:
        return list(self.candidate["placements"]) if self.candidate else []

    def room_after_w(self, room: RoomCapacity) -> float:
        return room.it_load_w(self.model.racks) + sum(self.planned_w(r) for r in room.rack_ids)

    def ports_taken(self, room: RoomCapacity) -> dict[str, int]:
        mine = {p.switch for p in room.ports}
        out: dict[str, int] = {}
        for placement in self.placements:
            for port in placement["ports"]:
                if port["switch"] in mine:
                    out[port["speed"]] = out.get(port["speed"], 0) + 1
        return out


def share(value: float, of: float | None) -> float | None:
    return value / of if of else None


def collect(
    request: Request, answer: dict[str, Any], model: Capacity, plan: str, rank: int = 1
) -> Report:
    """The report of candidate ``rank`` (1: the best) of ``answer`` (``fit`` on ``model``)."""
    candidates = answer["candidates"]
    if not 1 <= rank <= max(len(candidates), 1):
        raise ValueError(_("There is no candidate %(rank)d.", rank=rank))
    candidate = candidates[rank - 1] if candidates else None
    if candidate is not None:
        wanted = {p["rack_id"] for p in candidate["placements"]}
        rooms = [r for r in model.rooms.values() if wanted & set(r.rack_ids)]
    else:
        rooms = list(model.rooms.values())
    racks = [model.racks[r] for room in rooms for r in room.rack_ids]
    # the plan's prefixes, and those of the rooms' sites
    planned: dict[str, int] = {}
    for p in candidate["placements"] if candidate else []:
        for cidr, count in p["addresses"].items():
            planned[cidr] = planned.get(cidr, 0) + count
    wanted_cidrs = {cidr for d in request.devices for cidr, _n in d.addresses}
    sites = {room.site_id for room in rooms}
    found = list(
        db.session().scalars(
            select(Prefix)
            .where(or_(Prefix.cidr.in_(wanted_cidrs), Prefix.site_id.in_(sites)))
            .order_by(Prefix.family, Prefix.sort_key)
        )
    )
    usage = queries.prefix_utilisations(found)
    prefixes, addresses = [], []
    for prefix in found:
        held = reservations.held_addresses(prefix.id)
        prefixes.append(
            {
                "cidr": prefix.cidr,
                "vlan": prefix.vlan,
                "purpose": prefix.purpose,
                "size": usage[prefix.id].size,
                "used": usage[prefix.id].used + model.held_addresses.get(prefix.id, 0),
                "planned": planned.get(prefix.cidr, 0),
            }
        )
        if prefix.cidr in planned:
            free = iter(reservations.next_addresses(prefix, planned[prefix.cidr], held))
            for p in candidate["placements"] if candidate else []:
                for _i in range(p["addresses"].get(prefix.cidr, 0)):
                    addresses.append(
                        {"device": p["device"], "prefix": prefix.cidr, "address": next(free, "")}
                    )
    report = Report(
        plan, candidate, rank, rooms, racks, prefixes, addresses,
        float(capacity.settings()["limit_percent"]), model,
    )  # fmt: skip
    report.risks = risks(report)
    return report


def _temperature_risks(room: RoomCapacity, today: date) -> list[dict[str, str]]:
    """The room's temperature trend as a risk: its p95 at or over the limit, or a rising trend
    taking it there within TEMPERATURE_SOON_DAYS."""
    t = room.temperature
    if t is None or t.limit is None:
        return []
    reaches = t.reaches(today)
    if reaches is None or (reaches - today).days > TEMPERATURE_SOON_DAYS:
        return []
    if reaches <= today:
        text = _(
            "Temperature p95 %(p95)s °C at or over the room's limit %(limit)s °C: its cooling "
            "is short whatever the watts say.",
            p95=t.p95,
            limit=t.limit,
        )
    else:
        text = _(
            "Temperature rising %(trend)s °C / 30 days: its p95 (%(p95)s °C) reaches the "
            "room's limit %(limit)s °C around %(day)s.",
            trend=t.per_30_days,
            p95=t.p95,
            limit=t.limit,
            day=reaches.isoformat(),
        )
    return [{"scope": _("Room"), "name": room.name, "risk": text}]


def risks(report: Report) -> list[dict[str, str]]:
    """The risks after the plan, in words: feeds on failover, cooling, prefixes."""
    limit = report.limit
    out: list[dict[str, str]] = []
    if report.candidate is None:
        out.append(
            {"scope": _("Planning"), "name": report.plan, "risk": _("No rack takes the devices.")}
        )
    for rack in report.racks:
        after = rack.load_w + report.planned_w(rack.id)
        for feed, rated in rack.feed_ratings().items():
            pct = 100 * after / rated
            if pct > limit:
                text = (
                    _(
                        "If the other feed fails, feed %(feed)s carries %(after).0f of "
                        "%(rated)d W (%(pct).0f %%), over %(limit)g %%.",
                        feed=feed,
                        after=after,
                        rated=rated,
                        pct=pct,
                        limit=limit,
                    )
                    if rack.feeds == 2
                    else _(
                        "Feed %(feed)s carries %(after).0f of %(rated)d W (%(pct).0f %%), over "
                        "%(limit)g %%.",
                        feed=feed,
                        after=after,
                        rated=rated,
                        pct=pct,
                        limit=limit,
                    )
                )
                out.append({"scope": _("Rack"), "name": rack.name, "risk": text})
    today = report.model.end.astimezone(clock.site_tz()).date()
    for room in report.rooms:
        out += _temperature_risks(room, today)
        if not room.cooling_w:
            out.append(
                {
                    "scope": _("Room"),
                    "name": room.name,
                    "risk": _("Cooling capacity unknown: no air conditioner states it."),
                }
            )
            continue
        left = 100 - 100 * report.room_after_w(room) / room.cooling_w
        if left < 100 - limit:
            out.append(
                {
                    "scope": _("Room"),
                    "name": room.name,
                    "risk": _(
                        "Cooling headroom %(left).0f %% after the plan, under %(floor)g %%.",
                        left=left,
                        floor=100 - limit,
                    ),
                }
            )
    for p in report.prefixes:
        pct = 100 * (p["used"] + p["planned"]) / p["size"] if p["size"] else 0.0
        if pct > limit:
            out.append(
                {
                    "scope": _("Prefix"),
                    "name": p["cidr"],
                    "risk": _(
                        "%(used)d of %(size)d addresses used after the plan (%(pct).0f %%), "
                        "over %(limit)g %%.",
                        used=p["used"] + p["planned"],
                        size=p["size"],
                        pct=pct,
                        limit=limit,
                    ),
                }
            )
    return out
