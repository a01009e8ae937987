"""The poller against misbehaving real agents (snmpsim): dead, slow, garbage values, counter
wrap, agent restart; SNMP v2c and v3; LLDP and ARP discovery. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from monitors import counters, poller, queries, snmp
from monitors.models import ArpSighting, CounterState, LldpNeighbor, Monitor, Reading
from monitors.probe import probe
from opskit import db
from tests import factories
from tests.monitors.conftest import (
    FIXTURES,
    OTHER_V3_AUTH_KEY,
    OTHER_V3_PRIV_KEY,
    V3_AUTH_KEY,
    V3_PRIV_KEY,
    V3_USER,
    Agent,
    running_snmpsim,
)
from tests.monitors.test_poller import add_monitor, dead_udp_port, flips, monitor, readings

# one agent per module fixture: its tests share one worker
pytestmark = pytest.mark.xdist_group("snmp_faults")

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MINUTE = timedelta(seconds=60)


@pytest.fixture(scope="session")  # once per worker: see tests/conftest.py
def slow_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """A second snmpsim whose sysDescr answers after 2.5 s (snmpsim's ``delay`` variation).

    Its own process: snmpsim sleeps in its one thread, which would also slow the other agent.
    """
    base = tmp_path_factory.mktemp("snmpsim-slow")
    (base / "data").mkdir()
    shutil.copy(FIXTURES / "slow" / "ups_slow.snmprec", base / "data" / "ups_slow.snmprec")
    # sysName is not delayed, so the launcher's readiness check answers at once
    with running_snmpsim(base, b"ups_slow") as agent:
        yield agent


def set_community(monitor_id: int, community: str) -> None:
    m = db.session().get(Monitor, monitor_id)
    m.secret = json.dumps({"community": community})
    db.session().commit()


def values_at(monitor_id: int, at: datetime, metric_prefix: str) -> dict[tuple[str, str], float]:
    rows = db.session().scalars(
        select(Reading).where(
            Reading.monitor_id == monitor_id,
            Reading.at == at,
            Reading.metric.startswith(metric_prefix),
        )
    )
    return {(r.metric, r.instance): r.value for r in rows}


def warm_up(agent: Agent) -> None:
    """The process's one SnmpEngine starts once (~1 s): not part of the cycles timed below."""
    probe(agent.host, agent.port, snmp.Credentials(community="ups_rfc1628"))


# On SQLite only: what it adds to the poller's PostgreSQL test (test_poller.py, a healthy and
# three dead agents: the claim, the readings, the states and their flips) is SNMP timing.
def test_dead_and_slow_agents_do_not_delay_a_healthy_one(
    app: Flask, snmp_agent: Agent, slow_agent: Agent
) -> None:
    with app.app_context():
        healthy_asset = factories.asset("UPS-OK")
        dead_asset = factories.asset("UPS-DEAD")
        slow_asset = factories.asset("UPS-SLOW")
        db.session().commit()
        quick = {"timeout": 3.0, "retries": 0}
        healthy = add_monitor(
            healthy_asset.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port, "timeout": 5.0, "retries": 0},
            {"community": "ups_rfc1628"},
            due=NOW,
        )
        dead = add_monitor(
            dead_asset.id,
            "snmp",
            {"host": "127.0.0.1", "port": dead_udp_port(), **quick},
            {"community": "public"},
            due=NOW,
        )
        slow = add_monitor(
            slow_asset.id,
            "snmp",
            {"host": slow_agent.host, "port": slow_agent.port, **quick},
            {"community": "ups_slow"},
            due=NOW,
        )
        warm_up(snmp_agent)

        started = time.monotonic()
        summary = poller.poll_once(NOW, concurrency=10, timeout=10)
        elapsed = time.monotonic() - started

        assert (summary["claimed"], summary["up"], summary["down"]) == (3, 1, 2)
        # The slow agent answers after 5 s and the dead one never: both are given up after
        # their own 3 s timeout, concurrently (one after the other would take 6 s or more),
        # while the healthy one is read. The margin is wide on purpose: CI machines are busy.
        assert elapsed < 5.0, elapsed
        assert monitor(healthy).state == "up"
        assert readings(healthy)[("ups.battery.charge_percent", "")].value == 100
        assert flips(healthy) == [("unknown", "up", "")]
        for down in (dead, slow):
            m = monitor(down)
            assert m.state == "down" and m.state_since == NOW
            [(old, new, reason)] = flips(down)
            assert (old, new) == ("unknown", "down")
            assert "127.0.0.1" in reason and reason == m.last_error
            assert readings(down) == {}
        assert "timeout" in monitor(slow).last_error.lower() or "no snmp" in (
            monitor(slow).last_error.lower()
        )

        # Next cycle: the dead agent stays down (no second flip), the healthy one stays up.
        poller.poll_once(NOW + MINUTE, concurrency=10, timeout=10)
        assert len(flips(dead)) == 1 and monitor(dead).state_since == NOW
        assert monitor(healthy).state == "up" and len(flips(healthy)) == 1


