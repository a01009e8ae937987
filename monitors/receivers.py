"""What ``opskit traps`` and ``opskit syslog receive`` share: a receiver on its own thread puts
what arrives on a bounded queue, a writer loop drains it into the database, and counters say
what was received, stored and lost.

- :func:`widen`: a UDP socket's kernel receive buffer raised to 8 MiB (capped by the kernel's
  ``net.core.rmem_max``; logged when capped), so a burst waits in the kernel rather than being
  dropped there while the receiver's thread waits for the GIL.
- :func:`options`: the ``--queue``, ``--report-every`` and ``--one-process`` options of both
  commands (by default the sockets run in a child process: ``monitors.relay``).
- :func:`drain_socket`: a datagram protocol reads on what else waits in its socket.
- :func:`take`: a batch off a receiver's queue, gathered for ``LINGER_S`` when few wait.
- :class:`Reporter`: a writer loop's periodic counters, handed on when they changed.
- :func:`serve`: start the receiver (a refused port said as a click error), run the writer
  loop until SIGINT/SIGTERM with the counters printed on stderr, then stop the receiver and
  print its last counters.
"""

from __future__ import annotations

import logging
import queue
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)
RCVBUF = 8 * 1024 * 1024  # bytes asked for a UDP receiver's kernel buffer


def widen(sock: socket.socket, want: int = RCVBUF) -> int:
    """Ask for a ``want``-byte receive buffer; the bytes the kernel granted (Linux reports
    twice what it grants for its bookkeeping, capped by ``net.core.rmem_max``)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, want)
    except OSError as exc:  # some kernels refuse outright
        log.warning("UDP receive buffer unchanged: %s", exc.strerror)
    granted = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) // 2
    if granted < want:
        log.info(
            "UDP receive buffer %d KiB of %d KiB asked: capped by net.core.rmem_max "
            "(sysctl -w net.core.rmem_max=%d to allow it)",
            granted // 1024,
            want // 1024,
            want,
        )
    return granted


def drain_socket(
    sock: socket.socket, handle: Callable[[bytes, Any], None], limit: int = 256
) -> None:
    """Read on what is already waiting in a non-blocking UDP socket (at most ``limit``
    datagrams), each handed to ``handle(data, address)``: asyncio hands a datagram protocol one
    datagram per turn of its loop (a poll each), so under load the turns cost more than the
    datagrams. Called from the protocol's ``datagram_received``."""
    for _ in range(limit):
        try:
            data, address = sock.recvfrom(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # e.g. an ICMP error queued on the socket: asyncio's turn reports it
            return
        handle(data, address)


LINGER_S = 0.01  # seconds a taker waits for a batch to gather after its first item
#: a database writer's linger: each batch costs a transaction and the desk's few queries
#: (a few ms), so a steady stream is written in batches of hundreds rather than tens
WRITER_LINGER_S = 0.05


def take(source: Any, limit: int, timeout: float, linger: float = LINGER_S) -> list[Any]:
    """Up to ``limit`` items of a queue (``get``/``get_nowait``/``qsize``): the first waited
    for up to ``timeout`` seconds (none: an empty list), then, unless a quarter of ``limit``
    waits already, ``linger`` seconds for more to gather. A writer woken for every record of a
    busy stream spends more on the waking (two thread switches) than on the record."""
    items: list[Any] = []
    try:
        items.append(source.get(timeout=timeout) if timeout > 0 else source.get_nowait())
    except queue.Empty:
        return items
    if linger > 0 and source.qsize() < limit // 4:
        time.sleep(linger)
    try:
        while len(items) < limit:
            items.append(source.get_nowait())
    except queue.Empty:
        pass
    return items


#: what a writer loop hands the receiver's counters to
Report = Callable[[dict[str, int]], None]


class Receiving(Protocol):
    """A receiver: bound by ``start``, closed by ``stop``; ``port`` is the one it bound."""

    @property
    def port(self) -> int: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def stats(self) -> dict[str, int]: ...


def options(default_queue: int, what: str, lost: str) -> Callable[[F], F]:
    """The ``--queue`` (``queue_size``), ``--report-every`` (``report_every``) and
    ``--one-process`` (``one_process``) options;
    ``what`` waits on the queue (``traps``), beyond it they are ``lost`` (``shed``)."""

    def decorate(command: F) -> F:
        command = click.option(
            "--one-process",
            is_flag=True,
            help="Receive in the writer's own process (no child process for the sockets: "
            "both then share one core).",
        )(command)
        command = click.option(
            "--report-every",
            default=60.0,
            show_default=True,
            type=click.FloatRange(0.1, 3600),
            help="Seconds between the counters' lines on stderr (when they changed).",
        )(command)
        return click.option(
            "--queue",
            "queue_size",
            default=default_queue,
            show_default=True,
            type=click.IntRange(1, 1_000_000),
            help=f"{what.capitalize()} waiting for the database at most; beyond, {what} are "
            f"{lost} and counted.",
        )(command)

    return decorate


class Reporter:
    """Hands ``stats()`` to ``report`` (if any) every ``every`` seconds, when they changed."""

    def __init__(
        self, stats: Callable[[], dict[str, int]], report: Report | None, every: float
    ) -> None:
        self.stats, self.report, self.every = stats, report, every
        self.next_at = time.monotonic() + every
        self.last: dict[str, int] = {}

    def tick(self, now: float) -> None:
        """Report if the time has come (``now``: ``time.monotonic()``)."""
        if self.report is not None and now >= self.next_at:
            stats = self.stats()
            if stats != self.last:
                self.report(stats)
                self.last = stats
            self.next_at = now + self.every


def serve(
    rx: Receiving,
    refused: type[OSError],
    banner: Callable[[int], str],
    line: Callable[[dict[str, int]], str],
    write: Callable[[threading.Event, Report], None],
) -> None:
    """Start ``rx`` (its bind error ``refused`` said as a click error), print ``banner(port)``
    and run the writer loop ``write(stop, report)`` until SIGINT/SIGTERM sets ``stop``
    (``report`` prints ``line(counters)`` on stderr); then stop ``rx`` and print its last
    counters."""
    try:
        rx.start()
    except refused as exc:
        raise click.ClickException(str(exc)) from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(banner(rx.port), err=True)

    def report(stats: dict[str, int]) -> None:
        click.echo(line(stats), err=True)

    try:
        write(stop, report)
    finally:
        rx.stop()
        click.echo(line(rx.stats()), err=True)
