"""The poller against real things: snmpsim recordings, this machine, sockets opened here.

Runs on SQLite and PostgreSQL (db_app).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from monitors import kinds, poller, queries, snmp
from monitors.models import CounterState, Monitor, PollerHeartbeat, Reading, StatusFlip
from monitors.probe import probe
from opskit import db
from opskit.alerts.models import Alert
from opskit.validation import ValidationFailed
from tests import factories
from tests.monitors.conftest import Agent

NOW = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def add_monitor(
    asset_id: int, kind: str, settings: dict[str, Any], secret: Any = None, due: datetime = NOW
) -> int:
    monitor = Monitor(
        asset_id=asset_id,
        kind=kind,
        settings=kinds.validate(kind, settings) if kind in kinds.KINDS else settings,
        secret=json.dumps(secret) if secret is not None else None,
        next_due_at=due - timedelta(seconds=1),
    )
    db.session().add(monitor)
    db.session().commit()
    return monitor.id


def readings(monitor_id: int) -> dict[tuple[str, str], Reading]:
    rows = db.session().scalars(select(Reading).where(Reading.monitor_id == monitor_id))
    return {(r.metric, r.instance): r for r in rows}


def flips(monitor_id: int) -> list[tuple[str, str, str]]:
    rows = db.session().scalars(
        select(StatusFlip).where(StatusFlip.monitor_id == monitor_id).order_by(StatusFlip.id)
    )
    return [(f.old, f.new, f.reason) for f in rows]


def monitor(monitor_id: int) -> Monitor:
    db.session().expire_all()
    return db.session().get(Monitor, monitor_id)


def dead_udp_port() -> int:
    """A UDP port nobody answers on (bound and closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def closed_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_snmp_ups_on_battery_readings_and_alert_dead_device_does_not_delay(
    db_app: Flask, snmp_agent: Agent
) -> None:
    with db_app.app_context():
        ups = factories.asset("UPS-B2", kind="ups", importance="core")
        dead1 = factories.asset("UPS-DEAD-1", kind="ups")
        dead2 = factories.asset("UPS-DEAD-2", kind="ups")
        dead3 = factories.asset("UPS-DEAD-3", kind="ups")
        db.session().commit()
        healthy = add_monitor(
            ups.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port, "version": "2c"},
            {"community": "ups_rfc1628_on_battery"},
        )
        dead_settings = {"host": "127.0.0.1", "version": "2c", "timeout": 2.0, "retries": 0}
        dead_ids = [
            add_monitor(
                a.id, "snmp", {**dead_settings, "port": dead_udp_port()}, {"community": "x"}
            )
            for a in (dead1, dead2, dead3)
        ]

        # The process's one SnmpEngine starts once (~1 s, and profiles load): not part of a cycle.
        probe(snmp_agent.host, snmp_agent.port, snmp.Credentials(community="ups_rfc1628"))
        started = time.monotonic()
        summary = poller.poll_once(NOW, concurrency=10, timeout=10)
        elapsed = time.monotonic() - started

        assert summary["claimed"] == 4 and summary["up"] == 1 and summary["down"] == 3
        # Three dead agents of 2 s each and a healthy one: concurrent, so about 2 s; one after
        # the other would take 6 s or more. The margin is wide on purpose: CI machines are busy.
        assert elapsed < 5.0, elapsed

        got = readings(healthy)
        assert got[("ups.output.source", "")].text == "battery"
        assert got[("ups.output.source", "")].value is None
        assert got[("ups.battery.status", "")].text == "low"
        assert got[("ups.battery.charge_percent", "")].value == 35  # 1.3.6.1.2.1.33.1.2.4.0|2|35
        assert got[("ups.battery.runtime_minutes", "")].value == 12  # ...33.1.2.3.0|2|12
        loads = {i: r.value for (m, i), r in got.items() if m == "ups.output.load_percent"}
        assert loads == {"1": 40, "2": 45, "3": 38}
        assert all(r.at == NOW and r.asset_id == ups.id for r in got.values())

        alert = db.session().scalar(select(Alert).where(Alert.rule == "ups.on_battery"))
        assert alert is not None
        assert alert.urgency == "A" and alert.asset_id == ups.id and alert.is_open

        m = monitor(healthy)
        assert m.state == "up" and m.last_polled_at == NOW
        assert m.next_due_at == NOW + timedelta(seconds=60) and m.lease_until is None
        for dead in dead_ids:
            d = monitor(dead)
            assert d.state == "down" and "127.0.0.1" in d.last_error
            assert d.next_due_at == NOW + timedelta(seconds=60)
            [(old, new, reason)] = flips(dead)
            assert (old, new) == ("unknown", "down") and "127.0.0.1" in reason
            assert readings(dead) == {}
        assert flips(healthy) == [("unknown", "up", "")]

        # Nothing is due any more: a second cycle at the same time claims nothing.
        assert poller.poll_once(NOW)["claimed"] == 0

        # The heartbeat is on /healthz.
        assert db.session().scalar(select(PollerHeartbeat.monitors)) is not None
        body = db_app.test_client().get("/healthz").get_json()
        assert body["poller"]["last_cycle_at"] is not None
        assert body["poller"]["monitors"] == 4
        assert body["poller"]["age_s"] < 60

        latest = {(r.metric, r.instance): r for r in queries.latest_readings(ups.id)}
        assert latest[("ups.battery.charge_percent", "")].value == 35
        assert queries.series(ups.id, "ups.battery.charge_percent") == [(NOW, 35.0)]


