"""The backups' commands in ``opskit configs``: ``set`` (a device's access), ``fetch`` (now),
``accept-key`` (a changed SSH host key) and ``settings`` (failures before an alert, workers'
concurrency). The schedule itself runs in ``opskit poll`` (``monitors.configs.schedule``)."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from assets import queries as registry
from monitors.configs import queries, schedule, services
from monitors.configs.cli import _stdin_secrets, configs_cli
from monitors.configs.models import (
    DEFAULT_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    ConfigDevice,
    ConfigVersion,
)
from opskit import clock, db
from opskit.audit import acting_as
from opskit.validation import ValidationFailed


def _asset_id(tag: str) -> int:
    asset = registry.asset_by_tag(tag)
    if asset is None:
        raise click.UsageError(f"no asset with the tag {tag!r}")
    return asset.id


def _fail(exc: ValidationFailed) -> click.ClickException:
    lines = [f"{field}: {' '.join(msgs)}" for field, msgs in exc.errors.items()]
    return click.ClickException("; ".join(lines))


@configs_cli.command("set")
@with_appcontext
@click.argument("tag")
@click.option("--platform", "platform_name", required=True, help="e.g. cisco_ios, huawei_vrp.")
@click.option("--transport", type=click.Choice(["ssh", "telnet"]), default="ssh", show_default=True)
@click.option("--host", default="", help="Address to connect to; default: the asset's mgmt IP.")
@click.option("--port", type=click.IntRange(1, 65535), help="Default 22 (SSH) or 23 (Telnet).")
@click.option("--username", required=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin's first line.")
@click.option("--enable-stdin", is_flag=True, help="Read the enable/super password from stdin.")
@click.option("--command", "commands", multiple=True, help="Commands (generic platform).")
@click.option("--interval", "interval_s", default=DEFAULT_INTERVAL_S, show_default=True,
              help="Seconds between two backups (86400: daily).")  # fmt: skip
@click.option("--timeout", "timeout_s", default=DEFAULT_TIMEOUT_S, show_default=True,
              help="Seconds one fetch may take.")  # fmt: skip
@click.option("--disabled", is_flag=True, help="Keep the settings but make no backups.")
def set_cmd(
    tag: str,
    platform_name: str,
    transport: str,
    host: str,
    port: int | None,
    username: str,
    password_stdin: bool,
    enable_stdin: bool,
    commands: tuple[str, ...],
    interval_s: int,
    timeout_s: int,
    disabled: bool,
) -> None:
    """Set how TAG's configuration is backed up (a password not given keeps the stored one)."""
    asset_id = _asset_id(tag)
    password, enable = _stdin_secrets(password_stdin, enable_stdin)
    try:
        with acting_as("cli"):
            db.write(
                lambda: services.save_device(
                    asset_id,
                    platform=platform_name,
                    transport=transport,
                    host=host,
                    port=port,
                    username=username,
                    password=password,
                    enable_password=enable,
                    commands=commands,
                    interval_s=interval_s,
                    timeout_s=timeout_s,
                    enabled=not disabled,
                )
            )
    except ValidationFailed as exc:
        raise _fail(exc) from None
    click.echo(f"{tag}: backups {'disabled' if disabled else 'every ' + str(interval_s) + ' s'}")


