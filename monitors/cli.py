"""`opskit snmp ...`: talk to an SNMP agent from the command line; `opskit sql probe`: read a
database server's statistics as its monitor would.

Exit status: 0 done, 1 the agent or server did not answer (one line on stderr says why), 2 usage
errors.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from monitors import counters, kinds, poller, probe, rollups, snmp, statements, workers
from monitors.kinds.database import DatabaseKind, Refused, parse_url
from opskit.validation import ValidationFailed

snmp_cli = AppGroup("snmp", help="SNMP: probe an agent with the device profiles.")
sql_cli = AppGroup("sql", help="Databases: read a PostgreSQL or MySQL/MariaDB server's load.")
F = TypeVar("F", bound=Callable[..., Any])


CREDENTIAL_OPTIONS: tuple[str, ...] = ("version", "community", "v3_user", "auth_proto", "auth_key")
CREDENTIAL_OPTIONS += ("priv_proto", "priv_key", "context")


def credentials(options: dict[str, Any], stdin_lines: list[str] | None = None) -> snmp.Credentials:
    """The credentials the options name; ``stdin_lines``: the community, or the v3 auth key and
    then the privacy key, read from standard input. Wrong ones are a usage error."""
    o = dict(options)
    if stdin_lines is not None:
        if not stdin_lines or not stdin_lines[0]:
            raise click.UsageError("--secrets-stdin given but standard input is empty")
        if o["v3_user"]:
            o["auth_key"] = stdin_lines[0]
            o["priv_key"] = (stdin_lines[1:] or [""])[0] or o["priv_key"]
        else:
            o["community"] = stdin_lines[0]
    try:
        if o["v3_user"]:
            keys = ("auth_proto", "auth_key", "priv_proto", "priv_key", "context")
            return snmp.Credentials(version="3", user=o["v3_user"], **{k: o[k] for k in keys})
        if o["auth_proto"] or o["priv_proto"]:
            raise click.UsageError("--auth-*/--priv-* need --v3-user")
        return snmp.Credentials(version=o["version"], community=o["community"])
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def snmp_credential_options(command: F) -> F:
    """The SNMP credential options of ``snmp probe`` and ``discover``, handed to the command as
    one ``snmp_options`` dict (see :func:`credentials`): the version, the community (env
    OPSKIT_SNMP_COMMUNITY) or the v3 user, protocols and keys (env OPSKIT_SNMP_AUTH_KEY,
    OPSKIT_SNMP_PRIV_KEY: a command line shows in ``ps`` and the shell history) and context."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        kwargs["snmp_options"] = {name: kwargs.pop(name) for name in CREDENTIAL_OPTIONS}
        return command(*args, **kwargs)

    options = (
        click.option(
            "--snmp-version",
            "version",
            type=click.Choice(["1", "2c"]),
            default="2c",
            show_default=True,
            help="Version for --community (v3 is chosen by --v3-user).",
        ),
        click.option(
            "--community",
            default="public",
            show_default=True,
            envvar="OPSKIT_SNMP_COMMUNITY",
            help="SNMPv1/v2c community (env OPSKIT_SNMP_COMMUNITY).",
        ),
        click.option("--v3-user", default=None, help="SNMPv3 user name (selects SNMPv3)."),
        click.option(
            "--auth-proto",
            type=click.Choice(snmp.AUTH_PROTOCOLS, case_sensitive=False),
            default=None,
            help="SNMPv3 authentication protocol.",
        ),
        click.option(
            "--auth-key",
            default=None,
            envvar="OPSKIT_SNMP_AUTH_KEY",
            help="SNMPv3 authentication pass phrase (env OPSKIT_SNMP_AUTH_KEY).",
        ),
        click.option(
            "--priv-proto",
            type=click.Choice(snmp.PRIV_PROTOCOLS, case_sensitive=False),
            default=None,
            help="SNMPv3 privacy protocol.",
        ),
        click.option(
            "--priv-key",
            default=None,
            envvar="OPSKIT_SNMP_PRIV_KEY",
            help="SNMPv3 privacy pass phrase (env OPSKIT_SNMP_PRIV_KEY).",
        ),
        click.option("--context", default="", help="SNMPv3 context name."),
    )
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


