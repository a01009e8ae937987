"""What the registry's API resources share: the blueprint and the registry's own fields. The
rest (error answers, parsing, paging, a resource's OpenAPI operations, its writer and item
routes) is every API's, in ``opskit.jsonapi``, offered here under the names the resources
use."""

from __future__ import annotations

import functools
from typing import Any

from opskit import jsonapi
from opskit.jsonapi import (
    ID,
    PAGING,
    declare_operations,
    get_or_404,
    list_args,
    lookup,
    page_of,
    ref_field,
    saver,
    text_field,
)

__all__ = [
    "ID",
    "NOTES",
    "PAGING",
    "bp",
    "declare_operations",
    "get_or_404",
    "item_routes",
    "list_args",
    "lookup",
    "name_of",
    "page_of",
    "ref_field",
    "saver",
    "text_field",
]

bp = jsonapi.api_blueprint("assets_api", __name__)

NOTES = text_field("notes", 10_000)


def name_of(obj: Any) -> str | None:
    return obj.name if obj is not None else None


#: GET, POST and PATCH of one registry resource on this blueprint (``opskit.jsonapi``)
item_routes = functools.partial(jsonapi.item_routes, bp)