def test_garbage_values_are_skipped_with_a_logged_reason(
    db_app: Flask, snmp_agent: Agent, caplog: pytest.LogCaptureFixture
) -> None:
    with db_app.app_context():
        ups = factories.asset("UPS-GARBAGE")
        db.session().commit()
        mid = add_monitor(
            ups.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port},
            {"community": "ups_garbage"},
            due=NOW,
        )
        with caplog.at_level(logging.WARNING, logger="monitors"):
            assert poller.poll_once(NOW)["up"] == 1
        got = readings(mid)
        # upsEstimatedChargeRemaining is "n/a" and the output voltage "two hundred thirty":
        # skipped; the rest of the device is read and the monitor is up.
        assert ("ups.battery.charge_percent", "") not in got
        assert ("ups.output.voltage_v", "1") not in got
        assert got[("ups.battery.runtime_minutes", "")].value == 37
        assert got[("ups.output.load_percent", "1")].value == 42
        assert monitor(mid).state == "up" and monitor(mid).last_error == ""
        logged = caplog.text
        assert "ups.battery.charge_percent: b'n/a' is not a number" in logged
        assert "ups.output.voltage_v[1]: b'two hundred thirty' is not a number" in logged


def test_garbage_from_a_kind_is_skipped_by_the_poller(
    db_app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    with db_app.app_context():
        asset = factories.asset("ODD-2")
        db.session().commit()
        mid = add_monitor(asset.id, "tcp", {"host": "127.0.0.1", "port": 1})
        job = poller.Job(mid, asset.id, "tcp", {}, None, 60, "unknown")
        outcome = poller.Outcome(
            "up",
            "",
            [
                {"metric": "env.temperature_c", "instance": "a", "value": "warm"},
                {"metric": "env.temperature_c", "instance": "b", "value": float("nan")},
                {"metric": "env.temperature_c", "instance": "c", "value": True},
                {"metric": "ups.output.source", "instance": "", "value": "sideways"},
                {"metric": "no.such.metric", "instance": "", "value": 1},
                {"metric": "env.temperature_c", "instance": "d", "value": 22.5},
            ],
        )
        with caplog.at_level(logging.WARNING, logger="monitors"):
            poller._store(db.session(), job, outcome, NOW)
            db.session().commit()
        assert {k: r.value for k, r in readings(job.id).items()} == {
            ("env.temperature_c", "d"): 22.5
        }
        assert "env.temperature_c[a] = 'warm': expected a finite number" in caplog.text
        assert "ups.output.source[] = 'sideways': expected one of normal" in caplog.text
        assert "no.such.metric[] = 1: not a metric of the vocabulary" in caplog.text
        assert monitor(job.id).state == "up"


def interface_values(monitor_id: int, at: datetime) -> dict[tuple[str, str], float]:
    """The interface readings at ``at`` but the administrative status and speed (read every
    poll, test_port_states)."""
    return {
        k: v
        for k, v in values_at(monitor_id, at, "if.").items()
        if k[0] not in ("if.admin_status", "if.speed_bps")
    }


def test_counter_wrap_and_agent_restart(db_app: Flask, snmp_agent: Agent) -> None:
    with db_app.app_context():
        gw = factories.asset("EDGE-GW", kind="switch")
        db.session().commit()
        mid = add_monitor(
            gw.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port},
            {"community": "if_counters_t0"},
            due=NOW,
        )
        # First poll: counters remembered, no rate yet, counters are not readings.
        poller.poll_once(NOW)
        assert interface_values(mid, NOW) == {("if.oper_status", "eth0"): None} | {
            ("if.oper_status", "eth1"): None
        }
        state = db.session().get(CounterState, mid)
        assert state.counters == {
            "if.in_octets|eth0": [1_000_000_000_000, 64],
            "if.out_octets|eth0": [2_000_000_000_000, 64],
            "if.in_octets|eth1": [4294967000, 32],
            "if.out_octets|eth1": [1000, 32],
        }
        assert state.uptime_s == 1000

        # A minute later: eth0's 64-bit counters moved on; eth1's 32-bit in-counter wrapped.
        set_community(mid, "if_counters_t1")
        poller.poll_once(NOW + MINUTE)
        assert interface_values(mid, NOW + MINUTE) == {
            ("if.oper_status", "eth0"): None,
            ("if.oper_status", "eth1"): None,
            ("if.in_bps", "eth0"): 1_000_000,  # 7,500,000 octets in 60 s
            ("if.out_bps", "eth0"): 100_000,
            ("if.in_bps", "eth1"): 1_000,  # 4294967000 -> 7204 is 7,500 octets after the wrap
            ("if.out_bps", "eth1"): 10_000,
        }

        # The agent restarted (sysUpTime 30 s, counters small): no rate, no spike, still up.
        set_community(mid, "if_counters_restart")
        poller.poll_once(NOW + 2 * MINUTE)
        assert monitor(mid).state == "up"
        assert not [k for k in interface_values(mid, NOW + 2 * MINUTE) if k[0] != "if.oper_status"]

        # A minute after the restart the rates resume from the new counters.
        set_community(mid, "if_counters_restart_t1")
        poller.poll_once(NOW + 3 * MINUTE)
        assert {
            k: v for k, v in interface_values(mid, NOW + 3 * MINUTE).items() if v is not None
        } == {
            ("if.in_bps", "eth0"): 10_000,
            ("if.out_bps", "eth0"): 0,
            ("if.in_bps", "eth1"): 100,
            ("if.out_bps", "eth1"): 0,
        }
        # Every rate ever stored for this device: none is a spike.
        peak = db.session().scalar(
            select(Reading.value)
            .where(Reading.monitor_id == mid, Reading.metric.in_(("if.in_bps", "if.out_bps")))
            .order_by(Reading.value.desc())
            .limit(1)
        )
        assert peak == 1_000_000


