"""The registry's JSON API under ``/api/v1``: sites, rooms, racks, assets, IP space, links.

Every resource has a list (``page``, ``per_page`` ≤ 500 and filters), a get by id, a create
(201 + ``Location``) and a partial update (PATCH); assets can also be deleted. Objects carry
their ids, related ids and the related names an engineer wants to read (room, rack, site).

Input is checked against the same ``ObjectSchema`` declarations that write the OpenAPI document
(``opskit.openapi``), then written through ``assets.services``. Answers:

- 422 ``{"error": "validation", "fields": {field: [messages]}}`` for unknown fields, wrong JSON
  types and every rule the services enforce (occupied rack unit, address outside the prefixes);
- 400 for a body that is not a JSON object; 404 for an unknown id; 409 when a concurrent write
  got there first (a unique constraint fired at commit); 403 for a viewer's token (the access
  hook in ``opskit.auth``).

Each write commits once, at the end of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.models import (
    AddressStatus,
    Asset,
    AssetKind,
    AssetStatus,
    Importance,
    IPAddress,
    Link,
    LinkSource,
    Prefix,
    Rack,
    Room,
    Site,
)
from opskit import db, openapi
from opskit.openapi import MAX_ID, Field, ObjectSchema, Operation
from opskit.validation import ValidationFailed

bp = Blueprint("assets_api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 500
DEFAULT_PER_PAGE = 50
MAX_PAGE = 100_000


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Any:
    return jsonify(error=exc.error, message=exc.message), exc.status


@bp.errorhandler(ValidationFailed)
def _validation_failed(exc: ValidationFailed) -> Any:
    db.session().rollback()
    return jsonify(error="validation", message=str(exc), fields=exc.errors), 422


@bp.errorhandler(IntegrityError)
def _integrity_error(_exc: IntegrityError) -> Any:
    db.session().rollback()
    message = _("Another change got there first; reload and retry.")
    return jsonify(error="conflict", message=message), 409


# --- helpers --------------------------------------------------------------------------------


def _name(obj: Any) -> str | None:
    return obj.name if obj is not None else None


def _text(name: str, max_length: int | None = None, **kw: Any) -> Field:
    return Field(name, "string", max_length=max_length, **kw)


def _ref(name: str, **kw: Any) -> Field:
    """An id naming another object (only written; the related name comes with responses)."""
    return Field(name, "integer", minimum=1, maximum=MAX_ID, example=1, **kw)


ID = Field("id", "integer", read_only=True)
NOTES = _text("notes", 10_000)
PAGING = (
    Field("page", "integer", minimum=1, maximum=MAX_PAGE, description="1 is the first page"),
    Field("per_page", "integer", minimum=1, maximum=MAX_PER_PAGE),
)


def _body() -> Any:
    raw = request.get_data(cache=True)
    try:
        return openapi.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None


def _parse(schema: ObjectSchema, *, partial: bool) -> dict[str, Any]:
    body = _body()
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", _("The body must be a JSON object."))
    return schema.parse(body, partial=partial)


def _args(fields: tuple[Field, ...]) -> dict[str, Any]:
    """Query parameters converted by their declarations.

    An empty text search (``?q=``) is no filter; an empty value of a number, a yes/no or a
    choice (``?kind=``) is refused like any other value outside what the parameter takes.
    """
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in fields:
        text = request.args.get(spec.name)
        if text is None or (text == "" and spec.type == "string" and spec.enum is None):
            continue
        try:
            values[spec.name] = spec.from_query(text)
        except ValueError as exc:
            errors[spec.name] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    return values


def _page(stmt: Select, order: tuple, schema: ObjectSchema, args: Mapping[str, Any]) -> Any:
    page = args.get("page", 1)
    per_page = args.get("per_page", DEFAULT_PER_PAGE)
    sess = db.session()
    total = sess.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    rows = sess.scalars(stmt.order_by(*order).offset((page - 1) * per_page).limit(per_page))
    items = [schema.dump(row) for row in rows.unique()]
    return jsonify(items=items, total=total, page=page, per_page=per_page)


def _get(model: type, object_id: int) -> Any:
    obj = db.session().get(model, object_id) if object_id <= MAX_ID else None
    if obj is None:
        raise ApiError(404, "not_found", _("No such object."))
    return obj


def _lookup(model: type, object_id: int | None, field: str) -> Any:
    """The object an input id names, or a validation error on ``field``."""
    if object_id is None:
        return None
    obj = db.session().get(model, object_id)
    if obj is None:
        raise ValidationFailed.one(field, _("No object with id %(id)d.", id=object_id))
    return obj


def _renamed(exc: ValidationFailed, names: Mapping[str, str]) -> ValidationFailed:
    """Service errors keyed by service names (room) re-keyed by API names (room_id)."""
    return ValidationFailed({names.get(k, k): v for k, v in exc.errors.items()})


def _created(schema: ObjectSchema, obj: Any, endpoint: str, **kw: Any) -> Any:
    db.session().commit()
    response = jsonify(schema.dump(obj))
    response.status_code = 201
    response.headers["Location"] = url_for(endpoint, **kw)
    return response


def _updated(schema: ObjectSchema, obj: Any) -> Any:
    db.session().commit()
    return jsonify(schema.dump(obj))


def _operations(
    noun: str,
    plural: str,
    path: str,
    id_name: str,
    schema: ObjectSchema,
    filters: tuple[Field, ...],
    delete: bool = False,
) -> None:
    """Declare list, get, create and update (and delete) of one resource in the document."""
    tag = plural
    item = f"{path}/{{{id_name}}}"
    reg = openapi.register
    reg(
        Operation(
            "get",
            path,
            f"list{schema.name}s",
            f"List {plural}",
            tag,
            query=(*PAGING, *filters),
            result=schema,
            many=True,
            errors=(401, 422),
        )
    )
    reg(
        Operation(
            "get",
            item,
            f"get{schema.name}",
            f"One {noun}",
            tag,
            path_params=(id_name,),
            result=schema,
            errors=(401, 404),
        )
    )
    reg(
        Operation(
            "post",
            path,
            f"create{schema.name}",
            f"Create a {noun}",
            tag,
            body=schema,
            result=schema,
            status=201,
            errors=(400, 401, 403, 409, 422),
        )
    )
    reg(
        Operation(
            "patch",
            item,
            f"update{schema.name}",
            f"Change some fields of a {noun}",
            tag,
            path_params=(id_name,),
            body=schema,
            partial=True,
            result=schema,
            errors=(400, 401, 403, 404, 409, 422),
        )
    )
    if delete:
        reg(
            Operation(
                "delete",
                item,
                f"delete{schema.name}",
                f"Delete a {noun}",
                tag,
                path_params=(id_name,),
                status=204,
                errors=(401, 403, 404, 409),
            )
        )


def _unique(model: type, field: str, clash_id: int | None, obj: Any, message: str) -> None:
    if clash_id is not None and (obj is None or clash_id != obj.id):
        raise ValidationFailed.one(field, message)


# --- sites ----------------------------------------------------------------------------------

SITE = ObjectSchema(
    "Site",
    [
        ID,
        _text("name", 100, required=True, min_length=1, example="总部"),
        _text("address", 255),
        NOTES,
    ],
    "A customer site (a building or campus).",
)
_operations("site", "sites", "/api/v1/sites", "site_id", SITE, ())


@bp.get("/sites")
def list_sites() -> Any:
    args = _args(PAGING)
    return _page(select(Site), (Site.name, Site.id), SITE, args)


@bp.get("/sites/<int:site_id>")
def get_site(site_id: int) -> Any:
    return jsonify(SITE.dump(_get(Site, site_id)))


def _save_site(values: dict[str, Any], site: Site | None = None) -> Site:
    saved = services.save_site(values, site)
    db.session().flush()
    return saved


@bp.post("/sites")
def create_site() -> Any:
    site = _save_site(_parse(SITE, partial=False))
    return _created(SITE, site, "assets_api.get_site", site_id=site.id)


@bp.patch("/sites/<int:site_id>")
def update_site(site_id: int) -> Any:
    site = _get(Site, site_id)
    return _updated(SITE, _save_site(_parse(SITE, partial=True), site))


# --- rooms ----------------------------------------------------------------------------------

ROOM = ObjectSchema(
    "Room",
    [
        ID,
        _ref("site_id", required=True),
        _text("site", read_only=True, get=lambda r: r.site.name),
        _text("name", 100, required=True, min_length=1, example="A机房"),
        _text("floor", 32),
        NOTES,
    ],
    "A machine room (机房) inside a site.",
)
ROOM_FILTERS = (_ref("site_id"),)
_operations("room", "rooms", "/api/v1/rooms", "room_id", ROOM, ROOM_FILTERS)


@bp.get("/rooms")
def list_rooms() -> Any:
    args = _args((*PAGING, *ROOM_FILTERS))
    stmt = select(Room).options(joinedload(Room.site))
    if "site_id" in args:
        stmt = stmt.where(Room.site_id == args["site_id"])
    return _page(stmt, (Room.name, Room.id), ROOM, args)


@bp.get("/rooms/<int:room_id>")
def get_room(room_id: int) -> Any:
    return jsonify(ROOM.dump(_get(Room, room_id)))


def _save_room(values: dict[str, Any], room: Room | None = None) -> Room:
    data = dict(values)
    if "site_id" in data:
        data["site"] = _lookup(Site, data.pop("site_id"), "site_id")
    try:
        saved = services.save_room(data, room)
        db.session().flush()
    except ValidationFailed as exc:
        raise _renamed(exc, {"site": "site_id"}) from None
    return saved


@bp.post("/rooms")
def create_room() -> Any:
    room = _save_room(_parse(ROOM, partial=False))
    return _created(ROOM, room, "assets_api.get_room", room_id=room.id)


@bp.patch("/rooms/<int:room_id>")
def update_room(room_id: int) -> Any:
    room = _get(Room, room_id)
    return _updated(ROOM, _save_room(_parse(ROOM, partial=True), room))


# --- racks ----------------------------------------------------------------------------------


def _used_units(rack: Rack) -> int:
    return queries.rack_utilisation(rack)[0]


RACK = ObjectSchema(
    "Rack",
    [
        ID,
        _ref("room_id", required=True),
        _text("room", read_only=True, get=lambda r: r.room.name),
        Field("site_id", "integer", read_only=True, get=lambda r: r.room.site_id),
        _text("site", read_only=True, get=lambda r: r.room.site.name),
        _text("name", 100, required=True, min_length=1, example="A01"),
        Field("u_height", "integer", minimum=1, maximum=60, example=42),
        Field("descending_units", "boolean"),
        NOTES,
        Field("used_units", "integer", read_only=True, get=_used_units),
    ],
    "A rack (机柜) of u_height units.",
)
RACK_FILTERS = (_ref("room_id"),)
_operations("rack", "racks", "/api/v1/racks", "rack_id", RACK, RACK_FILTERS)


@bp.get("/racks")
def list_racks() -> Any:
    args = _args((*PAGING, *RACK_FILTERS))
    stmt = select(Rack).options(joinedload(Rack.room).joinedload(Room.site))
    if "room_id" in args:
        stmt = stmt.where(Rack.room_id == args["room_id"])
    return _page(stmt, (Rack.name, Rack.id), RACK, args)


@bp.get("/racks/<int:rack_id>")
def get_rack(rack_id: int) -> Any:
    return jsonify(RACK.dump(_get(Rack, rack_id)))


def _save_rack(values: dict[str, Any], rack: Rack | None = None) -> Rack:
    data = dict(values)
    if "room_id" in data:
        data["room"] = _lookup(Room, data.pop("room_id"), "room_id")
    try:
        saved = services.save_rack(data, rack)
        db.session().flush()
    except ValidationFailed as exc:
        raise _renamed(exc, {"room": "room_id"}) from None
    return saved


@bp.post("/racks")
def create_rack() -> Any:
    rack = _save_rack(_parse(RACK, partial=False))
    return _created(RACK, rack, "assets_api.get_rack", rack_id=rack.id)


@bp.patch("/racks/<int:rack_id>")
def update_rack(rack_id: int) -> Any:
    rack = _get(Rack, rack_id)
    return _updated(RACK, _save_rack(_parse(RACK, partial=True), rack))


# --- assets ---------------------------------------------------------------------------------

ASSET = ObjectSchema(
    "Asset",
    [
        ID,
        _text("asset_tag", 64, required=True, min_length=1, example="SRV-100"),
        _text("name", 128, required=True, min_length=1, example="数据库服务器"),
        _text("kind", required=True, enum=tuple(k.value for k in AssetKind)),
        _text("vendor", 64),
        _text("model", 128),
        _text("serial", 128),
        _text("status", enum=tuple(s.value for s in AssetStatus)),
        _text("importance", enum=tuple(i.value for i in Importance)),
        _text("owner", 64),
        _text("contact", 128),
        Field(
            "site_id",
            "integer",
            nullable=True,
            read_only=True,
            get=lambda a: a.room.site_id if a.room else None,
        ),
        _text(
            "site",
            nullable=True,
            read_only=True,
            get=lambda a: a.room.site.name if a.room else None,
        ),
        _ref("room_id", nullable=True),
        _text("room", nullable=True, read_only=True, get=lambda a: _name(a.room)),
        _ref("rack_id", nullable=True),
        _text("rack", nullable=True, read_only=True, get=lambda a: _name(a.rack)),
        Field("u_position", "integer", nullable=True, minimum=1, maximum=60, example=10),
        Field("u_height", "integer", minimum=0, maximum=60, example=1),
        _text("mgmt_ip", 45, nullable=True, description="IPv4 or IPv6 address"),
        Field("purchase_date", "date", nullable=True),
        Field("warranty_end", "date", nullable=True),
        _text("support_level", 32),
        Field("specs", "object"),
        NOTES,
        Field("created_at", "date-time", read_only=True),
        Field("updated_at", "date-time", read_only=True),
    ],
    "One registered thing: server, switch, UPS, air conditioner, sensor, line ...",
)
ASSET_FILTERS = (
    _text("q", 200, description="Part of tag, name, serial, address, model or vendor"),
    _text("kind", enum=tuple(k.value for k in AssetKind)),
    _text("status", enum=tuple(s.value for s in AssetStatus)),
    _ref("room_id"),
    _ref("rack_id"),
    _text("tag", 64, description="Exact asset tag"),
)
_operations("asset", "assets", "/api/v1/assets", "asset_id", ASSET, ASSET_FILTERS, delete=True)
ASSET_ERROR_NAMES = {"room": "room_id", "rack": "rack_id"}


@bp.get("/assets")
def list_assets() -> Any:
    args = _args((*PAGING, *ASSET_FILTERS))
    stmt = queries.asset_query(
        args.get("q", ""),
        args.get("kind"),
        args.get("status"),
        args.get("room_id"),
        args.get("rack_id"),
    ).options(joinedload(Asset.room).joinedload(Room.site), joinedload(Asset.rack))
    if "tag" in args:
        stmt = stmt.where(Asset.asset_tag == args["tag"].strip())
    return _page(stmt, (Asset.asset_tag, Asset.id), ASSET, args)


@bp.get("/assets/<int:asset_id>")
def get_asset(asset_id: int) -> Any:
    return jsonify(ASSET.dump(_get(Asset, asset_id)))


def _save_asset(values: dict[str, Any], asset: Asset | None = None) -> Asset:
    data = dict(values)
    if "room_id" in data:
        data["room"] = _lookup(Room, data.pop("room_id"), "room_id")
    if "rack_id" in data:
        data["rack"] = _lookup(Rack, data.pop("rack_id"), "rack_id")
    try:
        saved = services.save_asset(data, asset)
        db.session().flush()
    except ValidationFailed as exc:
        raise _renamed(exc, ASSET_ERROR_NAMES) from None
    return saved


@bp.post("/assets")
def create_asset() -> Any:
    asset = _save_asset(_parse(ASSET, partial=False))
    return _created(ASSET, asset, "assets_api.get_asset", asset_id=asset.id)


@bp.patch("/assets/<int:asset_id>")
def update_asset(asset_id: int) -> Any:
    asset = _get(Asset, asset_id)
    return _updated(ASSET, _save_asset(_parse(ASSET, partial=True), asset))


@bp.delete("/assets/<int:asset_id>")
def delete_asset(asset_id: int) -> Any:
    services.delete_asset(_get(Asset, asset_id))
    db.session().commit()
    return "", 204


# --- prefixes -------------------------------------------------------------------------------

PREFIX = ObjectSchema(
    "Prefix",
    [
        ID,
        _text("cidr", 49, required=True, min_length=1, example="10.1.20.0/24"),
        Field("family", "integer", enum=(4, 6), read_only=True),
        Field("prefix_length", "integer", read_only=True),
        Field("vlan", "integer", nullable=True, minimum=1, maximum=4094, example=20),
        _text("purpose", 128),
        _text("gateway", 45, nullable=True, description="IPv4 or IPv6 address inside the prefix"),
        _ref("site_id", nullable=True),
        _text("site", nullable=True, read_only=True, get=lambda p: _name(p.site)),
        NOTES,
    ],
    "An IP network in CIDR form with VLAN and purpose.",
)
PREFIX_FILTERS = (
    Field("family", "integer", enum=(4, 6)),
    Field("vlan", "integer", minimum=1, maximum=4094),
)
_operations("prefix", "prefixes", "/api/v1/prefixes", "prefix_id", PREFIX, PREFIX_FILTERS)


@bp.get("/prefixes")
def list_prefixes() -> Any:
    args = _args((*PAGING, *PREFIX_FILTERS))
    stmt = select(Prefix).options(joinedload(Prefix.site))
    if "family" in args:
        stmt = stmt.where(Prefix.family == args["family"])
    if "vlan" in args:
        stmt = stmt.where(Prefix.vlan == args["vlan"])
    return _page(
        stmt, (Prefix.family, Prefix.sort_key, Prefix.prefix_length, Prefix.id), PREFIX, args
    )


@bp.get("/prefixes/<int:prefix_id>")
def get_prefix(prefix_id: int) -> Any:
    return jsonify(PREFIX.dump(_get(Prefix, prefix_id)))


def _save_prefix(values: dict[str, Any], prefix: Prefix | None = None) -> Prefix:
    data = dict(values)
    if "site_id" in data:
        data["site"] = _lookup(Site, data.pop("site_id"), "site_id")
    try:
        saved = services.save_prefix(data, prefix)
        db.session().flush()
    except ValidationFailed as exc:
        raise _renamed(exc, {"site": "site_id"}) from None
    return saved


@bp.post("/prefixes")
def create_prefix() -> Any:
    prefix = _save_prefix(_parse(PREFIX, partial=False))
    return _created(PREFIX, prefix, "assets_api.get_prefix", prefix_id=prefix.id)


@bp.patch("/prefixes/<int:prefix_id>")
def update_prefix(prefix_id: int) -> Any:
    prefix = _get(Prefix, prefix_id)
    return _updated(PREFIX, _save_prefix(_parse(PREFIX, partial=True), prefix))


# --- IP addresses ---------------------------------------------------------------------------

ADDRESS = ObjectSchema(
    "IPAddress",
    [
        ID,
        _text("address", 45, required=True, min_length=1, ip=True, example="10.1.20.11"),
        Field("family", "integer", enum=(4, 6), read_only=True),
        _ref("prefix_id", description="Default: the most specific registered prefix"),
        _text("prefix", read_only=True, get=lambda a: a.prefix.cidr),
        _text("status", enum=tuple(s.value for s in AddressStatus)),
        _ref("asset_id", nullable=True),
        _text(
            "asset",
            nullable=True,
            read_only=True,
            get=lambda a: a.asset.asset_tag if a.asset else None,
        ),
        _text("interface", 64),
        _text("hostname", 128),
        _text("mac", 17, nullable=True, example="00:1b:21:3a:4f:5c"),
        NOTES,
    ],
    "One registered IP address inside a registered prefix.",
)
ADDRESS_FILTERS = (
    _ref("prefix_id"),
    _ref("asset_id"),
    _text("status", enum=tuple(s.value for s in AddressStatus)),
    _text("q", 200, description="Part of the address or host name"),
)
_operations(
    "IP address", "ip-addresses", "/api/v1/ip-addresses", "address_id", ADDRESS, ADDRESS_FILTERS
)


@bp.get("/ip-addresses")
def list_addresses() -> Any:
    args = _args((*PAGING, *ADDRESS_FILTERS))
    stmt = select(IPAddress).options(joinedload(IPAddress.prefix), joinedload(IPAddress.asset))
    for key, column in (
        ("prefix_id", IPAddress.prefix_id),
        ("asset_id", IPAddress.asset_id),
        ("status", IPAddress.status),
    ):
        if key in args:
            stmt = stmt.where(column == args[key])
    if args.get("q", "").strip():
        stmt = stmt.where(db.text_search(args["q"], IPAddress.address, IPAddress.hostname))
    order = (IPAddress.family, IPAddress.sort_key, IPAddress.id)
    return _page(stmt, order, ADDRESS, args)


@bp.get("/ip-addresses/<int:address_id>")
def get_address(address_id: int) -> Any:
    return jsonify(ADDRESS.dump(_get(IPAddress, address_id)))


def _save_address(values: dict[str, Any], address: IPAddress | None = None) -> IPAddress:
    data = dict(values)
    if "prefix_id" in data:
        data["prefix"] = _lookup(Prefix, data.pop("prefix_id"), "prefix_id")
    if "asset_id" in data:
        data["asset"] = _lookup(Asset, data.pop("asset_id"), "asset_id")
    try:
        saved = services.save_address(data, address)
        db.session().flush()
    except ValidationFailed as exc:
        raise _renamed(exc, {"prefix": "prefix_id", "asset": "asset_id"}) from None
    return saved


@bp.post("/ip-addresses")
def create_address() -> Any:
    address = _save_address(_parse(ADDRESS, partial=False))
    return _created(ADDRESS, address, "assets_api.get_address", address_id=address.id)


@bp.patch("/ip-addresses/<int:address_id>")
def update_address(address_id: int) -> Any:
    address = _get(IPAddress, address_id)
    return _updated(ADDRESS, _save_address(_parse(ADDRESS, partial=True), address))


# --- links ----------------------------------------------------------------------------------

LINK = ObjectSchema(
    "Link",
    [
        ID,
        _ref("a_asset_id", required=True),
        _text("a_asset", read_only=True, get=lambda link: link.a_asset.asset_tag),
        _text("a_port", 64, required=True, min_length=1, example="eth0"),
        _ref("b_asset_id", required=True),
        _text("b_asset", read_only=True, get=lambda link: link.b_asset.asset_tag),
        _text("b_port", 64, required=True, min_length=1, example="Gi1/0/1"),
        _text("medium", 32),
        _text("source", enum=tuple(s.value for s in LinkSource)),
        NOTES,
    ],
    "A cable between two asset ports; end A is the smaller (asset id, port).",
)
LINK_FILTERS = (_ref("asset_id", description="Links at either end of this asset"),)
_operations("link", "links", "/api/v1/links", "link_id", LINK, LINK_FILTERS)


@bp.get("/links")
def list_links() -> Any:
    args = _args((*PAGING, *LINK_FILTERS))
    stmt = select(Link).options(joinedload(Link.a_asset), joinedload(Link.b_asset))
    if "asset_id" in args:
        stmt = stmt.where(
            (Link.a_asset_id == args["asset_id"]) | (Link.b_asset_id == args["asset_id"])
        )
    return _page(stmt, (Link.a_asset_id, Link.a_port, Link.id), LINK, args)


@bp.get("/links/<int:link_id>")
def get_link(link_id: int) -> Any:
    return jsonify(LINK.dump(_get(Link, link_id)))


def _save_link(values: dict[str, Any], link: Link | None = None) -> Link:
    def pick(name: str, current: Callable[[Link], Any], default: Any = "") -> Any:
        if name in values:
            return values[name]
        return current(link) if link is not None else default

    a_asset = (
        _lookup(Asset, values["a_asset_id"], "a_asset_id")
        if "a_asset_id" in values
        else link.a_asset  # type: ignore[union-attr]
    )
    b_asset = (
        _lookup(Asset, values["b_asset_id"], "b_asset_id")
        if "b_asset_id" in values
        else link.b_asset  # type: ignore[union-attr]
    )
    saved = services.save_link(
        a_asset,
        pick("a_port", lambda x: x.a_port),
        b_asset,
        pick("b_port", lambda x: x.b_port),
        medium=pick("medium", lambda x: x.medium),
        source=pick("source", lambda x: x.source, LinkSource.MANUAL.value),
        notes=pick("notes", lambda x: x.notes),
        link=link,
    )
    db.session().flush()
    return saved


@bp.post("/links")
def create_link() -> Any:
    link = _save_link(_parse(LINK, partial=False))
    return _created(LINK, link, "assets_api.get_link", link_id=link.id)


@bp.patch("/links/<int:link_id>")
def update_link(link_id: int) -> Any:
    link = _get(Link, link_id)
    return _updated(LINK, _save_link(_parse(LINK, partial=True), link))
