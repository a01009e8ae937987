"""Reads of the monitoring tables: latest readings, chart series, monitors, poller heartbeat."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from monitors.models import Monitor, PollerHeartbeat, Reading
from opskit import db
from opskit.db import utcnow


def latest_readings(asset_id: int) -> list[Reading]:
    """The newest reading of each (metric, instance) of an asset, sorted by metric, instance."""
    newest = (
        select(Reading.metric, Reading.instance, func.max(Reading.at).label("at"))
        .where(Reading.asset_id == asset_id)
        .group_by(Reading.metric, Reading.instance)
        .subquery()
    )
    query = (
        select(Reading)
        .join(
            newest,
            (Reading.metric == newest.c.metric)
            & (Reading.instance == newest.c.instance)
            & (Reading.at == newest.c.at),
        )
        .where(Reading.asset_id == asset_id)
        .order_by(Reading.metric, Reading.instance, Reading.id.desc())
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for r in db.session().scalars(query):
        if (r.metric, r.instance) not in seen:  # two monitors may report at the same second
            seen.add((r.metric, r.instance))
            out.append(r)
    return out


def series(
    asset_id: int, metric: str, instance: str = "", since: datetime | None = None
) -> list[tuple[datetime, float | None]]:
    """(time, value) points of one metric of an asset, oldest first, for charts."""
    query = select(Reading.at, Reading.value).where(
        Reading.asset_id == asset_id, Reading.metric == metric, Reading.instance == instance
    )
    if since is not None:
        query = query.where(Reading.at >= since)
    return [(at, value) for at, value in db.session().execute(query.order_by(Reading.at))]


def monitors(asset_id: int | None = None) -> list[Monitor]:
    """Monitors (of one asset, or all), by asset then id. Never render ``secret``."""
    query = select(Monitor).order_by(Monitor.asset_id, Monitor.id)
    if asset_id is not None:
        query = query.where(Monitor.asset_id == asset_id)
    return list(db.session().scalars(query))


def poller_health(now: datetime | None = None) -> dict[str, Any]:
    """For /healthz: when a poller last completed a cycle and how long ago (``None``: never)."""
    now = now or utcnow()
    row = (
        db.session()
        .execute(
            select(PollerHeartbeat.at, PollerHeartbeat.worker)
            .order_by(PollerHeartbeat.at.desc())
            .limit(1)
        )
        .first()
    )
    enabled = db.session().scalar(
        select(func.count()).select_from(Monitor).where(Monitor.enabled.is_(True))
    )
    if row is None:
        return {"last_cycle_at": None, "age_s": None, "worker": None, "monitors": enabled}
    return {
        "last_cycle_at": row.at.isoformat(timespec="seconds"),
        "age_s": round((now - row.at).total_seconds()),
        "worker": row.worker,
        "monitors": enabled,
    }
