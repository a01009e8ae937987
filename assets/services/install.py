"""Installing a reservation (安装): scanning the new equipment's label turns a planned device of
an accepted plan (``assets.services.reservations``) into a registered asset, and finishing the
plan frees what was not used.

:func:`install` takes the reservation, the planned device and what was scanned (the label's URL
``<base>/a/<tag>`` or the tag typed) and, in the caller's transaction (the reservation's row
locked, so two tablets take turns):

- the tag is **new**: the asset is created from the planned device (name, kind, height, the
  planned watts as its ``power_watts``) — the label was printed for the tag before it was
  registered, which is how new equipment arrives; the tag is **registered but not in a rack**
  (the engineer entered it first, e.g. with its serial and warranty): that asset is placed,
  provided its height is the reserved one; a tag **placed elsewhere** is refused naming the
  asset and where it is (a wrong label was scanned);
- the device's holds are freed and converted: the asset in the reserved rack at the reserved
  units, the reserved addresses registered to it (in use, the first one its management address
  when it has none), and, when the plan chose switch ports, one link per port from the device's
  ``<speed>-<n>`` port (``10G-1``, the workbook's cabling order) to the switch port;
- the placement records the installation (tag, asset, who, when): scanning the same label for
  the same device again (a retried form, a double tap) answers the same asset and changes
  nothing; when every device is installed the reservation is ``installed``.

:func:`finish` ends the plan early: the devices not installed give back their units, ports and
addresses, and the reservation is ``installed`` (some were) or ``released`` (none were). Every
refusal is a ``ValidationFailed`` under ``scanned_code`` (the tablet shows it by the scanner)
or ``reservation``, and leaves nothing changed. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries
from assets.models import (
    AddressStatus,
    Asset,
    Rack,
    Reservation,
    ReservationStatus,
    ReservedAddress,
)
from assets.services.addresses import save_address
from assets.services.asset import save_asset
from assets.services.links import save_link
from assets.services.reservations import free_holds
from opskit import clock, db
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

FIELD = "scanned_code"


@dataclass(frozen=True)
class Installed:
    asset: Asset
    again: bool  # this device was already installed with this label: nothing changed
    created: bool  # the asset was registered by this scan
    done: bool  # every device of the plan is installed


def _locked(reservation_id: int) -> Reservation:
    reservation = db.session().scalar(
        select(Reservation).where(Reservation.id == reservation_id).with_for_update()
    )
    if reservation is None:
        raise ValidationFailed.one("reservation", _("No reservation #%(id)d.", id=reservation_id))
    return reservation


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed.one(FIELD, message)


def _words(reservation: Reservation) -> dict[str, Any]:
    return {"id": reservation.id, "plan": reservation.plan}


def _check_open(reservation: Reservation, now: datetime) -> None:
    if reservation.status != ReservationStatus.RESERVED.value:
        raise _refuse(
            _(
                "Plan %(plan)s (reservation #%(id)d) is finished: nothing more is installed.",
                **_words(reservation),
            )
        )
    if reservation.expires_at <= now:
        raise _refuse(
            _(
                "Reservation #%(id)d of plan %(plan)s expired on %(date)s: its units are free "
                "again. Plan and reserve again.",
                date=reservation.expires_at.astimezone(clock.site_tz()).date().isoformat(),
                **_words(reservation),
            )
        )


def _placement(reservation: Reservation, device: str) -> dict[str, Any]:
    for placement in reservation.placements or []:
        if str(placement.get("device")) == device:
            return dict(placement)
    raise ValidationFailed.one(
        "device",
        _("Plan %(plan)s has no device %(device)s.", device=device, **_words(reservation)),
    )


def _where(asset: Asset) -> str:
    rack = asset.rack.name if asset.rack is not None else "?"
    return _("rack %(rack)s U%(unit)d", rack=rack, unit=asset.u_position or 0)


def _existing(tag: str, placement: Mapping[str, Any], rack: Rack) -> Asset | None:
    """The registered asset of ``tag``, if it may take the placement (else refused by name)."""
    asset = db.session().scalar(select(Asset).where(Asset.asset_tag == tag))
    if asset is None:
        return None
    if asset.rack_id is not None and asset.u_position is not None:
        raise _refuse(
            _(
                "Label %(tag)s belongs to %(name)s, already placed in %(where)s: scan the "
                "label of the new %(device)s.",
                tag=tag,
                name=asset.name,
                where=_where(asset),
                device=placement["device"],
            )
        )
    height = int(placement["u_end"]) - int(placement["u_start"]) + 1
    if asset.u_height != height:
        raise _refuse(
            _(
                "%(tag)s (%(name)s) is registered as %(u)dU; the plan reserved %(height)dU in "
                "rack %(rack)s for %(device)s.",
                tag=tag,
                name=asset.name,
                u=asset.u_height,
                height=height,
                rack=rack.name,
                device=placement["device"],
            )
        )
    return asset


def _as_scan_error(exc: ValidationFailed) -> ValidationFailed:
    """A registry refusal (tag format, unit taken ...) shown by the scanner."""
    return ValidationFailed({FIELD: [m for messages in exc.errors.values() for m in messages]})


def install(reservation_id: int, device: str, scanned: str) -> Installed:
    """Install ``device`` of the reservation as the asset whose label was ``scanned``."""
    now = clock.now()
    reservation = _locked(reservation_id)
    placement = _placement(reservation, device)
    tag = queries.label_tag(scanned)
    if not tag:
        raise _refuse(_("Scan the label of the new %(device)s, or type its tag.", device=device))
    sess = db.session()
    done = placement.get("installed")
    if done:
        if done.get("tag") == tag:
            asset = sess.get(Asset, done.get("asset_id"))
            if asset is not None:
                return Installed(asset, True, False, _all_installed(reservation))
        raise _refuse(
            _(
                "%(device)s is already installed as %(tag)s.",
                device=device,
                tag=done.get("tag"),
            )
        )
    _check_open(reservation, now)
    for other in reservation.placements or []:
        if (other.get("installed") or {}).get("tag") == tag:
            raise _refuse(
                _(
                    "Label %(tag)s was already installed as %(device)s of this plan.",
                    tag=tag,
                    device=other["device"],
                )
            )
    rack = sess.get(Rack, placement.get("rack_id"))
    if rack is None:
        raise _refuse(_("Rack %(rack)s no longer exists.", rack=placement.get("rack")))
    asset = _existing(tag, placement, rack)
    addresses = list(
        sess.scalars(
            select(ReservedAddress.address)
            .where(
                ReservedAddress.reservation_id == reservation.id,
                ReservedAddress.device == device,
            )
            .order_by(ReservedAddress.id)
        )
    )
    free_holds(reservation.id, device)  # the device's units, ports and addresses: its own now
    created = asset is None
    try:
        asset = _place(asset, tag, placement, rack, addresses)
        for address in addresses:
            save_address(
                {
                    "address": address,
                    "asset": asset,
                    "status": AddressStatus.ACTIVE.value,
                    "hostname": asset.name,
                }
            )
        _cable(asset, placement, reservation.plan)
    except ValidationFailed as exc:
        raise _as_scan_error(exc) from exc
    placement["installed"] = {
        "tag": tag,
        "asset_id": asset.id,
        "addresses": addresses,
        "by": current_actor()[1],
        "at": now.isoformat(),
    }
    reservation.placements = [
        placement if str(p.get("device")) == device else p for p in reservation.placements
    ]
    finished = _all_installed(reservation)
    if finished:
        reservation.status = ReservationStatus.INSTALLED.value
    sess.flush()
    return Installed(asset, False, created, finished)


def _place(
    asset: Asset | None,
    tag: str,
    placement: Mapping[str, Any],
    rack: Rack,
    addresses: list[str],
) -> Asset:
    first, last = int(placement["u_start"]), int(placement["u_end"])
    values: dict[str, Any] = {"rack": rack, "u_position": first, "u_height": last - first + 1}
    if asset is None:
        values.update(
            asset_tag=tag,
            name=str(placement["device"]),
            kind=placement.get("kind") or "server",
            specs={"power_watts": placement["watts"]} if placement.get("watts") else {},
            mgmt_ip=addresses[0] if addresses else None,
        )
    elif not asset.mgmt_ip and addresses:
        values["mgmt_ip"] = addresses[0]
    return save_asset(values, asset)


def _cable(asset: Asset, placement: Mapping[str, Any], plan: str) -> None:
    """One link per planned switch port, from the device's ``<speed>-<n>`` port."""
    for n, port in enumerate(placement.get("ports") or [], start=1):
        switch = queries.asset_by_tag(str(port["switch"]))
        if switch is None:
            raise _refuse(_("No switch %(tag)s.", tag=port["switch"]))
        save_link(
            asset,
            f"{port['speed']}-{n}",
            switch,
            str(port["port"]),
            notes=_("Cabled as planned by %(plan)s.", plan=plan),
        )


