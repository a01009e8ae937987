"""Reads behind the configuration pages, the offline copies and the reports: one version and the
one before it, a device's summary for its asset page, the copies an export writes, each device's
backups in a period. (A device's access and its version list are ``monitors.configs.queries``.)"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import defer

from assets import queries as registry
from monitors.configs import platforms
from monitors.configs.models import ConfigDevice, ConfigFetch, ConfigVersion
from monitors.configs.offline import Copy
from opskit import db

#: a version's row without its encrypted text (decrypting is for the offline copy only)
_MASKED = (defer(ConfigVersion.text),)
#: ... and without either text (lists, links)
_BARE = (defer(ConfigVersion.text), defer(ConfigVersion.masked_text))


def version(asset_id: int, version_id: int) -> ConfigVersion | None:
    """The version with its masked text (not its encrypted one), if it is the asset's."""
    return db.session().scalar(
        select(ConfigVersion)
        .options(*_MASKED)
        .where(ConfigVersion.id == version_id, ConfigVersion.asset_id == asset_id)
    )


def previous(v: ConfigVersion) -> ConfigVersion | None:
    """The asset's version numbered just before ``v`` (its masked text), if any."""
    return db.session().scalar(
        select(ConfigVersion)
        .options(*_MASKED)
        .where(ConfigVersion.asset_id == v.asset_id, ConfigVersion.number < v.number)
        .order_by(ConfigVersion.number.desc())
        .limit(1)
    )


def following(v: ConfigVersion) -> ConfigVersion | None:
    """The asset's version numbered just after ``v`` (without texts), if any."""
    return db.session().scalar(
        select(ConfigVersion)
        .options(*_BARE)
        .where(ConfigVersion.asset_id == v.asset_id, ConfigVersion.number > v.number)
        .order_by(ConfigVersion.number)
        .limit(1)
    )


def version_count(asset_id: int) -> int:
    return int(
        db.session().scalar(
            select(func.count())
            .select_from(ConfigVersion)
            .where(ConfigVersion.asset_id == asset_id)
        )
        or 0
    )


def newest_at_or_after(asset_id: int, since: datetime) -> ConfigVersion | None:
    """The asset's newest version if a fetch confirmed or stored it at or after ``since``: the
    version stored then, or the one an unchanged fetch found again (without texts)."""
    confirmed = db.session().scalar(
        select(ConfigFetch.version_id)
        .where(
            ConfigFetch.asset_id == asset_id,
            ConfigFetch.ok.is_(True),
            ConfigFetch.version_id.is_not(None),
            ConfigFetch.finished_at >= since,
        )
        .order_by(ConfigFetch.finished_at.desc())
        .limit(1)
    )
    stored = db.session().scalar(
        select(ConfigVersion)
        .options(*_BARE)
        .where(ConfigVersion.asset_id == asset_id, ConfigVersion.fetched_at >= since)
        .order_by(ConfigVersion.number.desc())
        .limit(1)
    )
    if stored is not None:
        return stored
    if confirmed is None:
        return None
    return db.session().get(ConfigVersion, confirmed, options=list(_BARE))


