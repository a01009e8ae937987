"""A receiver in a child process: the sockets and the parsing on one core, the database writer
on another (``opskit traps`` and ``opskit syslog receive``; ``--one-process`` keeps both in one).

In one process the socket thread (receive, parse or decode) and the writer (rules, the desk,
the insert) take turns on one GIL: one core for everything, however many the machine has.
:class:`Relay` runs the receiver (``monitors.syslog.receiver.Receiver``,
``monitors.traps.receiver.Receiver``) in a child process started with ``spawn`` (no Flask app,
no database: only the sockets), and looks to the writer loop like the receiver itself: the
same ``queue``, ``counts``, ``stats()``, ``configure()``, ``port``, ``start()`` and ``stop()``.

- The child's forwarder takes up to ``BATCH`` records at a time off the receiver's bounded
  queue and sends them, as plain tuples (pickled: a few µs a record, a fifth of a dataclass'
  cost), over a pipe; the receiver's counters go every ``STATS_S`` on a pipe of their own (so
  they keep coming while the records wait). The writer reads the pipe itself when it wants
  records (:class:`Records`, one message at a time; no thread here taking turns with it on
  the GIL): a writer that falls behind leaves the pipe full, the forwarder waits and the
  child's receiver sheds and counts as it would alone. Memory stays bounded by the child's
  queue, the pipe and one message.
- ``configure(creds)`` (the trap receiver's communities and v3 users) is sent to the child.
- A port the child cannot open is raised here as the receiver's own error (``refused``).
- ``stop()`` asks the child to stop receiving, reads what it still sends, and waits for it;
  a child that does not stop within ``STOP_S`` is killed. A child that dies is logged and
  ``stats()`` says so (``relay_lost``); the writer loop carries on with what arrived.
- Counters: the child's (received, dropped, malformed, ...) with this side's ``stored`` and
  ``store_failed``; ``queued`` counts everything received and not yet taken by the writer:
  the child's queue, the pipe and the message being taken.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import multiprocessing
import pickle
import queue
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from monitors import receivers

log = logging.getLogger(__name__)

BATCH = 1000  # records in one message over the pipe
STATS_S = 0.25  # seconds between the child's counters
START_S = 60.0  # seconds the child may take to bind (spawn imports the receiver's modules)
STOP_S = 15.0
_WRITER_KEYS = ("stored", "store_failed")


def _pack(record: Any) -> tuple[Any, ...]:
    return tuple(vars(record).values())


def _child(
    conn: Connection,
    counters: Connection,
    module: str,
    name: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> None:
    """The child process: run the receiver, forward what it queues until told to stop; its
    counters go on their own pipe, every ``STATS_S``, even while the records' pipe is full."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    rx = getattr(importlib.import_module(module), name)(*args, **kwargs)
    try:
        rx.start()
    except OSError as exc:
        conn.send(("refused", str(exc)))
        return
    conn.send(("ready", rx.port, rx.stats()))
    stopping = threading.Event()
    forwarded = [0]  # records taken off the queue for the parent (sent, or being sent)

    def stats() -> dict[str, int]:
        return {**rx.stats(), "forwarded": forwarded[0]}

    def report() -> None:
        while not stopping.wait(STATS_S):
            try:
                counters.send(stats())
            except OSError:
                return

    threading.Thread(target=report, name="opskit-relay-counters", daemon=True).start()
    running = True
    while running:
        while conn.poll():
            message = conn.recv()
            if message[0] == "configure":
                rx.configure(message[1])
            elif message[0] == "stop":
                running = False
        records = [_pack(item) for item in receivers.take(rx.queue, BATCH, 0.05)]
        if records:
            forwarded[0] += len(records)  # counted before a send that may wait for room
            conn.send_bytes(pickle.dumps((records, None, False), pickle.HIGHEST_PROTOCOL))
    rx.stop()
    stopping.set()
    while True:  # what arrived before the stop
        records = [_pack(item) for item in receivers.take(rx.queue, BATCH, 0, linger=0)]
        done = len(records) < BATCH
        forwarded[0] += len(records)
        conn.send_bytes(
            pickle.dumps((records, stats() if done else None, done), pickle.HIGHEST_PROTOCOL)
        )
        if done:
            return


