"""A plan's request (``assets.plan``): the planned devices and the constraints, read from a plan
file's mapping and checked against the registry. Every problem names its place
(``devices[2] (db-3).watts``) and all are raised together (:class:`PlanInputError`)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from assets import capacity
from assets.models import AssetKind, Prefix, Rack, Room, Site
from opskit import db


class PlanInputError(ValueError):
    """A request that cannot be planned: ``errors``, each naming the device and field."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class Device:
    name: str
    u: int
    watts: float | None
    feeds: int
    ports: dict[str, int]
    addresses: tuple[tuple[str, int], ...]  # (prefix cidr as registered, count)
    kind: str = AssetKind.SERVER.value  # the asset kind it is registered as when installed


@dataclass(frozen=True)
class Request:
    devices: tuple[Device, ...]
    site_id: int | None = None
    room_id: int | None = None
    together: bool = False
    near: int | None = None  # a rack id
    days: int | None = None
    limit: int = 5


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _whole(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number.is_integer() else None


def _one(found: Sequence[int], errors: list[str], none: str, several: str) -> int | None:
    """The one id found, else None with ``none`` or ``several`` added to ``errors``."""
    if len(found) == 1:
        return found[0]
    errors.append(several if found else none)
    return None


def read_request(data: Any) -> Request:
    """The request in ``data`` (a plan file's mapping), checked against the registry: every
    problem is collected, each naming its place (``devices[2].watts``), then raised together."""
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise PlanInputError([_("The plan must be a mapping with a “devices:” list.")])
    site_id = room_id = near = None
    sess = db.session()
    if data.get("site") not in (None, ""):
        site_id = sess.scalar(select(Site.id).where(Site.name == str(data["site"])))
        if site_id is None:
            errors.append(_("site: no site named “%(name)s”.", name=data["site"]))
    if data.get("room") not in (None, ""):
        query = select(Room.id).where(Room.name == str(data["room"]))
        if site_id is not None:
            query = query.where(Room.site_id == site_id)
        room_id = _one(
            sess.scalars(query).all(),
            errors,
            _("room: no room named “%(name)s”.", name=data["room"]),
            _("room: several rooms are named “%(name)s”; name the site.", name=data["room"]),
        )
    if data.get("near") not in (None, ""):
        query = select(Rack.id).join(Room).where(Rack.name == str(data["near"]))
        if room_id is not None:
            query = query.where(Rack.room_id == room_id)
        if site_id is not None:
            query = query.where(Room.site_id == site_id)
        near = _one(
            sess.scalars(query).all(),
            errors,
            _("near: no rack named “%(name)s”.", name=data["near"]),
            _("near: several racks are named “%(name)s”; name the room.", name=data["near"]),
        )
    together = data.get("together", False)
    if not isinstance(together, bool):
        errors.append(_("together: expected true or false."))
    days = data.get("days")
    if days is not None and (_whole(days) is None or not 1 <= int(days) <= 366):
        errors.append(_("days: expected a whole number of days from 1 to 366."))
    raw = data.get("devices")
    if not isinstance(raw, list) or not raw:
        errors.append(_("devices: expected a list of at least one device."))
        raise PlanInputError(errors)
    tallest = sess.scalar(
        select(func.max(Rack.u_height)).where(
            Rack.room_id.in_(capacity.scope_rooms(site_id, room_id))
        )
    )
    prefixes = {_cidr_key(p): p for p in sess.scalars(select(Prefix.cidr))}
    devices = []
    names: set[str] = set()
    for index, item in enumerate(raw):
        device = _read_device(index, item, tallest, prefixes, errors)
        if device is not None:
            if device.name in names:
                errors.append(
                    _("devices[%(i)d].name: “%(name)s” is named twice.", i=index, name=device.name)
                )
            names.add(device.name)
            devices.append(device)
    if errors:
        raise PlanInputError(errors)
    return Request(tuple(devices), site_id, room_id, bool(together), near, days and int(days))


def _cidr_key(cidr: str) -> str:
    try:
        return str(ipaddress.ip_network(cidr, strict=False))
    except ValueError:
        return cidr


def _read_device(
    index: int, item: Any, tallest: int | None, prefixes: dict[str, str], errors: list[str]
) -> Device | None:
    at = f"devices[{index}]"
    if not isinstance(item, Mapping):
        errors.append(_("%(at)s: expected a mapping (name, u, watts ...).", at=at))
        return None
    before = len(errors)
    name = str(item.get("name") or "").strip()
    if name:
        at = f"devices[{index}] ({name})"
    else:
        errors.append(_("%(at)s.name: missing.", at=at))
    u = _whole(item.get("u"))
    if "u" not in item:
        errors.append(_("%(at)s.u: missing (the height in rack units, e.g. 2).", at=at))
    elif u is None or not 1 <= u <= 60:
        errors.append(
            _("%(at)s.u: “%(value)s” is not a height from 1 to 60 U.", at=at, value=item["u"])
        )
    elif tallest is None:
        errors.append(_("%(at)s.u: there is no rack to plan in.", at=at))
    elif u > tallest:
        errors.append(
            _(
                "%(at)s.u: %(u)dU is taller than any rack (the tallest has %(tallest)dU).",
                at=at,
                u=u,
                tallest=tallest,
            )
        )
    watts = item.get("watts")
    if watts is not None and (_number(watts) is None or float(watts) <= 0):
        errors.append(
            _("%(at)s.watts: “%(value)s” is not a number of watts (e.g. 600).", at=at, value=watts)
        )
    feeds = item.get("feeds", 1)
    if _whole(feeds) not in (1, 2):
        errors.append(_("%(at)s.feeds: “%(value)s” is not 1 or 2.", at=at, value=feeds))
    ports: dict[str, int] = {}
    raw_ports = item.get("ports") or {}
    if not isinstance(raw_ports, Mapping):
        errors.append(_("%(at)s.ports: expected speeds and counts, e.g. {10G: 2}.", at=at))
        raw_ports = {}
    for speed, count in raw_ports.items():
        word = capacity.read_speed(str(speed))
        if word is None:
            errors.append(
                _(
                    "%(at)s.ports: “%(speed)s” is not a speed (e.g. 1G, 10G, 25G).",
                    at=at,
                    speed=speed,
                )
            )
        elif _whole(count) is None or int(count) < 0:
            errors.append(
                _(
                    "%(at)s.ports.%(speed)s: “%(value)s” is not a whole number of ports.",
                    at=at,
                    speed=speed,
                    value=count,
                )
            )
        elif int(count):
            ports[word] = ports.get(word, 0) + int(count)
    addresses = []
    raw_addresses = item.get("addresses") or []
    if isinstance(raw_addresses, Mapping):
        raw_addresses = [raw_addresses]
    if not isinstance(raw_addresses, list):
        errors.append(_("%(at)s.addresses: expected {prefix, count} or a list of them.", at=at))
        raw_addresses = []
    for entry in raw_addresses:
        if not isinstance(entry, Mapping) or "prefix" not in entry:
            errors.append(_("%(at)s.addresses: expected {prefix, count} or a list of them.", at=at))
            continue
        cidr = prefixes.get(_cidr_key(str(entry["prefix"])))
        count = entry.get("count", 1)
        if cidr is None:
            errors.append(
                _(
                    "%(at)s.addresses.prefix: %(prefix)s is not a registered prefix.",
                    at=at,
                    prefix=entry["prefix"],
                )
            )
        elif _whole(count) is None or int(count) < 1:
            errors.append(
                _(
                    "%(at)s.addresses.count: “%(value)s” is not a whole number of addresses.",
                    at=at,
                    value=count,
                )
            )
        else:
            addresses.append((cidr, int(count)))
    kind = str(item.get("kind") or AssetKind.SERVER.value).strip().lower()
    if kind not in {k.value for k in AssetKind}:
        errors.append(
            _(
                "%(at)s.kind: “%(value)s” is not a kind of asset (e.g. server, storage, switch).",
                at=at,
                value=item.get("kind"),
            )
        )
    if len(errors) > before:
        return None
    return Device(
        name,
        int(u or 0),
        float(watts) if watts is not None else None,
        int(feeds),
        ports,
        tuple(addresses),
        kind,
    )
