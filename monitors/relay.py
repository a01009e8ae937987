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
  they keep coming while the records wait). A reader thread here
  puts each batch on this side's bounded queue (:class:`Records`: one lock a batch), waiting
  when it is full: a writer that falls behind
  stops the reader, the pipe fills, the forwarder waits and the child's receiver sheds and
  counts as it would alone. Memory stays bounded by the two queues and the pipe.
- ``configure(creds)`` (the trap receiver's communities and v3 users) is sent to the child.
- A port the child cannot open is raised here as the receiver's own error (``refused``).
- ``stop()`` asks the child to stop receiving, takes what it still held, and waits for it;
  a child that does not stop within ``STOP_S`` is killed. A child that dies is logged and
  ``stats()`` says so (``relay_lost``); the writer loop carries on with what arrived.
- Counters: the child's (received, dropped, malformed, ...) with this side's ``stored`` and
  ``store_failed``; ``queued`` counts everything received and not yet taken by the writer:
  the child's queue, the pipe and this side's queue.
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
    forwarded = [0]  # records sent to the parent

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
            conn.send_bytes(pickle.dumps((records, None, False), pickle.HIGHEST_PROTOCOL))
            forwarded[0] += len(records)
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
    """This side's queue: whole batches put at once (one lock and one wake-up a batch, not
    one a record), records taken one at a time as from a ``queue.Queue`` (``get``,
    ``get_nowait``, ``qsize``). ``put_many`` waits while ``maxsize`` records wait already
    (so at most ``maxsize`` plus one batch are held)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._items: deque[Any] = deque()
        self._ready = threading.Condition()
        self._full = False  # a put waits for room

    def put_many(self, items: list[Any], closing: threading.Event) -> None:
        with self._ready:
            while len(self._items) >= self.maxsize and not closing.is_set():
                self._full = True
                self._ready.wait(0.2)
            self._items.extend(items)
            self._ready.notify_all()

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self._ready:
            if not self._items and (
                not block or not self._ready.wait_for(lambda: self._items, timeout)
            ):
                raise queue.Empty
            item = self._items.popleft()
            if self._full and len(self._items) < self.maxsize:
                self._full = False
                self._ready.notify_all()
            return item

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
        self.queue = Records(queue_size)
        self.counts: Counter[str] = Counter()
        self.port = 0
        self._child_stats: dict[str, int] = {}
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._reader: threading.Thread | None = None
        self._closing = threading.Event()
        self._finished = threading.Event()

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
        self._reader = threading.Thread(target=self._read, name="opskit-relay", daemon=True)
        self._reader.start()
        threading.Thread(
            target=self._count, args=(counters,), name="opskit-relay-counters", daemon=True
        ).start()

    def stop(self) -> None:
        """Stop the child: what it still held is queued here, then it exits (or is killed)."""
        if self._conn is None or self._proc is None:
            return
        self._closing.set()  # the reader no longer waits for room: nobody drains now
        with contextlib.suppress(OSError):
            self._conn.send(("stop",))
        self._finished.wait(STOP_S)
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

    def _read(self) -> None:
        conn = self._conn
        assert conn is not None  # started before the thread
        record = self._record
        try:
            while True:
                records, stats, done = pickle.loads(conn.recv_bytes())  # noqa: S301 - our child
                if stats is not None:
                    self._child_stats = stats
                if records:
                    self.queue.put_many([record(*values) for values in records], self._closing)
                    self.counts["relayed"] += len(records)
                if done:
                    return
        except (EOFError, OSError):
            if not self._closing.is_set():
                log.error("the receiver's process ended unexpectedly")
                self.counts["relay_lost"] += 1
        finally:
            self._finished.set()

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
