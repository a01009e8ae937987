"""Real senders against the running receiver: Python's SysLogHandler (UDP, TCP) and util-linux
``logger``; messages land with the right fields and asset; rules raise, clear and burst."""

from __future__ import annotations

import logging
import logging.handlers
import shutil
import socket
import subprocess
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from monitors.syslog import store
from monitors.syslog.models import SyslogMessage
from monitors.syslog.parsing import Message
from monitors.syslog.receiver import Receiver
from opskit import clock, db
from opskit.alerts.models import Alert
from tests import factories
from tests.syslog.conftest import drain_until


def _switch() -> int:
    """An asset whose management IP is where the test's messages come from."""
    asset = factories.asset("SW-CORE-01", kind="switch", mgmt_ip="127.0.0.1")
    db.session().commit()
    return asset.id


def _rows() -> list[SyslogMessage]:
    return list(db.session().scalars(select(SyslogMessage).order_by(SyslogMessage.id)))


def _alerts() -> list[Alert]:
    return list(db.session().scalars(select(Alert).order_by(Alert.id)))


def _send_python(port: int, socktype: socket.SocketKind, level: int, text: str) -> None:
    handler = logging.handlers.SysLogHandler(
        address=("127.0.0.1", port),
        facility=logging.handlers.SysLogHandler.LOG_LOCAL3,
        socktype=socktype,
    )
    handler.ident = "opskit-test: "
    logger = logging.getLogger(f"syslog-test-{socktype}")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logger.log(level, text)
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_python_sysloghandler_udp_and_tcp(ctx: Flask, rx: Receiver) -> None:
    asset_id = _switch()
    writer = store.Writer()
    before = clock.now()
    _send_python(rx.port, socket.SOCK_DGRAM, logging.ERROR, "fan tray 2 speed low over UDP")
    _send_python(rx.port, socket.SOCK_STREAM, logging.WARNING, "温度偏高 over TCP")
    drain_until(rx, writer, 2)
    rows = {r.text: r for r in _rows()}
    udp, tcp = rows["fan tray 2 speed low over UDP"], rows["温度偏高 over TCP"]
    for row in (udp, tcp):
        assert row.source == "127.0.0.1"
        assert row.asset_id == asset_id
        assert row.facility == 19  # local3
        assert row.program == "opskit-test"
        assert before - timedelta(seconds=1) <= row.received_at <= clock.now()
    assert (udp.severity, tcp.severity) == (3, 4)  # error, warning
    stats = rx.stats()
    assert stats["udp"] == 1 and stats["tcp"] == 1 and stats["stored"] == 2


@pytest.mark.skipif(shutil.which("logger") is None, reason="util-linux logger not installed")
def test_util_linux_logger(ctx: Flask, rx: Receiver) -> None:
    asset_id = _switch()
    writer = store.Writer()
    base = ["logger", "--server", "127.0.0.1", "--port", str(rx.port)]
    runs = [
        ["--udp", "--rfc3164", "-p", "local7.err", "-t", "bsdtag", "over udp 3164"],
        [
            "--udp",
            "--rfc5424",
            "-p",
            "local7.warning",
            "-t",
            "app5424",
            "--msgid",
            "ID47",
            "--sd-id",
            "zoo@32473",
            "--sd-param",
            'tiger="hungry"',
            "over udp 5424",
        ],
        ["--tcp", "--rfc3164", "-p", "daemon.notice", "-t", "tcptag", "over tcp 3164"],
        [
            "--tcp",
            "--rfc5424",
            "--octet-count",
            "-p",
            "auth.crit",
            "-t",
            "octets",
            "over tcp 5424 octet-counted",
        ],
    ]
    for args in runs:
        subprocess.run([*base, *args], check=True, timeout=10)
    drain_until(rx, writer, len(runs))
    rows = {r.text: r for r in _rows()}
    assert set(rows) == {
        "over udp 3164",
        "over udp 5424",
        "over tcp 3164",
        "over tcp 5424 octet-counted",
    }
    assert (rows["over udp 3164"].facility, rows["over udp 3164"].severity) == (23, 3)
    assert rows["over udp 3164"].program == "bsdtag"
    five = rows["over udp 5424"]
    assert (five.facility, five.severity, five.program) == (23, 4, "app5424")
    assert '[zoo@32473 tiger="hungry"]' in five.structured_data
    assert five.hostname  # logger sends this machine's name
    assert (rows["over tcp 3164"].facility, rows["over tcp 3164"].program) == (3, "tcptag")
    octets = rows["over tcp 5424 octet-counted"]
    assert (octets.facility, octets.severity, octets.program) == (4, 2, "octets")
    assert {r.asset_id for r in rows.values()} == {asset_id}


