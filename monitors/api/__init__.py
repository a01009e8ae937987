"""Monitoring in the JSON API under ``/api/v1``: monitors (CRUD, credentials write-only), the
monitor kinds and their settings, an asset's metrics, and readings over a time range (streamed).

- ``monitors``: list (filters ``kind``, ``asset_id``, ``state``, ``enabled``; paged), get,
  create (the kind's settings checked by the kind itself, as the pages do), change (PATCH),
  delete (its readings stay with the asset). Credentials (SNMP community, v3 keys, a database's
  password) are accepted on write, stored encrypted, and never answered: a monitor shows only
  which ones are set. Writes need an engineer's or an admin's token, as on the pages.
- ``readings``: ``GET /readings?metric=&asset_id=&since=&until=&rollup=``, one JSON document
  written row by row as the database hands them over (memory bounded whatever the span); the
  span is bounded by the rollup. ``GET /assets/{id}/metrics``: what an asset reports.

The models are pydantic classes (``opskit.apischema``), routed and documented by
``opskit.openapi.operation``; writes go through ``monitors.services`` and are audited.
"""

from __future__ import annotations

from monitors.api import monitors, readings, statements
from monitors.api.common import bp

__all__ = ["bp", "monitors", "readings", "statements"]