def test_host_monitor(db_app: Flask) -> None:
    with db_app.app_context():
        server = factories.asset("SRV-1")
        db.session().commit()
        mid = add_monitor(server.id, "host", {})
        assert poller.poll_once(NOW)["up"] == 1
        got = readings(mid)
        assert 0 <= got[("host.cpu.load_percent", "")].value <= 100
        assert 0 < got[("host.storage.used_percent", "/")].value < 100
        assert got[("host.storage.size_bytes", "/")].value > 0
        assert got[("host.uptime_seconds", "")].value > 0
        assert 0 < got[("host.memory.used_percent", "")].value < 100
        loads = [got[(f"host.load.{m}min", "")].value for m in (1, 5, 15)]
        assert min(loads) >= 0
        assert loads[2] == pytest.approx(os.getloadavg()[2], abs=0.5)  # moves slowly
        # Counters are kept as the monitor's state, not as readings; the next poll gives rates.
        assert ("if.in_octets", "lo") not in got and ("if.in_bps", "lo") not in got
        state = db.session().get(CounterState, mid)
        assert state.at == NOW and state.counters["if.in_octets|lo"][1] == 64
        assert monitor(mid).state == "up"
        later = NOW + timedelta(seconds=60)
        assert poller.poll_once(later)["up"] == 1
        rates = db.session().scalars(
            select(Reading).where(Reading.metric == "if.in_bps", Reading.at == later)
        )
        lo = {r.instance: r.value for r in rates}["lo"]
        assert lo >= 0  # loopback traffic of this machine over that "minute"


def test_tcp_open_and_closed_port_and_state_changes(db_app: Flask) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        with db_app.app_context():
            asset = factories.asset("APP-1")
            db.session().commit()
            up = add_monitor(asset.id, "tcp", {"host": "127.0.0.1", "port": port, "timeout": 2})
            down = add_monitor(
                asset.id, "tcp", {"host": "127.0.0.1", "port": closed_tcp_port(), "timeout": 2}
            )
            assert poller.poll_once(NOW)["claimed"] == 2
            assert monitor(up).state == "up"
            assert readings(up)[("tcp.connect_ms", "")].value >= 0
            assert monitor(down).state == "down"
            [(old, new, reason)] = flips(down)
            assert (old, new) == ("unknown", "down") and "refused" in reason.lower()

            # The listener goes away: the next cycle flips the up monitor to down with a reason.
            listener.close()
            later = NOW + timedelta(seconds=61)
            poller.poll_once(later)
            assert monitor(up).state == "down" and monitor(up).state_since == later
            assert [f[:2] for f in flips(up)] == [("unknown", "up"), ("up", "down")]
            assert monitor(down).state_since == NOW  # unchanged: no second flip
            assert len(flips(down)) == 1
    finally:
        listener.close()