def _udp(port: int, line: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.sendto(line, ("127.0.0.1", port))


def test_link_down_raises_and_link_up_clears(ctx: Flask, rx: Receiver) -> None:
    asset_id = _switch()
    writer = store.Writer()
    _udp(
        rx.port,
        b"<187>42: *Mar  1 18:46:11.123: %LINK-3-UPDOWN: Interface "
        b"GigabitEthernet0/1, changed state to down",
    )
    drain_until(rx, writer, 1)
    (alert,) = _alerts()
    assert alert.status == "firing" and alert.urgency == "B"
    assert alert.asset_id == asset_id
    assert alert.rule == "syslog.link_down"
    assert alert.dedup_key == f"syslog:asset{asset_id}:link_down:GigabitEthernet0/1"
    assert "Interface link down [GigabitEthernet0/1]" in alert.message
    # another port going up clears nothing; this one going up clears it
    _udp(rx.port, b"<189>%LINK-3-UPDOWN: Interface GigabitEthernet0/2, changed state to up")
    drain_until(rx, writer, 2)
    db.session().refresh(alert)
    assert alert.status == "firing"
    _udp(rx.port, b"<189>%LINK-3-UPDOWN: Interface GigabitEthernet0/1, changed state to up")
    drain_until(rx, writer, 3)
    db.session().refresh(alert)
    assert alert.status == "resolved" and alert.resolved_by == "syslog"
    assert len(_alerts()) == 1


def test_burst_fires_at_the_nth_match_within_the_window(ctx: Flask, rx: Receiver) -> None:
    _switch()
    writer = store.Writer()
    line = b"<38>Dec 10 10:12:33 sw sshd[77]: Failed password for admin from 198.51.100.9"
    for n in range(1, 5):
        _udp(rx.port, line)
        drain_until(rx, writer, n)
    assert _alerts() == []  # four failures: someone mistyping
    _udp(rx.port, line)
    drain_until(rx, writer, 5)
    (alert,) = _alerts()
    assert alert.rule == "syslog.auth_failure_burst" and alert.urgency == "B"


def test_burst_spread_beyond_the_window_stays_quiet(ctx: Flask) -> None:
    _switch()
    writer = store.Writer()
    start = clock.now()

    def failure(seconds: float) -> Message:
        return Message(
            received_at=start + timedelta(seconds=seconds),
            source="127.0.0.1",
            facility=4,
            severity=5,
            program="sshd",
            text="authentication failure for root",
        )

    writer.store([failure(s * 20) for s in range(5)])  # 0, 20 ... 80 s: never 5 within 60 s
    assert _alerts() == []
    writer.store([failure(81)])  # 21 ... 81 s: 40, 60, 80, 81
    assert _alerts() == []
    writer.store([failure(82)])  # 22 ... 82 s: 40, 60, 80, 81, 82
    (alert,) = _alerts()
    assert alert.count == 1 and alert.first_seen == start + timedelta(seconds=82)


def test_unknown_sender_is_stored_without_asset(ctx: Flask, rx: Receiver) -> None:
    writer = store.Writer()
    _udp(rx.port, b"<13>hello from nowhere")
    drain_until(rx, writer, 1)
    (row,) = _rows()
    assert row.asset_id is None and row.text == "hello from nowhere"
