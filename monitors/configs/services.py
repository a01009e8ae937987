"""Configuration backups' writes and rules (issue #22).

- ``save_device``: an asset's access for backups (validated, errors keyed by field; a blank
  password keeps the stored one). Changing the address (host, port or transport) forgets the
  pinned host key: the next fetch pins the new address's key.
- ``record``: what one fetch of one device came to, in one transaction: a ``ConfigFetch`` row,
  the device's bookkeeping and, when the normalised text's hash differs from the newest
  version's, a new ``ConfigVersion`` (the whole text or nothing: a fetch that failed in any way
  stores none). Who changed it (``changed_by``) is read from the device's syslog since the
  previous backup (``authors``). A new version after the first raises a C alert 配置变更
  linking the version's page; ``failures_before_alert()`` consecutive failures raise one C
  alert 配置备份失败 (updated by later failures, cleared by the next success); a changed SSH
  host key raises a C alert at once, keeps the key offered and stops the device's backups until
  ``accept_host_key``.
- ``accept_host_key``: an admin pins the key the device offered (optionally checking its
  fingerprint, so what was shown is what gets pinned), clears the alert, and the device is due.
- ``save_settings``: the failure count before an alert and the workers' concurrency.

The fetch itself (the network) is ``device.fetch``; ``schedule`` runs it for due devices.
Callers own nothing here: ``save_device``/``accept_host_key`` flush (the caller commits),
``record`` commits its own transaction (``db.write``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors.configs import authors, normalise, platforms, queries
from monitors.configs.models import (
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    MIN_INTERVAL_S,
    TRANSPORTS,
    ConfigDevice,
    ConfigFetch,
    ConfigVersion,
)
from monitors.configs.target import Fetched, FetchError, HostKey, HostKeyChanged, Target
from monitors.syslog import queries as syslog_queries
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.alerts import wording
from opskit.crypto import SecretError
from opskit.models import SiteSetting
from opskit.validation import ValidationFailed

RULE_PREFIX = "configs."
RULE_CHANGED = "configs.changed"
RULE_FAILED = "configs.failed"
RULE_HOST_KEY = "configs.host_key"
MAX_TIMEOUT_S = 1800  # a fetch's own limit; the scheduler's lease outlasts it
ERROR_CHARS = 2000
SYSLOG_READ = 500  # the newest messages read for who changed a configuration

#: what each rule is called (配置变更 ...), by ``opskit.alerts.wording``
RULE_TITLES = {
    "changed": _l("Configuration changed"),
    "failed": _l("Configuration backup failed"),
    "host_key": _l("SSH host key changed"),
}
#: the alert messages (msgids, written in the site's language; said again in a workbook's)
SAID = (
    "%(tag)s %(name)s: configuration changed (version %(number)s, %(lines)s lines): %(url)s",
    "%(tag)s %(name)s: configuration backup failed %(count)s times in a row: %(reason)s",
    "%(tag)s %(name)s: SSH host key changed, backups stopped until an admin accepts the new "
    "key (%(fingerprint)s)",
)


def _key(rule: str, asset_id: int) -> str:
    return f"{rule}:{asset_id}"


def rule_title(_group: str, name: str) -> str | None:
    """配置变更 / 配置备份失败 / SSH 主机密钥已变更 in the language being written."""
    title = RULE_TITLES.get(name)
    return str(title) if title is not None else None


def said_again(alerts_: list[Any]) -> dict[int, str]:
    """alert id → a backup alert's message in the language being written."""
    out = {}
    for alert in alerts_:
        said = wording.said_again(alert.message, SAID)
        if said is not None:
            out[alert.id] = _reason_again(said)
    return out


def _reason_again(said: str) -> str:
    """A 配置备份失败 message's reason words (``: 用户名或密码错误 (``, written in the site's
    language) in the language being written; the device's own error after them stays as is."""
    now = {reason: str(label) for reason, label in queries.REASON_LABELS.items()}
    for locale in wording.WRITTEN_IN:
        with force_locale(locale):
            written = {reason: str(label) for reason, label in queries.REASON_LABELS.items()}
        for reason, words in written.items():
            if f": {words} (" in said:
                return said.replace(f": {words} (", f": {now[reason]} (", 1)
    return said


# --- device access ----------------------------------------------------------------------------


