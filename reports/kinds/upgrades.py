"""Report kind 升级记录: the firmware upgrades of the period (started in it, or planned with their
window starting in it): the device, the versions before and after, why, the vendor's advisory,
the maintenance window, the files backed up, the configuration backup the start relied on, the
state, and the version read back after the work with whether it matches. An upgrade that failed,
or whose version read back does not match, is highlighted (``monitors.configs.upgrades.queries``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors.configs.history import queries as history
from monitors.configs.upgrades import queries as upgrades
from opskit.xlsx.writer import DATETIME, INT, Col, Sheet
from reports.kinds.base import Context, Kind, as_of_note, labeller, local_time, period_words


def upgrade_records(ctx: Context) -> list[Sheet]:
    start, end = ctx.period.start, min(ctx.period.end, ctx.as_of)
    records = upgrades.between(start, end)
    assets = {a.id: a for a in registry.assets_by_ids([r.asset_id for r in records])}
    state = labeller(upgrades.STATE_LABELS)
    source = labeller(upgrades.SOURCE_LABELS)

    def rows() -> Iterator[dict[str, Any]]:
        for r in sorted(records, key=lambda r: (assets[r.asset_id].asset_tag, r.id)):
            asset = assets[r.asset_id]
            window = upgrades.window_of(r)
            backup = (
                history.version(r.asset_id, r.backup_version_id) if r.backup_version_id else None
            )
            matched = {None: "", True: _("yes"), False: _("no")}[r.matches]
            yield {
                "tag": asset.asset_tag,
                "name": asset.name,
                "from": r.from_version,
                "to": r.to_version,
                "reason": r.reason,
                "advisory": r.advisory,
                "window_start": local_time(window.starts_at, ctx) if window else None,
                "window_end": local_time(window.ends_at, ctx) if window else None,
                "files": "\n".join(r.files_backed_up.splitlines()),
                "backup": backup.number if backup else None,
                "backup_at": local_time(backup.fetched_at, ctx) if backup else None,
                "state": state(r.state),
                "read_back": r.read_back,
                "source": source(r.read_back_source) if r.read_back_source else "",
                "matches": matched,
                "note": r.note,
                "_bad": r.state == "failed" or r.matches is False,
            }

    done = sum(1 for r in records if r.state == "done")
    ctx.headline[_("Firmware upgrades")] = len(records)
    ctx.headline[_("Firmware upgrades done")] = done
    columns = [
        Col("tag", _("Asset tag")),
        Col("name", _("Name")),
        Col("from", _("Version before")),
        Col("to", _("Target version")),
        Col("reason", _("Reason")),
        Col("advisory", _("Vendor advisory")),
        Col("window_start", _("Window starts"), DATETIME),
        Col("window_end", _("Window ends"), DATETIME),
        Col("files", _("Files backed up")),
        Col("backup", _("Configuration backup (version)"), INT),
        Col("backup_at", _("Backed up at"), DATETIME),
        Col("state", _("State")),
        Col("read_back", _("Version read back")),
        Col("source", _("Read from")),
        Col("matches", _("Matches the target")),
        Col("note", _("Note")),
    ]
    note = _(
        "%(period)s: %(n)d firmware upgrades, %(done)d done; failed upgrades and versions read "
        "back that do not match the target are highlighted.",
        period=period_words(ctx),
        n=len(records),
        done=done,
    )
    return [
        Sheet(
            _("Upgrade records"),
            columns,
            rows(),
            highlight=lambda row: bool(row["_bad"]),
            note=note + as_of_note(ctx),
        )
    ]


KIND = Kind(_l("Upgrade records"), upgrade_records)
