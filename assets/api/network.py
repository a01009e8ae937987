"""Prefixes, IP addresses and links in the API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from flask_babel import lazy_gettext as _l
from pydantic import AliasPath, Field
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from assets import services
from assets.api.common import Notes, bp, item_routes
from assets.models import AddressStatus, Asset, IPAddress, Link, LinkSource, Prefix, Site
from opskit import db, openapi
from opskit.apischema import Id, Input, Name, Output, Page, Paging, Text, one_of, partial
from opskit.jsonapi import lookup, paginate, saver
from opskit.openapi import operation

Family = Annotated[int, one_of((4, 6))]
Vlan = Annotated[int, Field(ge=1, le=4094, examples=[20])]
#: documented as an IPv4 or IPv6 address; the services check it (and name the prefix it is not in)
IP_FORMAT = {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}

openapi.tag("prefixes", _l("Prefixes"))
openapi.tag("ip-addresses", _l("IP addresses"))
openapi.tag("links", _l("Links"))

# --- prefixes -------------------------------------------------------------------------------


class PrefixCreate(Input):
    """An IP network in CIDR form with VLAN and purpose."""

    cidr: Annotated[Name, Field(max_length=49, examples=["10.1.20.0/24"])]
    vlan: Vlan | None = None
    purpose: Annotated[Text, Field(max_length=128)] = ""
    gateway: (
        Annotated[Text, Field(max_length=45, description="IPv4 or IPv6 address inside the prefix")]
        | None
    ) = None
    site_id: Id | None = None
    notes: Notes = ""


class PrefixOut(Output):
    """An IP network in CIDR form with VLAN and purpose."""

    id: int
    cidr: str
    family: Family
    prefix_length: int
    vlan: int | None
    purpose: str
    gateway: str | None
    site_id: int | None
    site: str | None = Field(None, validation_alias=AliasPath("site", "name"))
    notes: str


class PrefixFilter(Paging):
    family: Family | None = None
    vlan: Vlan | None = None


@operation(
    bp,
    "GET",
    "/prefixes",
    query=PrefixFilter,
    response=Page[PrefixOut],
    tag="prefixes",
    summary=_l("List prefixes"),
)
def list_prefixes(query: PrefixFilter) -> Any:
    stmt = select(Prefix).options(joinedload(Prefix.site))
    if query.family is not None:
        stmt = stmt.where(Prefix.family == query.family)
    if query.vlan is not None:
        stmt = stmt.where(Prefix.vlan == query.vlan)
    order = (Prefix.family, Prefix.sort_key, Prefix.prefix_length, Prefix.id)
    return paginate(stmt, order, query)


item_routes(
    "prefix",
    _l("prefix"),
    "prefixes",
    "/prefixes",
    Prefix,
    PrefixOut,
    PrefixCreate,
    saver(services.save_prefix, {"site_id": ("site", Site)}),
    patch=partial(PrefixCreate),
)


# --- IP addresses ---------------------------------------------------------------------------

AddrStatus = Annotated[str, one_of(AddressStatus)]


class IPAddressCreate(Input):
    """One registered IP address inside a registered prefix."""

    address: Annotated[
        Name, Field(max_length=45, examples=["10.1.20.11"], json_schema_extra=IP_FORMAT)
    ]
    prefix_id: Annotated[Id, Field(description="Default: the most specific registered prefix")] = (
        None  # type: ignore[assignment]
    )
    status: AddrStatus = AddressStatus.ACTIVE.value
    asset_id: Id | None = None
    interface: Annotated[Text, Field(max_length=64)] = ""
    hostname: Annotated[Text, Field(max_length=128)] = ""
    mac: Annotated[Text, Field(max_length=17, examples=["00:1b:21:3a:4f:5c"])] | None = None
    notes: Notes = ""


class IPAddressOut(Output):
    """One registered IP address inside a registered prefix."""

    id: int
    address: str
    family: Family
    prefix_id: int
    prefix: str = Field(validation_alias=AliasPath("prefix", "cidr"))
    status: AddrStatus
    asset_id: int | None
    asset: str | None = Field(None, validation_alias=AliasPath("asset", "asset_tag"))
    interface: str
    hostname: str
    mac: str | None
    notes: str


class IPAddressFilter(Paging):
    prefix_id: Id | None = None
    asset_id: Id | None = None
    status: AddrStatus | None = None
    q: Annotated[Text, Field(max_length=200, description="Part of the address or host name")] = ""


@operation(
    bp,
    "GET",
    "/ip-addresses",
    query=IPAddressFilter,
    response=Page[IPAddressOut],
    tag="ip-addresses",
    summary=_l("List IP addresses"),
)
def list_addresses(query: IPAddressFilter) -> Any:
    stmt = select(IPAddress).options(joinedload(IPAddress.prefix), joinedload(IPAddress.asset))
    for value, column in (
        (query.prefix_id, IPAddress.prefix_id),
        (query.asset_id, IPAddress.asset_id),
        (query.status, IPAddress.status),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.q.strip():
        stmt = stmt.where(db.text_search(query.q, IPAddress.address, IPAddress.hostname))
    return paginate(stmt, (IPAddress.family, IPAddress.sort_key, IPAddress.id), query)


item_routes(
    "address",
    _l("IP address"),
    "ip-addresses",
    "/ip-addresses",
    IPAddress,
    IPAddressOut,
    IPAddressCreate,
    saver(services.save_address, {"prefix_id": ("prefix", Prefix), "asset_id": ("asset", Asset)}),
    patch=partial(IPAddressCreate),
)


# --- links ----------------------------------------------------------------------------------


class LinkCreate(Input):
    """A cable between two asset ports; end A is the smaller (asset id, port)."""

    a_asset_id: Id
    a_port: Annotated[Name, Field(max_length=64, examples=["eth0"])]
    b_asset_id: Id
    b_port: Annotated[Name, Field(max_length=64, examples=["Gi1/0/1"])]
    medium: Annotated[Text, Field(max_length=32)] = ""
    source: Annotated[str, one_of(LinkSource)] = LinkSource.MANUAL.value
    notes: Notes = ""


class LinkOut(Output):
    """A cable between two asset ports; end A is the smaller (asset id, port)."""

    id: int
    a_asset_id: int
    a_asset: str = Field(validation_alias=AliasPath("a_asset", "asset_tag"))
    a_port: str
    b_asset_id: int
    b_asset: str = Field(validation_alias=AliasPath("b_asset", "asset_tag"))
    b_port: str
    medium: str
    source: Annotated[str, one_of(LinkSource)]
    notes: str


class LinkFilter(Paging):
    asset_id: Annotated[Id, Field(description="Links at either end of this asset")] | None = None


@operation(
    bp,
    "GET",
    "/links",
    query=LinkFilter,
    response=Page[LinkOut],
    tag="links",
    summary=_l("List links"),
)
def list_links(query: LinkFilter) -> Any:
    stmt = select(Link).options(joinedload(Link.a_asset), joinedload(Link.b_asset))
    if query.asset_id is not None:
        stmt = stmt.where((Link.a_asset_id == query.asset_id) | (Link.b_asset_id == query.asset_id))
    return paginate(stmt, (Link.a_asset_id, Link.a_port, Link.id), query)


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


item_routes(
    "link",
    _l("link"),
    "links",
    "/links",
    Link,
    LinkOut,
    LinkCreate,
    _save_link,
    patch=partial(LinkCreate),
)
