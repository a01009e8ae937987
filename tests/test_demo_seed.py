"""The demo site's seed, on SQLite and PostgreSQL: what `opskit demo --seed-only` creates."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import func, select

from opskit import db
from opskit.clock import site_tz
from opskit.demo import devices, recordings
from opskit.demo.cli import demo_cmd
from reports.build import build_pack
from reports.periods import parse_period


def _count(model, *where) -> int:
    return db.session().scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_demo_seed_builds_a_whole_site_and_runs_again_without_seeding(db_app: Flask) -> None:
    from assets.models import Asset, AssetKind, IPAddress, Link, Prefix, Rack, Room
    from inspections.logbook.models import AccessEntry, PowerEvent
    from inspections.models import PatrolFinding, PatrolPlan, PatrolRound
    from monitors.models import Monitor, Reading
    from opskit.alerts.models import Alert, Incident

    runner = db_app.test_cli_runner()
    result = runner.invoke(demo_cmd, ["--seed-only", "--snmp-port-base", "0"])
    assert result.exit_code == 0, result.output
    assert "Creating the demo site" in result.output
    assert "login:    admin" in result.output

    with db_app.app_context():
        # the registry: two rooms, eight racks, 60+ assets of every kind
        assert _count(Room) == 2 and _count(Rack) == 8
        assert _count(Asset) >= 60
        kinds = set(db.session().scalars(select(Asset.kind).distinct()))
        assert kinds == {k.value for k in AssetKind}
        assert "一号机房" in set(db.session().scalars(select(Room.name)))
        assert _count(Prefix) == 8 and _count(IPAddress) >= 60 and _count(Link) >= 40
        # monitors: one SNMP monitor per simulated device, the host monitor for this machine
        snmp = list(db.session().scalars(select(Monitor).where(Monitor.kind == "snmp")))
        assert len(snmp) == len(devices.DEVICES)
        assert {m.settings["host"] for m in snmp} == {"127.0.0.1"}
        # no SNMP community in a monitor's name or the audit log, both readable by viewers
        communities = {d.community for d in devices.DEVICES}
        from opskit.models import AuditLog

        shown = [m.name for m in snmp] + [
            f"{row.summary} {row.changes}" for row in db.session().scalars(select(AuditLog))
        ]
        assert not [text for text in shown if any(c in text for c in communities)]
        assert _count(Monitor, Monitor.kind == "host") == 1
        # history: the steady UPS's recorded values, every 2 h then every 30 min, for two weeks
        ups = db.session().scalar(select(Asset).where(Asset.asset_tag == devices.STEADY_UPS))
        loads = list(
            db.session().scalars(
                select(Reading.value).where(
                    Reading.asset_id == ups.id, Reading.metric == "ups.output.load_percent"
                )
            )
        )
        steady = recordings.probe_at(devices.recording(devices.by_tag(devices.STEADY_UPS)), 0)
        want = next(
            m["value"] for m in steady["metrics"] if m["metric"] == "ups.output.load_percent"
        )
        assert len(loads) > 14 * 12 and set(loads) == {want}
        oldest = db.session().scalar(select(func.min(Reading.at)))
        newest = db.session().scalar(select(func.max(Reading.at)))
        assert 13.5 <= (newest - oldest).total_seconds() / 86400 <= 14.5
        # room A's probe warms up in the afternoon: its history spans several degrees
        temps = list(
            db.session().scalars(select(Reading.value).where(Reading.metric == "env.temperature_c"))
        )
        assert max(temps) - min(temps) >= 5
        # alerts in every state, flapping and silenced ones, incidents open and closed
        statuses = set(db.session().scalars(select(Alert.status).distinct()))
        assert statuses == {"firing", "acknowledged", "resolved"}
        assert set(db.session().scalars(select(Alert.urgency).where(Alert.status == "firing"))) >= {
            "A",
            "B",
            "C",
        }
        assert _count(Alert, Alert.flapping.is_(True)) >= 1
        assert _count(Alert, Alert.silenced.is_(True)) >= 1
        assert _count(Alert, Alert.onsite_at.is_not(None), Alert.status != "resolved") >= 1
        assert _count(Incident, Incident.status == "open") == 1
        assert _count(Incident, Incident.status == "closed") == 1
        # patrol: plans, two weeks of submitted rounds, findings (one still open)
        assert _count(PatrolPlan) == 3
        assert _count(PatrolRound, PatrolRound.status == "submitted") >= 30
        assert _count(PatrolFinding) >= 2
        assert _count(PatrolFinding, PatrolFinding.closed_at.is_(None)) >= 1
        # logbook
        assert _count(AccessEntry) >= 14 and _count(PowerEvent) >= 3
        assets_before = _count(Asset)
        # the database servers' traffic, derived from the recorded counters like the poller does
        db3 = db.session().scalar(select(Asset).where(Asset.asset_tag == "ZJ-SRV-003"))
        traffic = list(
            db.session().scalars(
                select(Reading.value).where(
                    Reading.asset_id == db3.id, Reading.metric == "if.in_bps"
                )
            )
        )
        assert len(traffic) > 14 * 12 and max(traffic) > 0
        # ... so the load report of the demo covers them: every family, with values
        year = parse_period(str((newest - timedelta(days=7)).astimezone(site_tz()).year), site_tz())
        out = db_app.instance_path + "/demo-load.xlsx"
        build_pack(year, out, kinds=["load", "patrol"])
        book = load_workbook(out, read_only=True)
        cover = {r[0]: r[1] for r in book["封面"].iter_rows(min_row=3, values_only=True)}
        # the plans have been in force since the history begins: their rounds count as done
        # (the year of a week ago holds at least a week of the history: 4 slots a day)
        assert cover["计划巡检次数"] >= 20
        assert int(cover["完成巡检次数"].split()[0]) >= 0.5 * cover["计划巡检次数"]  # a few missed
        summary = book["负载汇总"]
        values = {(r[0], r[3]): r[5] for r in summary.iter_rows(min_row=4, values_only=True)}
        for tag in ("ZJ-SRV-003", "ZJ-SRV-004"):
            for family in ("CPU", "内存", "存储（最满的卷）", "流量（入 + 出）"):
                assert values[(tag, family)] > 0, (tag, family)

    # a second run on the demo's database does not seed again
    result = runner.invoke(demo_cmd, ["--seed-only", "--snmp-port-base", "0"])
    assert result.exit_code == 0, result.output
    assert "Creating the demo site" not in result.output
    assert "opskit user passwd admin" in result.output
    with db_app.app_context():
        assert _count(Asset) == assets_before


def test_demo_refuses_a_database_it_did_not_create_until_reset(app: Flask) -> None:
    from assets import services
    from assets.models import Asset

    with app.app_context():
        services.save_asset({"asset_tag": "REAL-001", "name": "真实服务器", "kind": "server"})
        db.session().commit()
    result = app.test_cli_runner().invoke(demo_cmd, ["--seed-only"])
    assert result.exit_code == 1
    assert "did not create" in result.output and "--reset" in result.output
    with app.app_context():
        assert [a.asset_tag for a in db.session().scalars(select(Asset))] == ["REAL-001"]

    # --reset deletes everything (after asking; --yes does not ask) and seeds the demo site
    result = app.test_cli_runner().invoke(demo_cmd, ["--reset", "--seed-only"], input="n\n")
    assert result.exit_code == 1
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Asset)) == 1
    result = app.test_cli_runner().invoke(demo_cmd, ["--reset", "--yes", "--seed-only"])
    assert result.exit_code == 0, result.output
    assert re.search(r"password: \S+", result.output), result.output
    with app.app_context():
        tags = set(db.session().scalars(select(Asset.asset_tag)))
        assert "REAL-001" not in tags and devices.STEADY_UPS in tags


def test_an_older_demo_database_loses_the_communities_in_monitor_names(app: Flask) -> None:
    from monitors import services
    from monitors.models import Monitor
    from opskit.demo import seed
    from tests import factories

    with app.app_context():
        asset = factories.asset("ZJ-UPS-01", kind="ups")
        settings = {"host": "127.0.0.1", "port": 1, "version": "2c", "timeout": 2, "retries": 1}
        services.add_monitor(
            asset.id, "snmp", settings, {"community": "ups-a"}, name="demo-agent ups-a"
        )
        db.session().commit()
        assert seed.point_monitors_at(16100) == 1
        db.session().commit()
        monitor = db.session().scalar(select(Monitor))
        assert monitor.name == seed.DEMO_MONITOR_NAME and monitor.settings["port"] == 16100
