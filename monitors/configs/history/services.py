"""Writes the configuration pages need beyond ``monitors.configs.services``: one device's backup
fetched now, from a page's button (the device page, the upgrade record's "fetch now")."""

from __future__ import annotations

from flask_babel import gettext as _

from monitors.configs import queries, schedule
from monitors.configs.schedule import Fetcher, Result
from opskit import clock, db
from opskit.validation import ValidationFailed


def fetch_now(asset_id: int, fetcher: Fetcher | None = None) -> Result:
    """Fetch the asset's configuration now and record it (a version when it changed), as
    ``opskit configs fetch --asset`` does: the device leased first, so a worker fetching it at
    the same time is not joined. ``ValidationFailed`` (``fetch``) when the device is not set up
    or is being fetched already. Commits."""
    device = queries.device_of_asset(asset_id)
    if device is None:
        raise ValidationFailed.one("fetch", _("This device is not set up for backups."))
    session = db.session()
    if not schedule.claim_device(session, device.id, clock.now()):
        raise ValidationFailed.one(
            "fetch", _("The device is being fetched right now: try again shortly.")
        )
    results = schedule.fetch_claimed([device.id], 1, fetcher)
    session.commit()
    return results[0]
