"""Writes and rules of the registry. Views, the Excel importer and the API all come through here.

Every function validates before it writes and raises ``ValidationFailed`` keyed by field, so a
form can show the message beside the field and the importer can name the cell. Nothing here
commits: the caller owns the transaction (one form post, one whole workbook).

One module per noun: ``locations`` (sites, rooms, racks), ``asset`` (assets, one or many),
``placement`` (rack units), ``addresses`` (prefixes and addresses), ``links`` (links, lines);
this module is their one public door (``from assets import services``).
"""

from __future__ import annotations

from assets.services.addresses import (
    IPAny,
    NetAny,
    containing_prefix,
    normalize_mac,
    parse_ip,
    parse_network,
    save_address,
    save_prefix,
    sort_key,
)
from assets.services.asset import (
    ASSET_FIELDS,
    TAG_RE,
    add_assets,
    count_assets,
    delete_asset,
    save_asset,
)
from assets.services.links import save_line, save_link
from assets.services.locations import (
    DEFAULT_RACK_HEIGHT,
    get_or_create_rack,
    get_or_create_room,
    get_or_create_site,
    save_rack,
    save_room,
    save_site,
)
from assets.services.placement import rack_occupancy

__all__ = [
    "ASSET_FIELDS",
    "DEFAULT_RACK_HEIGHT",
    "TAG_RE",
    "IPAny",
    "NetAny",
    "add_assets",
    "containing_prefix",
    "count_assets",
    "delete_asset",
    "get_or_create_rack",
    "get_or_create_room",
    "get_or_create_site",
    "normalize_mac",
    "parse_ip",
    "parse_network",
    "rack_occupancy",
    "save_address",
    "save_asset",
    "save_line",
    "save_link",
    "save_prefix",
    "save_rack",
    "save_room",
    "save_site",
    "sort_key",
]
