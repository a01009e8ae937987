"""The demo site's seed, on SQLite and PostgreSQL: what `opskit demo --seed-only` creates."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from flask import Flask
from openpyxl import load_workbook
from pytest import approx
from sqlalchemy import func, select

from opskit import clock, db
from opskit.clock import site_tz
from opskit.demo import devices, emitters, recordings, run
from opskit.demo.cli import demo_cmd
from opskit.demo.datafiles import load
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
        # each at its device's own loopback address (where this system has them)
        by_asset = {a.id: a.asset_tag for a in db.session().scalars(select(Asset))}
        hosts = {by_asset[m.asset_id]: m.settings["host"] for m in snmp}
        shared = not run.loopback_aliases()
        assert hosts == {
            d.tag: "127.0.0.1" if shared else devices.address(d) for d in devices.DEVICES
        }
        # no SNMP community in a monitor's name or the audit log, both readable by viewers
        communities = {d.community for d in devices.DEVICES}
        from opskit.models import AuditLog

        shown = [m.name for m in snmp] + [
            f"{row.summary} {row.changes}" for row in db.session().scalars(select(AuditLog))
        ]
        assert not [text for text in shown if any(c in text for c in communities)]
        assert _count(Monitor, Monitor.kind == "host") == 1
        # the past week of the devices' traps and syslog, each matched to its asset
        from monitors.models import SnmpTrap
        from monitors.syslog.models import SyslogMessage

        traps = list(db.session().scalars(select(SnmpTrap)))
        assert len(traps) >= 7 * 24 * 3  # the battery-test UPS alone: three an hour
        assert {by_asset[t.asset_id] for t in traps} == {
            devices.BATTERY_TEST_UPS,
            "ZJ-SW-001",
            "ZJ-SW-002",
        }
        messages = list(db.session().scalars(select(SyslogMessage)))
        assert {by_asset[m.asset_id] for m in messages} == {
            "ZJ-SW-001",
            "ZJ-SW-002",
            "ZJ-SRV-003",
            "ZJ-SRV-004",
        }
        battery = select(Alert).where(Alert.rule == "trap.ups_mib.ups_on_battery")
        statuses = [a.status for a in db.session().scalars(battery)]
        # every episode's alert resolved by its clear-trap, but the one the seed ended in (the
        # UPS is on battery six minutes an hour): firing exactly when the UPS's last trap was
        # the way onto battery, not back
        ups_id = next(i for i, tag in by_asset.items() if tag == devices.BATTERY_TEST_UPS)
        last = db.session().scalar(
            select(SnmpTrap.trap_oid)
            .where(SnmpTrap.asset_id == ups_id)
            .order_by(SnmpTrap.received_at.desc(), SnmpTrap.id.desc())
            .limit(1)
        )
        still_on = last != emitters.UPS_ALARM_REMOVED  # the way back
        assert len(statuses) >= 7 * 24 - 1
        assert sorted(statuses) == ["firing"] * still_on + ["resolved"] * (len(statuses) - still_on)
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
        # configuration backups (tests/test_demo_configs.py reads them in detail): the devices,
        # their versions, the failing one's alert, the firmware upgrade done and read back
        from monitors.configs.models import ConfigDevice, ConfigVersion
        from monitors.configs.upgrades.models import ConfigUpgrade

        assert _count(ConfigDevice, ConfigDevice.enabled.is_(False)) == 4 == _count(ConfigDevice)
        assert _count(ConfigVersion) == 7
        assert _count(Alert, Alert.rule == "configs.failed", Alert.status == "firing") == 1
        assert _count(ConfigUpgrade, ConfigUpgrade.state == "done", ConfigUpgrade.matches) == 1
        # vulnerability scans (tests/test_demo_vulns.py reads them in detail): two scans, the
        # router's finding fixed by the second, the UPS's overdue one alerting, one accepted risk
        from inspections.vulns.models import VulnFinding, VulnScan

        assert _count(VulnScan) == 2
        assert _count(VulnFinding, VulnFinding.state == "fixed") == 1
        assert _count(VulnFinding, VulnFinding.state == "accepted") == 1
        assert _count(Alert, Alert.rule == "vulns.critical", Alert.status == "firing") == 1
        # logbook
        assert _count(AccessEntry) >= 14 and _count(PowerEvent) >= 3
        assets_before = _count(Asset)
        _check_service_desk_history()
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
        assert cover["完成巡检次数"] >= 0.5 * cover["计划巡检次数"]  # a few missed
        assert cover["巡检完成率"] == approx(cover["完成巡检次数"] / cover["计划巡检次数"])
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


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _check_service_desk_history() -> None:
    """The requests of the living demo: months of them, every way in, the contract's
    clocks mostly met and a few missed, the fix-by breach with its spare, vendor repairs."""
    from assets.models import Asset
    from opskit.alerts.models import Alert
    from opskit.alerts.queries import current_policy
    from opskit.servicedesk import categories, clocks
    from opskit.servicedesk.models import (
        Channel,
        Loan,
        Repair,
        RequestEvent,
        RequestSuspension,
        ServiceRequest,
        Survey,
    )
    from opskit.servicedesk.services import signature_png
    from opskit.sla import REQUEST_CLOCKS

    sess = db.session()
    now = clock.now()
    requests = list(sess.scalars(select(ServiceRequest).order_by(ServiceRequest.id)))
    assert 40 <= len(requests) <= 70
    # numbered in the order they were raised, all in the past, the oldest months ago
    assert [r.raised_at for r in requests] == sorted(r.raised_at for r in requests)
    assert all(r.raised_at < now for r in requests)
    assert now - requests[0].raised_at > timedelta(days=90)
    # figures for this quarter and the last one (site dates)
    today = now.astimezone(site_tz()).date()
    this_quarter = _quarter_start(today)
    last_quarter = _quarter_start(this_quarter - timedelta(days=1))
    days = [r.raised_at.astimezone(site_tz()).date() for r in requests]
    assert [d for d in days if d >= this_quarter]
    assert [d for d in days if last_quarter <= d < this_quarter]
    # who asks, how and about what: departments, people with phones, every channel, category
    departments = {r.requester_department for r in requests if r.requester_department}
    assert len(departments) >= 5 and {"财务部", "人力资源部", "生产部"} <= departments
    assert all(r.requester_name and r.requester_phone for r in requests)
    assert {r.channel for r in requests} == {c.value for c in Channel}
    assert {r.category for r in requests} == set(categories.categories())
    urgencies = [r.urgency for r in requests]
    assert urgencies.count("C") > len(urgencies) / 2 and {"A", "B"} <= set(urgencies)
    engineers = {p["username"] for p in load("site")["people"] if p["role"] == "engineer"}
    assert {r.assigned_to for r in requests if r.assigned_to} == engineers
    assert any(r.alert_id for r in requests) and any(r.finding_id for r in requests)
    # open now: in every state, the suspended one waiting for the vendor, one on site
    open_now = {r.status for r in requests if r.closed_at is None}
    assert open_now == {"new", "responded", "in_progress", "suspended", "resolved"}
    waiting = sess.scalars(select(RequestSuspension).where(RequestSuspension.ended_at.is_(None)))
    assert [s.reason for s in waiting] == ["waiting_vendor"]
    assert any(r.status == "in_progress" and r.onsite_at for r in requests)
    # closed: mostly confirmed by the requester, some by the auto-close
    closed = [r for r in requests if r.status == "closed"]
    assert {r.closed_how for r in closed} == {"confirmed", "auto"}
    # the clocks: mostly met, a few missed, every miss and warning told once, at its time
    policy = current_policy()
    states = {
        r.id: {c.clock: c.state for c in clocks.request_clocks(r, policy, now)} for r in closed
    }
    missed = {r for r, s in states.items() if "missed" in s.values()}
    assert 3 <= len(missed) <= len(closed) / 5
    assert {c for s in states.values() for c, state in s.items() if state == "missed"} == set(
        REQUEST_CLOCKS
    )
    sla = list(
        sess.scalars(
            select(RequestEvent).where(RequestEvent.kind.in_(["sla_warning", "sla_breached"]))
        )
    )
    breached = {(e.request_id, e.detail) for e in sla if e.kind == "sla_breached"}
    assert {r for r, _clock in breached} == missed
    by_id = {r.id: r for r in requests}
    for event in sla:
        req = by_id[event.request_id]
        assert req.raised_at < event.at < now and event.actor == "sla"
    # one notice per warning and breach (the alert list is not flooded: a dozen or so)
    notices = sess.scalars(select(Alert).where(Alert.source == "servicedesk"))
    assert sorted(a.first_seen for a in notices) == sorted(e.at for e in sla)
    assert len(sla) <= 20
    # the fix-by breach: a temporary measure after it, a spare server lent and returned
    (loan,) = sess.scalars(select(Loan))
    spare = sess.get(Asset, loan.asset_id)
    assert spare.status == "spare" and loan.returned_at is not None
    req = by_id[loan.request_id]
    assert (req.id, "fix_by") in breached and states[req.id]["fix_by"] == "missed"
    breach = next(e for e in sla if e.request_id == req.id and e.detail == "fix_by")
    assert req.temporary_measure and breach.at < req.temporary_measure_at == loan.lent_at
    assert req.resolved_at is not None and loan.lent_at < req.resolved_at < loan.returned_at
    # repairs: vendor cases with RMA numbers, parts swapped, signed by both sides
    repairs = list(sess.scalars(select(Repair)))
    assert len(repairs) >= 4
    assert len({sess.get(Asset, r.asset_id).importance for r in repairs}) == 3
    rma = [r for r in repairs if r.rma_number and r.vendor and r.vendor_case_number]
    assert {r.vendor for r in rma} >= {"浪潮", "华为"}
    for repair in rma:
        assert repair.vendor_engineer and repair.vendor_opened_at < repair.vendor_closed_at
        assert repair.parts and all(p.serial_out and p.serial_in for p in repair.parts)
        assert signature_png(repair.engineer_signature) and signature_png(repair.customer_signature)
        assert repair.signed_by_engineer and repair.signed_by_customer
        assert repair.request_id is not None and by_id[repair.request_id].status == "closed"
    assert any(r.cost and r.downtime_end for r in rma)
    # surveys: most closed requests answered, mostly 4-5, a few 3 with a comment, some not
    surveys = list(sess.scalars(select(Survey)))
    answered = [s for s in surveys if s.score is not None]
    assert len(answered) >= 0.8 * len(closed)
    assert sum(s.score >= 4 for s in answered) >= 0.85 * len(answered)
    assert [s for s in answered if s.score == 3 and s.comment]
    assert {s.via for s in answered} == {"link", "tablet"}
    assert [s for s in surveys if s.used_at is None and s.expires_at <= now]  # expired
    assert [s for s in surveys if s.used_at is None and s.expires_at > now]  # a link still open


def test_the_demo_requests_stay_in_the_past_whatever_the_day() -> None:
    """Each step of the demo's history falls on a working day before today, whatever today
    is: the "+Nd" steps of a request raised N working days ago come before that day ends, and
    those open now take their steps within the time since they were raised."""
    data = load("servicedesk")
    for spec in data["history"] + data["today"]:
        raised, steps = spec["raised"], spec.get("steps", [])
        times = []  # (step, its time): a step's own, a repair's vendor case, downtime, signing
        for step in steps:
            ((action, value),) = step.items()
            if action == "survey" or value == "auto":
                continue  # left for later when still to come
            if not isinstance(value, dict):
                times.append((action, value))
                continue
            times += [
                (action, value[k]) for k in ("at", "opened", "closed", "signed") if k in value
            ]
            times += [(action, t) for t in value.get("down", [])]
        title = spec.get("title")
        if "day" in raised:
            later = [int(t[1 : t.index("d")]) for _a, t in times if isinstance(t, str)]
            assert all(n < raised["day"] for n in later), title
            if raised["day"] == 1:  # today may be the next calendar day: minutes stay in it
                start = datetime.strptime(raised["at"], "%H:%M")
                for _action, t in times:
                    assert isinstance(t, int) and (start + timedelta(minutes=t)).day == start.day
        if "ago" in raised:
            ago = timedelta(**raised["ago"])
            assert all(timedelta(minutes=t) < ago for _a, t in times), title
        # steps in order
        minutes = [t for action, t in times if isinstance(t, int) and action != "repair"]
        assert minutes == sorted(minutes), title


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
