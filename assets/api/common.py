"""What the registry's API resources share: the blueprint and the registry's own field types.
The rest (error answers, paging, item routes) is every API's, in ``opskit.jsonapi``; the
mechanism is ``opskit.openapi.operation`` with models from ``opskit.apischema``."""

from __future__ import annotations

import functools
from typing import Annotated

from pydantic import Field

from opskit import jsonapi
from opskit.apischema import Text

bp = jsonapi.api_blueprint("assets_api", __name__)

Notes = Annotated[Text, Field(max_length=10_000)]


#: GET, POST and PATCH of one registry resource on this blueprint (``opskit.jsonapi``)
item_routes = functools.partial(jsonapi.item_routes, bp)
