"""Configuration backups' reads: a device's access, its versions, the settings, the words of a
failure's reason. What the pages, reports and other packages read goes through here."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import defer, load_only

from monitors.configs.models import ConfigDevice, ConfigVersion
from opskit import db
from opskit.models import SiteSetting

#: ``SiteSetting`` keys and defaults (``services.save_settings``)
FAILURES_KEY = "configs.failures_before_alert"
DEFAULT_FAILURES_BEFORE_ALERT = 3
CONCURRENCY_KEY = "configs.concurrency"
DEFAULT_CONCURRENCY = 10

#: a failed attempt's reason (``ConfigDevice.last_reason``, ``ConfigFetch.reason``) in words;
#: the attempt's own text (``last_error``) says the details
REASON_LABELS = {
    "auth": _l("Wrong user name or password"),
    "enable": _l("Enable password refused"),
    "unreachable": _l("Unreachable"),
    "timeout": _l("Stopped answering (timeout)"),
    "closed": _l("Connection closed by the device"),
    "protocol": _l("Not an SSH server"),
    "host_key": _l("SSH host key changed"),
    "commands": _l("No commands to run"),
    "address": _l("No address"),
    "secret": _l("Stored password cannot be decrypted"),
    "platform": _l("Unknown platform"),
    "store": _l("Could not be stored"),
    "pager": _l("Stopped at an unknown prompt"),
    "too_big": _l("Configuration too large"),
    "refused": _l("Command refused by the device"),
}


def version_url(asset_id: int, version_id: int) -> str:
    """The page of one version and its diff with the previous one (``models``' docstring)."""
    return f"/configs/{asset_id}/versions/{version_id}"


#: load a device without its passwords: they are decrypted only when read (``services.target_of``),
#: so a key that cannot decrypt them fails that fetch, not the page or the worker's turn
WITHOUT_SECRETS = (defer(ConfigDevice.password), defer(ConfigDevice.enable_password))


def device_of_asset(asset_id: int) -> ConfigDevice | None:
    return db.session().scalar(
        select(ConfigDevice).options(*WITHOUT_SECRETS).where(ConfigDevice.asset_id == asset_id)
    )


def latest_version(asset_id: int) -> ConfigVersion | None:
    """The asset's newest version without its encrypted text (``text`` is not read)."""
    return db.session().scalar(
        select(ConfigVersion)
        .options(load_only(*_LISTED))
        .where(ConfigVersion.asset_id == asset_id)
        .order_by(ConfigVersion.number.desc())
        .limit(1)
    )


def version(version_id: int) -> ConfigVersion | None:
    """One version (its ``text`` decrypted when read: for the offline copy, never a page)."""
    return db.session().get(ConfigVersion, version_id)


def versions_listed(asset_id: int) -> Any:
    """The asset's versions without their texts, newest first, as a statement to page."""
    return (
        select(ConfigVersion)
        .options(load_only(*_LISTED))
        .where(ConfigVersion.asset_id == asset_id)
        .order_by(ConfigVersion.number.desc())
    )


def versions(asset_id: int, limit: int = 200) -> list[ConfigVersion]:
    """The asset's versions, newest first, without their encrypted texts."""
    return list(db.session().scalars(versions_listed(asset_id).limit(limit)))


_LISTED = (
    ConfigVersion.id,
    ConfigVersion.asset_id,
    ConfigVersion.number,
    ConfigVersion.fetched_at,
    ConfigVersion.sha256,
    ConfigVersion.size,
    ConfigVersion.lines,
    ConfigVersion.changed_by,
    ConfigVersion.previous_id,
)


def _setting(key: str, default: int) -> int:
    saved = db.session().get(SiteSetting, key)
    try:
        return int(saved.value) if saved is not None else default
    except ValueError:
        return default


def failures_before_alert() -> int:
    """Consecutive failed backups of a device that raise a 配置备份失败 alert (default 3)."""
    return _setting(FAILURES_KEY, DEFAULT_FAILURES_BEFORE_ALERT)


def concurrency() -> int:
    """Devices a scheduler worker fetches at once (default 10)."""
    return _setting(CONCURRENCY_KEY, DEFAULT_CONCURRENCY)


def devices(platform: str | None = None, failing: bool | None = None) -> Any:
    """The devices set up for backups (without their passwords), as a statement to page: one
    platform's, or those whose last attempt failed (``failing``) or not; by asset id."""
    stmt = select(ConfigDevice).options(*WITHOUT_SECRETS)
    if platform is not None:
        stmt = stmt.where(ConfigDevice.platform == platform)
    if failing is not None:
        stmt = stmt.where(
            ConfigDevice.consecutive_failures > 0
            if failing
            else ConfigDevice.consecutive_failures == 0
        )
    return stmt.order_by(ConfigDevice.asset_id)