@snmp_cli.command("probe")
@click.argument("host")
@click.option("--port", default=161, show_default=True, type=click.IntRange(1, 65535))
@snmp_credential_options
@click.option(
    "--timeout",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 60),
    help="Seconds to wait for each response.",
)
@click.option("--retries", default=1, show_default=True, type=click.IntRange(0, 5))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def probe_cmd(
    host: str,
    port: int,
    snmp_options: dict[str, Any],
    timeout: float,
    retries: int,
    as_json: bool,
) -> None:
    """Read HOST's system group, match the device profiles and print what they map."""
    creds = credentials(snmp_options)
    try:
        result = probe.probe(host, port, creds, timeout=timeout, retries=retries)
    except snmp.SnmpError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['sys_name']} ({result['sys_object_id']})")
    click.echo(f"  {result['sys_descr']}")
    click.echo(f"  profiles: {', '.join(result['profiles'])}")
    for name, why in result["matched_because"].items():
        if why != "always":
            click.echo(f"    {name}: {why}")
    inv = result["inventory"]
    click.echo(
        f"  model: {inv['model'] or '-'}  serial: {inv['serial'] or '-'}  "
        f"firmware: {inv['firmware'] or '-'}"
    )
    for row in result["metrics"]:
        instance = f"[{row['instance']}]" if row["instance"] else ""
        parts = [f"{row['metric']}{instance} =", str(row["value"]), row["unit"]]
        if row["status"]:
            parts.append(f"({row['status']})")
        click.echo("  " + " ".join(p for p in parts if p))
    for note in result["notes"]:
        instance = f"[{note['instance']}]" if note["instance"] else ""
        click.echo(f"  note: {note['metric']}{instance} raw {note['raw']}: {note['why']}")
    for n in result["lldp_neighbors"]:
        click.echo(f"  lldp {n['local_port']} -> {n['remote_sys_name']} {n['remote_port']}")
    click.echo(
        f"  interfaces: {len(result['interfaces'])}  arp: {len(result['arp'])}  "
        f"volumes: {len(result['storage'])}"
    )


def sql_probe(
    kind: DatabaseKind, settings: dict[str, Any], password: str | None, interval: float
) -> dict[str, Any]:
    """Two samples ``interval`` seconds apart, as one check after another would store them:
    ``{"engine", "version", "metrics": [{"metric", "instance", "value", "unit"}], "missing"}``
    (the rates and shares from the counters between the samples; ``Refused`` when the server
    cannot be read). Where the server keeps statement statistics (pg_stat_statements,
    performance_schema) also ``"statements"``: the statements with the most time between the
    samples, ``[{"database", "id", "text", "calls", "total_ms", "mean_ms", "rows"}]`` (up to
    ``monitors.statements.TOP``, most time first); where it does not, ``missing`` says why."""

    def sampled() -> tuple[Any, datetime]:
        started = time.monotonic()
        got = kind.sample(settings, password)
        # the moment the counters were read: the middle of the sample, on a steady clock
        return got, datetime.fromtimestamp((started + time.monotonic()) / 2, UTC)

    first, at = sampled()
    _, before = counters.between(None, first.readings, at, first.uptime_s)
    time.sleep(interval)
    second, at = sampled()
    readings, _ = counters.between(before, second.readings, at, second.uptime_s)
    keys = ("metric", "instance", "value", "unit")
    out = {
        "engine": second.engine,
        "version": second.version,
        "metrics": [{k: r[k] for k in keys} for r in readings],
        "missing": second.missing,
    }
    if first.statements is not None and second.statements is not None:
        state = statements.between(None, first.statements)[1]
        moved, _ = statements.between(state, second.statements)
        out["statements"] = [
            {
                "database": d["database"],
                "id": d["id"],
                "text": d["text"],
                "calls": d["calls"],
                "total_ms": d["total_ms"],
                "mean_ms": round(d["total_ms"] / d["calls"], 3) if d["calls"] else None,
                "rows": d["rows"],
            }
            for d in moved
            if d["id"] != statements.ALL
        ]
    return out


