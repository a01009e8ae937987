"""Reads of repairs (维修记录): one repair with its parts, an asset's repair history, a
request's repairs, and the assets with repeated faults for the registry.

**Repeated faults.** An asset is listed when it had more than ``REPEATED_FAULTS_OVER`` faults
within the last ``REPEATED_FAULTS_DAYS`` days (2 and 180: three faults in half a year). A fault
is a request about the asset raised in the window, or a repair of the asset in the window
(from its downtime start, else when it was recorded) that belongs to none of those requests:
a request and the repair done for it are one fault, not two. The app's config keys
``REPEATED_FAULTS_OVER`` and ``REPEATED_FAULTS_DAYS`` change the defaults; the list page takes
both as filters too. Other packages read these through ``opskit.servicedesk.queries``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_, exists, func, select
from sqlalchemy.orm import aliased, selectinload

from assets import queries as registry
from opskit import clock, db
from opskit.servicedesk.models import Repair, ServiceRequest

__all__ = [
    "REPEATED_FAULTS_DAYS",
    "REPEATED_FAULTS_OVER",
    "RepeatedFault",
    "get_repair",
    "repair_number",
    "repair_when",
    "repairs_of_asset",
    "repairs_of_request",
    "repeated_faults",
    "repeated_faults_defaults",
]

#: an asset with more faults than this within the window is listed
REPEATED_FAULTS_OVER = 2
#: the window, in days back from now
REPEATED_FAULTS_DAYS = 180


def repair_number(repair: Repair) -> str:
    """RP-<year it was recorded, site time>-<id, 4 digits>: RP-2026-0007."""
    return f"RP-{repair.created_at.astimezone(clock.site_tz()):%Y}-{repair.id:04d}"


def repair_when(repair: Repair) -> datetime:
    """When the repair happened: its downtime start, else when it was recorded."""
    return repair.downtime_start or repair.created_at


def get_repair(repair_id: int) -> Repair | None:
    """A repair with its parts loaded."""
    return db.session().scalar(
        select(Repair).where(Repair.id == repair_id).options(selectinload(Repair.parts))
    )


def repairs_of_asset(asset_id: int, limit: int = 200) -> list[Repair]:
    """The asset's repair history, newest first, with parts."""
    when = func.coalesce(Repair.downtime_start, Repair.created_at)
    return list(
        db.session().scalars(
            select(Repair)
            .where(Repair.asset_id == asset_id)
            .options(selectinload(Repair.parts))
            .order_by(when.desc(), Repair.id.desc())
            .limit(limit)
        )
    )


def repairs_of_request(request_id: int) -> list[Repair]:
    """A request's repairs, oldest first, with parts."""
    return list(
        db.session().scalars(
            select(Repair)
            .where(Repair.request_id == request_id)
            .options(selectinload(Repair.parts))
            .order_by(Repair.created_at, Repair.id)
        )
    )


@dataclass(frozen=True)
class RepeatedFault:
    """An asset with repeated faults in the window: its requests and its repairs of no such
    request, and when the last one happened."""

    asset: registry.Asset
    requests: int
    repairs: int
    last_at: datetime

    @property
    def faults(self) -> int:
        return self.requests + self.repairs


def repeated_faults_defaults() -> tuple[int, int]:
    """(more than how many faults, within how many days): the config's, else the constants."""
    over, days = REPEATED_FAULTS_OVER, REPEATED_FAULTS_DAYS
    if has_app_context():
        over = int(current_app.config.get("REPEATED_FAULTS_OVER", over))
        days = int(current_app.config.get("REPEATED_FAULTS_DAYS", days))
    return over, days


def repeated_faults(
    over: int | None = None, days: int | None = None, now: datetime | None = None
) -> list[RepeatedFault]:
    """Assets with more than ``over`` faults in the ``days`` before ``now``, the most faults
    first (then the latest)."""
    default_over, default_days = repeated_faults_defaults()
    over = default_over if over is None else over
    days = default_days if days is None else days
    since = (now or clock.now()) - timedelta(days=days)
    sess = db.session()

    requests: dict[int, tuple[int, datetime]] = {}
    for asset_id, number, last in sess.execute(
        select(ServiceRequest.asset_id, func.count(), func.max(ServiceRequest.raised_at))
        .where(ServiceRequest.asset_id.is_not(None), ServiceRequest.raised_at >= since)
        .group_by(ServiceRequest.asset_id)
    ):
        if asset_id is not None:
            requests[asset_id] = (number, last)

    when = func.coalesce(Repair.downtime_start, Repair.created_at)
    counted = aliased(ServiceRequest)
    of_counted_request = exists().where(
        and_(
            counted.id == Repair.request_id,
            counted.asset_id == Repair.asset_id,
            counted.raised_at >= since,
        )
    )
    repairs: dict[int, tuple[int, datetime]] = {}
    for asset_id, number, last in sess.execute(
        select(Repair.asset_id, func.count(), func.max(when))
        .where(when >= since, ~of_counted_request)
        .group_by(Repair.asset_id)
    ):
        repairs[asset_id] = (number, last)

    def count(found: dict[int, tuple[int, datetime]], asset_id: int) -> int:
        return found[asset_id][0] if asset_id in found else 0

    listed = [
        asset_id
        for asset_id in requests.keys() | repairs.keys()
        if count(requests, asset_id) + count(repairs, asset_id) > over
    ]
    result = [
        RepeatedFault(
            asset=asset,
            requests=count(requests, asset.id),
            repairs=count(repairs, asset.id),
            last_at=max(found[asset.id][1] for found in (requests, repairs) if asset.id in found),
        )
        for asset in registry.assets_by_ids(listed)
    ]
    result.sort(key=lambda f: (-f.faults, -f.last_at.timestamp(), f.asset.asset_tag))
    return result
