"""The network side of ``opskit syslog receive``: UDP and TCP on one asyncio loop in a thread.

- UDP (RFC 5426): one datagram, one message.
- TCP (RFC 6587): each frame is either octet-counted (``LEN SP MSG``, chosen when the frame
  starts with a digit) or ends at a newline or NUL (Python's ``SysLogHandler`` ends each
  message with NUL, ``logger`` with a newline). A frame longer than ``MAX_FRAME`` is counted
  malformed and skipped up to its end; at most ``MAX_CONNECTIONS`` connections at once.

Each message is parsed here (:mod:`monitors.syslog.parsing`, its text cut at ``MAX_TEXT``
characters) and put *without waiting* on a bounded queue that the database writer drains
(:mod:`monitors.syslog.store`). When the queue is full the message is counted (``dropped``)
and dropped: a flood never blocks the sockets or grows memory beyond ``queue_size`` parsed
messages. Empty datagrams, junk and oversize frames are counted (``malformed``) and the
receiver carries on. The database is never touched here.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import socket
import threading
from collections import Counter
from typing import Any

from monitors import receivers
from monitors.syslog.parsing import Malformed, Message, parse
from opskit import clock

log = logging.getLogger(__name__)

DEFAULT_PORT = 514
UNPRIVILEGED_PORT = 10514
DEFAULT_QUEUE = 10_000  # parsed messages waiting for the database writer; beyond, dropped
MAX_FRAME = 64 * 1024  # bytes of one TCP frame (a UDP datagram cannot be larger)
MAX_CONNECTIONS = 512


class BindError(OSError):
    """The port cannot be opened; the message says why and what to do."""


def _bind_error(proto: str, host: str, port: int, exc: OSError) -> BindError:
    if isinstance(exc, PermissionError) or (port < 1024 and exc.errno == 13):
        return BindError(
            f"cannot listen on {proto} port {port}: ports below 1024 need root or "
            f"CAP_NET_BIND_SERVICE. Run `opskit syslog receive --port {UNPRIVILEGED_PORT}` "
            f"(or OPSKIT_SYSLOG_PORT={UNPRIVILEGED_PORT}) and redirect {port} to it, e.g. "
            f"`iptables -t nat -A PREROUTING -p udp --dport {port} -j REDIRECT --to-ports "
            f"{UNPRIVILEGED_PORT}` and the same with `-p tcp`; or point the switches at "
            f"port {UNPRIVILEGED_PORT}"
        )
    return BindError(f"cannot listen on {proto} {host}:{port}: {exc.strerror or exc}")


def open_sockets(host: str, port: int, udp: bool, tcp: bool) -> list[socket.socket]:
    """The bound UDP and TCP sockets on one port (port 0: a free one for both)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _attempt in range(20 if port == 0 else 1):
        out: list[socket.socket] = []
        chosen = port
        try:
            for proto, kind in (("UDP", socket.SOCK_DGRAM), ("TCP", socket.SOCK_STREAM)):
                if (proto == "UDP" and not udp) or (proto == "TCP" and not tcp):
                    continue
                sock = socket.socket(family, kind)
                out.append(sock)
                if kind == socket.SOCK_STREAM:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    sock.bind((host, chosen))
                except OSError as exc:
                    raise _bind_error(proto, host, chosen, exc) from None
                chosen = sock.getsockname()[1]
                if kind == socket.SOCK_DGRAM:
                    receivers.widen(sock)
                sock.setblocking(False)
            return out
        except BindError:
            for sock in out:
                sock.close()
            if port != 0:
                raise
    raise BindError(f"no free port on {host} for both UDP and TCP")


