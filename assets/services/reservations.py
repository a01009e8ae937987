"""Reservations (预留): accepting a plan holds its rack units, switch ports and addresses.

:func:`accept` takes one candidate of ``assets.plan.fit`` and, in the caller's transaction,
first releases the reservations that have expired, refuses a plan name that already holds a
reservation (a retried accept is not a second one), then checks that nothing wanted is taken
(an asset in the unit, or another reservation holding the unit, port or address: the error
names it), then writes the reservation and one row per unit, port and address. Each of those
rows is unique in the database (``ReservedUnit``: rack and unit ...), so when two plans are
accepted at the same moment both may pass the check but only one insert stands: the other
fails on the constraint, and run through ``opskit.db.write`` it is retried, finds the winner's
rows and is refused by name. The addresses are the prefix's next free ones (the registry's
``free_ranges``), skipping those other reservations hold.

:func:`release` frees a reservation's holds (status released); :func:`release_expired` those of
every reservation past its expiry; :func:`free_holds` one device's (installing it,
``assets.services.install``). Nothing here commits.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from assets import queries
from assets.models import (
    Asset,
    Prefix,
    Rack,
    RackUnit,
    Reservation,
    ReservationStatus,
    ReservedAddress,
    ReservedPort,
    ReservedUnit,
    Room,
)
from opskit import clock, db
from opskit.validation import ValidationFailed

HOLDS = (ReservedUnit, ReservedPort, ReservedAddress)


class ReservationConflict(ValidationFailed):
    """Something the plan wants is taken; the message names it."""

    def __init__(self, message: str) -> None:
        super().__init__({"plan": [message]})


def release_expired(now: datetime | None = None) -> int:
    """Release every reservation whose expiry has passed; returns how many."""
    now = now or clock.now()
    sess = db.session()
    expired = list(
        sess.scalars(
            select(Reservation.id).where(
                Reservation.status == ReservationStatus.RESERVED.value,
                Reservation.expires_at <= now,
            )
        )
    )
    for reservation_id in expired:
        _free(reservation_id)
    return len(expired)


def release(reservation_id: int) -> Reservation:
    """Free what a reservation holds (status released)."""
    reservation = db.session().get(Reservation, reservation_id)
    if reservation is None:
        raise ValidationFailed.one("reservation", _("No reservation #%(id)d.", id=reservation_id))
    _free(reservation_id)
    return reservation


def _free(reservation_id: int) -> None:
    free_holds(reservation_id)
    sess = db.session()
    reservation = sess.get(Reservation, reservation_id)
    if reservation is not None and reservation.status == ReservationStatus.RESERVED.value:
        reservation.status = ReservationStatus.RELEASED.value
    sess.flush()


def free_holds(reservation_id: int, device: str | None = None) -> None:
    """Delete the unit, port and address rows the reservation holds (of ``device`` only, if
    given); the reservation's status is the caller's."""
    sess = db.session()
    for table in HOLDS:
        query = delete(table).where(table.reservation_id == reservation_id)
        if device is not None:
            query = query.where(table.device == device)
        sess.execute(query)
    sess.flush()


def accept(
    candidate: Mapping[str, Any],
    plan: str,
    owner: str,
    expires_at: datetime,
    site_id: int | None = None,
) -> Reservation:
    """Hold the units, ports and addresses of ``candidate`` (one of ``fit``'s) for ``plan``.

    Raises :class:`ReservationConflict` naming what is taken (the caller rolls back)."""
    plan = plan.strip()
    if not plan:
        raise ValidationFailed.one("plan", _("A plan needs a name."))
    if expires_at <= clock.now():
        raise ValidationFailed.one("expires_at", _("The reservation must expire in the future."))
    release_expired()
    sess = db.session()
    same = sess.scalar(
        select(Reservation.id).where(
            Reservation.plan == plan, Reservation.status == ReservationStatus.RESERVED.value
        )
    )
    if same is not None:  # a plan holds once: a retried accept is not a second reservation
        raise ReservationConflict(
            _("Plan %(plan)s already holds reservation #%(id)d.", plan=plan, id=same)
        )
    units: list[tuple[Rack, int, str]] = []
    ports: list[tuple[Asset, str, str]] = []
    counts: list[tuple[Prefix, int, str]] = []
    for placement in candidate["placements"]:
        rack = _rack(placement, site_id)
        device = str(placement["device"])
        units += [(rack, u, device) for u in range(placement["u_start"], placement["u_end"] + 1)]
        for port in placement.get("ports", []):
            switch = sess.scalar(select(Asset).where(Asset.asset_tag == port["switch"]))
            if switch is None:
                raise ReservationConflict(_("No switch %(tag)s.", tag=port["switch"]))
            ports.append((switch, str(port["port"]), device))
        for cidr, count in (placement.get("addresses") or {}).items():
            prefix = sess.scalar(select(Prefix).where(Prefix.cidr == cidr))
            if prefix is None:
                raise ReservationConflict(_("No prefix %(cidr)s.", cidr=cidr))
            counts.append((prefix, int(count), device))
    _check_units(units)
    _check_ports(ports)
    reservation = Reservation(
        plan=plan,
        owner=owner,
        status=ReservationStatus.RESERVED.value,
        created_at=clock.now(),
        expires_at=expires_at,
        placements=list(candidate["placements"]),
    )
    sess.add(reservation)
    sess.flush()
    sess.add_all(
        ReservedUnit(reservation_id=reservation.id, rack_id=rack.id, unit=u, device=device)
        for rack, u, device in units
    )
    sess.add_all(
        ReservedPort(reservation_id=reservation.id, asset_id=s.id, port=port, device=device)
        for s, port, device in ports
    )
    sess.add_all(_addresses(reservation.id, counts))
    sess.flush()
    return reservation


def _rack(placement: Mapping[str, Any], site_id: int | None) -> Rack:
    """The placement's rack: by id (``fit`` gives it), else by room and rack name."""
    if isinstance(placement.get("rack_id"), int):
        rack = db.session().get(Rack, placement["rack_id"])
        if rack is not None:
            return rack
    query = (
        select(Rack)
        .join(Room)
        .where(Rack.name == placement["rack"], Room.name == placement["room"])
    )
    if site_id is not None:
        query = query.where(Room.site_id == site_id)
    racks = db.session().scalars(query).all()
    if len(racks) != 1:
        raise ReservationConflict(
            _("No rack %(rack)s in room %(room)s.", rack=placement["rack"], room=placement["room"])
        )
    return racks[0]


def _holder(table: Any, *where: Any) -> str | None:
    """The plan of the reservation whose ``table`` row matches ``where``, if any."""
    return db.session().scalar(
        select(Reservation.plan).join(table, table.reservation_id == Reservation.id).where(*where)
    )


def _check_units(units: list[tuple[Rack, int, str]]) -> None:
    sess = db.session()
    for rack, unit, _device in units:
        words = {"unit": unit, "rack": rack.name}
        tag = sess.scalar(
            select(Asset.asset_tag)
            .join(RackUnit, RackUnit.asset_id == Asset.id)
            .where(RackUnit.rack_id == rack.id, RackUnit.unit == unit)
        )
        if tag is not None:
            message = _("U%(unit)d of rack %(rack)s is occupied by %(tag)s.", tag=tag, **words)
            raise ReservationConflict(message)
        plan = _holder(ReservedUnit, ReservedUnit.rack_id == rack.id, ReservedUnit.unit == unit)
        if plan is not None:
            message = _(
                "U%(unit)d of rack %(rack)s is reserved for plan %(plan)s.", plan=plan, **words
            )
            raise ReservationConflict(message)


def _check_ports(ports: list[tuple[Asset, str, str]]) -> None:
    for switch, port, _device in ports:
        plan = _holder(ReservedPort, ReservedPort.asset_id == switch.id, ReservedPort.port == port)
        if plan is not None:
            raise ReservationConflict(
                _(
                    "Port %(port)s of %(tag)s is reserved for plan %(plan)s.",
                    port=port,
                    tag=switch.asset_tag,
                    plan=plan,
                )
            )


def held_addresses(prefix_id: int) -> set[str]:
    """The addresses of a prefix reservations hold."""
    query = select(ReservedAddress.address).where(ReservedAddress.prefix_id == prefix_id)
    return set(db.session().scalars(query))


def next_addresses(prefix: Prefix, count: int, held: set[str]) -> list[str]:
    """Up to ``count`` of the prefix's lowest free addresses (the registry's free ranges) that
    are not in ``held``."""
    taken: list[str] = []
    for first, last, _n in queries.free_ranges(prefix, limit=10_000):
        start, end = int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last))
        for value in range(start, end + 1):
            address = str(ipaddress.ip_address(value))
            if address not in held:
                taken.append(address)
            if len(taken) == count:
                return taken
    return taken


