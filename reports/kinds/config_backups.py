"""Report kind 配置备份情况 (configuration backup status): each device set up for configuration
backups, in the period: its last successful backup (by the period's end), the versions stored and
how many of them were changes (a version after the first), the attempts and the failures, the
last failure's reason. A device with no successful backup inside the period is highlighted
(``monitors.configs.history.queries``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors.configs import queries as configs
from monitors.configs.history import queries as history
from opskit.xlsx.writer import DATETIME, INT, Col, Sheet
from reports.kinds.base import Context, Kind, as_of_note, labeller, local_time, period_words


def config_backups(ctx: Context) -> list[Sheet]:
    start, end = ctx.period.start, min(ctx.period.end, ctx.as_of)
    found = history.backups_between(start, end)
    assets = {a.id: a for a in registry.assets_by_ids([d.asset_id for d in found])}
    reason = labeller(configs.REASON_LABELS)
    titles = history.platform_titles()

    def rows() -> Iterator[dict[str, Any]]:
        for d in sorted(found, key=lambda d: assets[d.asset_id].asset_tag):
            asset = assets[d.asset_id]
            yield {
                "tag": asset.asset_tag,
                "name": asset.name,
                "ip": asset.mgmt_ip or "",
                "platform": titles.get(d.platform, d.platform),
                "scheduled": _("yes") if d.enabled else _("no"),
                "last": local_time(d.last_success_at, ctx),
                "versions": d.versions,
                "changes": d.changes,
                "attempts": d.attempts,
                "failures": d.failures,
                "reason": reason(d.last_reason) if d.last_reason else "",
                "error": d.last_error,
                "_stale": d.last_success_at is None or d.last_success_at < start,
            }

    backed_up = sum(1 for d in found if d.last_success_at and d.last_success_at >= start)
    ctx.headline[_("Devices with configuration backups")] = len(found)
    ctx.headline[_("Configuration changes")] = sum(d.changes for d in found)
    ctx.headline[_("Devices without a backup in the period")] = len(found) - backed_up
    columns = [
        Col("tag", _("Asset tag")),
        Col("name", _("Name")),
        Col("ip", _("Management IP")),
        Col("platform", _("Platform")),
        Col("scheduled", _("Backed up on schedule")),
        Col("last", _("Last successful backup"), DATETIME),
        Col("versions", _("Versions stored"), INT),
        Col("changes", _("Changes in the period"), INT),
        Col("attempts", _("Attempts"), INT),
        Col("failures", _("Failed attempts"), INT),
        Col("reason", _("Last failure")),
        Col("error", _("Last failure's message")),
    ]
    note = _(
        "%(period)s: %(devices)d devices backed up, %(changes)d configuration changes; devices "
        "without a successful backup in the period are highlighted.",
        period=period_words(ctx),
        devices=backed_up,
        changes=sum(d.changes for d in found),
    )
    return [
        Sheet(
            _("Configuration backup status"),
            columns,
            rows(),
            highlight=lambda row: bool(row["_stale"]),
            note=note + as_of_note(ctx),
        )
    ]


KIND = Kind(_l("Configuration backup status"), config_backups)
