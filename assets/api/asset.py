"""Assets in the API (the one resource that can also be deleted)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AliasPath, Field
from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.api.common import Notes, bp, item_routes
from assets.models import Asset, AssetKind, AssetStatus, Importance, Rack, Room
from opskit import db, openapi
from opskit.apischema import (
    Day,
    Id,
    Input,
    JsonObject,
    Name,
    Output,
    Page,
    Paging,
    Text,
    one_of,
    partial,
)
from opskit.jsonapi import get_or_404, paginate, saver
from opskit.openapi import operation

openapi.tag("assets", _l("Assets"))

Kind = Annotated[str, one_of(AssetKind)]
Status = Annotated[str, one_of(AssetStatus)]
Position = Annotated[int, Field(ge=1, le=60, examples=[10])]


class AssetCreate(Input):
    """One registered thing: server, switch, UPS, air conditioner, sensor, line ..."""

    asset_tag: Annotated[Name, Field(max_length=64, examples=["SRV-100"])]
    name: Annotated[Name, Field(max_length=128, examples=["数据库服务器"])]
    kind: Kind
    vendor: Annotated[Text, Field(max_length=64)] = ""
    model: Annotated[Text, Field(max_length=128)] = ""
    serial: Annotated[Text, Field(max_length=128)] = ""
    status: Status = AssetStatus.IN_SERVICE.value
    importance: Annotated[str, one_of(Importance)] = Importance.GENERAL.value
    owner: Annotated[Text, Field(max_length=64)] = ""
    contact: Annotated[Text, Field(max_length=128)] = ""
    room_id: Id | None = None
    rack_id: Id | None = None
    u_position: Position | None = None
    u_height: Annotated[int, Field(ge=0, le=60, examples=[1])] = 1
    mgmt_ip: Annotated[Text, Field(max_length=45, description="IPv4 or IPv6 address")] | None = None
    purchase_date: Day | None = None
    warranty_end: Day | None = None
    support_level: Annotated[Text, Field(max_length=32)] = ""
    specs: JsonObject = Field(default_factory=dict)
    notes: Notes = ""


class AssetOut(Output):
    """One registered thing: server, switch, UPS, air conditioner, sensor, line ..."""

    id: int
    asset_tag: str
    name: str
    kind: Kind
    vendor: str
    model: str
    serial: str
    status: Status
    importance: str
    owner: str
    contact: str
    site_id: int | None = Field(None, validation_alias=AliasPath("room", "site_id"))
    site: str | None = Field(None, validation_alias=AliasPath("room", "site", "name"))
    room_id: int | None
    room: str | None = Field(None, validation_alias=AliasPath("room", "name"))
    rack_id: int | None
    rack: str | None = Field(None, validation_alias=AliasPath("rack", "name"))
    u_position: int | None
    u_height: int
    mgmt_ip: str | None
    purchase_date: date | None
    warranty_end: date | None
    support_level: str
    specs: dict[str, Any]
    notes: str
    created_at: datetime
    updated_at: datetime


class AssetFilter(Paging):
    q: Annotated[
        Text,
        Field(max_length=200, description="Part of tag, name, serial, address, model or vendor"),
    ] = ""
    kind: Kind | None = None
    status: Status | None = None
    room_id: Id | None = None
    rack_id: Id | None = None
    tag: Annotated[Text, Field(max_length=64, description="Exact asset tag")] = ""


@operation(
    bp,
    "GET",
    "/assets",
    query=AssetFilter,
    response=Page[AssetOut],
    tag="assets",
    summary=_l("List assets"),
)
def list_assets(query: AssetFilter) -> Any:
    stmt = queries.asset_query(
        query.q, query.kind, query.status, query.room_id, query.rack_id
    ).options(joinedload(Asset.room).joinedload(Room.site), joinedload(Asset.rack))
    if query.tag:
        stmt = stmt.where(Asset.asset_tag == query.tag.strip())
    return paginate(stmt, (Asset.asset_tag, Asset.id), query)


item_routes(
    "asset",
    _l("asset"),
    "assets",
    "/assets",
    Asset,
    AssetOut,
    AssetCreate,
    saver(services.save_asset, {"room_id": ("room", Room), "rack_id": ("rack", Rack)}),
    patch=partial(AssetCreate),
)


@operation(
    bp,
    "DELETE",
    "/assets/<int:asset_id>",
    errors=(404, 409),
    tag="assets",
    summary=_l("Delete an asset"),
)
def delete_asset(asset_id: int) -> None:
    """Its links go with it; its units are free again."""
    services.delete_asset(get_or_404(Asset, asset_id))
    db.session().commit()
