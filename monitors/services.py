"""Changes to monitors made by people (the poller's bookkeeping lives in ``monitors.poller``)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from monitors import kinds
from monitors.models import DEFAULT_INTERVAL_S, Monitor
from opskit import db
from opskit.validation import ValidationFailed


def find_same(asset_id: int, kind: str, settings: dict[str, Any]) -> Monitor | None:
    """An existing monitor of the asset checking the same target (kind, host, port)."""
    for m in db.session().scalars(
        select(Monitor).where(Monitor.asset_id == asset_id, Monitor.kind == kind)
    ):
        if m.settings.get("host") == settings.get("host") and m.settings.get(
            "port"
        ) == settings.get("port"):
            return m
    return None


def add_monitor(
    asset_id: int,
    kind: str,
    settings: dict[str, Any],
    secret: dict[str, Any] | None = None,
    interval_s: int = DEFAULT_INTERVAL_S,
    name: str = "",
) -> tuple[Monitor, bool]:
    """Add a monitor to an asset: (monitor, created). The same target again is not duplicated.

    ``settings`` are validated by the kind (``ValidationFailed`` keyed by field); ``secret``
    (community or v3 keys) is stored encrypted as JSON text.
    """
    if kinds.get(kind) is None:
        raise ValidationFailed.one("kind", f"unknown monitor kind {kind!r}")
    cleaned = kinds.validate(kind, settings)
    if not 5 <= int(interval_s) <= 86400:
        raise ValidationFailed.one("interval_s", "expected 5 to 86400 seconds")
    existing = find_same(asset_id, kind, cleaned)
    if existing is not None:
        return existing, False
    monitor = Monitor(
        asset_id=asset_id,
        kind=kind,
        name=name,
        settings=cleaned,
        secret=json.dumps(secret) if secret else None,
        interval_s=int(interval_s),
    )
    db.session().add(monitor)
    db.session().flush()
    return monitor, True