def test_rate_rules() -> None:
    # plain difference
    assert counters.rate(1000, 1600, 60) == 10
    # a 32-bit counter wrapped once
    assert counters.rate(2**32 - 100, 500, 60, bits=32) == 10
    # a 32-bit counter went back by more than a plausible wrap: a reset, no rate
    assert counters.rate(2**31 - 10, 5, 60, bits=32) is None
    # a 64-bit counter never wraps: going backwards is a reset
    assert counters.rate(2**40, 500, 60, bits=64) is None
    # uptime went down, or is shorter than the interval: the agent restarted in between
    assert counters.rate(1000, 1600, 60, uptime=1000, previous_uptime=2000) is None
    assert counters.rate(1000, 1600, 60, uptime=30, previous_uptime=None) is None
    assert counters.rate(1000, 1600, 60, uptime=1060, previous_uptime=1000) == 10
    # no time passed
    assert counters.rate(1000, 1600, 0) is None


def test_snmp_v2c_and_v3_through_the_poller(
    db_app: Flask, snmp_agent: Agent, other_keys_agent: Agent
) -> None:
    with db_app.app_context():
        ups = factories.asset("UPS-V3")
        host = factories.asset("DB01-V3", kind="server")
        db.session().commit()
        where = {"host": snmp_agent.host, "port": snmp_agent.port}
        v2c = add_monitor(ups.id, "snmp", {**where, "version": "2c"}, {"community": "apc_ups"})
        v3_settings = {
            **where,
            "version": "3",
            "user": V3_USER,
            "auth_proto": "SHA",
            "priv_proto": "AES",
            "context": "apc_ups",
        }
        v3 = add_monitor(
            ups.id, "snmp", v3_settings, {"auth_key": V3_AUTH_KEY, "priv_key": V3_PRIV_KEY}
        )
        # The same user with a wrong key on another device, polled at the same moment: that
        # one is down, the others are not disturbed (one set of keys per v3 user at a time).
        wrong = add_monitor(
            ups.id,
            "snmp",
            {**v3_settings, "timeout": 1.0, "retries": 0},
            {"auth_key": "not-the-auth-key", "priv_key": V3_PRIV_KEY},
        )
        # Another device: the same user name with its own (right) keys, polled at the same
        # moment too. pysnmp's engine keeps one key set per user name: without one engine per
        # key set in use, one of the two devices fails with "Wrong SNMP PDU digest".
        other = add_monitor(
            host.id,
            "snmp",
            {
                **v3_settings,
                "host": other_keys_agent.host,
                "port": other_keys_agent.port,
                "context": "linux_host",
            },
            {"auth_key": OTHER_V3_AUTH_KEY, "priv_key": OTHER_V3_PRIV_KEY},
        )
        for at in (NOW, NOW + MINUTE):
            summary = poller.poll_once(at, concurrency=10)
            assert (summary["up"], summary["down"]) == (3, 1), at
        by_v2c, by_v3 = readings(v2c), readings(v3)
        assert by_v3 and {k: r.value for k, r in by_v3.items()} == {
            k: r.value for k, r in by_v2c.items()
        }
        assert {k: r.text for k, r in by_v3.items()} == {k: r.text for k, r in by_v2c.items()}
        assert any(m.startswith("ups.") for m, _ in by_v3)
        assert flips(v3) == [("unknown", "up", "")]
        assert monitor(wrong).state == "down"
        assert "digest" in monitor(wrong).last_error.lower()
        assert readings(wrong) == {}
        assert flips(other) == [("unknown", "up", "")]
        by_other = readings(other)
        assert by_other[("host.memory.used_percent", "")].value == 50  # UCD: no buffers, cache
        assert by_other[("host.storage.used_percent", "/var/lib/postgresql")].value == 95


