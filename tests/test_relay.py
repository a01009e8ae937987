"""The receivers in a child process (``monitors.relay``, what ``opskit syslog receive`` and
``opskit traps`` run by default): real datagrams to the child's sockets reach the database
through the writer in this process, the counters add up across the two processes, a taken
port is refused with the receiver's own message, a writer that stops draining makes the child
shed (counted) while this side's queue stays bounded, and stopping ends the child. Then the
command itself, as a process: messages in, rows out, a clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from monitors import receivers, relay
from monitors.models import SnmpTrap
from monitors.syslog import receiver as syslog_receiver
from monitors.syslog import store as syslog_store
from monitors.syslog.models import SyslogMessage
from monitors.syslog.parsing import Message
from monitors.traps import receiver as trap_receiver
from monitors.traps import store as trap_store
from opskit import db
from tests import factories

# the child stamps arrivals with its own (real) clock
pytestmark = pytest.mark.real_clock


def link_down(port: int) -> bytes:
    """A Cisco switch's message, as switches send it."""
    text = f"Interface Gi0/{port}, changed state to down"
    return f"<187>42: *Dec  6 08:00:00.123: %LINK-3-UPDOWN: {text}".encode()


def _syslog_relay(queue_size: int = 10_000) -> relay.Relay:
    rx = relay.Relay(
        syslog_receiver.Receiver,
        Message,
        syslog_receiver.BindError,
        "127.0.0.1",
        0,
        udp=True,
        tcp=False,
        queue_size=queue_size,
    )
    rx.start()
    return rx


