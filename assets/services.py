"""Writes and rules of the registry. Views, the Excel importer and the API all come through here.

Every function validates before it writes and raises ``ValidationFailed`` keyed by field, so a
form can show the message beside the field and the importer can name the cell. Nothing here
commits: the caller owns the transaction (one form post, one whole workbook).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from assets.models import (
    AddressStatus,
    Asset,
    AssetKind,
    AssetStatus,
    CommunicationLine,
    Importance,
    IPAddress,
    Link,
    LinkSource,
    Prefix,
    Rack,
    RackUnit,
    Room,
    Site,
)
from opskit import db
from opskit.validation import ValidationFailed

IPAny = ipaddress.IPv4Address | ipaddress.IPv6Address
NetAny = ipaddress.IPv4Network | ipaddress.IPv6Network
MAC_RE = re.compile(r"^[0-9a-f]{12}$")
TAG_RE = re.compile(r"^[\w.\-/#]{1,64}$")
DEFAULT_RACK_HEIGHT = 42

ASSET_FIELDS = (
    "asset_tag",
    "name",
    "kind",
    "vendor",
    "model",
    "serial",
    "status",
    "importance",
    "owner",
    "contact",
    "room",
    "rack",
    "u_position",
    "u_height",
    "mgmt_ip",
    "purchase_date",
    "warranty_end",
    "support_level",
    "specs",
    "notes",
)


# --- addresses ------------------------------------------------------------------------------


def parse_ip(text: str) -> IPAny:
    """Parse an IPv4/IPv6 address; raises ValueError with a readable message."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(_("%(value)s is not an IP address", value=text)) from None


def parse_network(text: str) -> NetAny:
    value = text.strip()
    if "/" not in value:
        raise ValueError(
            _("%(value)s: write the prefix as address/length, e.g. 10.1.20.0/24", value=text)
        )
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            net = ipaddress.ip_network(value, strict=False)
            raise ValueError(
                _("%(value)s has host bits set; did you mean %(net)s?", value=text, net=str(net))
            ) from None
        raise ValueError(_("%(value)s is not an IP prefix", value=text)) from None


def sort_key(ip: IPAny) -> str:
    """32 hex digits that sort addresses of one family numerically (queries filter by family)."""
    return f"{int(ip):032x}"