class Receiver:
    """The syslog receiver: :meth:`start` binds and runs it on a daemon thread's event loop."""

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104 - every switch of the room sends here
        port: int = DEFAULT_PORT,
        *,
        udp: bool = True,
        tcp: bool = True,
        queue_size: int = DEFAULT_QUEUE,
    ) -> None:
        self.host, self.port, self.udp, self.tcp = host, port, udp, tcp
        self.queue: queue.Queue[Message] = queue.Queue(maxsize=queue_size)
        self.queue_size = queue_size
        self.counts: Counter[str] = Counter()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._closers: list[Any] = []
        self._connections = 0

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the port(s) (:class:`BindError` when refused) and start receiving."""
        socks = open_sockets(self.host, self.port, self.udp, self.tcp)
        self.port = socks[0].getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(socks,), name="opskit-syslog", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the syslog receiver did not start")

    def _run(self, socks: list[socket.socket]) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open(socks))
        self._ready.set()
        self._loop.run_forever()
        for close in self._closers:
            close()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _open(self, socks: list[socket.socket]) -> None:
        loop = asyncio.get_running_loop()
        receiver = self
        for sock in socks:
            if sock.type == socket.SOCK_DGRAM:

                class Datagrams(asyncio.DatagramProtocol):
                    def __init__(self, sock: socket.socket) -> None:
                        self.sock = sock

                    def datagram_received(self, data: bytes, addr: Any) -> None:
                        self.one(data, addr)
                        receivers.drain_socket(self.sock, self.one)  # what else is waiting

                    def one(self, data: bytes, addr: Any) -> None:
                        receiver.counts["udp"] += 1
                        receiver.accept(data, str(addr[0]))

                transport, _ = await loop.create_datagram_endpoint(
                    functools.partial(Datagrams, sock), sock=sock
                )
                self._closers.append(transport.close)
            else:
                server = await asyncio.start_server(self._client, sock=sock, limit=MAX_FRAME)
                self._closers.append(server.close)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # --- messages -----------------------------------------------------------------------

    def accept(self, data: bytes, source: str) -> None:
        """One datagram or frame: parsed and queued, or counted as malformed or dropped."""
        self.counts["received"] += 1
        if len(data) > MAX_FRAME:
            self.counts["malformed"] += 1
            return
        try:
            message = parse(data, source, clock.now())
        except Malformed:
            self.counts["malformed"] += 1
            return
        except Exception:  # a parser bug must not stop the receiver
            log.exception("syslog message from %s not parsed", source)
            self.counts["malformed"] += 1
            return
        if message.truncated:
            self.counts["truncated"] += 1
        try:
            self.queue.put_nowait(message)
        except queue.Full:
            self.counts["dropped"] += 1

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        source = str(peer[0]) if peer else ""
        if self._connections >= MAX_CONNECTIONS:
            self.counts["refused_connections"] += 1
            writer.close()
            return
        self._connections += 1
        self.counts["tcp_connections"] += 1
        try:
            await self._frames(reader, source)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections -= 1
            writer.close()

    async def _frames(self, reader: asyncio.StreamReader, source: str) -> None:
        buf = b""
        while True:
            if not buf:
                buf = await reader.read(MAX_FRAME)
                if not buf:
                    return
            if buf[:1].isdigit():  # octet counting: LEN SP MSG
                space = buf.find(b" ", 0, 12)
                while space < 0 and len(buf) < 12:
                    more = await reader.read(MAX_FRAME)
                    if not more:
                        return
                    buf += more
                    space = buf.find(b" ", 0, 12)
                count = buf[:space] if space > 0 else b""
                if count.isdigit():
                    length = int(count)
                    rest = buf[space + 1 :]
                    if length > MAX_FRAME:
                        self.counts["malformed"] += 1
                        self.counts["received"] += 1
                        await self._skip(reader, length - len(rest))
                        buf = rest[length:] if len(rest) > length else b""
                        continue
                    while len(rest) < length:
                        more = await reader.read(MAX_FRAME)
                        if not more:
                            if rest:
                                self.accept(rest, source)
                            return
                        rest += more
                    self.counts["tcp"] += 1
                    self.accept(rest[:length], source)
                    buf = rest[length:]
                    continue
            # non-transparent framing: up to LF or NUL
            end = _delimiter(buf)
            while end < 0:
                if len(buf) > MAX_FRAME:
                    self.counts["malformed"] += 1
                    self.counts["received"] += 1
                    buf = await self._skip_line(reader)
                    break
                more = await reader.read(MAX_FRAME)
                if not more:
                    if buf.strip(b"\r\n\x00 "):
                        self.counts["tcp"] += 1
                        self.accept(buf, source)
                    return
                buf += more
                end = _delimiter(buf)
            else:
                frame, buf = buf[:end], buf[end + 1 :]
                if frame.strip(b"\r\n\x00 "):
                    self.counts["tcp"] += 1
                    self.accept(frame, source)

    async def _skip(self, reader: asyncio.StreamReader, left: int) -> None:
        while left > 0:
            chunk = await reader.read(min(left, MAX_FRAME))
            if not chunk:
                return
            left -= len(chunk)

    async def _skip_line(self, reader: asyncio.StreamReader) -> bytes:
        """Read on to the end of an oversize frame; what follows it."""
        while True:
            chunk = await reader.read(MAX_FRAME)
            if not chunk:
                return b""
            end = _delimiter(chunk)
            if end >= 0:
                return chunk[end + 1 :]

    def stats(self) -> dict[str, int]:
        """What arrived and what became of it."""
        keys = (
            "received",
            "udp",
            "tcp",
            "tcp_connections",
            "malformed",
            "truncated",
            "dropped",
            "stored",
            "store_failed",
            "refused_connections",
        )
        out = {key: self.counts[key] for key in keys}
        out["queued"] = self.queue.qsize()
        return out


def _delimiter(buf: bytes) -> int:
    """The first LF or NUL in ``buf`` (-1: none yet)."""
    ends = [i for i in (buf.find(b"\n"), buf.find(b"\x00")) if i >= 0]
    return min(ends) if ends else -1