def _send(port: int, datagrams: list[bytes]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for data in datagrams:
            sock.sendto(data, ("127.0.0.1", port))


def _alive(pid: str) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text().lower()
    except FileNotFoundError:
        return False


def _rows(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def test_syslog_through_the_child_into_the_database(db_app: Flask) -> None:
    with db_app.app_context():
        switch = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="127.0.0.1")
        db.session().commit()
        rx = _syslog_relay()
        try:
            assert rx.port > 0 and rx._proc is not None and rx._proc.pid != os.getpid()
            _send(rx.port, [link_down(k) for k in range(1, 41)])
            writer = syslog_store.Writer()
            deadline = time.monotonic() + 30
            while _rows(SyslogMessage) < 40 and time.monotonic() < deadline:
                syslog_store.drain(rx, writer, timeout=0.1)
            rows = db.session().scalars(select(SyslogMessage).order_by(SyslogMessage.id)).all()
            assert len(rows) == 40
            assert {r.asset_id for r in rows} == {switch.id}
            assert [r.program for r in rows[:2]] == ["LINK-3-UPDOWN", "LINK-3-UPDOWN"]
            assert rows[0].text == "Interface Gi0/1, changed state to down"
            deadline = time.monotonic() + 5
            while rx.stats()["received"] < 40 and time.monotonic() < deadline:
                time.sleep(0.05)  # the child's counters come every STATS_S
            stats = rx.stats()
            assert (stats["received"], stats["udp"], stats["stored"], stats["queued"]) == (
                40,
                40,
                40,
                0,
            )
        finally:
            rx.stop()
        assert rx._proc is not None and not rx._proc.is_alive()


def test_a_taken_port_is_refused_with_the_receivers_message() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        rx = relay.Relay(
            syslog_receiver.Receiver,
            Message,
            syslog_receiver.BindError,
            "127.0.0.1",
            port,
            udp=True,
            tcp=False,
            queue_size=10,
        )
        with pytest.raises(
            syslog_receiver.BindError, match=f"cannot listen on UDP 127.0.0.1:{port}"
        ):
            rx.start()


def test_a_writer_that_stops_draining_makes_the_child_shed_within_bounds() -> None:
    rx = _syslog_relay(queue_size=200)
    try:
        sent = 5000
        _send(rx.port, [link_down(k % 48) for k in range(sent)])
        deadline = time.monotonic() + 30
        last: dict[str, int] = {}
        while time.monotonic() < deadline:  # until the counters stop moving
            time.sleep(relay.STATS_S * 2)
            stats = rx.stats()
            if stats == last and stats["dropped"]:
                break
            last = stats
        # nothing taken here: this side holds at most one message of the child ...
        assert rx.queue.qsize() <= relay.BATCH
        # ... and the child shed the rest, counted (the kernel may have lost some first)
        assert stats["dropped"] > 0 and stats["received"] <= sent
        assert stats["received"] == stats["dropped"] + stats["queued"]
    finally:
        rx.stop()


def test_traps_through_the_child_with_credentials_sent_to_it(db_app: Flask) -> None:
    from bench.ingest import trap_datagrams

    with db_app.app_context():
        ups = factories.asset("UPS-01", kind="ups", mgmt_ip="127.0.0.1")
        db.session().commit()
        rx = relay.Relay(
            trap_receiver.Receiver,
            trap_receiver.Trap,
            trap_receiver.BindError,
            "127.0.0.1",
            0,
            queue_size=1000,
        )
        rx.start()
        try:
            rx.configure(trap_receiver.Credentials(frozenset({"public"})))
            _send(rx.port, trap_datagrams(6))  # linkDown, linkUp, on battery, coldStart, 2 more
            found: list[trap_receiver.Trap] = []
            deadline = time.monotonic() + 30
            while len(found) < 6 and time.monotonic() < deadline:
                found += receivers.take(rx.queue, 6 - len(found), 0.2)
            trap_store.store(found, {})
            stored = db.session().scalars(select(SnmpTrap).order_by(SnmpTrap.id)).all()
            assert [t.trap_oid for t in stored[:4]] == [
                "1.3.6.1.6.3.1.1.5.3",
                "1.3.6.1.6.3.1.1.5.4",
                "1.3.6.1.2.1.33.2.1",
                "1.3.6.1.6.3.1.1.5.1",
            ]
            assert len(stored) == 6
            assert {t.asset_id for t in stored} == {ups.id}
            assert {t.source for t in stored} == {"127.0.0.1"}
            deadline = time.monotonic() + 5
            while rx.stats()["accepted"] < 6 and time.monotonic() < deadline:
                time.sleep(0.05)  # the child's counters come every STATS_S
            assert rx.stats()["accepted"] == 6
        finally:
            rx.stop()


def test_the_command_runs_its_receiver_in_a_child_and_stops_cleanly(tmp_path: Path) -> None:
    """``opskit syslog receive`` as a process on a fresh SQLite database: messages in, rows
    out, SIGTERM ends both processes with the last counters printed."""
    from sqlalchemy import create_engine, text

    from opskit import migrate

    url = f"sqlite:///{tmp_path / 'opskit.db'}"
    engine = create_engine(url)
    migrate.upgrade(engine)
    env = {
        **os.environ,
        "OPSKIT_DATABASE_URL": url,
        "OPSKIT_INSTANCE_PATH": str(tmp_path / "instance"),
        "OPSKIT_SECRET_KEY": "test",
    }
    opskit = Path(sys.executable).with_name("opskit")
    proc = subprocess.Popen(
        [str(opskit), "syslog", "receive", "--host", "127.0.0.1", "--port", "0", "--no-tcp"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        banner = proc.stderr.readline()
        assert "receiving syslog on UDP 127.0.0.1:" in banner, banner
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(proc.pid)], capture_output=True, text=True
        ).stdout.split()
        assert children, "the sockets run in a child process"
        _send(port, [link_down(k) for k in range(1, 6)])
        deadline = time.monotonic() + 30
        count = 0
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                count = conn.execute(text("SELECT count(*) FROM syslog_message")).scalar()
            if count == 5:
                break
            time.sleep(0.2)
        assert count == 5
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert "stored 5" in err.strip().splitlines()[-1]
        deadline = time.monotonic() + 10  # the child, and spawn's resource tracker, go too
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        engine.dispose()