def copies(since: datetime | None = None, all_versions: bool = False) -> Iterator[Copy]:
    """What an offline copy holds: each device's newest version (``all_versions``: every one),
    only those fetched at or after ``since`` if given; the full text, decrypted."""
    session = db.session()
    newest = (
        select(ConfigVersion.asset_id, func.max(ConfigVersion.number).label("number"))
        .group_by(ConfigVersion.asset_id)
        .subquery()
    )
    ids = select(ConfigVersion.id, ConfigVersion.asset_id)
    if not all_versions:
        ids = ids.join(
            newest,
            (newest.c.asset_id == ConfigVersion.asset_id)
            & (newest.c.number == ConfigVersion.number),
        )
    if since is not None:
        ids = ids.where(ConfigVersion.fetched_at >= since)
    rows = session.execute(ids.order_by(ConfigVersion.asset_id, ConfigVersion.number)).all()
    found = [version_id for version_id, _ in rows]
    asset_ids = sorted({asset_id for _, asset_id in rows})
    assets = {a.id: a for a in registry.assets_by_ids(asset_ids)}
    platforms = dict(
        session.execute(
            select(ConfigDevice.asset_id, ConfigDevice.platform).where(
                ConfigDevice.asset_id.in_(asset_ids)
            )
        ).all()
    )
    for start in range(0, len(found), 50):  # 50 texts decrypted and held at a time
        chunk = found[start : start + 50]
        for row in session.scalars(
            select(ConfigVersion)
            .where(ConfigVersion.id.in_(chunk))
            .order_by(ConfigVersion.asset_id, ConfigVersion.number)
        ):
            asset = assets.get(row.asset_id)
            yield Copy(
                asset=asset.asset_tag if asset else f"asset-{row.asset_id}",
                ip=(asset.mgmt_ip or "") if asset else "",
                platform=platforms.get(row.asset_id, ""),
                fetched_at=row.fetched_at,
                text=row.text,
            )
        session.expunge_all()


@dataclass(frozen=True)
class DeviceBackups:
    """One device's backups in a period (the 配置备份情况 report)."""

    asset_id: int
    platform: str
    enabled: bool
    last_success_at: datetime | None  # the last successful fetch before the period's end
    versions: int  # versions stored in the period
    changes: int  # of them, those with a version before (not the first backup)
    attempts: int
    failures: int
    last_error: str  # the last failed attempt's text in the period ("" if none)
    last_reason: str


def backups_between(start: datetime, end: datetime) -> list[DeviceBackups]:
    """Each device set up for backups: its fetches and versions in [start, end)."""
    session = db.session()
    devices = list(session.scalars(select(ConfigDevice).order_by(ConfigDevice.asset_id)))
    if not devices:
        return []
    last_ok = dict(
        session.execute(
            select(ConfigFetch.asset_id, func.max(ConfigFetch.finished_at))
            .where(ConfigFetch.ok.is_(True), ConfigFetch.finished_at < end)
            .group_by(ConfigFetch.asset_id)
        ).all()
    )
    # versions stored before the first fetch table row (e.g. imported) count as successes too
    last_version = dict(
        session.execute(
            select(ConfigVersion.asset_id, func.max(ConfigVersion.fetched_at))
            .where(ConfigVersion.fetched_at < end)
            .group_by(ConfigVersion.asset_id)
        ).all()
    )
    versions: dict[int, list[int]] = {}
    for asset_id, number in session.execute(
        select(ConfigVersion.asset_id, ConfigVersion.number).where(
            ConfigVersion.fetched_at >= start, ConfigVersion.fetched_at < end
        )
    ):
        versions.setdefault(asset_id, []).append(number)
    attempts: dict[int, list[ConfigFetch]] = {}
    for fetch in session.scalars(
        select(ConfigFetch)
        .where(ConfigFetch.started_at >= start, ConfigFetch.started_at < end)
        .order_by(ConfigFetch.started_at)
    ):
        attempts.setdefault(fetch.asset_id, []).append(fetch)
    out = []
    for device in devices:
        numbers = versions.get(device.asset_id, [])
        tried = attempts.get(device.asset_id, [])
        failed = [f for f in tried if not f.ok]
        candidates = [
            t for t in (last_ok.get(device.asset_id), last_version.get(device.asset_id)) if t
        ]
        out.append(
            DeviceBackups(
                asset_id=device.asset_id,
                platform=device.platform,
                enabled=device.enabled,
                last_success_at=max(candidates) if candidates else None,
                versions=len(numbers),
                changes=sum(1 for n in numbers if n > 1),
                attempts=len(tried),
                failures=len(failed),
                last_error=failed[-1].error if failed else "",
                last_reason=failed[-1].reason if failed else "",
            )
        )
    return out


def platform_titles() -> dict[str, str]:
    """Each platform's name → what people call it (``platforms.yaml``' titles)."""
    return dict(platforms.titles())
