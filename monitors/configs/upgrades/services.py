"""Firmware upgrade records' writes and rules (flush; the caller commits).

- :func:`plan`: a new record in state ``planned``, with its maintenance window made through the
  desk (``opskit.alerts.services.add_maintenance``), so the alerts raised by the work are held.
  The same plan sent again (a retried form) returns the record already made.
- :func:`start`: ``planned`` → ``started`` only when a configuration backup of the device at or
  after the window's start minus ``backup_hours`` exists (a version stored then, or a fetch
  then that found the configuration unchanged); the version it relied on is kept.
- :func:`finish`: ``started`` → ``done`` / ``failed``, then :func:`read_back`.
- :func:`read_back`: the version the device runs, and whether it names ``to_version``: first
  from the newest configuration fetched since the window started (read from the device after
  the work: its ``version`` line), else from the firmware value stored on the asset (SNMP
  ENTITY-MIB's entPhysicalSoftwareRev at discovery, or typed in the registry). A value that
  contains the target version (ignoring case and spaces) matches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries as registry
from monitors.configs.history import queries as history
from monitors.configs.models import ConfigVersion
from monitors.configs.upgrades import queries
from monitors.configs.upgrades.models import DEFAULT_BACKUP_HOURS, ConfigUpgrade
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

MAX_BACKUP_HOURS = 24 * 30

#: a configuration's line naming the software version: Cisco/Ruijie/Comware ``version ...``,
#: Junos ``version ...;``, Huawei ``!Software Version ...``, FortiGate ``#config-version=...``,
#: Arista ``! device: ... (..., EOS-4.28.3M)``
_VERSION_LINES = (
    re.compile(r"^\s*#config-version=(?P<v>\S+)", re.IGNORECASE),
    re.compile(r"^\s*!\s*device:.*\b(?P<v>EOS-[\w.\-]+)", re.IGNORECASE),
    re.compile(r"^\s*[!#]?\s*(?:software\s+)?version[\s:=]+(?P<v>\S.*?);?\s*$", re.IGNORECASE),
)


def version_in(text: str) -> str:
    """The software version a configuration names (its first version line), or ""."""
    for line in text.splitlines()[:200]:
        for pattern in _VERSION_LINES:
            found = pattern.search(line)
            if found:
                return found.group("v").strip()
    return ""


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).lower()


def matches(read: str, wanted: str) -> bool:
    """Whether the value read back names the wanted version (contains it; case and spaces
    ignored)."""
    return bool(read.strip() and wanted.strip()) and _squash(wanted) in _squash(read)


@dataclass
class PlanValues:
    to_version: str
    window_start: datetime | None
    window_end: datetime | None
    from_version: str = ""
    reason: str = ""
    advisory: str = ""
    files_backed_up: str = ""
    backup_hours: Any = DEFAULT_BACKUP_HOURS


def current_firmware(asset_id: int) -> str:
    """The firmware stored on the asset (``specs["firmware"]``), or ""."""
    asset = registry.get_asset(asset_id)
    value = (asset.specs or {}).get("firmware") if asset is not None else None
    return str(value).strip() if value else ""


def plan(asset_id: int, values: PlanValues) -> ConfigUpgrade:
    """A new planned upgrade and its maintenance window; ``ValidationFailed`` keyed by field
    (to_version, window_start, window_end, backup_hours, asset)."""
    if registry.get_asset(asset_id) is None:
        raise ValidationFailed.one("asset", _("No such asset."))
    errors: dict[str, list[str]] = {}
    to_version = values.to_version.strip()
    if not to_version:
        errors["to_version"] = [_("Required: the version the device is to run.")]
    elif len(to_version) > 128:
        errors["to_version"] = [_("At most %(n)d characters.", n=128)]
    if len(values.from_version.strip()) > 128:
        errors["from_version"] = [_("At most %(n)d characters.", n=128)]
    if len(values.advisory.strip()) > 255:
        errors["advisory"] = [_("At most %(n)d characters.", n=255)]
    if values.window_start is None:
        errors["window_start"] = [_("Required: when the work starts.")]
    if values.window_end is None:
        errors["window_end"] = [_("Required: when the work ends.")]
    elif values.window_start is not None and values.window_end <= values.window_start:
        errors["window_end"] = [_("The window must end after it starts.")]
    try:
        hours = int(str(values.backup_hours).strip())
        if not 1 <= hours <= MAX_BACKUP_HOURS:
            raise ValueError
    except ValueError:
        hours = DEFAULT_BACKUP_HOURS
        errors["backup_hours"] = [_("A whole number of hours from 1 to %(n)d.", n=MAX_BACKUP_HOURS)]
    if errors:
        raise ValidationFailed(errors)
    assert values.window_start is not None and values.window_end is not None
    again = queries.same_plan(asset_id, to_version, values.window_start, values.window_end)
    if again is not None:
        return again
    window = alerts.add_maintenance(
        values.window_start,
        values.window_end,
        asset_id=asset_id,
        reason=_("Firmware upgrade to %(version)s", version=to_version),
    )
    db.session().flush()
    record = ConfigUpgrade(
        asset_id=asset_id,
        from_version=values.from_version.strip() or current_firmware(asset_id),
        to_version=to_version,
        reason=values.reason.strip(),
        advisory=values.advisory.strip(),
        window_id=window.id,
        files_backed_up=values.files_backed_up.strip(),
        backup_hours=hours,
        state="planned",
        created_by=current_actor()[1],
    )
    db.session().add(record)
    db.session().flush()
    return record


def backup_deadline(record: ConfigUpgrade) -> datetime | None:
    """The oldest a backup may be for ``record`` to start: window start − backup_hours."""
    window = queries.window_of(record)
    if window is None:
        return None
    return window.starts_at - timedelta(hours=record.backup_hours)


def fresh_backup(record: ConfigUpgrade) -> ConfigVersion | None:
    """The configuration version a start may rely on (None: no backup fresh enough)."""
    deadline = backup_deadline(record)
    if deadline is None:
        return None
    return history.newest_at_or_after(record.asset_id, deadline)


def start(upgrade_id: int) -> ConfigUpgrade:
    """Start the work: refused (``ValidationFailed``, ``backup``/``state``/``window``) unless
    the record is planned, has its window and a fresh enough configuration backup."""
    record = queries.get(upgrade_id)
    if record is None:
        raise ValidationFailed.one("upgrade", _("No such upgrade record."))
    if record.state != "planned":
        raise ValidationFailed.one("state", _("Only a planned upgrade can be started."))
    deadline = backup_deadline(record)
    if deadline is None:
        raise ValidationFailed.one(
            "window", _("The upgrade's maintenance window was deleted: plan it again.")
        )
    backup = history.newest_at_or_after(record.asset_id, deadline)
    if backup is None:
        local = deadline.astimezone(clock.site_tz()).strftime("%Y-%m-%d %H:%M")
        raise ValidationFailed.one(
            "backup",
            _(
                "No configuration backup of this device since %(since)s (%(hours)d hours before "
                "the window starts): fetch one now, then start.",
                since=local,
                hours=record.backup_hours,
            ),
        )
    record.state = "started"
    record.started_at = clock.now()
    record.backup_version_id = backup.id
    db.session().flush()
    return record


def finish(upgrade_id: int, succeeded: bool, note: str = "") -> ConfigUpgrade:
    """End the work as done or failed, and read the version back."""
    record = queries.get(upgrade_id)
    if record is None:
        raise ValidationFailed.one("upgrade", _("No such upgrade record."))
    if record.state != "started":
        raise ValidationFailed.one("state", _("Only a started upgrade can be finished."))
    record.state = "done" if succeeded else "failed"
    record.finished_at = clock.now()
    record.note = note.strip()
    read_back(record)
    db.session().flush()
    return record


def read_back(record: ConfigUpgrade) -> ConfigUpgrade:
    """Read the version the device runs now into ``record`` (see the module's docstring)."""
    window = queries.window_of(record)
    since = window.starts_at if window is not None else record.started_at
    value, source = "", ""
    if since is not None:
        newest = db.session().scalar(
            select(ConfigVersion)
            .where(ConfigVersion.asset_id == record.asset_id)
            .order_by(ConfigVersion.number.desc())
            .limit(1)
        )
        confirmed = history.newest_at_or_after(record.asset_id, since)
        if newest is not None and confirmed is not None and confirmed.id == newest.id:
            value, source = version_in(newest.masked_text), "config"
    if not value:
        value = current_firmware(record.asset_id)
        source = "firmware" if value else ""
    record.read_back = value
    record.read_back_source = source
    record.read_back_at = clock.now()
    record.matches = matches(value, record.to_version) if value else None
    db.session().flush()
    return record
