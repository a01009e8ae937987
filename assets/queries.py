"""The registry's public reads: one module, over 500 lines, as the one door every package uses.

What other domains, the dashboard and reports read. One module on purpose: ``tests/layers.py``
lets the other packages reach the registry through it, and the domains add their reads at its
end while they move into shape.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import aliased, contains_eager, joinedload, selectinload

from assets.models import (
    AddressStatus,
    Asset,
    AssetKind,
    AssetStatus,
    Importance,
    IPAddress,
    LabeledEnum,
    Link,
    Prefix,
    Rack,
    RackUnit,
    Room,
    Site,
)
from assets.snapshot_models import CapacitySnapshot
from opskit import db
from opskit.db import Page

LIST_SORTS = {
    "asset_tag": Asset.asset_tag,
    "name": Asset.name,
    "kind": Asset.kind,
    "status": Asset.status,
    "vendor": Asset.vendor,
    "warranty_end": Asset.warranty_end,
    "mgmt_ip": Asset.mgmt_ip,
}


def asset_query(
    q: str = "",
    kind: str | None = None,
    status: str | None = None,
    room_id: int | None = None,
    rack_id: int | None = None,
) -> Select[Asset]:
    stmt = select(Asset)
    if q:
        stmt = stmt.where(
            db.text_search(
                q,
                Asset.asset_tag,
                Asset.name,
                Asset.serial,
                Asset.mgmt_ip,
                Asset.model,
                Asset.vendor,
            )
        )
    if kind:
        stmt = stmt.where(Asset.kind == kind)
    if status:
        stmt = stmt.where(Asset.status == status)
    if room_id:
        stmt = stmt.where(Asset.room_id == room_id)
    if rack_id:
        stmt = stmt.where(Asset.rack_id == rack_id)
    return stmt


def list_assets(
    q: str = "",
    kind: str | None = None,
    status: str | None = None,
    room_id: int | None = None,
    rack_id: int | None = None,
    sort: str = "asset_tag",
    descending: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> Page:
    """One page of assets, filtered and sorted in the database (keyset-free offset paging)."""
    sess = db.session()
    base = asset_query(q, kind, status, room_id, rack_id)
    total = sess.scalar(select(func.count()).select_from(base.order_by(None).subquery())) or 0
    column = LIST_SORTS.get(sort, Asset.asset_tag)
    order = column.desc() if descending else column.asc()
    page = max(1, page)
    items = sess.scalars(
        base.options(joinedload(Asset.room), joinedload(Asset.rack))
        .order_by(order, Asset.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def get_asset(asset_id: int) -> Asset | None:
    return db.session().get(Asset, asset_id)


def asset_by_tag(tag: str) -> Asset | None:
    return db.session().scalar(select(Asset).where(Asset.asset_tag == tag))


def assets_by_ids(ids: list[int]) -> list[Asset]:
    return list(db.session().scalars(select(Asset).where(Asset.id.in_(ids))))


def room_ids_of_assets(ids: list[int]) -> dict[int, int | None]:
    """Each asset's room (``None``: not placed); unknown ids are left out."""
    rows = db.session().execute(select(Asset.id, Asset.room_id).where(Asset.id.in_(ids)))
    return {asset_id: room_id for asset_id, room_id in rows}


def site_id_of_room(room_id: int | None) -> int | None:
    if room_id is None:
        return None
    return db.session().scalar(select(Room.site_id).where(Room.id == room_id))


def all_sites() -> list[Site]:
    return list(db.session().scalars(select(Site).order_by(Site.name)))


def all_rooms() -> list[Room]:
    return list(
        db.session().scalars(
            select(Room).options(joinedload(Room.site)).join(Site).order_by(Site.name, Room.name)
        )
    )


def racks_of_room(room_id: int) -> list[Rack]:
    return list(
        db.session().scalars(select(Rack).where(Rack.room_id == room_id).order_by(Rack.name))
    )


def all_racks() -> list[Rack]:
    return list(
        db.session().scalars(
            select(Rack).options(joinedload(Rack.room)).join(Room).order_by(Room.name, Rack.name)
        )
    )


# --- warranty reminders ----------------------------------------------------------------------


@dataclass(frozen=True)
class WarrantyReminder:
    asset: Asset
    days_left: int  # negative when expired

    @property
    def state(self) -> str:
        if self.days_left < 0:
            return "expired"
        if self.days_left <= 30:
            return "30"
        return "90"


