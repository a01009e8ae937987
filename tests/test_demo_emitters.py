"""The living demo's devices talk back (``opskit.demo.emitters``): an hour replayed against the
real receivers and their database writers (SQLite and PostgreSQL), each device sending from its
own loopback address as the demo does.

The hours are fixed instants (the recordings' curves are functions of Unix time), never today:
the suite is re-run with the clock shifted and these replays do not care."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from monitors import services as monitor_services
from monitors.models import SnmpTrap
from monitors.syslog.models import SyslogMessage
from opskit import db
from opskit.alerts.models import Alert
from opskit.demo import devices, emitters, recordings, run
from tests import factories
from tests.conftest import login

#: 2026-05-28 20:00 UTC, an hour like any other (its battery episode is at 20:12)
HOUR = 1_779_998_400
ARRIVAL_S = 10.0  # a bound for a hung receiver, not a speed goal

pytestmark = pytest.mark.skipif(
    not run.loopback_aliases(), reason="the devices' loopback addresses (127.0.0.101 ...)"
)


def _monitored(tag: str, kind: str) -> int:
    """The demo device's asset with its SNMP monitor at the device's own address."""
    device = devices.by_tag(tag)
    asset = factories.asset(tag, kind)
    monitor_services.add_monitor(
        asset.id,
        "snmp",
        {"host": devices.address(device), "port": 16161, "version": "2c"},
        {"community": device.community},
    )
    return asset.id


@pytest.fixture
def listening(db_app: Flask) -> Iterator[emitters.Targets]:
    """The demo's two receivers on free 127.0.0.1 ports, with their writers, like ``run``."""
    with db_app.app_context():
        factories.asset("ZJ-UPS-A1", "ups")  # an unmonitored asset first: ids are not tags
        ids = {
            devices.BATTERY_TEST_UPS: _monitored(devices.BATTERY_TEST_UPS, "ups"),
            "ZJ-SW-001": _monitored("ZJ-SW-001", "switch"),
            "ZJ-SRV-003": _monitored("ZJ-SRV-003", "server"),
        }
        db.session().commit()
    with run.receivers(db_app, 0, 0) as (trap_port, syslog_port):
        targets = emitters.Targets(trap_port, syslog_port, devices.addresses())
        db_app.config["TEST_ASSET_IDS"] = ids
        yield targets


