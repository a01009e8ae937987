"""``opskit traps``: receive SNMP traps until SIGINT/SIGTERM."""

from __future__ import annotations

import logging

import click
from flask.cli import with_appcontext

from monitors import receivers, relay
from monitors.traps import receiver, store

log = logging.getLogger(__name__)


def _line(stats: dict[str, int]) -> str:
    return (
        f"traps: received {stats['received']}, stored {stats['stored']}, "
        f"shed {stats['shed']} (queue full), malformed {stats['malformed']}, "
        f"bad community {stats['bad_community']}, unknown v3 user {stats['unknown_user']}, "
        f"v3 auth failed {stats['auth_failed']}, not stored {stats['store_failed']}"
    )


@click.command("traps")
@click.option(
    "--host",
    default="0.0.0.0",  # noqa: S104 - traps come from every device of the room
    show_default=True,
    envvar="OPSKIT_TRAP_HOST",
    help="Address to listen on (env OPSKIT_TRAP_HOST).",
)
@click.option(
    "--port",
    default=receiver.DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    envvar="OPSKIT_TRAP_PORT",
    help="UDP port (env OPSKIT_TRAP_PORT); 162 needs root: see --help of the README.",
)
@click.option(
    "--community",
    "communities",
    multiple=True,
    envvar="OPSKIT_TRAP_COMMUNITY",
    help="Also accept this v1/v2c community (env OPSKIT_TRAP_COMMUNITY, space-separated); "
    "the SNMP monitors' communities and v3 users are always accepted.",
)
@receivers.options(receiver.DEFAULT_QUEUE, "traps", "shed")
@with_appcontext
def traps_cmd(
    host: str,
    port: int,
    communities: tuple[str, ...],
    queue_size: int,
    report_every: float,
    one_process: bool,
) -> None:
    """Receive SNMP traps (v1, v2c, v3): store them, raise and clear alerts by the profiles."""
    rx: receiver.Receiver | relay.Relay
    if one_process:
        rx = receiver.Receiver(host, port, queue_size=queue_size)
    else:
        rx = relay.Relay(
            receiver.Receiver, receiver.Trap, receiver.BindError, host, port, queue_size=queue_size
        )
    receivers.serve(
        rx,
        receiver.BindError,
        lambda bound: f"receiving SNMP traps on UDP {host}:{bound}; Ctrl+C stops",
        _line,
        lambda stop, report: store.run(rx, stop, communities, report=report, report_s=report_every),
    )