def test_unknown_kind_is_unsupported_not_a_crash(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("ODD-1")
        db.session().commit()
        mid = add_monitor(asset.id, "carrier-pigeon", {"host": "x"})
        summary = poller.poll_once(NOW)
        assert summary["unknown"] == 1
        m = monitor(mid)
        assert m.state == "unknown" and "unsupported" in m.last_error
        assert m.next_due_at == NOW + timedelta(seconds=60)


def test_secret_encrypted_at_rest_and_settings_validated(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("SW-1", kind="switch")
        db.session().commit()
        mid = add_monitor(asset.id, "snmp", {"host": "10.0.0.1"}, {"community": "s3cret-comm"})
        raw = db.session().execute(text("SELECT secret FROM monitor WHERE id = :i"), {"i": mid})
        stored = raw.scalar_one()
        assert stored.startswith("fernet:") and "s3cret" not in stored
        assert json.loads(monitor(mid).secret) == {"community": "s3cret-comm"}

        with pytest.raises(ValidationFailed) as exc:
            kinds.validate("snmp", {"host": "", "port": 70000, "version": "4", "colour": 1})
        assert set(exc.value.errors) == {"host", "port", "version", "colour"}
        with pytest.raises(ValidationFailed) as exc:
            kinds.validate("snmp", {"host": "a", "version": "3", "priv_proto": "AES"})
        assert set(exc.value.errors) == {"user", "priv_proto"}
        with pytest.raises(ValidationFailed) as exc:
            kinds.validate("tcp", {"host": "a"})
        assert set(exc.value.errors) == {"port"}
        with pytest.raises(ValidationFailed) as exc:
            kinds.validate("ftp", {})
        assert set(exc.value.errors) == {"kind"}
        assert kinds.validate("tcp", {"host": "a", "port": "22"}) == {
            "host": "a",
            "port": 22,
            "timeout": 3.0,
        }


def test_claiming_is_exclusive(db_app: Flask) -> None:
    with db_app.app_context():
        asset = factories.asset("SRV-2")
        db.session().commit()
        mid = add_monitor(asset.id, "host", {})
        maker = db_app.extensions["opskit.sessionmaker"]
        first, second = maker(), maker()
        try:
            if first.get_bind().dialect.name == "postgresql":
                # The first worker holds the row locked in an open transaction: the second skips it.
                locked = first.scalars(
                    select(Monitor.id).where(Monitor.id == mid).with_for_update()
                ).all()
                assert locked == [mid]
                assert poller.claim(second, NOW) == []
                first.rollback()
            assert poller.claim(first, NOW) == [mid]
            assert poller.claim(second, NOW) == []  # leased now
            # A lease that ran out (its worker died) can be claimed again.
            later = NOW + poller.LEASE + timedelta(seconds=1)
            assert poller.claim(second, later) == [mid]
            # A disabled monitor is never claimed.
            second.execute(update(Monitor).values(enabled=False, lease_until=None))
            second.commit()
            assert poller.claim(first, later) == []
        finally:
            first.close()
            second.close()


def test_cli_poll_once(app: Flask) -> None:
    from click.testing import CliRunner
    from flask.cli import ScriptInfo

    from opskit.cli import cli

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    try:
        with app.app_context():
            asset = factories.asset("APP-2")
            db.session().commit()
            mid = add_monitor(
                asset.id,
                "tcp",
                {"host": "127.0.0.1", "port": listener.getsockname()[1]},
                due=datetime.now(UTC),
            )
        result = CliRunner().invoke(
            cli, ["poll", "--once", "--concurrency", "3"], obj=ScriptInfo(create_app=lambda: app)
        )
        assert result.exit_code == 0, result.output
        assert "polled 1: up 1, down 0, unknown 0" in result.output
        with app.app_context():
            assert monitor(mid).state == "up"
    finally:
        listener.close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 500 if self.path == "/broken" else 200
        body = b"ok" if status == 200 else b"broken"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def https_server(tmp_path) -> Any:
    import ssl

    from opskit.tls import init_tls

    files = init_tls(tmp_path / "tls", ["127.0.0.1"], days=30)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.cert, files.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_http_monitor_status_latency_and_certificate(db_app: Flask, https_server: str) -> None:
    with db_app.app_context():
        asset = factories.asset("WEB-1")
        db.session().commit()
        ok = add_monitor(asset.id, "http", {"url": https_server + "/", "verify_tls": False})
        broken = add_monitor(
            asset.id, "http", {"url": https_server + "/broken", "verify_tls": False}
        )
        untrusted = add_monitor(asset.id, "http", {"url": https_server + "/"})
        assert poller.poll_once(NOW)["claimed"] == 3

        got = readings(ok)
        assert monitor(ok).state == "up"
        assert got[("http.status_code", "")].value == 200
        assert got[("http.latency_ms", "")].value > 0
        assert 29 < got[("http.cert_days_left", "")].value <= 30

        assert monitor(broken).state == "down"
        assert monitor(broken).last_error.endswith("/broken: HTTP 500")
        assert readings(broken)[("http.status_code", "")].value == 500

        # The local CA is not trusted by default: verification fails, with the reason.
        assert monitor(untrusted).state == "down"
        assert "certificate" in monitor(untrusted).last_error

        with pytest.raises(ValidationFailed) as exc:
            kinds.validate("http", {"url": "ftp://x", "timeout": "soon"})
        assert set(exc.value.errors) == {"url", "timeout"}


def test_checks_run_even_when_the_caller_runs_an_event_loop() -> None:
    """Playwright's sync API (browser tests) keeps a loop running in the main thread."""
    job = poller.Job(1, 1, "no-such-kind", {}, None, 60, "unknown")

    async def inside_a_loop() -> list[poller.Outcome]:
        return poller.run_checks([job], concurrency=2, timeout=5)

    # In a thread of its own: the main thread may already run such a loop (after browser tests).
    with ThreadPoolExecutor(1) as pool:
        [outcome] = pool.submit(asyncio.run, inside_a_loop()).result(30)
    assert outcome.state == "unknown" and "unsupported" in outcome.reason


def test_every_metric_a_kind_emits_is_in_the_vocabulary() -> None:
    import re
    from pathlib import Path

    from monitors.metrics import METRICS

    folder = Path(__file__).parents[2].joinpath("monitors", "kinds")
    source = "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py")))
    emitted = set(re.findall(r'reading\("([a-z_.]+)"', source))
    assert emitted and emitted <= set(METRICS), emitted - set(METRICS)