def _wait(app: Flask, found: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + ARRIVAL_S
    with app.app_context():
        while True:
            db.session().rollback()
            value = found()
            if value:
                return value
            if time.monotonic() > deadline:
                pytest.fail(f"not within {ARRIVAL_S} s: {what}")
            time.sleep(0.05)


def test_an_hour_has_one_battery_episode_as_the_recording_says() -> None:
    changes = emitters.battery_changes(HOUR, HOUR + 3600)
    assert [going for _at, going in changes] == [True, False]
    (start, _), (end, _) = changes
    assert 240 <= end - start <= 480  # "about six minutes of every hour"
    # the trap is sent in the second the agent itself starts answering "battery"
    text = devices.recording(devices.by_tag(devices.BATTERY_TEST_UPS))
    for at, battery in ((start - 1, False), (start, True), (end - 1, True), (end, False)):
        probed = recordings.probe_at(text, at)
        found = {m["metric"]: m["value"] for m in probed["metrics"]}
        assert (found["ups.output.source"] == "battery") is battery, at


def test_the_schedule_is_a_function_of_time_and_rare() -> None:
    week = emitters.schedule(HOUR - 7 * 86400, HOUR, tz="Asia/Shanghai")
    pieces = [
        e
        for k in range(7 * 24)
        for e in emitters.schedule(HOUR - 7 * 86400 + k * 3600, HOUR - 7 * 86400 + (k + 1) * 3600)
    ]
    assert pieces == week  # any window, the same story
    assert week != emitters.schedule(HOUR - 7 * 86400, HOUR, seed=17)
    per_hour = len(week) / (7 * 24)
    assert 3 <= per_hour <= 12, per_hour  # a few an hour
    traps = [e for e in week if e.is_trap]
    assert sum(e.trap_oid == emitters.UPS_TRAP_ON_BATTERY for e in traps) == 7 * 24
    assert any(e.trap_oid == emitters.LINK_DOWN for e in traps)
    assert {e.tag for e in week} == {
        devices.BATTERY_TEST_UPS,
        *emitters.SWITCHES,
        *emitters.SERVERS,
    }


def test_the_battery_episode_raises_one_alert_and_the_clear_trap_resolves_it(
    db_app: Flask, db_client: FlaskClient, listening: emitters.Targets
) -> None:
    ups = db_app.config["TEST_ASSET_IDS"][devices.BATTERY_TEST_UPS]
    sent = [e for e in emitters.schedule(HOUR, HOUR + 3600) if e.tag == devices.BATTERY_TEST_UPS]
    assert [e.trap_oid for e in sent] == [
        emitters.UPS_TRAP_ON_BATTERY,
        emitters.UPS_ALARM_ADDED,
        emitters.UPS_ALARM_REMOVED,
    ]
    for k, emission in enumerate(sent, start=1):  # seconds and minutes apart, as scheduled
        emitters.send(emission, listening)
        _wait(db_app, lambda k=k: _count(SnmpTrap) == k, f"trap {k} stored")

    def resolved() -> Alert | None:
        return db.session().scalar(
            select(Alert).where(
                Alert.dedup_key == f"trap:asset{ups}:ups_on_battery", Alert.status == "resolved"
            )
        )

    alert = _wait(db_app, resolved, "the battery episode's alert raised and cleared")
    with db_app.app_context():
        alerts = list(db.session().scalars(select(Alert).where(Alert.asset_id == ups)))
        assert [a.id for a in alerts] == [alert.id]  # one alert: both raising traps count once
        assert (alert.urgency, alert.rule, alert.count) == ("A", "trap.ups_mib.ups_on_battery", 2)
        traps = list(db.session().scalars(select(SnmpTrap).order_by(SnmpTrap.id)))
        assert [(t.asset_id, t.source, t.version) for t in traps] == [
            (ups, devices.address(devices.by_tag(devices.BATTERY_TEST_UPS)), "2c")
        ] * 3
        assert traps[0].varbinds[emitters.UPS_MINUTES_REMAINING] >= 30  # from the recording
        assert [t.actions for t in traps] == [
            "raise ups_on_battery",
            "raise ups_on_battery",
            "clear ups_on_battery",
        ]
    login(db_client, "viewer")
    page = db_client.get(f"/alerts/{alert.id}").get_data(as_text=True)
    assert "UPS 电池供电" in page  # the trap rule's title, in words
    listed = db_client.get("/monitoring/traps/").get_data(as_text=True)
    assert listed.count("data-oid=") == 3 and devices.BATTERY_TEST_UPS in listed
    # what the rules did, in words: never the condition's key
    assert listed.count("UPS 电池供电") == 3 and "ups_on_battery" not in listed


def _count(model: Any) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def _hour_with(found: Callable[[emitters.Emission], bool]) -> int:
    for k in range(24 * 14):
        start = HOUR + k * 3600
        if any(found(e) for e in emitters.schedule(start, start + 3600)):
            return start
    raise AssertionError("no such hour in a fortnight")


def test_switch_and_server_syslog_is_parsed_and_matched_to_their_assets(
    db_app: Flask, listening: emitters.Targets
) -> None:
    ids = db_app.config["TEST_ASSET_IDS"]
    start = _hour_with(lambda e: e.tag == "ZJ-SW-001" and e.trap_oid == emitters.LINK_DOWN)
    sent = [
        e for e in emitters.schedule(start, start + 3600) if e.tag in ("ZJ-SW-001", "ZJ-SRV-003")
    ]
    for emission in sent:
        emitters.send(emission, listening)
    lines = [e for e in sent if not e.is_trap]

    def stored() -> int:
        return (db.session().scalar(select(func.count()).select_from(SyslogMessage)) or 0) >= len(
            lines
        )

    _wait(db_app, stored, f"{len(lines)} syslog messages")
    with db_app.app_context():
        rows = list(db.session().scalars(select(SyslogMessage).order_by(SyslogMessage.id)))
        by_program = {(r.program, r.asset_id): r for r in rows}
        down = by_program[("IFNET/4/IF_STATE", ids["ZJ-SW-001"])]
        assert (down.facility, down.severity, down.hostname) == (23, 4, "zj-core-01")
        assert down.text == "Interface 10GE1/0/6 has turned into DOWN state."
        up = by_program[("IFNET/6/IF_STATE", ids["ZJ-SW-001"])]
        assert up.severity == 6 and up.text.endswith("has turned into UP state.")
        cron = by_program[("CRON", ids["ZJ-SRV-003"])]  # RFC 5424 over TCP, octet-counted
        assert (cron.facility, cron.severity, cron.hostname) == (9, 6, "zj-db-03")
        assert cron.text == "(postgres) CMD (/usr/local/bin/pgbackup --incremental)"
        assert {r.source for r in rows} == {
            devices.address(devices.by_tag("ZJ-SW-001")),
            devices.address(devices.by_tag("ZJ-SRV-003")),
        }
    # the port's flap as traps too: its link-down alert raised and cleared per interface
    link = _wait(
        db_app,
        lambda: db.session().scalar(
            select(Alert).where(
                Alert.dedup_key == f"trap:asset{ids['ZJ-SW-001']}:link_down:12",
                Alert.status == "resolved",
            )
        ),
        "linkDown/linkUp of 10GE1/0/6",
    )
    assert link.urgency == "B"


def test_the_live_loop_sends_what_falls_due(db_app: Flask, listening: emitters.Targets) -> None:
    """``run`` with an injected clock: an hour in 12 steps sends exactly that hour's messages."""
    steps = iter([HOUR + k * 300 for k in range(13)])
    stop = threading.Event()
    last: list[float] = []

    def now() -> float:
        try:
            last.append(next(steps))
        except StopIteration:
            stop.set()
        return last[-1]

    with db_app.app_context():
        emitters.run(stop, listening, now=now, tick_s=0)
    expected = emitters.schedule(HOUR, HOUR + 3600)
    lines = sum(not e.is_trap for e in expected)
    traps = sum(e.is_trap for e in expected)

    def arrived() -> bool:
        s = db.session().scalar(select(func.count()).select_from(SyslogMessage)) or 0
        t = db.session().scalar(select(func.count()).select_from(SnmpTrap)) or 0
        return (s, t) == (lines, traps)

    _wait(db_app, arrived, f"{lines} syslog messages and {traps} traps")


def test_seeded_history_goes_through_the_receivers_writers(db_app: Flask) -> None:
    with db_app.app_context():
        factories.asset("ZJ-UPS-A1", "ups")
        ups = _monitored(devices.BATTERY_TEST_UPS, "ups")
        switch = _monitored("ZJ-SW-001", "switch")
        db.session().commit()
        now = datetime.fromtimestamp(HOUR, UTC)
        counts = emitters.seed_history(now, 2, devices.addresses())
        db.session().commit()
        assert counts["traps"] == db.session().scalar(select(func.count()).select_from(SnmpTrap))
        assert counts["syslog"] == db.session().scalar(
            select(func.count()).select_from(SyslogMessage)
        )
        on_battery = list(
            db.session().scalars(select(Alert).where(Alert.rule == "trap.ups_mib.ups_on_battery"))
        )
        assert len(on_battery) == 48 and {a.status for a in on_battery} == {"resolved"}
        assert {a.asset_id for a in on_battery} == {ups}
        newest = db.session().scalar(select(func.max(SnmpTrap.received_at)))
        assert newest is not None and newest.replace(tzinfo=UTC) <= now
        assert db.session().scalar(
            select(func.count()).select_from(SyslogMessage).where(SyslogMessage.asset_id == switch)
        )
