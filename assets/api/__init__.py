"""The registry's JSON API under ``/api/v1``: sites, rooms, racks, assets, IP space, links.

Every resource has a list (``page``, ``per_page`` ≤ 500 and filters), a get by id, a create
(201 + ``Location``) and a partial update (PATCH); assets can also be deleted. Objects carry
their ids, related ids and the related names an engineer wants to read (room, rack, site).

Input is checked by the same pydantic models (``opskit.apischema``) that write the OpenAPI
document (``opskit.openapi.operation``), then written through ``assets.services``. Answers:

- 422 ``{"error": "validation", "fields": {field: [messages]}}`` for unknown fields, wrong JSON
  types and every rule the services enforce (occupied rack unit, address outside the prefixes);
- 400 for a body that is not a JSON object; 404 for an unknown id; 409 when a concurrent write
  got there first (a unique constraint fired at commit); 403 for a viewer's token (the access
  hook in ``opskit.auth``).

Each write commits once, at the end of the request.
"""

from __future__ import annotations

# one module per noun, on the one blueprint of ``common`` (the document sorts its paths)
from assets.api import asset, locations, moves, network, plan
from assets.api.common import bp

__all__ = ["asset", "bp", "locations", "moves", "network", "plan"]