def warranty_reminders(today: date, within_days: int = 90) -> list[WarrantyReminder]:
    """Assets in service or spare whose warranty has ended or ends within ``within_days``."""
    horizon = today + timedelta(days=within_days)
    rows = db.session().scalars(
        select(Asset)
        .where(
            Asset.warranty_end.is_not(None),
            Asset.warranty_end <= horizon,
            Asset.status.in_(["in_service", "spare", "repair"]),
        )
        .order_by(Asset.warranty_end, Asset.asset_tag)
    )
    return [WarrantyReminder(a, (a.warranty_end - today).days) for a in rows]  # type: ignore[operator]


# --- racks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ElevationSlot:
    unit: int  # the lowest unit of the slot
    height: int
    asset: Asset | None


def rack_elevation(rack: Rack) -> list[ElevationSlot]:
    """Slots from the top of the rack down: each asset once with its height, free units singly."""
    sess = db.session()
    slots: list[ElevationSlot] = []
    unit = rack.u_height
    occupied = {
        u: aid
        for u, aid in sess.execute(
            select(RackUnit.unit, RackUnit.asset_id).where(RackUnit.rack_id == rack.id)
        )
    }
    while unit >= 1:
        if unit in occupied:
            asset = sess.get(Asset, occupied[unit])
            assert asset is not None and asset.u_position is not None
            slots.append(ElevationSlot(asset.u_position, asset.u_height, asset))
            unit = asset.u_position - 1
        else:
            slots.append(ElevationSlot(unit, 1, None))
            unit -= 1
    return slots


def rack_utilisation(rack: Rack) -> tuple[int, int]:
    used = (
        db.session().scalar(
            select(func.count()).select_from(RackUnit).where(RackUnit.rack_id == rack.id)
        )
        or 0
    )
    return used, rack.u_height


# --- prefixes --------------------------------------------------------------------------------


