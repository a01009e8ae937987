"""Reads of the received traps (the traps page)."""

from __future__ import annotations

from sqlalchemy import func, select

from assets import queries as registry
from monitors.models import SnmpTrap
from opskit import db

PER_PAGE = 50


def list_traps(page: int = 1, unknown_only: bool = False, per_page: int = PER_PAGE) -> db.Page:
    """The newest traps first; ``unknown_only``: those no profile rule mapped."""
    query = select(SnmpTrap)
    if unknown_only:
        query = query.where(SnmpTrap.actions == "")
    total = db.session().scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(
        db.session().scalars(
            query.order_by(SnmpTrap.received_at.desc(), SnmpTrap.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    )
    return db.Page(items, total, max(page, 1), per_page)


def assets_of(traps: list[SnmpTrap]) -> dict[int, object]:
    ids = sorted({t.asset_id for t in traps if t.asset_id is not None})
    return {a.id: a for a in registry.assets_by_ids(ids)} if ids else {}