def test_probes_of_one_v3_user_with_different_keys_at_once(
    snmp_agent: Agent, other_keys_agent: Agent
) -> None:
    """`opskit snmp probe` and the web's probe-and-add share the process's SNMP engines with
    the poller: probes of one user name with different keys run at the same moment, each
    against its own device, and none disturbs the others."""

    def v3(agent: Agent, context: str, auth_key: str, priv_key: str) -> dict:
        creds = snmp.Credentials(
            version="3",
            user=V3_USER,
            auth_proto="SHA",
            auth_key=auth_key,
            priv_proto="AES",
            priv_key=priv_key,
            context=context,
        )
        return probe(agent.host, agent.port, creds, timeout=2, retries=0)

    def wrong() -> str:
        try:
            v3(snmp_agent, "ups_rfc1628", "not-the-auth-key", V3_PRIV_KEY)
        except snmp.SnmpError as exc:
            return str(exc)
        return "answered"

    jobs = {
        "ups": lambda: v3(snmp_agent, "ups_rfc1628", V3_AUTH_KEY, V3_PRIV_KEY),
        "host": lambda: v3(other_keys_agent, "linux_host", OTHER_V3_AUTH_KEY, OTHER_V3_PRIV_KEY),
        "apc": lambda: v3(other_keys_agent, "apc_ups", OTHER_V3_AUTH_KEY, OTHER_V3_PRIV_KEY),
        "wrong": wrong,
    }
    with ThreadPoolExecutor(len(jobs) * 2) as pool:
        for _round in range(2):
            futures = {name: pool.submit(job) for name, job in jobs.items()}
            got = {name: f.result(30) for name, f in futures.items()}
            assert got["ups"]["sys_name"] == "ups-a1"
            assert "ups_mib" in got["ups"]["profiles"]
            assert got["host"]["sys_name"] == "db01"
            assert "host_resources" in got["host"]["profiles"]
            assert got["apc"]["sys_name"] == "apc-ups-b1"
            assert "digest" in got["wrong"].lower()