def _all_installed(reservation: Reservation) -> bool:
    return all(p.get("installed") for p in reservation.placements or [])


def finish(reservation_id: int) -> Reservation:
    """End the plan: what was not installed is freed; ``installed`` if any device was, else
    ``released``. Finishing a finished plan changes nothing."""
    reservation = _locked(reservation_id)
    if reservation.status != ReservationStatus.RESERVED.value:
        return reservation
    free_holds(reservation.id)
    any_installed = any(p.get("installed") for p in reservation.placements or [])
    reservation.status = (
        ReservationStatus.INSTALLED.value if any_installed else ReservationStatus.RELEASED.value
    )
    db.session().flush()
    return reservation


def devices(reservation: Reservation) -> list[dict[str, Any]]:
    """The plan's devices for the install page: each placement with ``addresses`` (held, or
    given to the installed asset) and ``installed`` (tag, asset id, who, when) or None."""
    held: dict[str, list[str]] = {}
    for device, address in db.session().execute(
        select(ReservedAddress.device, ReservedAddress.address)
        .where(ReservedAddress.reservation_id == reservation.id)
        .order_by(ReservedAddress.id)
    ):
        held.setdefault(device, []).append(address)
    out = []
    for p in reservation.placements or []:
        done = p.get("installed")
        name = str(p.get("device"))
        out.append(
            {
                **p,
                "installed": done,
                "held_addresses": (done or {}).get("addresses") if done else held.get(name, []),
            }
        )
    return out


def recent(limit: int = 20) -> list[Reservation]:
    """The reservations still held first, then the latest finished ones."""
    held_first = (Reservation.status != ReservationStatus.RESERVED.value).asc()
    return list(
        db.session().scalars(
            select(Reservation).order_by(held_first, Reservation.id.desc()).limit(limit)
        )
    )
