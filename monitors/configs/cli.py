"""``opskit configs probe``: fetch one device's configuration and print what a backup would store
(masked), without storing anything."""

from __future__ import annotations

import json
import sys

import click

from monitors.configs import normalise, platforms


@click.group("configs")
def configs_cli() -> None:
    """Device configurations: fetch over SSH or Telnet, normalise, mask secrets."""


def _stdin_secrets(password: bool, enable: bool) -> tuple[str | None, str | None]:
    """The password and the enable password from standard input, one a line, in that order."""
    if not password and not enable:
        return None, None
    lines = sys.stdin.read().splitlines()
    wanted = int(password) + int(enable)
    if len(lines) < wanted or not all(lines[:wanted]):
        names = " and ".join(
            n for n, on in (("the password", password), ("the enable password", enable)) if on
        )
        raise click.UsageError(f"standard input must hold {names}, one a line")
    if password and enable:
        return lines[0], lines[1]
    return (lines[0], None) if password else (None, lines[0])


@configs_cli.command("probe")
@click.argument("host")
@click.option("--platform", "platform_name", required=True, help="e.g. cisco_ios, huawei_vrp.")
@click.option("--transport", type=click.Choice(["ssh", "telnet"]), default="ssh", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), help="Default 22 (SSH) or 23 (Telnet).")
@click.option("--username", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
@click.option(
    "--enable-stdin",
    is_flag=True,
    help="Read the enable password from stdin (the line after the password, if both).",
)
@click.option(
    "--command",
    "commands",
    multiple=True,
    help="A command printing configuration, instead of the platform's (repeatable; "
    "required for the generic platform).",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1, 3600),
    help="Seconds for the whole fetch: connecting, logging in and reading.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def probe_cmd(
    host: str,
    platform_name: str,
    transport: str,
    port: int | None,
    username: str,
    password_stdin: bool,
    enable_stdin: bool,
    commands: tuple[str, ...],
    timeout: float,
    as_json: bool,
) -> None:
    """Fetch HOST's configuration once and print it as a backup would store it (secrets masked,
    volatile lines removed, the SHA-256 of the normalised text); nothing is stored."""
    try:
        platform = platforms.get(platform_name)
        platform.device_type(transport)
    except platforms.PlatformError as exc:
        raise click.UsageError(str(exc)) from None
    password, enable = _stdin_secrets(password_stdin, enable_stdin)
    if password is None and not password_stdin and sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, default="", show_default=False)
    from monitors.configs import device  # lazy: netmiko takes ~0.35 s to import; probe needs it

    target = device.Target(
        host=host,
        platform=platform,
        username=username,
        password=password,
        enable_password=enable,
        transport=transport,
        port=port,
        commands=commands,
        timeout=timeout,
    )
    try:
        fetched = device.fetch(target)
    except device.FetchError as exc:
        click.echo(f"error ({exc.reason}): {exc}", err=True)
        sys.exit(2)
    got = normalise.normalise(fetched.raw, platform)
    if as_json:
        result = {
            "platform": platform.name,
            "sha256": got.sha256,
            "lines": got.lines,
            "masked": got.masked_count,
            "volatile_removed": got.volatile_removed,
            "config": got.masked,
        }
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{target.address} ({platform.title}, {transport})")
    if fetched.host_key:
        click.echo(f"  host key: {fetched.host_key}")
    click.echo(
        f"  {got.lines} lines, {got.masked_count} secrets masked, "
        f"{got.volatile_removed} volatile lines removed"
    )
    click.echo(f"  sha256: {got.sha256}")
    click.echo("")
    click.echo(got.masked, nl=False)