def test_latest_values_are_each_monitors_newest_poll(db_app: Flask) -> None:
    def put(asset_id: int, monitor_id: int | None, at: datetime, metric: str, value: Any) -> None:
        number = value if isinstance(value, int | float) else None
        db.session().add(
            Reading(
                asset_id=asset_id,
                monitor_id=monitor_id,
                metric=metric,
                instance="",
                at=at,
                value=number,
                text=None if number is not None else value,
            )
        )

    with db_app.app_context():
        ups, room = factories.asset("UPS-L1"), factories.asset("ROOM-L1")
        db.session().flush()
        snmp_m = add_monitor(ups.id, "tcp", {"host": "127.0.0.1", "port": 1})
        other = add_monitor(ups.id, "tcp", {"host": "127.0.0.1", "port": 2})
        early, late = NOW - timedelta(minutes=2), NOW - timedelta(minutes=1)
        put(ups.id, snmp_m, early, "ups.battery.charge_percent", 90)
        put(ups.id, snmp_m, late, "ups.battery.charge_percent", 80)
        put(ups.id, snmp_m, late, "ups.output.source", "battery")
        put(ups.id, other, early, "ups.battery.charge_percent", 99)  # older than snmp_m's
        put(ups.id, other, early, "tcp.connect_ms", 1.5)
        put(room.id, None, early, "env.temperature_c", 24.5)  # seeded, no monitor
        put(room.id, None, NOW - timedelta(hours=3), "env.humidity_percent", 40)  # stale
        db.session().commit()

        got = queries.latest_values(since=NOW - timedelta(hours=1))
        assert {
            a: {k[0]: (r.value, r.text, r.at) for k, r in v.items()} for a, v in got.items()
        } == {
            ups.id: {
                "ups.battery.charge_percent": (80, None, late),
                "ups.output.source": (None, "battery", late),
                "tcp.connect_ms": (1.5, None, early),
            },
            room.id: {"env.temperature_c": (24.5, None, early)},
        }
        only = queries.latest_values(
            [ups.id], ["ups.battery.charge_percent"], since=NOW - timedelta(hours=1)
        )
        assert {a: list(v) for a, v in only.items()} == {
            ups.id: [("ups.battery.charge_percent", "")]
        }
        assert queries.latest_values([], since=NOW - timedelta(hours=1)) == {}
        # the data age of a device whose monitors stored nothing this cycle
        assert poller._newest_reading(db.session(), ups.id) == late
        assert poller._newest_reading(db.session(), room.id) is None  # no monitor
        prefixed = queries.latest_values(metric_prefix="env.", since=NOW - timedelta(days=1))
        assert {k[0] for k in prefixed[room.id]} == {"env.temperature_c", "env.humidity_percent"}
