"""Reads of the received traps (the traps page)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import func, select

from assets import queries as registry
from monitors.models import SnmpTrap
from opskit import db

PER_PAGE = 50


def list_traps(
    page: int = 1,
    unknown_only: bool = False,
    per_page: int = PER_PAGE,
    known_oids: Collection[str] = (),
) -> db.Page:
    """The newest traps first; ``unknown_only``: those no rule acted on when they arrived and
    whose OID no rule is about now (``known_oids``: a rule made since makes them known)."""
    query = select(SnmpTrap)
    if unknown_only:
        query = query.where(SnmpTrap.actions == "")
        if known_oids:
            query = query.where(SnmpTrap.trap_oid.not_in(sorted(known_oids)))
    total = db.session().scalar(select(func.count()).select_from(query.subquery())) or 0
    items = list(
        db.session().scalars(
            query.order_by(SnmpTrap.received_at.desc(), SnmpTrap.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        )
    )
    return db.Page(items, total, max(page, 1), per_page)


def latest_with_oid(oid: str) -> SnmpTrap | None:
    """The newest trap of this OID (the form shows its variables), if any."""
    return db.session().scalar(
        select(SnmpTrap)
        .where(SnmpTrap.trap_oid == oid)
        .order_by(SnmpTrap.received_at.desc(), SnmpTrap.id.desc())
        .limit(1)
    )


def assets_of(traps: list[SnmpTrap]) -> dict[int, object]:
    ids = sorted({t.asset_id for t in traps if t.asset_id is not None})
    return {a.id: a for a in registry.assets_by_ids(ids)} if ids else {}
