"""Prefixes, IP addresses and links in the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assets import services
from assets.api.common import (
    ID,
    NOTES,
    PAGING,
    bp,
    declare_operations,
    item_routes,
    list_args,
    lookup,
    name_of,
    page_of,
    ref_field,
    saver,
    text_field,
)
from assets.models import (
    AddressStatus,
    Asset,
    IPAddress,
    Link,
    LinkSource,
    Prefix,
    Site,
)
from opskit import db
from opskit.openapi import Field, ObjectSchema

# --- prefixes -------------------------------------------------------------------------------

PREFIX = ObjectSchema(
    "Prefix",
    [
        ID,
        text_field("cidr", 49, required=True, min_length=1, example="10.1.20.0/24"),
        Field("family", "integer", enum=(4, 6), read_only=True),
        Field("prefix_length", "integer", read_only=True),
        Field("vlan", "integer", nullable=True, minimum=1, maximum=4094, example=20),
        text_field("purpose", 128),
        text_field(
            "gateway", 45, nullable=True, description="IPv4 or IPv6 address inside the prefix"
        ),
        ref_field("site_id", nullable=True),
        text_field("site", nullable=True, read_only=True, get=lambda p: name_of(p.site)),
        NOTES,
    ],
    "An IP network in CIDR form with VLAN and purpose.",
)
PREFIX_FILTERS = (
    Field("family", "integer", enum=(4, 6)),
    Field("vlan", "integer", minimum=1, maximum=4094),
)
declare_operations("prefix", "prefixes", "/api/v1/prefixes", "prefix_id", PREFIX, PREFIX_FILTERS)


@bp.get("/prefixes")
def list_prefixes() -> Any:
    args = list_args((*PAGING, *PREFIX_FILTERS))
    stmt = select(Prefix).options(joinedload(Prefix.site))
    if "family" in args:
        stmt = stmt.where(Prefix.family == args["family"])
    if "vlan" in args:
        stmt = stmt.where(Prefix.vlan == args["vlan"])
    return page_of(
        stmt, (Prefix.family, Prefix.sort_key, Prefix.prefix_length, Prefix.id), PREFIX, args
    )


PREFIX_REFS = {"site_id": ("site", Site)}
item_routes(
    "prefix", "/prefixes", "prefix_id", PREFIX, Prefix, saver(services.save_prefix, PREFIX_REFS)
)


# --- IP addresses ---------------------------------------------------------------------------

ADDRESS = ObjectSchema(
    "IPAddress",
    [
        ID,
        text_field("address", 45, required=True, min_length=1, ip=True, example="10.1.20.11"),
        Field("family", "integer", enum=(4, 6), read_only=True),
        ref_field("prefix_id", description="Default: the most specific registered prefix"),
        text_field("prefix", read_only=True, get=lambda a: a.prefix.cidr),
        text_field("status", enum=tuple(s.value for s in AddressStatus)),
        ref_field("asset_id", nullable=True),
        text_field(
            "asset",
            nullable=True,
            read_only=True,
            get=lambda a: a.asset.asset_tag if a.asset else None,
        ),
        text_field("interface", 64),
        text_field("hostname", 128),
        text_field("mac", 17, nullable=True, example="00:1b:21:3a:4f:5c"),
        NOTES,
    ],
    "One registered IP address inside a registered prefix.",
)
ADDRESS_FILTERS = (
    ref_field("prefix_id"),
    ref_field("asset_id"),
    text_field("status", enum=tuple(s.value for s in AddressStatus)),
    text_field("q", 200, description="Part of the address or host name"),
)
declare_operations(
    "IP address", "ip-addresses", "/api/v1/ip-addresses", "address_id", ADDRESS, ADDRESS_FILTERS
)


@bp.get("/ip-addresses")
def list_addresses() -> Any:
    args = list_args((*PAGING, *ADDRESS_FILTERS))
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
    return page_of(stmt, order, ADDRESS, args)


ADDRESS_REFS = {"prefix_id": ("prefix", Prefix), "asset_id": ("asset", Asset)}
item_routes(
    "address",
    "/ip-addresses",
    "address_id",
    ADDRESS,
    IPAddress,
    saver(services.save_address, ADDRESS_REFS),
)


# --- links ----------------------------------------------------------------------------------

LINK = ObjectSchema(
    "Link",
    [
        ID,
        ref_field("a_asset_id", required=True),
        text_field("a_asset", read_only=True, get=lambda link: link.a_asset.asset_tag),
        text_field("a_port", 64, required=True, min_length=1, example="eth0"),
        ref_field("b_asset_id", required=True),
        text_field("b_asset", read_only=True, get=lambda link: link.b_asset.asset_tag),
        text_field("b_port", 64, required=True, min_length=1, example="Gi1/0/1"),
        text_field("medium", 32),
        text_field("source", enum=tuple(s.value for s in LinkSource)),
        NOTES,
    ],
    "A cable between two asset ports; end A is the smaller (asset id, port).",
)
LINK_FILTERS = (ref_field("asset_id", description="Links at either end of this asset"),)
declare_operations("link", "links", "/api/v1/links", "link_id", LINK, LINK_FILTERS)


@bp.get("/links")
def list_links() -> Any:
    args = list_args((*PAGING, *LINK_FILTERS))
    stmt = select(Link).options(joinedload(Link.a_asset), joinedload(Link.b_asset))
    if "asset_id" in args:
        stmt = stmt.where(
            (Link.a_asset_id == args["asset_id"]) | (Link.b_asset_id == args["asset_id"])
        )
    return page_of(stmt, (Link.a_asset_id, Link.a_port, Link.id), LINK, args)


def _save_link(values: dict[str, Any], link: Link | None = None) -> Link:
    def pick(name: str, current: Callable[[Link], Any], default: Any = "") -> Any:
        if name in values:
            return values[name]
        return current(link) if link is not None else default

    a_asset = (
        lookup(Asset, values["a_asset_id"], "a_asset_id")
        if "a_asset_id" in values
        else link.a_asset  # type: ignore[union-attr]
    )
    b_asset = (
        lookup(Asset, values["b_asset_id"], "b_asset_id")
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


item_routes("link", "/links", "link_id", LINK, Link, _save_link)