class Records:
    """The writer's side of the pipe, read when the writer asks (no thread of its own: no
    second thread taking turns on the GIL with the writer): one message of up to ``BATCH``
    records unpickled at a time, its records taken one at a time as from a ``queue.Queue``
    (``get``, ``get_nowait``, ``qsize``). At most one message is held here; the rest waits in
    the pipe and, once that is full, in the child's bounded queue, which then sheds."""

    def __init__(self, relay: Relay) -> None:
        self._relay = relay
        self._items: deque[Any] = deque()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        if not self._items:
            deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
            while not self._items:
                left = max(0.0, deadline - time.monotonic()) if block else 0.0
                if not self._relay._read_one(left) and (not block or left <= 0):
                    raise queue.Empty
        return self._items.popleft()

    def get_nowait(self) -> Any:
        return self.get(block=False)

    def qsize(self) -> int:
        return len(self._items)


class Relay:
    """``factory`` (a receiver class, importable by name) built with ``args``/``kwargs`` in a
    child process; ``record`` the dataclass its queue holds; ``refused`` its bind error."""

    def __init__(
        self,
        factory: type,
        record: type,
        refused: Callable[[str], OSError],
        *args: Any,
        queue_size: int,
        **kwargs: Any,
    ) -> None:
        kwargs["queue_size"] = queue_size
        self._target = (factory.__module__, factory.__qualname__, args, kwargs)
        self._record = record
        self._refused = refused
        self.queue = Records(self)
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._child_stats: dict[str, int] = {}
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._closing = False
        self._finished = False  # the child's last message came (or its pipe ended)

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the child and wait until it listens (its bind error raised here)."""
        spawn = multiprocessing.get_context("spawn")
        mine, theirs = spawn.Pipe(duplex=True)
        counters, their_counters = spawn.Pipe(duplex=False)
        module, name, args, kwargs = self._target
        self._proc = spawn.Process(
            target=_child,
            args=(theirs, their_counters, module, name, args, kwargs),
            daemon=True,
        )
        self._proc.start()
        theirs.close()
        their_counters.close()
        if not mine.poll(START_S):
            self._proc.kill()
            raise RuntimeError("the receiver's process did not start")
        kind, value, *stats = mine.recv()
        if kind == "refused":
            self._proc.join(STOP_S)
            raise self._refused(value)
        self.port, self._conn, self._child_stats = int(value), mine, stats[0]
        threading.Thread(
            target=self._count, args=(counters,), name="opskit-relay-counters", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop the child: what it still sends is read (and left: the writer has stopped),
        then it exits (or is killed)."""
        if self._conn is None or self._proc is None:
            return
        self._closing = True
        with contextlib.suppress(OSError):
            self._conn.send(("stop",))
        deadline = time.monotonic() + STOP_S
        while not self._finished and time.monotonic() < deadline:
            self._read_one(0.2, keep=False)
        self._proc.join(STOP_S)
        if self._proc.is_alive():
            log.error("the receiver's process did not stop; killed")
            self._proc.kill()
            self._proc.join(5)
        self._conn.close()
        self._conn = None

    def configure(self, creds: Any) -> None:
        """Hand the receiver new credentials (the trap receiver's)."""
        if self._conn is not None:
            self._conn.send(("configure", creds))

    # --- what arrives -------------------------------------------------------------------

    def _read_one(self, timeout: float, keep: bool = True) -> bool:
        """Read one message of the child (waiting up to ``timeout``); whether one came. Its
        records go to ``queue`` (``keep``) and its counters to ``stats``."""
        conn = self._conn
        if conn is None or self._finished:
            return False
        try:
            if not conn.poll(timeout):
                return False
            records, stats, done = pickle.loads(conn.recv_bytes())  # noqa: S301 - our child
        except (EOFError, OSError):
            self._finished = True
            if not self._closing:
                log.error("the receiver's process ended unexpectedly")
                self.counts["relay_lost"] += 1
            return False
        if stats is not None:
            self._child_stats = stats
        if records:
            self.counts["relayed"] += len(records)
            if keep:
                record = self._record
                self.queue._items.extend([record(*values) for values in records])
        self._finished = bool(done)
        return True

    def _count(self, counters: Connection) -> None:
        """The child's counters as they come (until it ends)."""
        with counters:
            while True:
                try:
                    self._child_stats = counters.recv()
                except (EOFError, OSError):
                    return

    def stats(self) -> dict[str, int]:
        """The child's counters with this side's ``stored``/``store_failed``; ``queued``:
        every record received and not yet taken by the writer (the child's queue, the pipe,
        this side's queue)."""
        out = dict(self._child_stats)
        forwarded = out.pop("forwarded", 0)
        for key in _WRITER_KEYS:
            out[key] = self.counts[key]
        in_pipe = max(0, forwarded - self.counts["relayed"])
        out["queued"] = out.get("queued", 0) + in_pipe + self.queue.qsize()
        if self.counts["relay_lost"]:
            out["relay_lost"] = self.counts["relay_lost"]
        return out
