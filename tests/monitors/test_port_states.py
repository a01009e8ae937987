"""The poller stores each interface's administrative status and speed next to its operational
status (IF-MIB ifAdminStatus; ifHighSpeed x 1,000,000, else ifSpeed), and the capacity model
(``assets.capacity``) reads them: a port an administrator shut down is not free, and a port's
speed is the one read, not guessed from its name. Against snmpsim's ``switch_ports`` recording:

- XGE1/0/1: up, ifSpeed saturated (4294967295), ifHighSpeed 10000: 10 Gbit/s;
- XGE1/0/2: administratively down (and down), 10 Gbit/s;
- Eth1/0/3: down, ifHighSpeed 25000 (a name that says no speed): 25 Gbit/s;
- GE1/0/4: down, ifSpeed 1,000,000,000 and no ifHighSpeed: 1 Gbit/s.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from assets import capacity
from monitors import poller
from monitors.models import Reading
from opskit import db
from tests import factories
from tests.monitors.conftest import Agent
from tests.monitors.test_faults import NOW
from tests.monitors.test_poller import add_monitor
from tests.monitors.test_probe import v2c, value


def test_the_probe_reads_admin_status_and_speed(snmp_agent: Agent) -> None:
    result = v2c(snmp_agent, "switch_ports")
    assert [value(result, "if.admin_status", p) for p in ("XGE1/0/1", "XGE1/0/2")] == [
        "up",
        "down",
    ]
    assert value(result, "if.oper_status", "XGE1/0/2") == "down"
    assert {
        p: value(result, "if.speed_bps", p) for p in ("XGE1/0/1", "XGE1/0/2", "Eth1/0/3", "GE1/0/4")
    } == {
        "XGE1/0/1": 10_000_000_000,
        "XGE1/0/2": 10_000_000_000,
        "Eth1/0/3": 25_000_000_000,
        "GE1/0/4": 1_000_000_000,
    }


def test_the_poller_stores_them_and_the_capacity_model_reads_them(
    db_app: Flask, snmp_agent: Agent
) -> None:
    with db_app.app_context(), db_app.test_request_context():
        rack = factories.rack(site="总部", room="A机房", name="A01")
        switch = factories.asset("SW-9", kind="switch", rack=rack, u_position=42)
        db.session().commit()
        mid = add_monitor(
            switch.id,
            "snmp",
            {"host": snmp_agent.host, "port": snmp_agent.port},
            {"community": "switch_ports"},
            due=NOW,
        )
        poller.poll_once(NOW)
        stored = {
            (r.metric, r.instance): r.text if r.text is not None else r.value
            for r in db.session().scalars(
                select(Reading).where(
                    Reading.monitor_id == mid,
                    Reading.metric.in_(("if.admin_status", "if.speed_bps")),
                )
            )
        }
        assert stored == {
            ("if.admin_status", "XGE1/0/1"): "up",
            ("if.admin_status", "XGE1/0/2"): "down",
            ("if.admin_status", "Eth1/0/3"): "up",
            ("if.admin_status", "GE1/0/4"): "up",
            ("if.speed_bps", "XGE1/0/1"): 10_000_000_000,
            ("if.speed_bps", "XGE1/0/2"): 10_000_000_000,
            ("if.speed_bps", "Eth1/0/3"): 25_000_000_000,
            ("if.speed_bps", "GE1/0/4"): 1_000_000_000,
        }
        model = capacity.load(now=NOW + timedelta(minutes=5))
        (room,) = model.rooms.values()
        # XGE1/0/1 is up; XGE1/0/2 was shut down by an administrator: neither is free
        assert [(p.switch, p.port, p.speed) for p in room.ports] == [
            ("SW-9", "Eth1/0/3", "25G"),
            ("SW-9", "GE1/0/4", "1G"),
        ]