def _int(errors: dict[str, list[str]], field: str, value: Any, low: int, high: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[field] = [_("A whole number is needed.")]
        return low
    if not low <= number <= high:
        errors[field] = [_("Between %(low)d and %(high)d.", low=low, high=high)]
    return number


def save_device(
    asset_id: int,
    *,
    platform: str,
    username: str,
    transport: str = "ssh",
    host: str = "",
    port: int | str | None = None,
    password: str | None = None,
    enable_password: str | None = None,
    commands: Iterable[str] = (),
    interval_s: int | str = DEFAULT_INTERVAL_S,
    timeout_s: int | str = DEFAULT_TIMEOUT_S,
    enabled: bool = True,
) -> ConfigDevice:
    """Create or update the asset's access for backups (flushes; the caller commits).

    ``password``/``enable_password``: ``None`` or blank keeps the stored one. Errors are
    ``ValidationFailed`` keyed by field (platform, transport, port, username, commands,
    interval_s, timeout_s, asset)."""
    errors: dict[str, list[str]] = {}
    asset = registry.get_asset(asset_id)
    if asset is None:
        raise ValidationFailed.one("asset", _("No such asset."))
    found = platforms.load().get(platform)
    if found is None:
        errors["platform"] = [_("Choose a platform from the list.")]
    if transport not in TRANSPORTS:
        errors["transport"] = [_("SSH or Telnet.")]
    elif found is not None and transport == "telnet" and not found.telnet:
        errors["transport"] = [_("This platform is reached over SSH only.")]
    port_n = None if port in (None, "") else _int(errors, "port", port, 1, 65535)
    username = (username or "").strip()
    if not username:
        errors["username"] = [_("Required.")]
    cleaned = [c.strip() for c in commands if c and c.strip()]
    if found is not None and not found.commands and not cleaned:
        errors["commands"] = [_("Give the commands that print the configuration.")]
    interval = _int(errors, "interval_s", interval_s, MIN_INTERVAL_S, 366 * 86400)
    timeout = _int(errors, "timeout_s", timeout_s, 5, MAX_TIMEOUT_S)
    host = (host or "").strip()
    if not host and not asset.mgmt_ip:
        errors["host"] = [_("The asset has no management IP: give the address.")]
    if errors:
        raise ValidationFailed(errors)
    device = queries.device_of_asset(asset_id)
    if device is None:
        device = ConfigDevice(asset_id=asset_id, next_due_at=clock.now())
        db.session().add(device)
    elif (device.host, device.port, device.transport) != (host, port_n, transport):
        _forget_host_key(device)
    device.platform = platform
    device.transport = transport
    device.host = host
    device.port = port_n
    device.username = username
    device.commands = cleaned
    device.interval_s = interval
    device.timeout_s = timeout
    device.enabled = enabled
    if password:
        device.password = password
    if enable_password:
        device.enable_password = enable_password
    db.session().flush()
    return device


def _forget_host_key(device: ConfigDevice) -> None:
    device.host_key_type = device.host_key = device.host_key_fingerprint = None
    device.host_key_pinned_at = None
    _clear_offered(device)


def _clear_offered(device: ConfigDevice) -> None:
    device.offered_host_key_type = device.offered_host_key = None
    device.offered_host_key_fingerprint = None
    device.offered_host_key_at = None


def pinned_key(device: ConfigDevice) -> HostKey | None:
    if device.host_key_type and device.host_key:
        return HostKey(device.host_key_type, device.host_key)
    return None


def target_of(device: ConfigDevice) -> Target:
    """What ``device.fetch`` needs for this device; ``FetchError`` when it cannot be tried
    (no address, unknown platform, a password the encryption key cannot read)."""
    try:
        platform = platforms.get(device.platform)
    except platforms.PlatformError as exc:
        raise FetchError("platform", str(exc)) from None
    host = device.host
    if not host:
        asset = registry.get_asset(device.asset_id)
        host = (asset.mgmt_ip or "") if asset is not None else ""
    if not host:
        raise FetchError("address", "no address: the asset has no management IP")
    try:
        password = device.password
        enable = device.enable_password
    except SecretError as exc:
        raise FetchError("secret", str(exc)) from None
    return Target(
        host=host,
        platform=platform,
        username=device.username,
        password=password,
        enable_password=enable,
        transport=device.transport,
        port=device.port,
        commands=tuple(device.commands or ()),
        timeout=float(device.timeout_s),
        pinned_host_key=pinned_key(device),
    )


# --- recording one fetch ----------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One fetch of one device: ``fetched`` or ``error``, and when it ran."""

    started_at: datetime
    finished_at: datetime
    fetched: Fetched | None = None
    error: FetchError | None = None


def _in_site_language(say: Callable[[], str]) -> str:
    """An alert's message as written: in the site's language (said again on other pages)."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return say()[:1000]


def _reason_words(reason: str) -> str:
    label = queries.REASON_LABELS.get(reason)
    return str(label) if label is not None else reason


def record(device_id: int, outcome: Outcome) -> ConfigFetch:
    """Store what one fetch came to (see the module's docstring), in its own transaction."""

    def work() -> ConfigFetch:
        sess = db.session()
        device = sess.get(
            ConfigDevice, device_id, populate_existing=True, options=queries.WITHOUT_SECRETS
        )
        if device is None:
            raise LookupError(f"no backup settings #{device_id}")
        row = ConfigFetch(
            asset_id=device.asset_id,
            started_at=outcome.started_at,
            finished_at=outcome.finished_at,
            ok=outcome.error is None,
        )
        device.last_attempt_at = outcome.started_at
        device.next_due_at = outcome.started_at + _interval(device)
        device.lease_until = None
        if outcome.error is None and outcome.fetched is not None:
            _succeeded(device, outcome, row)
        else:
            error = outcome.error or FetchError("closed", "no output")
            _failed(device, outcome, error, row)
        sess.add(row)
        sess.flush()
        return row

    return db.write(work)


def _interval(device: ConfigDevice) -> timedelta:
    return timedelta(seconds=device.interval_s)


def _succeeded(device: ConfigDevice, outcome: Outcome, row: ConfigFetch) -> None:
    fetched = outcome.fetched
    assert fetched is not None
    at = outcome.finished_at
    if device.transport == "ssh" and fetched.server_key is not None and pinned_key(device) is None:
        key = fetched.server_key
        device.host_key_type, device.host_key = key.kind, key.base64
        device.host_key_fingerprint = key.fingerprint
        device.host_key_pinned_at = at
    got = normalise.normalise(fetched.raw, platforms.get(device.platform))
    latest = queries.latest_version(device.asset_id)
    if latest is not None and latest.sha256 == got.sha256:
        row.version_id = latest.id
    else:
        version = ConfigVersion(
            asset_id=device.asset_id,
            number=(latest.number + 1) if latest is not None else 1,
            fetched_at=at,
            sha256=got.sha256,
            size=len(got.text.encode("utf-8")),
            lines=got.lines,
            masked_text=got.masked,
            text=got.text,
            previous_id=latest.id if latest is not None else None,
        )
        if latest is not None:  # who, from the device's syslog since the previous backup
            since = device.last_success_at or latest.fetched_at
            version.changed_by = _changed_by(device, since, at)
        db.session().add(version)
        db.session().flush()
        row.version_id = version.id
        row.new_version = True
        if latest is not None:  # the first backup is no change
            _raise_changed(device, version)
    device.last_success_at = at
    device.last_reason = ""
    device.last_error = ""
    device.consecutive_failures = 0
    alerts.clear_alert(_key(RULE_FAILED, device.asset_id), at=at, note="backup succeeded")
    alerts.clear_alert(_key(RULE_HOST_KEY, device.asset_id), at=at, note="backup succeeded")


def _changed_by(device: ConfigDevice, since: datetime, until: datetime) -> str | None:
    """The users the asset's syslog names as changing its configuration in [since, until]
    (``authors``), the backup's own account left out."""
    found = syslog_queries.search(
        start=since,
        end=until + timedelta(seconds=1),
        asset_id=device.asset_id,
        per_page=SYSLOG_READ,
    )
    messages = ((m.program, m.text) for m in reversed(found.items))
    return authors.changed_by(messages, ignore_user=device.username)


def _asset_words(asset_id: int) -> dict[str, str]:
    asset = registry.get_asset(asset_id)
    return {
        "tag": asset.asset_tag if asset is not None else f"#{asset_id}",
        "name": asset.name if asset is not None else "",
    }


def _raise_changed(device: ConfigDevice, version: ConfigVersion) -> None:
    words = _asset_words(device.asset_id)
    alerts.raise_alert(
        _key(RULE_CHANGED, device.asset_id),
        source="monitor",
        rule=RULE_CHANGED,
        urgency="C",
        message=_in_site_language(
            lambda: _(
                "%(tag)s %(name)s: configuration changed (version %(number)s, %(lines)s lines): "
                "%(url)s",
                number=version.number,
                lines=version.lines,
                url=queries.version_url(device.asset_id, version.id),
                **words,
            )
        ),
        asset_id=device.asset_id,
        at=version.fetched_at,
    )


def _failed(device: ConfigDevice, outcome: Outcome, error: FetchError, row: ConfigFetch) -> None:
    at = outcome.finished_at
    row.reason = error.reason[:16]
    row.error = str(error)[:ERROR_CHARS]
    device.last_reason = row.reason
    device.last_error = row.error
    device.consecutive_failures += 1
    words = _asset_words(device.asset_id)
    if isinstance(error, HostKeyChanged):
        offered = error.offered
        device.offered_host_key_type, device.offered_host_key = offered.kind, offered.base64
        device.offered_host_key_fingerprint = offered.fingerprint
        device.offered_host_key_at = at
        alerts.raise_alert(
            _key(RULE_HOST_KEY, device.asset_id),
            source="monitor",
            rule=RULE_HOST_KEY,
            urgency="C",
            message=_in_site_language(
                lambda: _(
                    "%(tag)s %(name)s: SSH host key changed, backups stopped until an admin "
                    "accepts the new key (%(fingerprint)s)",
                    fingerprint=str(offered),
                    **words,
                )
            ),
            asset_id=device.asset_id,
            at=at,
        )
        return
    if device.consecutive_failures >= queries.failures_before_alert():
        detail = str(error)
        alerts.raise_alert(
            _key(RULE_FAILED, device.asset_id),
            source="monitor",
            rule=RULE_FAILED,
            urgency="C",
            message=_in_site_language(
                lambda: _(
                    "%(tag)s %(name)s: configuration backup failed %(count)s times in a row: "
                    "%(reason)s",
                    count=device.consecutive_failures,
                    reason=_reason_words(error.reason) + " (" + detail + ")",
                    **words,
                )
            ),
            asset_id=device.asset_id,
            at=at,
        )


# --- host keys and settings -------------------------------------------------------------------


def accept_host_key(asset_id: int, fingerprint: str | None = None) -> ConfigDevice:
    """Pin the key the device offered instead of the pinned one (flushes; the caller commits).

    ``fingerprint``: the offered key's, as shown to the admin; another is refused (the device
    offered a different key since). ``ValidationFailed`` (``host_key``) when no key waits."""
    device = queries.device_of_asset(asset_id)
    if device is None or not device.offered_host_key or not device.offered_host_key_type:
        raise ValidationFailed.one("host_key", _("No new host key is waiting to be accepted."))
    if fingerprint and fingerprint.strip() != device.offered_host_key_fingerprint:
        raise ValidationFailed.one(
            "host_key",
            _(
                "The device now offers another key (%(fingerprint)s): check it again.",
                fingerprint=device.offered_host_key_fingerprint,
            ),
        )
    now = clock.now()
    device.host_key_type, device.host_key = device.offered_host_key_type, device.offered_host_key
    device.host_key_fingerprint = device.offered_host_key_fingerprint
    device.host_key_pinned_at = now
    _clear_offered(device)
    device.next_due_at = now
    device.consecutive_failures = 0
    alerts.clear_alert(_key(RULE_HOST_KEY, asset_id), at=now, note="new host key accepted")
    db.session().flush()
    return device


def save_settings(failures_before_alert: int | None = None, concurrency: int | None = None) -> None:
    """Set the failures before a 配置备份失败 alert (1-100) and the devices a worker fetches at
    once (1-200); ``None`` leaves one as it is (flushes; the caller commits)."""
    errors: dict[str, list[str]] = {}
    wanted = []
    if failures_before_alert is not None:
        n = _int(errors, "failures_before_alert", failures_before_alert, 1, 100)
        wanted.append((queries.FAILURES_KEY, n))
    if concurrency is not None:
        n = _int(errors, "concurrency", concurrency, 1, 200)
        wanted.append((queries.CONCURRENCY_KEY, n))
    if errors:
        raise ValidationFailed(errors)
    sess = db.session()
    for key, value in wanted:
        saved = sess.get(SiteSetting, key)
        if saved is None:
            sess.add(SiteSetting(key=key, value=str(value)))
        else:
            saved.value = str(value)
    sess.flush()
