"""A flood leaves the receiver answering with its memory bounded: the queue never holds more
than its maximum, the rest is counted as dropped; junk and empty datagrams are counted."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import pytest

from monitors.syslog.receiver import Receiver

# no database, no clock: counts only
pytestmark = pytest.mark.dateless


def _tcp(port: int, payload: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)


def _wait(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_flood_of_50000_udp_packets_is_shed_not_hoarded() -> None:
    rx = Receiver("127.0.0.1", 0, queue_size=1000)
    rx.start()
    try:
        line = b"<190>Dec 10 10:12:33 sw %%01SHELL/5/CMDRECORD(s)[0]:Recorded command " + b"x" * 200
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            target = ("127.0.0.1", rx.port)
            started = time.monotonic()
            for _ in range(50_000):
                s.sendto(line, target)
            assert time.monotonic() - started < 60  # generous: a sender is never held up
        # the datagrams the kernel kept are read; the queue holds its maximum, no more
        _wait(lambda: rx.stats()["received"] >= 1000 and rx.queue.full())
        time.sleep(0.3)
        stats = rx.stats()
        assert stats["queued"] == 1000 == rx.queue.maxsize
        assert stats["dropped"] == stats["received"] - 1000 > 0
        assert stats["malformed"] == 0

        # still answering: junk, an empty datagram and a 64 KiB TCP frame are counted ...
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(os.urandom(65_000), ("127.0.0.1", rx.port))
            s.sendto(b"", ("127.0.0.1", rx.port))
        _tcp(rx.port, b"\x01" * (70 * 1024) + b"\n")
        _wait(lambda: rx.stats()["malformed"] >= 3)
        # ... and once the writer has made room, a good message is queued again
        while not rx.queue.empty():
            rx.queue.get_nowait()
        _tcp(rx.port, b"<13>still here\n")
        _wait(lambda: rx.queue.qsize() == 1)
        assert rx.queue.get_nowait().text == "still here"
    finally:
        rx.stop()


def test_a_refused_privileged_port_says_what_to_do() -> None:
    from monitors.syslog.receiver import _bind_error

    message = str(_bind_error("UDP", "127.0.0.1", 514, PermissionError(13, "Permission denied")))
    assert "port 514" in message and "root or CAP_NET_BIND_SERVICE" in message
    assert "--port 10514" in message and "--to-ports 10514" in message