def _addresses(reservation_id: int, counts: list[tuple[Prefix, int, str]]) -> list[Any]:
    """The next free addresses of each prefix (registry's free ranges, minus those held)."""
    rows = []
    held_in: dict[int, set[str]] = {}  # prefix id → held addresses, this plan's included
    for prefix, count, device in counts:
        if prefix.id not in held_in:
            held_in[prefix.id] = held_addresses(prefix.id)
        held = held_in[prefix.id]
        taken = next_addresses(prefix, count, held)
        if len(taken) < count:
            raise ReservationConflict(
                _(
                    "Prefix %(cidr)s has %(free)d free addresses, %(count)d wanted.",
                    cidr=prefix.cidr,
                    free=len(taken),
                    count=count,
                )
            )
        held.update(taken)
        rows += [
            ReservedAddress(
                reservation_id=reservation_id, prefix_id=prefix.id, address=a, device=device
            )
            for a in taken
        ]
    return rows


def held(now: datetime | None = None) -> dict[str, Any]:
    """What the reservations not yet expired at ``now`` hold: ``units`` {rack id: {unit}},
    ``ports`` {(switch id, port)}, ``addresses`` {prefix id: count}, and ``watts`` {rack id:
    the planned draw of the devices held in it}."""
    now = now or clock.now()
    sess = db.session()
    live = select(Reservation.id).where(
        Reservation.status == ReservationStatus.RESERVED.value, Reservation.expires_at > now
    )
    units: dict[int, set[int]] = {}
    devices: dict[tuple[int, str], int] = {}  # (reservation, device) → its rack
    for reservation_id, rack_id, unit, device in sess.execute(
        select(
            ReservedUnit.reservation_id,
            ReservedUnit.rack_id,
            ReservedUnit.unit,
            ReservedUnit.device,
        ).where(ReservedUnit.reservation_id.in_(live))
    ):
        units.setdefault(rack_id, set()).add(unit)
        devices[(reservation_id, device)] = rack_id
    watts: dict[int, float] = {}
    for reservation_id, placements in sess.execute(
        select(Reservation.id, Reservation.placements).where(Reservation.id.in_(live))
    ):
        for p in placements or []:
            where = devices.get((reservation_id, str(p.get("device"))))
            if where is not None:
                watts[where] = watts.get(where, 0.0) + float(p.get("watts") or 0)
    ports = {
        (asset_id, port)
        for asset_id, port in sess.execute(
            select(ReservedPort.asset_id, ReservedPort.port).where(
                ReservedPort.reservation_id.in_(live)
            )
        )
    }
    addresses: dict[int, int] = {}
    for (prefix_id,) in sess.execute(
        select(ReservedAddress.prefix_id).where(ReservedAddress.reservation_id.in_(live))
    ):
        addresses[prefix_id] = addresses.get(prefix_id, 0) + 1
    return {"units": units, "ports": ports, "addresses": addresses, "watts": watts}
