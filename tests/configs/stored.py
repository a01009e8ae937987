"""Configuration versions written straight into the database (the pages', copies' and upgrade
records' tests: they need stored versions, not a fetch)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from monitors.configs.models import ConfigVersion
from opskit import db


def version(
    asset_id: int, number: int, at: datetime, text: str, masked: str | None = None
) -> ConfigVersion:
    """A version of ``text`` (shown as ``masked``, default the text itself), flushed."""
    row = ConfigVersion(
        asset_id=asset_id,
        number=number,
        fetched_at=at,
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        size=len(text.encode()),
        lines=len(text.splitlines()),
        masked_text=text if masked is None else masked,
        text=text,
    )
    db.session().add(row)
    db.session().flush()
    return row
