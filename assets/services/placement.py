"""Rack units: which asset holds which unit of a rack, and placing an asset in its units (one
asset per unit, inside the rack, none a live reservation holds: ``assets.services.reservations``;
release the reservation to place an asset there)."""

from __future__ import annotations

from collections.abc import Callable, Collection

from flask_babel import gettext as _
from sqlalchemy import select

from assets.models import (
    Asset,
    Rack,
    RackUnit,
    Reservation,
    ReservationStatus,
    ReservedUnit,
)
from opskit import clock, db


def rack_occupancy(rack: Rack) -> dict[int, Asset]:
    """Unit number → the asset occupying it."""
    sess = db.session()
    rows = sess.execute(
        select(RackUnit.unit, Asset)
        .join(Asset, RackUnit.asset_id == Asset.id)
        .where(RackUnit.rack_id == rack.id)
    )
    return {unit: asset for unit, asset in rows}


OccupiedLookup = Callable[[Rack, set[int], Asset], dict[int, str]]


def occupied_in_db(rack: Rack, wanted: set[int], asset: Asset) -> dict[int, str]:
    """Unit → tag of other assets holding any of ``wanted`` in ``rack``, from the database."""
    if rack.id is None:
        return {}
    query = (
        select(RackUnit.unit, Asset.asset_tag)
        .join(Asset, RackUnit.asset_id == Asset.id)
        .where(RackUnit.rack_id == rack.id, RackUnit.unit.in_(wanted))
    )
    if asset.id is not None:
        query = query.where(RackUnit.asset_id != asset.id)
    return dict(db.session().execute(query).all())


ReservedLookup = Callable[[Rack, set[int]], dict[int, tuple[str, str]]]


def reserved_units(
    rack_ids: Collection[int], units: Collection[int] | None = None
) -> dict[int, dict[int, tuple[str, str]]]:
    """Rack id → unit → (plan, expiry date) of the live reservations holding units of
    ``rack_ids`` (only ``units``, if given)."""
    query = (
        select(ReservedUnit.rack_id, ReservedUnit.unit, Reservation.plan, Reservation.expires_at)
        .join(Reservation, ReservedUnit.reservation_id == Reservation.id)
        .where(
            ReservedUnit.rack_id.in_(rack_ids),
            Reservation.status == ReservationStatus.RESERVED.value,
            Reservation.expires_at > clock.now(),
        )
    )
    if units is not None:
        query = query.where(ReservedUnit.unit.in_(units))
    found: dict[int, dict[int, tuple[str, str]]] = {}
    for rack_id, unit, plan, expires in db.session().execute(query):
        found.setdefault(rack_id, {})[unit] = (plan, expires.date().isoformat())
    return found


def reserved_in_db(rack: Rack, wanted: set[int]) -> dict[int, tuple[str, str]]:
    """Unit → (plan, expiry date) of the live reservations holding any of ``wanted``."""
    if rack.id is None:
        return {}
    return reserved_units([rack.id], wanted).get(rack.id, {})


def place(
    asset: Asset,
    errors: dict[str, list[str]],
    occupied: OccupiedLookup = occupied_in_db,
    reserved: ReservedLookup = reserved_in_db,
) -> list[int]:
    """Check the asset's rack position (inside the rack, one asset per unit, no unit a live
    reservation holds); return its units.

    ``occupied`` says which of the wanted units other assets hold and ``reserved`` which
    reservations hold: the database by default, or the importer's view of a whole batch.
    """
    rack = asset.rack
    if rack is None:
        if asset.u_position is not None:
            errors.setdefault("u_position", []).append(_("A U position needs a rack."))
        return []
    if asset.room is not None and asset.room is not rack.room:
        errors.setdefault("rack", []).append(
            _("Rack %(rack)s is not in room %(room)s.", rack=rack.name, room=asset.room.name)
        )
        return []
    asset.room = rack.room
    if asset.u_height < 0 or asset.u_height > rack.u_height:
        errors.setdefault("u_height", []).append(
            _("Height must be 0 to %(max)d U.", max=rack.u_height)
        )
        return []
    if asset.u_position is None:  # in the rack, position not yet known: occupies no unit
        return []
    top = asset.u_position + max(asset.u_height, 1) - 1
    if asset.u_position < 1 or top > rack.u_height:
        errors.setdefault("u_position", []).append(
            _(
                "U%(first)d-U%(last)d is outside rack %(rack)s (1-%(height)d U).",
                first=asset.u_position,
                last=top,
                rack=rack.name,
                height=rack.u_height,
            )
        )
        return []
    wanted = set(range(asset.u_position, asset.u_position + asset.u_height))
    if not wanted:
        return []
    taken = occupied(rack, wanted, asset)
    held = reserved(rack, wanted) if not taken else {}
    if taken or held:
        unit = min(taken or held)
        words = {"unit": unit, "rack": rack.name}
        if taken:
            message = _(
                "U%(unit)d of rack %(rack)s is already occupied by %(tag)s.",
                tag=taken[unit],
                **words,
            )
        else:
            plan, until = held[unit]
            message = _(
                "U%(unit)d of rack %(rack)s is reserved for plan %(plan)s until %(until)s.",
                plan=plan,
                until=until,
                **words,
            )
        errors.setdefault("u_position", []).append(message)
        return []
    return sorted(wanted)


def sync_units(asset: Asset) -> None:
    """Make the asset's RackUnit rows match its position (freeing old units first)."""
    sess = db.session()
    sess.flush()  # ids for a new asset or rack
    wanted: set[tuple[int, int]] = set()
    if asset.rack is not None and asset.u_position is not None and asset.u_height > 0:
        first = asset.u_position
        wanted = {(asset.rack.id, u) for u in range(first, first + asset.u_height)}
    current = {(u.rack_id, u.unit): u for u in asset.units}
    removed = [unit for key, unit in current.items() if key not in wanted]
    for unit in removed:
        asset.units.remove(unit)
    if removed:
        sess.flush()
    for rack_id, number in sorted(wanted - current.keys()):
        asset.units.append(RackUnit(rack_id=rack_id, unit=number))
