"""Tracking findings across imports, on every database under test: matching hosts to assets,
due dates by importance, the alert for a new critical finding on a core asset, the same file
twice, a later scan (seen again, fixed), an accepted risk that expires, a dry run, a bad file."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from inspections.vulns import queries, services
from inspections.vulns.models import VulnFinding, VulnScan, VulnScanHost
from opskit import clock, db
from opskit.alerts import wording
from opskit.alerts.models import Alert
from opskit.alerts.services import SOURCE_LABELS
from tests import factories
from tests.vulns.scans import Item, ScanHost, nessus

# every time is the scans' own (2026-03) or frozen on the clock
pytestmark = pytest.mark.dateless

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on site, 2 March
T1 = T0 + timedelta(days=30)


def _first_scan(folder: Path) -> Path:
    return nessus(
        folder / "march.nessus",
        T0,
        [
            ScanHost(
                "10.0.0.1",
                items=[Item("1001", 443, 4, cves=("CVE-2024-3094",)), Item("1002", 22, 2)],
            ),
            ScanHost("10.0.0.2", fqdn="web02.example.com", items=[Item("1003", 80, 3)]),
            ScanHost(
                "10.0.0.9", mac="AA:BB:CC:DD:EE:09", items=[Item("1004", 161, 1, protocol="udp")]
            ),
        ],
    )


def _finding(plugin: str) -> VulnFinding:
    row = db.session().scalar(select(VulnFinding).where(VulnFinding.plugin_id == plugin))
    assert row is not None
    return row


def _count(model: type) -> int:
    return db.session().scalar(select(func.count()).select_from(model)) or 0


def test_import_and_track_across_scans(db_app: Flask, tmp_path: Path) -> None:
    with db_app.app_context(), clock.frozen(T0 + timedelta(hours=1)):
        core = factories.asset("SRV-001", name="db01", importance="core", mgmt_ip="10.0.0.1")
        general = factories.asset("SRV-002", name="web02", importance="general")
        db.session().commit()

        first = services.import_file(_first_scan(tmp_path))
        db.session().commit()
        assert (first.hosts, first.hosts_matched) == (3, 2)
        assert first.hosts_unmatched == [
            {"ip": "10.0.0.9", "hostname": "", "mac": "aa:bb:cc:dd:ee:09"}
        ]
        assert (first.findings_new, first.findings_seen_again, first.findings_fixed) == (4, 0, 0)
        assert first.alerts_raised == 1
        hosts = {
            h.ip: (h.asset_id, h.matched_by) for h in db.session().scalars(select(VulnScanHost))
        }
        assert hosts == {
            "10.0.0.1": (core.id, "ip"),
            "10.0.0.2": (general.id, "hostname"),  # web02.example.com → the asset web02
            "10.0.0.9": (None, ""),
        }
        # due dates: severity × importance (tracking.yaml) from the site's date of the scan
        due = {f.plugin_id: f.due_date for f in db.session().scalars(select(VulnFinding))}
        assert due == {
            "1001": date(2026, 3, 9),  # critical on core: 7 days
            "1002": date(2026, 4, 1),  # medium on core: 30 days
            "1003": date(2026, 5, 1),  # high on general: 60 days
            "1004": date(2026, 8, 29),  # low, unregistered host: 180 days
        }
        critical = _finding("1001")
        alert = db.session().get(Alert, critical.alert_id)
        assert alert is not None
        assert (alert.asset_id, alert.urgency, alert.source) == (core.id, "A", "vulns")
        assert "CVE-2024-3094" in alert.message
        assert _finding("1003").alert_id is None  # high, but on a general asset

        again = services.import_file(tmp_path / "march.nessus")
        db.session().commit()
        assert again.already_imported and again.scan_id == first.scan_id
        assert (_count(VulnScan), _count(VulnFinding)) == (1, 4)

    with db_app.app_context(), clock.frozen(T1 + timedelta(hours=1)):
        later = nessus(
            tmp_path / "april.nessus",
            T1,
            [
                ScanHost("10.0.0.1", items=[Item("1001", 443, 4)]),  # 1002 patched
                ScanHost(
                    "10.0.0.9", items=[Item("1004", 161, 1, protocol="udp"), Item("1005", 0, 3)]
                ),
            ],  # 10.0.0.2 not scanned this time: its finding stays open
        )
        kept_before = _finding("1001")  # loaded in this session before the import
        second = services.import_file(later)
        db.session().commit()
        assert kept_before.last_seen == T1  # the session's copy is current after the import
        got = (second.findings_new, second.findings_seen_again, second.findings_fixed)
        assert got == (1, 2, 1)
        assert second.alerts_raised == 0  # the new one is on an unregistered host
        assert _count(VulnFinding) == 5
        kept = _finding("1001")
        assert (kept.first_seen, kept.last_seen, kept.state) == (T0, T1, "open")
        assert kept.first_scan_id == first.scan_id and kept.last_scan_id == second.scan_id
        fixed = _finding("1002")
        assert (fixed.state, fixed.fixed_by_scan_id, fixed.fixed_at) == (
            "fixed",
            second.scan_id,
            T1,
        )
        assert _finding("1003").state == "open"

        # an accepted risk until 15 April; reopened once the site's date is past it
        services.set_state(
            kept,
            "accepted",
            reason="vendor patch in May",
            approver="张经理",
            accepted_until=date(2026, 4, 15),
        )
        db.session().commit()
        with pytest.raises(ValueError, match="needs approver, accepted_until"):
            services.set_state(_finding("1003"), "accepted", reason="r")
        assert services.reopen_expired() == 0

    with db_app.app_context(), clock.frozen(datetime(2026, 4, 15, 15, 59, tzinfo=UTC)):
        assert services.reopen_expired() == 0  # 23:59 on site on the 15th: still accepted
    with db_app.app_context(), clock.frozen(datetime(2026, 4, 15, 16, 0, tzinfo=UTC)):
        assert services.reopen_expired() == 1  # 00:00 on site on the 16th
        db.session().commit()
        reopened = _finding("1001")
        assert reopened.state == "open" and "acceptance ended 2026-04-15" in reopened.state_reason
        # accepting resolved its alert; reopening raises a new one (critical on core)
        statuses = {a.id: a.status for a in db.session().scalars(select(Alert))}
        assert statuses == {critical.alert_id: "resolved", reopened.alert_id: "firing"}

        # a dry run counts and writes nothing; a fixed finding found again is reopened
        third = nessus(
            tmp_path / "may.nessus",
            T1 + timedelta(days=20),
            [ScanHost("10.0.0.1", items=[Item("1001", 443, 4), Item("1002", 22, 2), Item("1006")])],
        )
        dry = services.import_file(third, dry_run=True)
        db.session().rollback()
        assert (dry.findings_new, dry.findings_seen_again, dry.findings_reopened) == (1, 2, 1)
        assert dry.alerts_raised == 1 and dry.scan_id is None
        assert (_count(VulnScan), _count(VulnFinding), _count(Alert)) == (2, 5, 2)
        services.import_file(third)
        db.session().commit()
        assert _finding("1002").state == "open" and _finding("1002").fixed_by_scan_id is None
        assert (_count(VulnScan), _count(VulnFinding), _count(Alert)) == (3, 6, 3)

        # the next scan proves 1006 fixed: its alert is resolved; 1001's stays firing
        alert_1006 = _finding("1006").alert_id
        services.import_file(
            nessus(
                tmp_path / "june.nessus",
                T1 + timedelta(days=40),
                [ScanHost("10.0.0.1", items=[Item("1001", 443, 4), Item("1002", 22, 2)])],
            )
        )
        db.session().commit()
        assert _finding("1006").state == "fixed"
        statuses = {a.id: a.status for a in db.session().scalars(select(Alert))}
        assert statuses == {
            critical.alert_id: "resolved",
            reopened.alert_id: "firing",
            alert_1006: "resolved",
        }

        # the reads: overdue on the site's date (16 April), an asset's findings, unregistered
        assert [f.plugin_id for f in queries.overdue()] == ["1001", "1002"]  # due 9 Mar, 1 Apr
        assert [f.plugin_id for f in queries.findings_of_asset(core.id)] == ["1001", "1006", "1002"]
        assert [h.ip for h in queries.unregistered_hosts(first.scan_id or 0)] == ["10.0.0.9"]
        assert queries.counts_by_severity_and_state()[("critical", "fixed")] == 1


def test_a_bad_file_writes_nothing(db_app: Flask, tmp_path: Path) -> None:
    path = nessus(
        tmp_path / "bad.nessus",
        T0,
        [ScanHost("10.0.0.1", items=[Item("1")]), ScanHost("10.0.0.2", items=[Item("2")])],
    )
    text = path.read_text(encoding="utf-8")
    cut = text.rfind('severity="4"')  # the second host's item
    path.write_text(text[:cut] + 'severity="x"' + text[cut + 12 :], encoding="utf-8")
    with db_app.app_context(), clock.frozen(T0):
        with pytest.raises(services.ImportRefused, match=r"number 2 \(10.0.0.2\): severity 'x'"):
            services.import_file(path)
        db.session().rollback()
        assert (_count(VulnScan), _count(VulnScanHost), _count(VulnFinding)) == (0, 0, 0)


def test_the_cli_prints_the_summary_and_refuses_clearly(db_app: Flask, tmp_path: Path) -> None:
    runner = db_app.test_cli_runner()
    path = _first_scan(tmp_path)
    with clock.frozen(T0):
        dry = runner.invoke(args=["vulns", "import", str(path), "--dry-run", "--json"])
        assert dry.exit_code == 0, dry.output
        summary = json.loads(dry.output)
        assert {k: summary[k] for k in ("scanner", "hosts", "hosts_matched", "findings_new")} == {
            "scanner": "nessus",
            "hosts": 3,
            "hosts_matched": 0,
            "findings_new": 4,
        }
        assert summary["dry_run"] is True and summary["hosts_unmatched"] == 3
        assert len(summary["unmatched_hosts"]) == 3
        done = runner.invoke(args=["vulns", "import", str(path)])
        assert done.exit_code == 0, done.output
        assert "nessus: 3 hosts (0 registered), 0 services, 4 new findings" in done.output
        assert "not registered: 10.0.0.9 (aa:bb:cc:dd:ee:09)" in done.output
        bad = tmp_path / "x.csv"
        bad.write_text("IP地址,漏洞名称,风险等级,责任人\n", encoding="utf-8")
        refused = runner.invoke(args=["vulns", "import", str(bad)])
        assert refused.exit_code == 1
        assert "unknown column '责任人' (column D)" in refused.output
        assert "nothing was imported" in refused.output
        finding_id = 1
        past = runner.invoke(
            args=["vulns", "set-state", str(finding_id), "accepted", "--reason", "r",
                  "--approver", "张经理", "--until", "2026-03-01"],
        )  # fmt: skip
        assert past.exit_code == 2 and "accepted_until: 2026-03-01 is already past" in past.output
        ok = runner.invoke(
            args=["vulns", "set-state", str(finding_id), "accepted", "--reason", "r",
                  "--approver", "张经理", "--until", "2026-06-30"],
        )  # fmt: skip
        assert ok.exit_code == 0, ok.output
    with db_app.app_context():
        assert _count(VulnScan) == 1
        accepted = queries.get_finding(finding_id)
        assert accepted is not None
        assert (accepted.state, accepted.approver, accepted.accepted_until) == (
            "accepted",
            "张经理",
            date(2026, 6, 30),
        )


def test_the_alerts_are_named_in_both_languages(app: Flask) -> None:
    with app.test_request_context():
        with force_locale("zh_Hans_CN"):
            assert wording.rule_title("vulns.critical") == "漏洞扫描 · 严重"
            assert wording.rule_title("vulns.high") == "漏洞扫描 · 高危"
            assert str(SOURCE_LABELS["vulns"]) == "漏洞扫描"
        with force_locale("en"):
            assert wording.rule_title("vulns.critical") == "Vulnerability scan · Critical risk"
        assert wording.rule_title("vulns.nonsense") is None


def test_a_chinese_csv_export_is_tracked_in_site_time(db_app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "绿盟.csv"
    path.write_bytes(
        "\r\n".join(
            [
                "IP地址,主机名,端口,漏洞名称,风险等级,CVE编号,解决办法,扫描时间",
                "10.2.0.5,fw01,443/tcp,SSL/TLS 弱加密算法,中危,CVE-2016-2183,禁用 3DES,"
                "2026-03-02 10:00:00",
                "10.2.0.5,fw01,22,SSH 弱口令,紧急,,修改口令,2026-03-02 10:05:00",
            ]
        ).encode("gb18030")
    )
    with db_app.app_context(), clock.frozen(T1):
        firewall = factories.asset("FW-01", kind="firewall", name="fw01", importance="core")
        db.session().commit()
        summary = services.import_file(path)
        db.session().commit()
        assert (summary.scanner, summary.hosts_matched, summary.findings_new) == ("csv", 1, 2)
        assert summary.alerts_raised == 1  # 紧急 on a core firewall
        rows = {f.name: f for f in db.session().scalars(select(VulnFinding))}
        weak = rows["SSL/TLS 弱加密算法"]
        assert (weak.port, weak.protocol, weak.cves) == (443, "tcp", ["CVE-2016-2183"])
        assert weak.first_seen == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 on site
        assert weak.asset_id == firewall.id and weak.solution == "禁用 3DES"
        assert (weak.due_date, rows["SSH 弱口令"].due_date) == (date(2026, 4, 1), date(2026, 3, 9))
