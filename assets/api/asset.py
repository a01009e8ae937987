"""Assets in the API (the one resource that can also be deleted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import joinedload

from assets import queries, services
from assets.api.common import (
    ID,
    NOTES,
    PAGING,
    bp,
    declare_operations,
    get_or_404,
    item_routes,
    list_args,
    name_of,
    page_of,
    ref_field,
    saver,
    text_field,
)
from assets.models import (
    Asset,
    AssetKind,
    AssetStatus,
    Importance,
    Rack,
    Room,
)
from opskit import db
from opskit.openapi import Field, ObjectSchema

# --- assets ---------------------------------------------------------------------------------

ASSET = ObjectSchema(
    "Asset",
    [
        ID,
        text_field("asset_tag", 64, required=True, min_length=1, example="SRV-100"),
        text_field("name", 128, required=True, min_length=1, example="数据库服务器"),
        text_field("kind", required=True, enum=tuple(k.value for k in AssetKind)),
        text_field("vendor", 64),
        text_field("model", 128),
        text_field("serial", 128),
        text_field("status", enum=tuple(s.value for s in AssetStatus)),
        text_field("importance", enum=tuple(i.value for i in Importance)),
        text_field("owner", 64),
        text_field("contact", 128),
        Field(
            "site_id",
            "integer",
            nullable=True,
            read_only=True,
            get=lambda a: a.room.site_id if a.room else None,
        ),
        text_field(
            "site",
            nullable=True,
            read_only=True,
            get=lambda a: a.room.site.name if a.room else None,
        ),
        ref_field("room_id", nullable=True),
        text_field("room", nullable=True, read_only=True, get=lambda a: name_of(a.room)),
        ref_field("rack_id", nullable=True),
        text_field("rack", nullable=True, read_only=True, get=lambda a: name_of(a.rack)),
        Field("u_position", "integer", nullable=True, minimum=1, maximum=60, example=10),
        Field("u_height", "integer", minimum=0, maximum=60, example=1),
        text_field("mgmt_ip", 45, nullable=True, description="IPv4 or IPv6 address"),
        Field("purchase_date", "date", nullable=True),
        Field("warranty_end", "date", nullable=True),
        text_field("support_level", 32),
        Field("specs", "object"),
        NOTES,
        Field("created_at", "date-time", read_only=True),
        Field("updated_at", "date-time", read_only=True),
    ],
    "One registered thing: server, switch, UPS, air conditioner, sensor, line ...",
)
ASSET_FILTERS = (
    text_field("q", 200, description="Part of tag, name, serial, address, model or vendor"),
    text_field("kind", enum=tuple(k.value for k in AssetKind)),
    text_field("status", enum=tuple(s.value for s in AssetStatus)),
    ref_field("room_id"),
    ref_field("rack_id"),
    text_field("tag", 64, description="Exact asset tag"),
)
declare_operations(
    "asset", "assets", "/api/v1/assets", "asset_id", ASSET, ASSET_FILTERS, delete=True
)
ASSET_REFS = {"room_id": ("room", Room), "rack_id": ("rack", Rack)}


@bp.get("/assets")
def list_assets() -> Any:
    args = list_args((*PAGING, *ASSET_FILTERS))
    stmt = queries.asset_query(
        args.get("q", ""),
        args.get("kind"),
        args.get("status"),
        args.get("room_id"),
        args.get("rack_id"),
    ).options(joinedload(Asset.room).joinedload(Room.site), joinedload(Asset.rack))
    if "tag" in args:
        stmt = stmt.where(Asset.asset_tag == args["tag"].strip())
    return page_of(stmt, (Asset.asset_tag, Asset.id), ASSET, args)


item_routes("asset", "/assets", "asset_id", ASSET, Asset, saver(services.save_asset, ASSET_REFS))


@bp.delete("/assets/<int:asset_id>")
def delete_asset(asset_id: int) -> Any:
    services.delete_asset(get_or_404(Asset, asset_id))
    db.session().commit()
    return "", 204