def normalize_mac(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    digits = re.sub(r"[^0-9a-fA-F]", "", text).lower()
    if not MAC_RE.match(digits) or len(re.sub(r"[0-9a-fA-F:.\-\s]", "", text)) > 0:
        raise ValueError(_("%(value)s is not a MAC address", value=text))
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def containing_prefix(ip: IPAny) -> Prefix | None:
    """The most specific registered prefix that contains ``ip``."""
    key = sort_key(ip)
    candidates = db.session().scalars(
        select(Prefix)
        .where(Prefix.family == ip.version, Prefix.sort_key <= key)
        .order_by(Prefix.prefix_length.desc())
    )
    for prefix in candidates:
        if ip in ipaddress.ip_network(prefix.cidr):
            return prefix
    return None


# --- locations ------------------------------------------------------------------------------


def get_or_create_site(name: str) -> tuple[Site, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("site", _("A site name is required."))
    sess = db.session()
    site = sess.scalar(select(Site).where(Site.name == name))
    if site is not None:
        return site, False
    site = Site(name=name)
    sess.add(site)
    return site, True


def get_or_create_room(site: Site, name: str) -> tuple[Room, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("room", _("A room name is required."))
    sess = db.session()
    room = None
    if site.id is not None:
        room = sess.scalar(select(Room).where(Room.site_id == site.id, Room.name == name))
    if room is not None:
        return room, False
    room = Room(site=site, name=name)
    sess.add(room)
    return room, True


def get_or_create_rack(room: Room, name: str, u_height: int | None = None) -> tuple[Rack, bool]:
    name = name.strip()
    if not name:
        raise ValidationFailed.one("rack", _("A rack name is required."))
    sess = db.session()
    rack = None
    if room.id is not None:
        rack = sess.scalar(select(Rack).where(Rack.room_id == room.id, Rack.name == name))
    if rack is not None:
        return rack, False
    height = u_height or DEFAULT_RACK_HEIGHT
    if not 1 <= height <= 60:
        raise ValidationFailed.one("u_height", _("A rack is 1 to 60 U high."))
    rack = Rack(room=room, name=name, u_height=height)
    sess.add(rack)
    return rack, True


def save_site(values: Mapping[str, Any], site: Site | None = None) -> Site:
    """Create or update a site: ``name`` (unique), ``address``, ``notes``."""
    sess = db.session()
    name = str(values.get("name", site.name if site else "") or "").strip()
    if not name:
        raise ValidationFailed.one("name", _("A site name is required."))
    clash = sess.scalar(select(Site.id).where(Site.name == name))
    if clash is not None and (site is None or clash != site.id):
        raise ValidationFailed.one("name", _("Site %(name)s already exists.", name=name))
    if site is None:
        site = Site(name=name, address="", notes="")
        sess.add(site)
    site.name = name
    for key in ("address", "notes"):
        if key in values:
            setattr(site, key, str(values[key] or "").strip())
    return site


def save_room(values: Mapping[str, Any], room: Room | None = None) -> Room:
    """Create or update a room: ``site`` (a Site), ``name`` (unique in the site), ``floor``,
    ``notes``."""
    sess = db.session()
    site: Site | None = values.get("site", room.site if room else None)
    if site is None:
        raise ValidationFailed.one("site", _("A site is required."))
    name = str(values.get("name", room.name if room else "") or "").strip()
    if not name:
        raise ValidationFailed.one("name", _("A room name is required."))
    clash = sess.scalar(select(Room.id).where(Room.site_id == site.id, Room.name == name))
    if clash is not None and (room is None or clash != room.id):
        raise ValidationFailed.one(
            "name", _("Room %(name)s already exists in %(site)s.", name=name, site=site.name)
        )
    if room is None:
        room = Room(floor="", notes="")
        sess.add(room)
    room.site, room.name = site, name
    for key in ("floor", "notes"):
        if key in values:
            setattr(room, key, str(values[key] or "").strip())
    return room


def save_rack(values: Mapping[str, Any], rack: Rack | None = None) -> Rack:
    """Create or update a rack: ``room`` (a Room), ``name`` (unique in the room),
    ``u_height`` (1-60, not below a unit in use), ``descending_units``, ``notes``.
    Moving a rack to another room moves its assets with it."""
    sess = db.session()
    errors: dict[str, list[str]] = {}
    room: Room | None = values.get("room", rack.room if rack else None)
    if room is None:
        raise ValidationFailed.one("room", _("A room is required."))
    name = str(values.get("name", rack.name if rack else "") or "").strip()
    if not name:
        errors["name"] = [_("A rack name is required.")]
    else:
        clash = sess.scalar(select(Rack.id).where(Rack.room_id == room.id, Rack.name == name))
        if clash is not None and (rack is None or clash != rack.id):
            errors["name"] = [
                _("Rack %(name)s already exists in %(room)s.", name=name, room=room.name)
            ]
    height = values.get("u_height", rack.u_height if rack else DEFAULT_RACK_HEIGHT)
    height = DEFAULT_RACK_HEIGHT if height is None else height
    if not isinstance(height, int) or not 1 <= height <= 60:
        errors["u_height"] = [_("A rack is 1 to 60 U high.")]
    elif rack is not None:
        top = sess.scalar(select(func.max(RackUnit.unit)).where(RackUnit.rack_id == rack.id))
        if top is not None and top > height:
            errors["u_height"] = [
                _("U%(unit)d is in use: the rack needs at least %(unit)d U.", unit=top)
            ]
    if errors:
        raise ValidationFailed(errors)
    if rack is None:
        rack = Rack(notes="", descending_units=False)
        sess.add(rack)
    elif rack.room is not room:
        for asset in rack.assets:  # the assets move with their rack
            asset.room = room
    rack.room, rack.name, rack.u_height = room, name, height
    if "descending_units" in values:
        rack.descending_units = bool(values["descending_units"])
    if "notes" in values:
        rack.notes = str(values["notes"] or "").strip()
    return rack


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


def _occupied_in_db(rack: Rack, wanted: set[int], asset: Asset) -> dict[int, str]:
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


def _place(
    asset: Asset, errors: dict[str, list[str]], occupied: OccupiedLookup = _occupied_in_db
) -> list[int]:
    """Check the asset's rack position (inside the rack, one asset per unit); return its units.

    ``occupied`` says which of the wanted units other assets hold: the database by default,
    or the importer's in-memory view of a whole batch.
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
    if taken:
        unit = min(taken)
        errors.setdefault("u_position", []).append(
            _(
                "U%(unit)d of rack %(rack)s is already occupied by %(tag)s.",
                unit=unit,
                rack=rack.name,
                tag=taken[unit],
            )
        )
        return []
    return sorted(wanted)


def _sync_units(asset: Asset) -> None:
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
    for rack_id, unit in sorted(wanted - current.keys()):
        asset.units.append(RackUnit(rack_id=rack_id, unit=unit))


# --- assets ---------------------------------------------------------------------------------


def _enum(cls: type, value: Any, field: str, errors: dict[str, list[str]]) -> str | None:
    try:
        return cls(value).value
    except ValueError:
        allowed = ", ".join(m.value for m in cls)
        errors.setdefault(field, []).append(
            _("%(value)s is not one of: %(allowed)s", value=value, allowed=allowed)
        )
        return None


TEXT_FIELDS = ("vendor", "model", "serial", "owner", "contact", "support_level", "notes")


def _clean_fields(
    values: Mapping[str, Any], asset: Asset, tag_taken: Callable[[str], bool]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate the non-location fields against ``asset``'s current values; (clean, errors)."""
    unknown = set(values) - set(ASSET_FIELDS)
    if unknown:
        raise ValueError(f"unknown asset fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    tag = str(values.get("asset_tag", asset.asset_tag) or "").strip()
    if not tag:
        errors.setdefault("asset_tag", []).append(_("An asset tag is required."))
    elif not TAG_RE.match(tag):
        errors.setdefault("asset_tag", []).append(
            _("Use letters, digits and . _ - / # (up to 64).")
        )
    elif tag_taken(tag):
        errors.setdefault("asset_tag", []).append(
            _("Asset tag %(tag)s is already registered.", tag=tag)
        )
    name = str(values.get("name", asset.name) or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("A name is required."))
    clean: dict[str, Any] = {
        "asset_tag": tag,
        "name": name,
        "kind": _enum(AssetKind, values.get("kind", asset.kind), "kind", errors),
        "status": _enum(
            AssetStatus,
            values.get("status", asset.status) or AssetStatus.IN_SERVICE,
            "status",
            errors,
        ),
        "importance": _enum(
            Importance,
            values.get("importance", asset.importance) or Importance.GENERAL,
            "importance",
            errors,
        ),
    }
    mgmt_ip = values.get("mgmt_ip", asset.mgmt_ip) or None
    if mgmt_ip:
        try:
            mgmt_ip = str(parse_ip(str(mgmt_ip)))
        except ValueError as exc:
            errors.setdefault("mgmt_ip", []).append(str(exc))
    clean["mgmt_ip"] = mgmt_ip
    purchase = values.get("purchase_date", asset.purchase_date)
    warranty = values.get("warranty_end", asset.warranty_end)
    for field, value in (("purchase_date", purchase), ("warranty_end", warranty)):
        if value is not None and not isinstance(value, date):
            errors.setdefault(field, []).append(_("Expected a date."))
    if isinstance(purchase, date) and isinstance(warranty, date) and warranty < purchase:
        errors.setdefault("warranty_end", []).append(
            _("The warranty cannot end before the purchase date.")
        )
    clean["purchase_date"], clean["warranty_end"] = purchase, warranty
    specs = values.get("specs", asset.specs) or {}
    if not isinstance(specs, dict):
        errors.setdefault("specs", []).append(_("Expected key/value pairs."))
    clean["specs"] = dict(specs) if isinstance(specs, dict) else {}
    for field in TEXT_FIELDS:
        if field in values or getattr(asset, field) is None:
            clean[field] = str(values.get(field) or "").strip()
    return clean, errors


def _set_position(asset: Asset, values: Mapping[str, Any]) -> None:
    if "room" in values or "rack" in values:
        asset.rack = values.get("rack", asset.rack)
        asset.room = values.get("room", asset.room if asset.rack is None else None)
        if asset.rack is not None and "room" not in values:
            asset.room = asset.rack.room
    if "u_position" in values:
        asset.u_position = values["u_position"]
    if "u_height" in values and values["u_height"] is not None:
        asset.u_height = int(values["u_height"])


def _discard(asset: Asset) -> None:
    """Leave no half-made new asset behind (e.g. in its rack's collection)."""
    asset.rack = None
    asset.room = None
    sess = db.session()
    if asset in sess:
        sess.expunge(asset)


def save_asset(values: Mapping[str, Any], asset: Asset | None = None) -> Asset:
    """Create or update an asset from typed ``values`` (keys: ``ASSET_FIELDS``)."""
    sess = db.session()
    creating = asset is None
    current = asset if asset is not None else Asset(specs={}, u_height=1)

    def tag_taken(tag: str) -> bool:
        clash = sess.scalar(select(Asset.id).where(Asset.asset_tag == tag))
        return clash is not None and clash != current.id

    clean, errors = _clean_fields(values, current, tag_taken)
    if errors:
        raise ValidationFailed(errors)
    for field, value in clean.items():
        setattr(current, field, value)
    # No autoflush while the position is half-changed: a lazy load of asset.room or rack.room
    # would flush it (e.g. rack cleared, U position kept) and trip a CHECK before _place speaks.
    with sess.no_autoflush:
        _set_position(current, values)
        _place(current, errors)
    if errors:
        if creating:
            _discard(current)
        raise ValidationFailed(errors)
    if creating:
        sess.add(current)
    _sync_units(current)
    return current


def delete_asset(asset: Asset) -> None:
    sess = db.session()
    sess.execute(delete(Link).where((Link.a_asset_id == asset.id) | (Link.b_asset_id == asset.id)))
    sess.delete(asset)


# --- prefixes and addresses -----------------------------------------------------------------


def save_prefix(values: Mapping[str, Any], prefix: Prefix | None = None) -> Prefix:
    errors: dict[str, list[str]] = {}
    sess = db.session()
    net: NetAny | None = None
    try:
        net = parse_network(str(values.get("cidr", prefix.cidr if prefix else "") or ""))
    except ValueError as exc:
        errors["cidr"] = [str(exc)]
    if net is not None:
        clash = sess.scalar(select(Prefix.id).where(Prefix.cidr == str(net)))
        if clash is not None and (prefix is None or clash != prefix.id):
            errors["cidr"] = [_("Prefix %(cidr)s is already registered.", cidr=str(net))]
    vlan = values.get("vlan", prefix.vlan if prefix else None)
    if vlan is not None and not (isinstance(vlan, int) and 1 <= vlan <= 4094):
        errors["vlan"] = [_("A VLAN is a number from 1 to 4094.")]
    gateway = values.get("gateway", prefix.gateway if prefix else None) or None
    if gateway and net is not None:
        try:
            gw = parse_ip(str(gateway))
            if gw not in net:
                errors["gateway"] = [
                    _("Gateway %(gw)s is outside %(net)s.", gw=str(gw), net=str(net))
                ]
            gateway = str(gw)
        except ValueError as exc:
            errors["gateway"] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    assert net is not None
    if prefix is None:
        prefix = Prefix()
        sess.add(prefix)
    prefix.cidr = str(net)
    prefix.family = net.version
    prefix.prefix_length = net.prefixlen
    prefix.sort_key = sort_key(net.network_address)
    prefix.vlan = vlan
    prefix.gateway = gateway
    prefix.purpose = str(values.get("purpose", prefix.purpose or "") or "").strip()
    prefix.notes = str(values.get("notes", prefix.notes or "") or "").strip()
    if "site" in values:
        prefix.site = values["site"]
    return prefix


def save_address(values: Mapping[str, Any], address: IPAddress | None = None) -> IPAddress:
    """Register an address; it must lie inside a registered prefix (``prefix`` if given)."""
    errors: dict[str, list[str]] = {}
    sess = db.session()
    ip: IPAny | None = None
    try:
        ip = parse_ip(str(values.get("address", address.address if address else "") or ""))
    except ValueError as exc:
        errors["address"] = [str(exc)]
    prefix: Prefix | None = values.get("prefix")
    if ip is not None:
        clash = sess.scalar(select(IPAddress.id).where(IPAddress.address == str(ip)))
        if clash is not None and (address is None or clash != address.id):
            errors["address"] = [_("%(ip)s is already registered.", ip=str(ip))]
        elif prefix is not None:
            if ip not in ipaddress.ip_network(prefix.cidr):
                errors["address"] = [
                    _("%(ip)s is outside prefix %(cidr)s.", ip=str(ip), cidr=prefix.cidr)
                ]
        else:
            prefix = containing_prefix(ip)
            if prefix is None:
                errors["address"] = [
                    _(
                        "%(ip)s is not inside any registered prefix; register the prefix first.",
                        ip=str(ip),
                    )
                ]
    status = _enum(
        AddressStatus,
        values.get("status", address.status if address else AddressStatus.ACTIVE),
        "status",
        errors,
    )
    mac = values.get("mac", address.mac if address else None)
    try:
        mac = normalize_mac(mac)
    except ValueError as exc:
        errors["mac"] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    assert ip is not None and prefix is not None
    if address is None:
        address = IPAddress()
        sess.add(address)
    address.address = str(ip)
    address.family = ip.version
    address.sort_key = sort_key(ip)
    address.prefix = prefix
    address.status = status  # type: ignore[assignment]
    address.mac = mac
    for field in ("interface", "hostname", "notes"):
        address.__setattr__(
            field, str(values.get(field, getattr(address, field) or "") or "").strip()
        )
    if "asset" in values:
        address.asset = values["asset"]
    return address


# --- links and lines ------------------------------------------------------------------------


def save_link(
    a_asset: Asset,
    a_port: str,
    b_asset: Asset,
    b_port: str,
    medium: str = "",
    source: str = LinkSource.MANUAL.value,
    notes: str = "",
    link: Link | None = None,
) -> Link:
    errors: dict[str, list[str]] = {}
    a_port, b_port = a_port.strip(), b_port.strip()
    if not a_port:
        errors["a_port"] = [_("A port name is required.")]
    if not b_port:
        errors["b_port"] = [_("A port name is required.")]
    if a_asset is b_asset and a_port == b_port:
        errors["b_port"] = [_("A port cannot be linked to itself.")]
    source_value = _enum(LinkSource, source, "source", errors)
    if errors:
        raise ValidationFailed(errors)
    sess = db.session()
    sess.flush()
    (a_asset, a_port), (b_asset, b_port) = sorted(
        [(a_asset, a_port), (b_asset, b_port)], key=lambda end: (end[0].id, end[1])
    )
    for field, asset, port in (("a_port", a_asset, a_port), ("b_port", b_asset, b_port)):
        existing = sess.scalar(
            select(Link).where(
                ((Link.a_asset_id == asset.id) & (Link.a_port == port))
                | ((Link.b_asset_id == asset.id) & (Link.b_port == port))
            )
        )
        if existing is not None and existing is not link:
            errors[field] = [
                _("Port %(port)s of %(tag)s is already linked.", port=port, tag=asset.asset_tag)
            ]
    if errors:
        raise ValidationFailed(errors)
    if link is None:
        link = Link()
        sess.add(link)
    link.a_asset, link.a_port, link.b_asset, link.b_port = a_asset, a_port, b_asset, b_port
    link.medium = medium.strip()
    link.source = source_value  # type: ignore[assignment]
    link.notes = notes.strip()
    return link


def save_line(asset: Asset, values: Mapping[str, Any]) -> CommunicationLine:
    if asset.kind != AssetKind.LINE.value:
        raise ValidationFailed.one("kind", _("Only assets of kind 'line' have line details."))
    circuit = str(values.get("circuit_id", "") or "").strip()
    if not circuit:
        raise ValidationFailed.one("circuit_id", _("A circuit ID is required."))
    sess = db.session()
    clash = sess.scalar(
        select(CommunicationLine.asset_id).where(CommunicationLine.circuit_id == circuit)
    )
    if clash is not None and clash != asset.id:
        raise ValidationFailed.one(
            "circuit_id", _("Circuit %(id)s is already registered.", id=circuit)
        )
    bandwidth = values.get("bandwidth_mbps")
    if bandwidth is not None and (not isinstance(bandwidth, int) or bandwidth <= 0):
        raise ValidationFailed.one("bandwidth_mbps", _("Bandwidth is a positive number of Mbit/s."))
    line = asset.line or CommunicationLine()
    line.circuit_id = circuit
    line.carrier = str(values.get("carrier", "") or "").strip()
    line.bandwidth_mbps = bandwidth
    line.a_end = str(values.get("a_end", "") or "").strip()
    line.z_end = str(values.get("z_end", "") or "").strip()
    asset.line = line
    return line


def count_assets() -> int:
    return db.session().scalar(select(func.count()).select_from(Asset)) or 0


# --- many new assets at once (the Excel importer) -------------------------------------------


def add_assets(items: list[Mapping[str, Any]]) -> list[Asset | ValidationFailed]:
    """Create many new assets in one flush; per item, the new Asset or why it was refused.

    The same checks as ``save_asset`` (the same functions), but tags are looked up with one
    query per 500, units taken are read once per rack and tracked in memory for the batch, and
    everything is flushed once, so 50,000 rows take a minute rather than many. Refused items
    leave nothing behind. Racks and rooms in ``values`` may be new (pending).
    """
    sess = db.session()
    sess.flush()  # ids for new racks, so units can be recorded
    tags = [str(v.get("asset_tag") or "").strip() for v in items]
    registered: set[str] = set()
    for start in range(0, len(tags), 500):
        chunk = [t for t in tags[start : start + 500] if t]
        registered.update(sess.scalars(select(Asset.asset_tag).where(Asset.asset_tag.in_(chunk))))
    taken_units: dict[int, dict[int, str]] = {}  # rack id → unit → tag (database + this batch)
    rack_ids = sorted({v["rack"].id for v in items if v.get("rack") is not None})
    for start in range(0, len(rack_ids), 500):
        for rack_id, unit, tag in sess.execute(
            select(RackUnit.rack_id, RackUnit.unit, Asset.asset_tag)
            .join(Asset, RackUnit.asset_id == Asset.id)
            .where(RackUnit.rack_id.in_(rack_ids[start : start + 500]))
        ):
            taken_units.setdefault(rack_id, {})[unit] = tag

    def occupied(rack: Rack, wanted: set[int], _asset: Asset) -> dict[int, str]:
        held = taken_units.get(rack.id, {})
        return {u: held[u] for u in wanted if u in held}

    out: list[Asset | ValidationFailed] = []
    with sess.no_autoflush:
        for values in items:
            asset = Asset(specs={}, u_height=1)
            clean, errors = _clean_fields(values, asset, registered.__contains__)
            if errors:
                out.append(ValidationFailed(errors))
                continue
            for field, value in clean.items():
                setattr(asset, field, value)
            _set_position(asset, values)
            units = _place(asset, errors, occupied)
            if errors:
                _discard(asset)
                out.append(ValidationFailed(errors))
                continue
            sess.add(asset)
            for unit in units:
                taken_units.setdefault(asset.rack.id, {})[unit] = asset.asset_tag  # type: ignore[union-attr]
                asset.units.append(RackUnit(rack_id=asset.rack.id, unit=unit))  # type: ignore[union-attr]
            registered.add(asset.asset_tag)
            out.append(asset)
    sess.flush()
    return out