@sql_cli.command("probe")
@click.argument("url")
@click.option(
    "--timeout",
    default=5.0,
    show_default=True,
    type=click.FloatRange(1, 60),
    help="Seconds to wait for the server (connecting, and each statement).",
)
@click.option(
    "--interval",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0.1, 300),
    help="Seconds between the two samples the rates come from.",
)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@with_appcontext
def sql_probe_cmd(
    url: str, timeout: float, interval: float, password_stdin: bool, as_json: bool
) -> None:
    """Read the server at URL (postgresql://user@host:port/database or mysql://user@host:port)
    twice, INTERVAL apart, and print the metrics one check would store and what was withheld."""
    try:
        key, raw, password = parse_url(url)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    kind = kinds.KINDS[key]
    assert isinstance(kind, DatabaseKind)
    try:
        settings = kind.validate({**raw, "timeout": timeout})
    except ValidationFailed as exc:
        raise click.UsageError(f"{url!r}: {exc}") from None
    try:
        result = sql_probe(kind, settings, password, interval)
    except Refused as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(f"{result['engine']} {result['version']} ({kind.describe(settings)})")
    for row in result["metrics"]:
        instance = f"[{row['instance']}]" if row["instance"] else ""
        click.echo(f"  {row['metric']}{instance} = {row['value']} {row['unit']}".rstrip())
    for row in result["missing"]:
        click.echo(f"  missing {row['metric']}: {row['reason']}")
    for row in result.get("statements", []):
        where = f"[{row['database']}] " if row["database"] else ""
        text = " ".join(row["text"].split())
        click.echo(
            f"  statement {row['total_ms']} ms, {row['calls']} calls: {where}"
            f"{text[:100]}{'…' if len(text) > 100 else ''}"
        )


@click.command("poll")
@click.option("--once", is_flag=True, help="Run one cycle of the due monitors and exit.")
@click.option(
    "--concurrency",
    default=20,
    show_default=True,
    type=click.IntRange(1, 500),
    help="Checks running at the same time.",
)
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(1, 600),
    help="Seconds one check may take before its device counts as down.",
)
@click.option(
    "--processes",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Poller processes sharing the work through leases (one core each).",
)
@with_appcontext
def poll_cmd(once: bool, concurrency: int, timeout: float, processes: int) -> None:
    """Run the monitors on their intervals (the poller) until SIGINT/SIGTERM."""
    if processes > 1:
        # the composition's app factory: each process builds its own app with it
        factory = current_app.extensions["opskit.app_factory"]
        if once:
            summary = workers.poll_once(processes, concurrency, timeout, app_factory=factory)
            click.echo(
                f"polled {summary['claimed']} with {processes} processes: up {summary['up']}, "
                f"down {summary['down']}, unknown {summary['unknown']}"
            )
            if summary["failed"]:
                raise click.ClickException(f"{summary['failed']} poller process(es) failed")
            return
        click.echo(f"polling with {processes} processes (concurrency {concurrency} each)", err=True)
        failed = workers.run(processes, concurrency, timeout, app_factory=factory)
        if failed:
            raise click.ClickException(f"{failed} poller process(es) failed")
        return
    if once:
        summary = poller.poll_once(concurrency=concurrency, timeout=timeout)
        click.echo(
            f"polled {summary['claimed']}: up {summary['up']}, down {summary['down']}, "
            f"unknown {summary['unknown']} in {summary['seconds']} s"
        )
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"polling (concurrency {concurrency}); Ctrl+C stops", err=True)
    poller.run(stop, concurrency=concurrency, timeout=timeout)


@click.command("rollup")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"]),
    default=None,
    help="Recompute buckets from this UTC time (default: 15 min before the newest bucket).",
)
@click.option("--prune", is_flag=True, help="Then delete what is older than the retention.")
@with_appcontext
def rollup_cmd(since: object, prune: bool) -> None:
    """Roll the readings up into 5-minute and hourly buckets (the poller also does it).

    The weekly load rows of the reports are rebuilt for the same hours: after an upgrade that
    adds them, ``--since`` the start of the history fills them in."""
    start = since.replace(tzinfo=UTC) if isinstance(since, datetime) else None
    done = rollups.run(since=start)
    if "skipped" in done:
        click.echo("another process is rolling up right now; nothing done")
    else:
        click.echo(
            f"rolled up: {done['five_minute']} 5-minute, {done['hourly']} hourly buckets, "
            f"{done['load_weeks']} load weeks"
        )
    if prune:
        gone = rollups.prune()
        if "skipped" in gone:
            click.echo("another process is pruning right now; nothing pruned")
        else:
            click.echo(
                f"pruned: {gone['raw']} readings, {gone['five_minute']} 5-minute, "
                f"{gone['hourly']} hourly buckets, {gone['load_weeks']} load weeks"
            )
