"""``opskit syslog``: ``receive`` (until SIGINT/SIGTERM), ``prune`` (the retention), ``rules``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from monitors import receivers, relay
from monitors.syslog import receiver, rules, store
from monitors.syslog.parsing import Message


def _line(stats: dict[str, int]) -> str:
    return (
        f"syslog: received {stats['received']} (UDP {stats['udp']}, TCP {stats['tcp']}), "
        f"stored {stats['stored']}, dropped {stats['dropped']} (queue full), "
        f"malformed {stats['malformed']}, truncated {stats['truncated']}, "
        f"not stored {stats['store_failed']}, queued {stats['queued']}"
    )


def _configured_port() -> int:
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "syslog_port", receiver.DEFAULT_PORT))


@click.group("syslog")
def syslog_cli() -> None:
    """Syslog from switches and servers: receive, store, alert, prune."""


@syslog_cli.command("receive")
@click.option(
    "--host",
    default="0.0.0.0",  # noqa: S104 - every switch of the room sends here
    show_default=True,
    help="Address to listen on.",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    help="UDP and TCP port (default OPSKIT_SYSLOG_PORT, 514); below 1024 needs root: "
    "use e.g. 10514 and a redirect (README, Syslog).",
)
@click.option("--udp/--no-udp", default=True, show_default=True, help="Listen on UDP.")
@click.option("--tcp/--no-tcp", default=True, show_default=True, help="Listen on TCP.")
@receivers.options(receiver.DEFAULT_QUEUE, "messages", "dropped")
@with_appcontext
def receive_cmd(
    host: str,
    port: int | None,
    udp: bool,
    tcp: bool,
    queue_size: int,
    report_every: float,
    one_process: bool,
) -> None:
    """Receive syslog (RFC 3164, RFC 5424, Huawei/H3C, Cisco) over UDP and TCP: store every
    message, raise and clear alerts by the rules."""
    if not udp and not tcp:
        raise click.UsageError("--no-udp and --no-tcp: nothing to listen on")
    try:
        writer = store.Writer()
    except rules.RuleError as exc:
        raise click.ClickException(str(exc)) from None
    bound = _configured_port() if port is None else port
    rx: receiver.Receiver | relay.Relay
    if one_process:
        rx = receiver.Receiver(host, bound, udp=udp, tcp=tcp, queue_size=queue_size)
    else:
        rx = relay.Relay(
            receiver.Receiver,
            Message,
            receiver.BindError,
            host,
            bound,
            udp=udp,
            tcp=tcp,
            queue_size=queue_size,
        )
    protocols = " and ".join(p for p, on in (("UDP", udp), ("TCP", tcp)) if on)
    receivers.serve(
        rx,
        receiver.BindError,
        lambda bound: (
            f"receiving syslog on {protocols} {host}:{bound} "
            f"({len(writer.engine.rules)} rules); Ctrl+C stops"
        ),
        _line,
        lambda stop, report: store.run(
            rx, stop, writer=writer, report=report, report_s=report_every
        ),
    )


@syslog_cli.command("prune")
@click.option(
    "--days",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Keep this many days (default OPSKIT_SYSLOG_RETENTION_DAYS, 180).",
)
@with_appcontext
def prune_cmd(days: int | None) -> None:
    """Delete stored messages older than the retention, in batches."""
    gone = store.prune(days=days)
    click.echo(f"{gone} syslog messages deleted (older than {days or store.retention_days()} days)")


@syslog_cli.command("rules")
@with_appcontext
def rules_cmd() -> None:
    """Check the rules (shipped and <instance>/syslog_rules.yaml) and list them."""
    try:
        found = store.load_rules()
    except rules.RuleError as exc:
        raise click.ClickException(str(exc)) from None
    for rule in found:
        extra = (
            f", burst {rule.burst_count} in {rule.burst_seconds:g} s"
            if rule.burst_count > 1
            else ""
        )
        clears = ", clears" if rule.clear is not None else ""
        click.echo(f"{rule.name}: {rule.urgency} {rule.title}{extra}{clears} ({rule.origin})")