def usable_range(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> tuple[int, int]:
    """First and last usable address as integers.

    IPv4 networks shorter than /31 lose the network and broadcast addresses (RFC 3021 makes
    /31 and /32 fully usable); IPv6 counts every address.
    """
    first, last = int(net.network_address), int(net.broadcast_address)
    if net.version == 4 and net.prefixlen < 31:
        return first + 1, last - 1
    return first, last


@dataclass(frozen=True)
class Utilisation:
    used: int
    size: int

    @property
    def free(self) -> int:
        return self.size - self.used

    @property
    def percent(self) -> float:
        return round(100.0 * self.used / self.size, 1) if self.size else 0.0


def _used_ints(prefix: Prefix) -> list[int]:
    """Registered addresses (other than status free) and the gateway, as sorted integers."""
    rows = db.session().scalars(
        select(IPAddress.address)
        .where(IPAddress.prefix_id == prefix.id, IPAddress.status != AddressStatus.FREE.value)
        .order_by(IPAddress.sort_key)
    )
    used = {int(ipaddress.ip_address(a)) for a in rows}
    if prefix.gateway:
        used.add(int(ipaddress.ip_address(prefix.gateway)))
    return sorted(used)


def prefix_utilisation(prefix: Prefix) -> Utilisation:
    """Used = registered addresses not marked free, plus the gateway, within the usable range."""
    net = ipaddress.ip_network(prefix.cidr)
    first, last = usable_range(net)
    used = sum(1 for i in _used_ints(prefix) if first <= i <= last)
    return Utilisation(used, last - first + 1)


def prefix_utilisations(prefixes: list[Prefix]) -> dict[int, Utilisation]:
    """``prefix_utilisation`` of each of ``prefixes`` (by prefix id) from one query.

    The addresses come as their ``sort_key`` (the address as an integer, in hex), so nothing is
    parsed but the prefixes and their gateways.
    """
    used: dict[int, set[int]] = {p.id: set() for p in prefixes}
    query = select(IPAddress.prefix_id, IPAddress.sort_key).where(
        IPAddress.status != AddressStatus.FREE.value
    )
    # Core on the session's connection: plain rows, none of the ORM's result handling
    rows = db.session().connection().execute(query)
    for prefix_id, key in rows:
        if prefix_id in used:
            used[prefix_id].add(int(key, 16))
    out = {}
    for p in prefixes:
        ints = used[p.id]
        if p.gateway:
            ints.add(int(ipaddress.ip_address(p.gateway)))
        first, last = usable_range(ipaddress.ip_network(p.cidr))
        out[p.id] = Utilisation(sum(1 for i in ints if first <= i <= last), last - first + 1)
    return out


def free_ranges(prefix: Prefix, limit: int = 100) -> Iterator[tuple[str, str, int]]:
    """(first, last, count) of each run of unregistered usable addresses, lowest first."""
    net = ipaddress.ip_network(prefix.cidr)
    first, last = usable_range(net)
    cursor = first
    produced = 0
    make = ipaddress.ip_address
    for used in [*_used_ints(prefix), last + 1]:
        if used < cursor:
            continue
        if used > cursor:
            end = min(used - 1, last)
            yield str(make(cursor)), str(make(end)), end - cursor + 1
            produced += 1
            if produced >= limit:
                return
        cursor = used + 1
        if cursor > last:
            return


def next_free_address(prefix: Prefix) -> str | None:
    for start, _end, _count in free_ranges(prefix, limit=1):
        return start
    return None


def list_prefixes() -> list[Prefix]:
    return list(db.session().scalars(select(Prefix).order_by(Prefix.family, Prefix.sort_key)))


# --- pages of the registry (added for the screens) -------------------------------------------


def addresses_of_asset(asset_id: int) -> list[IPAddress]:
    """The IP addresses assigned to one asset, with their prefixes, in address order."""
    return list(
        db.session().scalars(
            select(IPAddress)
            .options(joinedload(IPAddress.prefix))
            .where(IPAddress.asset_id == asset_id)
            .order_by(IPAddress.family, IPAddress.sort_key)
        )
    )


def links_of_asset(asset_id: int) -> list[Link]:
    """Links with either end on the asset, both ends' assets loaded."""
    return list(
        db.session().scalars(
            select(Link)
            .options(joinedload(Link.a_asset), joinedload(Link.b_asset))
            .where((Link.a_asset_id == asset_id) | (Link.b_asset_id == asset_id))
            .order_by(Link.a_port, Link.b_port, Link.id)
        )
    )


def list_links(page: int = 1, per_page: int = 50, q: str = "") -> Page:
    """One page of links (both ends' assets loaded); ``q`` matches a tag or a port."""
    sess = db.session()
    a_asset = aliased(Asset)
    b_asset = aliased(Asset)
    base = (
        select(Link)
        .join(a_asset, Link.a_asset_id == a_asset.id)
        .join(b_asset, Link.b_asset_id == b_asset.id)
    )
    if q.strip():
        base = base.where(
            db.text_search(q, a_asset.asset_tag, b_asset.asset_tag, Link.a_port, Link.b_port)
        )
    total = sess.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = max(1, page)
    items = sess.scalars(
        base.options(
            contains_eager(Link.a_asset.of_type(a_asset)),
            contains_eager(Link.b_asset.of_type(b_asset)),
        )
        .order_by(a_asset.asset_tag, Link.a_port, Link.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, page, per_page)


def rack_usage() -> dict[int, int]:
    """Rack id → number of occupied units, for every rack with at least one (one query)."""
    rows = db.session().execute(select(RackUnit.rack_id, func.count()).group_by(RackUnit.rack_id))
    return {rack_id: count for rack_id, count in rows}


def sites_with_rooms_and_racks() -> list[Site]:
    """Every site with its rooms and their racks loaded (three queries, whatever the size)."""
    return list(
        db.session().scalars(
            select(Site)
            .options(selectinload(Site.rooms).selectinload(Room.racks))
            .order_by(Site.name)
        )
    )


def rack_unplaced(rack: Rack) -> list[Asset]:
    """Assets in the rack that occupy no unit: 0U (vertical PDUs) or position not yet known."""
    return list(
        db.session().scalars(
            select(Asset)
            .where(
                Asset.rack_id == rack.id,
                or_(Asset.u_position.is_(None), Asset.u_height == 0),
            )
            .order_by(Asset.asset_tag)
        )
    )


def rack_elevation_loaded(rack: Rack) -> list[ElevationSlot]:
    """``rack_elevation`` with the rack's assets loaded in one query first (no query per slot)."""
    list(db.session().scalars(select(Asset).where(Asset.rack_id == rack.id)))
    return rack_elevation(rack)


def prefix_addresses(prefix: Prefix, page: int = 1, per_page: int = 256) -> Page:
    """One page of a prefix's registered addresses in numeric order, with their assets."""
    sess = db.session()
    base = select(IPAddress).where(IPAddress.prefix_id == prefix.id)
    total = sess.scalar(select(func.count()).select_from(base.subquery())) or 0
    page = max(1, page)
    items = sess.scalars(
        base.options(joinedload(IPAddress.asset))
        .order_by(IPAddress.sort_key)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return Page(list(items), total, page, per_page)


# --- dashboard, topology (D1) ----------------------------------------------------------------


def site_rooms_query(site_id: int) -> Select[int]:
    """The ids of one site's rooms, as a subquery for ``column.in_(...)`` (dashboard filter)."""
    return select(Room.id).where(Room.site_id == site_id)


def site_assets_query(site_id: int) -> Select[int]:
    """The ids of the assets in one site's rooms, as a subquery for ``column.in_(...)``.

    A racked asset's room is its rack's room (``services`` keeps the two the same), so the
    room says where every placed asset is; an asset with no room belongs to no site.
    """
    return select(Asset.id).where(Asset.room_id.in_(site_rooms_query(site_id)))


def assets_of_kinds(kinds: list[str], limit: int = 500, site_id: int | None = None) -> list[Asset]:
    """Assets in service of some kinds (room loaded), by tag; at most ``limit``; only those in
    the rooms of site ``site_id`` when given."""
    stmt = select(Asset).where(Asset.kind.in_(kinds), Asset.status == "in_service")
    if site_id is not None:
        stmt = stmt.where(Asset.room_id.in_(site_rooms_query(site_id)))
    return list(
        db.session().scalars(
            stmt.options(joinedload(Asset.room)).order_by(Asset.asset_tag).limit(limit)
        )
    )


def warranty_summary(
    today: date, within_days: int = 90, limit: int = 6, site_id: int | None = None
) -> tuple[int, list[WarrantyReminder]]:
    """How many assets' warranties end within ``within_days`` (or ended), and the first few;
    only the assets in the rooms of site ``site_id`` when given."""
    horizon = today + timedelta(days=within_days)
    base = select(Asset).where(
        Asset.warranty_end.is_not(None),
        Asset.warranty_end <= horizon,
        Asset.status.in_(["in_service", "spare", "repair"]),
    )
    if site_id is not None:
        base = base.where(Asset.room_id.in_(site_rooms_query(site_id)))
    total = db.session().scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.session().scalars(base.order_by(Asset.warranty_end, Asset.asset_tag).limit(limit))
    return total, [WarrantyReminder(a, (a.warranty_end - today).days) for a in rows]  # type: ignore[operator]


def topology_links(limit: int = 2000, touching: Select[int] | None = None) -> list[Link]:
    """Registered links (both ends' assets loaded), for the topology graph; with ``touching``
    (a subquery of asset ids, e.g. :func:`topology_scope_assets`), only the links with at least
    one end among those assets."""
    stmt = select(Link).options(joinedload(Link.a_asset), joinedload(Link.b_asset))
    if touching is not None:
        stmt = stmt.where(Link.a_asset_id.in_(touching) | Link.b_asset_id.in_(touching))
    return list(db.session().scalars(stmt.order_by(Link.id).limit(limit)))


def topology_scope_assets(site_id: int | None = None, room_id: int | None = None) -> Select[int]:
    """The ids of the assets in one room (``room_id``) or else in one site's rooms, as a
    subquery for ``column.in_(...)``: what the topology filter keeps (an asset with no room is
    in no site or room)."""
    if room_id is not None:
        return select(Asset.id).where(Asset.room_id == room_id)
    if site_id is None:
        raise ValueError("topology_scope_assets needs a site or a room")
    return site_assets_query(site_id)


# --- reads for the report kinds (added by reports) --------------------------------------------


def all_addresses() -> Iterator[tuple[Any, ...]]:
    """Every registered address in numeric order, streamed, as plain rows: address, status,
    interface, hostname, MAC, prefix id, prefix CIDR, asset tag, asset name, asset id.

    Run as a Core statement on the session's connection: plain columns need none of the ORM's
    result processing, which costs more than the rows themselves (20,000 rows for a report).
    """
    query = (
        select(
            IPAddress.address,
            IPAddress.status,
            IPAddress.interface,
            IPAddress.hostname,
            IPAddress.mac,
            IPAddress.prefix_id,
            Prefix.cidr,
            Asset.asset_tag,
            Asset.name,
            Asset.id,
        )
        .join(Prefix, IPAddress.prefix_id == Prefix.id)
        .outerjoin(Asset, IPAddress.asset_id == Asset.id)
        .order_by(IPAddress.family, IPAddress.sort_key)
        .execution_options(yield_per=5000)
    )
    yield from db.session().connection().execute(query)


def all_links() -> list[Any]:
    """Every registered link by end A's tag and port, as plain rows (a Core statement: no ORM
    objects): id, a_asset_id, a_port, b_asset_id, b_port, medium, source, and each end's
    asset as a_tag, a_name, a_kind, b_tag, b_name, b_kind (``None`` for a missing end B)."""
    a_asset, b_asset = aliased(Asset), aliased(Asset)
    query = (
        select(
            Link.id,
            Link.a_asset_id,
            Link.a_port,
            Link.b_asset_id,
            Link.b_port,
            Link.medium,
            Link.source,
            a_asset.asset_tag.label("a_tag"),
            a_asset.name.label("a_name"),
            a_asset.kind.label("a_kind"),
            b_asset.asset_tag.label("b_tag"),
            b_asset.name.label("b_name"),
            b_asset.kind.label("b_kind"),
        )
        .join(a_asset, Link.a_asset_id == a_asset.id)
        .outerjoin(b_asset, Link.b_asset_id == b_asset.id)
        .order_by(a_asset.asset_tag, Link.a_port, Link.id)
    )
    return list(db.session().connection().execute(query))


def asset_labels(ids: list[int]) -> list[Any]:
    """The assets ``ids`` as plain rows of id, asset_tag, name, kind (labels for a diagram)."""
    query = select(Asset.id, Asset.asset_tag, Asset.name, Asset.kind).where(Asset.id.in_(ids))
    return list(db.session().connection().execute(query))


#: the columns of :func:`asset_rows`, in order
ASSET_COLUMNS = (
    "id",
    "asset_tag",
    "name",
    "kind",
    "status",
    "importance",
    "vendor",
    "model",
    "serial",
    "site",
    "room",
    "rack",
    "u_position",
    "mgmt_ip",
    "warranty_end",
)


def asset_rows(
    site_id: int | None = None, kind: str | None = None, tags: list[str] | None = None
) -> list[Any]:
    """Registered assets by tag as plain rows of ``ASSET_COLUMNS`` (a Core statement: no ORM
    objects), their site, room and rack by name (``None`` where unplaced); only those in the
    rooms of site ``site_id``, of ``kind``, or with the tags ``tags``, when given."""
    places = {"site": Site.name, "room": Room.name, "rack": Rack.name}
    query = (
        select(
            *(
                places[name].label(name) if name in places else getattr(Asset, name)
                for name in ASSET_COLUMNS
            )
        )
        .outerjoin(Room, Asset.room_id == Room.id)
        .outerjoin(Site, Room.site_id == Site.id)
        .outerjoin(Rack, Asset.rack_id == Rack.id)
        .order_by(Asset.asset_tag)
    )
    if site_id is not None:
        query = query.where(Room.site_id == site_id)
    if kind is not None:
        query = query.where(Asset.kind == kind)
    if tags is None:
        return list(db.session().connection().execute(query))
    wanted = sorted(set(tags))
    found = [
        row
        for i in range(0, len(wanted), IDS_PER_QUERY)
        for row in db.session()
        .connection()
        .execute(query.where(Asset.asset_tag.in_(wanted[i : i + IDS_PER_QUERY])))
    ]
    return sorted(found, key=lambda row: row.asset_tag)


#: ids per ``IN (...)`` list: within every database's limit on bound parameters
IDS_PER_QUERY = 5000


def assets_for_report(
    kinds: list[str] | None = None, ids: Iterable[int] | None = None
) -> list[Asset]:
    """Assets not retired (optionally of some kinds, or only those of ``ids``) by tag, with
    room and rack loaded. A report that needs a few assets names them: loading every asset of
    the registry as objects costs ~50 ms per thousand."""
    query = (
        select(Asset)
        .options(joinedload(Asset.room), joinedload(Asset.rack))
        .where(Asset.status != "retired")
        .order_by(Asset.asset_tag)
    )
    if kinds:
        query = query.where(Asset.kind.in_(kinds))
    sess = db.session()
    if ids is None:
        return list(sess.scalars(query))
    wanted = sorted(set(ids))
    found = [
        asset
        for i in range(0, len(wanted), IDS_PER_QUERY)
        for asset in sess.scalars(query.where(Asset.id.in_(wanted[i : i + IDS_PER_QUERY])))
    ]
    return sorted(found, key=lambda a: a.asset_tag) if len(wanted) > IDS_PER_QUERY else found


def asset_rooms_for_report() -> list[tuple[int, int]]:
    """(asset id, room id) of every asset not retired that is in a room: plain rows."""
    query = select(Asset.id, Asset.room_id).where(
        Asset.status != "retired", Asset.room_id.is_not(None)
    )
    rows = db.session().connection().execute(query)
    return [(asset_id, room_id) for asset_id, room_id in rows if room_id is not None]


def assets_by_identity(
    names: list[str] | None = None, macs: list[str] | None = None, ips: list[str] | None = None
) -> dict[str, int]:
    """Registered assets matching what a device reported about its neighbours (LLDP, ARP).

    Returns ``{key: asset id}`` for each key found: a name (lower case) matched against asset
    names and registered host names (``db01.example.com`` also tries ``db01``), a MAC (lower
    case, colon-separated) against registered addresses' MACs, an IP against asset management
    IPs and registered addresses. At most four queries, whatever the number of keys.
    """
    out: dict[str, int] = {}
    sess = db.session()
    wanted: dict[str, str] = {}  # candidate name (lower) -> key reported
    for name in names or []:
        key = name.strip().lower()
        if key:
            wanted.setdefault(key, key)
            wanted.setdefault(key.split(".")[0], key)
    if wanted:
        rows: list[tuple[str, int]] = [
            (name, asset_id)
            for name, asset_id in sess.execute(
                select(func.lower(Asset.name), Asset.id).where(func.lower(Asset.name).in_(wanted))
            )
        ]
        for host, owner in sess.execute(
            select(func.lower(IPAddress.hostname), IPAddress.asset_id).where(
                IPAddress.asset_id.is_not(None), func.lower(IPAddress.hostname).in_(wanted)
            )
        ):
            assert host is not None and owner is not None  # the query leaves NULLs out
            rows.append((host, owner))
        for candidate, asset_id in sorted(rows, key=lambda r: (r[0] != wanted[r[0]], r[1])):
            out.setdefault(wanted[candidate], asset_id)  # an exact name beats a short one
    macs = [m.strip().lower() for m in macs or [] if m.strip()]
    ips = [i.strip() for i in ips or [] if i.strip()]
    if macs or ips:
        conditions = []
        if macs:
            conditions.append(func.lower(IPAddress.mac).in_(macs))
        if ips:
            conditions.append(IPAddress.address.in_(ips))
        for address, mac, owner in sess.execute(
            select(IPAddress.address, IPAddress.mac, IPAddress.asset_id)
            .where(IPAddress.asset_id.is_not(None), or_(*conditions))
            .order_by(IPAddress.id)
        ):
            assert owner is not None  # the query leaves unowned addresses out
            if mac and mac.lower() in macs:
                out.setdefault(mac.lower(), owner)
            if address in ips:
                out.setdefault(address, owner)
        if ips:
            for ip, asset_id in sess.execute(
                select(Asset.mgmt_ip, Asset.id).where(Asset.mgmt_ip.in_(ips)).order_by(Asset.id)
            ):
                assert ip is not None  # matched one of ips
                out.setdefault(ip, asset_id)
    return out


def asset_configs_for_report() -> Iterator[tuple[Any, ...]]:
    """The assets not retired by tag, streamed as plain rows (memory stays flat over every
    asset): id, asset tag, name, kind, vendor, model, serial, specs, status. A Core statement
    on the session's connection: no ORM objects for a report that only reads these columns."""
    query = (
        select(
            Asset.id,
            Asset.asset_tag,
            Asset.name,
            Asset.kind,
            Asset.vendor,
            Asset.model,
            Asset.serial,
            Asset.specs,
            Asset.status,
        )
        .where(Asset.status != "retired")
        .order_by(Asset.asset_tag)
        .execution_options(yield_per=1000)
    )
    yield from db.session().connection().execute(query)


def asset_ids_for_report() -> list[int]:
    """Ids of the assets not retired (cheap: plain integers)."""
    return list(db.session().scalars(select(Asset.id).where(Asset.status != "retired")))


def get_place(scope: str, target_id: int) -> Site | Room | Asset | None:
    """The site, room or asset ``target_id`` (``scope``: site / room / asset), or None."""
    sess = db.session()
    if scope == "site":
        return sess.get(Site, target_id)
    if scope == "room":
        return sess.get(Room, target_id)
    if scope == "asset":
        return sess.get(Asset, target_id)
    raise KeyError(scope)


def enum_labels(enum_cls: Any) -> dict[str, Any]:
    """The user-language labels of a registry enumeration (lazy strings, translated when shown:
    "Precision air conditioner" in English); empty for an enumeration without them."""
    if isinstance(enum_cls, type) and issubclass(enum_cls, LabeledEnum):
        return enum_cls.labels()
    return {}


def asset_status_labels() -> dict[str, Any]:
    """Each asset status's value → its label (lazy)."""
    return AssetStatus.labels()


def importance_labels() -> dict[str, Any]:
    """Each importance's value → its label (lazy)."""
    return Importance.labels()


# --- reads for inspections (patrol plans, the logbook) ----------------------------------------


def asset_kind_labels() -> dict[str, Any]:
    """Each asset kind's value → its label (lazy; the patrol plan form's kind choices)."""
    return dict(enum_labels(AssetKind))


def asset_kinds() -> list[str]:
    """The values of every asset kind (``AssetKind``)."""
    return [kind.value for kind in AssetKind]


def asset_ids_in_rooms(rooms: Select[int] | list[int]) -> Select[int]:
    """The ids of the assets in ``rooms`` (room ids, or a query of them), for ``in_(...)``."""
    return select(Asset.id).where(Asset.room_id.in_(rooms))


def asset_ids_matching(text: str) -> Select[int]:
    """The ids of the assets whose tag or name contains ``text`` (``db.text_search``)."""
    return select(Asset.id).where(db.text_search(text, Asset.asset_tag, Asset.name))


def room_choices() -> list[tuple[int, str]]:
    """(room id, "site / room") of every room, by site and room name (room pickers)."""
    rows = db.session().execute(
        select(Room.id, Site.name, Room.name).join(Site).order_by(Site.name, Room.name)
    )
    return [(rid, f"{site} / {room}") for rid, site, room in rows]


def capacity_of_rooms(now: Any) -> Any:
    """The capacity model of every room at ``now`` (an ``assets.capacity.Capacity``: racks'
    units, draw and ratings, rooms' cooling and free ports, addresses reservations hold)."""
    from assets import capacity  # lazy: capacity reads the reservations, which read this module

    return capacity.load(now=now)


def capacity_history(
    start: date, end: date
) -> list[tuple[date, int | None, int | None, str, float, float | None]]:
    """(day, room id, prefix id, resource, used, total) of the daily capacity snapshots
    (``assets.capacity_history``) of the site days ``start`` to ``end``, both included, in day
    order: plain rows."""
    query = (
        select(
            CapacitySnapshot.day,
            CapacitySnapshot.room_id,
            CapacitySnapshot.prefix_id,
            CapacitySnapshot.resource,
            CapacitySnapshot.used,
            CapacitySnapshot.total,
        )
        .where(CapacitySnapshot.day >= start, CapacitySnapshot.day <= end)
        .order_by(CapacitySnapshot.day, CapacitySnapshot.id)
    )
    return [
        (day, room_id, prefix_id, resource, used, total)
        for day, room_id, prefix_id, resource, used, total in db.session().execute(query)
    ]


def label_tag(scanned: str) -> str:
    """The asset tag in a scanned label (its URL ``<base>/a/<tag>``, ``assets.labels``) or a
    typed tag."""
    text = scanned.strip()
    if "://" in text:
        path = urlsplit(text).path
        if "/a/" in path:
            return unquote(path.rpartition("/a/")[2]).strip()
    return text