@configs_cli.command("fetch")
@with_appcontext
@click.option("--asset", "tags", multiple=True, help="An asset's tag (repeatable).")
@click.option("--all", "all_devices", is_flag=True, help="Every enabled device, due or not.")
@click.option("--concurrency", type=click.IntRange(1, 200), help="Default: the setting (10).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per device.")
def fetch_cmd(
    tags: tuple[str, ...], all_devices: bool, concurrency: int | None, as_json: bool
) -> None:
    """Back up configurations now: the devices named, or all; a version is stored only when the
    configuration changed. Exits 1 when a fetch failed."""
    if bool(tags) == all_devices:
        raise click.UsageError("give --asset TAG (repeatable) or --all")
    session = db.session()
    if all_devices:
        enabled = select(ConfigDevice.id, ConfigDevice.asset_id).where(
            ConfigDevice.enabled.is_(True)
        )
        wanted = [(row[0], row[1]) for row in session.execute(enabled)]
    else:
        wanted = []
        for tag in tags:
            device = queries.device_of_asset(_asset_id(tag))
            if device is None:
                raise click.UsageError(f"{tag}: no backup settings (opskit configs set {tag} ...)")
            wanted.append((device.id, device.asset_id))
    now = clock.now()
    ids = []
    for device_id, asset_id in wanted:
        if schedule.claim_device(session, device_id, now):
            ids.append(device_id)
        else:
            click.echo(f"{_tag(asset_id)}: skipped, another worker is fetching it", err=True)
    with acting_as("cli"):
        results = schedule.fetch_claimed(ids, concurrency)
    failed = 0
    for r in sorted(results, key=lambda r: _tag(r.asset_id)):
        failed += not r.ok
        _echo_result(r, as_json)
    if failed:
        sys.exit(1)


def _tag(asset_id: int) -> str:
    asset = registry.get_asset(asset_id)
    return asset.asset_tag if asset is not None else f"#{asset_id}"


def _echo_result(r: schedule.Result, as_json: bool) -> None:
    number = None
    if r.version_id is not None:  # the number only (the version's text is not decrypted)
        number = db.session().scalar(
            select(ConfigVersion.number).where(ConfigVersion.id == r.version_id)
        )
    if as_json:
        data = {
            "asset": _tag(r.asset_id),
            "ok": r.ok,
            "new_version": r.new_version,
            "version": number,
            "reason": r.reason,
            "error": r.error,
        }
        click.echo(json.dumps(data, ensure_ascii=False))
    elif not r.ok:
        click.echo(f"{_tag(r.asset_id)}: failed ({r.reason}): {r.error}")
    elif r.new_version:
        click.echo(f"{_tag(r.asset_id)}: new version {number}")
    else:
        click.echo(f"{_tag(r.asset_id)}: unchanged (version {number})")


@configs_cli.command("accept-key")
@with_appcontext
@click.argument("tag")
@click.option("--fingerprint", help="The offered key's SHA256:... fingerprint, as checked.")
def accept_key_cmd(tag: str, fingerprint: str | None) -> None:
    """Accept the new SSH host key TAG offered (after checking it on the device): it is pinned
    instead of the old one, the alert is cleared and backups resume."""
    asset_id = _asset_id(tag)
    device = queries.device_of_asset(asset_id)
    old = device.host_key_fingerprint if device is not None else None
    try:
        with acting_as("cli"):
            accepted = db.write(lambda: services.accept_host_key(asset_id, fingerprint))
    except ValidationFailed as exc:
        raise _fail(exc) from None
    click.echo(f"{tag}: pinned {accepted.host_key_type} {accepted.host_key_fingerprint}")
    click.echo(f"  (was {old or 'none'}); backups resume at the next turn")


@configs_cli.command("settings")
@with_appcontext
@click.option("--failures-before-alert", type=int, help="Failed backups in a row (default 3).")
@click.option("--concurrency", type=int, help="Devices one worker fetches at once (default 10).")
def settings_cmd(failures_before_alert: int | None, concurrency: int | None) -> None:
    """Show, or set, the failures before a 配置备份失败 alert and the workers' concurrency."""
    if failures_before_alert is not None or concurrency is not None:
        try:
            with acting_as("cli"):
                db.write(lambda: services.save_settings(failures_before_alert, concurrency))
        except ValidationFailed as exc:
            raise _fail(exc) from None
    click.echo(f"failures before an alert: {queries.failures_before_alert()}")
    click.echo(f"concurrency: {queries.concurrency()}")
