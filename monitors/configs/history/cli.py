"""``opskit configs export`` and ``opskit configs verify``: offline copies (离线备份) of the
devices' configurations, and their check against the manifest (``monitors.configs.offline``)."""

from __future__ import annotations

import sys
from datetime import datetime, time

import click
from flask.cli import with_appcontext

from monitors.configs import offline
from monitors.configs.history import queries
from opskit import clock
from opskit.crypto import SecretError


def _passphrase(wanted: bool) -> str | None:
    if not wanted:
        return None
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.UsageError("--passphrase-stdin given but standard input holds no passphrase")
    return line


def _since(text: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (the site's midnight) or an ISO date and time (the site's, unless it says)."""
    if not text:
        return None
    try:
        if len(text.strip()) == 10:
            parsed = datetime.combine(datetime.strptime(text.strip(), "%Y-%m-%d").date(), time())
        else:
            parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a date such as 2026-10-01 or 2026-10-01T08:00",
            param_hint="--since",
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=clock.site_tz())
    return parsed


@click.command("export")
@click.option(
    "--out", required=True, help="A new or empty folder, or a file ending in .zip, to write."
)
@click.option("--since", help="Only versions fetched since this date (site time): 2026-10-01.")
@click.option(
    "--all-versions", is_flag=True, help="Every version (since --since), not only each newest."
)
@click.option(
    "--passphrase-stdin",
    is_flag=True,
    help="Encrypt the zip (AES-256) with the passphrase on standard input's first line.",
)
@with_appcontext
def export_cmd(out: str, since: str | None, all_versions: bool, passphrase_stdin: bool) -> None:
    """Write each device's configuration (full text: secrets included) with a manifest, as an
    offline copy. Without a passphrase the copy is written readable by its owner only."""
    try:
        target = offline.check_out(out)
        if passphrase_stdin and not offline.is_zip_name(target):
            raise offline.OfflineError("a passphrase encrypts a zip file: give --out FILE.zip")
    except offline.OfflineError as exc:
        click.echo(f"error: --out: {exc}", err=True)
        sys.exit(2)
    start = _since(since)
    passphrase = _passphrase(passphrase_stdin)
    try:
        names = offline.export(queries.copies(start, all_versions), target, passphrase)
    except (offline.OfflineError, SecretError) as exc:  # every text is read before any is written
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    how = "encrypted (AES-256)" if passphrase else "not encrypted: it holds the devices' secrets"
    click.echo(f"wrote {target}: {len(names)} configuration files and {offline.MANIFEST}, {how}")


@click.command("verify")
@click.argument("path")
@click.option(
    "--passphrase-stdin", is_flag=True, help="The zip's passphrase, on standard input's first line."
)
def verify_cmd(path: str, passphrase_stdin: bool) -> None:
    """Check an offline copy (a folder or a zip) against its manifest: names each missing,
    changed or extra file (exit 1); exit 2 when the copy cannot be read at all."""
    passphrase = _passphrase(passphrase_stdin)
    try:
        result = offline.verify(path, passphrase)
    except offline.OfflineError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    for problem in result.problems:
        click.echo(f"{problem.kind}: {problem.file}")
    if not result.ok:
        click.echo(
            f"{path}: {len(result.problems)} problems, {result.checked} files match", err=True
        )
        sys.exit(1)
    click.echo(f"{path}: all {result.checked} files match the manifest")