def test_lldp_neighbours_and_arp_sightings_are_stored(db_app: Flask, snmp_agent: Agent) -> None:
    with db_app.app_context():
        switch = factories.asset("sw-core-1", kind="switch")
        db01 = factories.asset("DB01", kind="server")
        db.session().commit()
        mid = add_monitor(
            switch.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port},
            {"community": "switch_lldp"},
            due=NOW,
        )
        poller.poll_once(NOW)
        [n] = db.session().scalars(select(LldpNeighbor)).all()
        assert (n.asset_id, n.local_port, n.remote_sys_name, n.remote_port) == (
            switch.id,
            "Gi1/0/1",
            "db01",
            "eno1",
        )
        assert n.remote_chassis_id == "3c:fd:fe:00:00:01"
        assert n.remote_asset_id == db01.id  # matched by name, case aside
        assert (n.first_seen, n.last_seen) == (NOW, NOW)
        arp = {
            (a.ip, a.mac, a.interface): (a.first_seen, a.last_seen)
            for a in db.session().scalars(select(ArpSighting))
        }
        assert arp == {
            ("10.0.10.21", "3c:fd:fe:1a:2b:3c", "Vl10"): (NOW, NOW),
            ("10.0.10.22", "00:1b:21:aa:bb:cc", "Vl10"): (NOW, NOW),
            ("fe80::3efd:feff:fe1a:2b3c", "3c:fd:fe:1a:2b:3c", "Vl10"): (NOW, NOW),
        }

        # Polled again: the same rows, seen until the later poll.
        later = NOW + 5 * MINUTE
        db.session().execute(
            Monitor.__table__.update().where(Monitor.id == mid).values(next_due_at=later)
        )
        db.session().commit()
        poller.poll_once(later)
        db.session().expire_all()
        rows = db.session().scalars(select(LldpNeighbor)).all()
        assert [(r.first_seen, r.last_seen) for r in rows] == [(NOW, later)]
        sightings = db.session().scalars(select(ArpSighting)).all()
        assert len(sightings) == 3
        assert {(a.first_seen, a.last_seen) for a in sightings} == {(NOW, later)}

        # The report/topology queries see them in a period that overlaps the polls.
        assert [r.id for r in queries.lldp_neighbours_between(later, later + MINUTE)] == [n.id]
        assert queries.lldp_neighbours_between(later + MINUTE, later + 2 * MINUTE) == []
        ips = [a.ip for a in queries.arp_sightings_between(NOW - MINUTE, NOW + MINUTE)]
        assert ips == ["10.0.10.21", "10.0.10.22", "fe80::3efd:feff:fe1a:2b3c"]


@pytest.mark.parametrize("max_engines", [1, 2])
def test_engines_per_v3_key_set_are_bounded(
    snmp_agent: Agent, other_keys_agent: Agent, monkeypatch: pytest.MonkeyPatch, max_engines: int
) -> None:
    """Two key sets for one user name take two engines; with one engine allowed, the second
    device waits for the first one's requests instead of failing."""
    from monitors.probe import probe_async

    pool = snmp._Engines()
    monkeypatch.setattr(snmp, "_engines", pool)
    monkeypatch.setattr(snmp, "MAX_ENGINES", max_engines)

    def client(agent: Agent, context: str, auth_key: str, priv_key: str) -> snmp.SnmpClient:
        creds = snmp.Credentials(
            version="3",
            user=V3_USER,
            auth_proto="SHA",
            auth_key=auth_key,
            priv_proto="AES",
            priv_key=priv_key,
            context=context,
        )
        return snmp.SnmpClient(agent.host, agent.port, creds, timeout=2, retries=0)

    async def both() -> list[dict]:
        return await asyncio.gather(
            probe_async(client(snmp_agent, "ups_rfc1628", V3_AUTH_KEY, V3_PRIV_KEY)),
            probe_async(
                client(other_keys_agent, "linux_host", OTHER_V3_AUTH_KEY, OTHER_V3_PRIV_KEY)
            ),
            probe_async(client(snmp_agent, "apc_ups", V3_AUTH_KEY, V3_PRIV_KEY)),
        )

    try:
        for _round in range(2):
            ups, host, apc = snmp.run(both(), timeout=60)
            assert (ups["sys_name"], host["sys_name"], apc["sys_name"]) == (
                "ups-a1",
                "db01",
                "apc-ups-b1",
            )
        # the same keys share an engine; the other key set has its own when allowed
        assert len(pool.engines) == max_engines
        assert pool.engines[0] is snmp._get_engine()
        assert sum(V3_USER in users for users in pool.users) == max_engines
        assert all(entry[1] == 0 for users in pool.users for entry in users.values())
    finally:
        snmp.run(_close(pool))


async def _close(pool: snmp._Engines) -> None:
    pool.close()
