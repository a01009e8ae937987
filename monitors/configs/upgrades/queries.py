"""Firmware upgrade records' reads: one record, a device's records, its maintenance window, the
records of a period (the 升级记录 report)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import db
from opskit.alerts import queries as desk

#: a record's state in words
STATE_LABELS = {
    "planned": _l("Planned"),
    "started": _l("In progress"),
    "done": _l("Done"),
    "failed": _l("Failed"),
}
#: where the version read back came from, in words
SOURCE_LABELS = {
    "config": _l("configuration fetched after the work"),
    "firmware": _l("firmware stored on the asset (SNMP)"),
}


def get(upgrade_id: int) -> ConfigUpgrade | None:
    return db.session().get(ConfigUpgrade, upgrade_id)


def of_asset(asset_id: int) -> list[ConfigUpgrade]:
    """The device's upgrade records, newest first."""
    return list(
        db.session().scalars(
            select(ConfigUpgrade)
            .where(ConfigUpgrade.asset_id == asset_id)
            .order_by(ConfigUpgrade.created_at.desc(), ConfigUpgrade.id.desc())
        )
    )


def window_of(record: ConfigUpgrade) -> desk.MaintenanceWindow | None:
    if record.window_id is None:
        return None
    return desk.maintenance_window(record.window_id)


def same_plan(
    asset_id: int, to_version: str, starts_at: datetime, ends_at: datetime
) -> ConfigUpgrade | None:
    """A planned record of the same upgrade in the same window (a form sent twice)."""
    for record in db.session().scalars(
        select(ConfigUpgrade).where(
            ConfigUpgrade.asset_id == asset_id,
            ConfigUpgrade.to_version == to_version,
            ConfigUpgrade.state == "planned",
        )
    ):
        window = window_of(record)
        if window is not None and (window.starts_at, window.ends_at) == (starts_at, ends_at):
            return record
    return None


def between(start: datetime, end: datetime) -> list[ConfigUpgrade]:
    """Records whose work started, or (not started) whose window began, in [start, end)."""
    rows = db.session().scalars(
        select(ConfigUpgrade)
        .where(
            or_(
                ConfigUpgrade.started_at.is_(None),
                (ConfigUpgrade.started_at >= start) & (ConfigUpgrade.started_at < end),
            )
        )
        .order_by(ConfigUpgrade.asset_id, ConfigUpgrade.id)
    )
    out = []
    for record in rows:
        if record.started_at is not None:
            out.append(record)
            continue
        window = window_of(record)
        if window is not None and start <= window.starts_at < end:
            out.append(record)
    return out
