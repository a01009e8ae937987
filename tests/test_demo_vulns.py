"""The living demo's vulnerability scans (``opskit.demo.vulns``): two scans a month apart, the
router's finding fixed between them (verified by the second scan, its alert cleared), the UPS's
critical finding overdue with its alert open, an accepted risk, a finding being fixed, a host no
one registered; and the report kind 漏洞扫描与修补 on the demo. What is expected is worked out
here from ``data/vulns.yaml``, the CSV files and the seed's "now"."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from importlib import resources
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from assets.models import Asset
from inspections.vulns import queries
from inspections.vulns.models import VulnFinding, VulnScan, VulnScanHost
from opskit import clock, db
from opskit.alerts.models import Alert
from opskit.demo.datafiles import load
from reports.build import build_pack
from reports.periods import parse_period
from tests.conftest import demo_app, demo_seeded_at

pytestmark = pytest.mark.xdist_group("demo_vulns")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-vulns")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _rows(name: str) -> list[dict[str, str]]:
    folder = resources.files("opskit.demo") / "data" / "vulns"
    return list(csv.DictReader((folder / name).read_text(encoding="utf-8").splitlines()))


def test_two_scans_a_month_apart_with_a_fix_between(demo: Flask) -> None:
    data = load("vulns")
    first, second = (_rows(s["file"]) for s in data["scans"])
    with demo.app_context():
        now = demo_seeded_at()
        today = now.astimezone(clock.site_tz()).date()
        expected = [
            datetime.combine(today - timedelta(days=s["days_ago"]), time(data["hour"]))
            .replace(tzinfo=clock.site_tz())
            .astimezone(UTC)
            for s in data["scans"]
        ]
        scans = list(db.session().scalars(select(VulnScan).order_by(VulnScan.started_at)))
        assert [s.file_name for s in scans] == [s["file"] for s in data["scans"]]
        assert [_aware(s.started_at) for s in scans] == expected
        assert (expected[1] - expected[0]).days == 30
        # informational rows are not findings
        assert [s.findings_count for s in scans] == [
            sum(1 for r in rows if r["风险等级"] != "信息") for rows in (first, second)
        ]
        # the host no one registered, in both scans
        stray = {h.ip for h in db.session().scalars(select(VulnScanHost)) if h.asset_id is None}
        assert stray == {"10.10.0.99"}

        tags = {a.id: a.asset_tag for a in db.session().scalars(select(Asset))}
        found = {
            (tags.get(f.asset_id or 0, f.host_ip), f.plugin_id): f
            for f in db.session().scalars(select(VulnFinding))
        }
        keys = {(r["IP地址"], r["漏洞编号"]) for r in first + second if r["风险等级"] != "信息"}
        assert len(found) == len(keys)
        # the router's OpenSSL finding: not in the second scan, fixed by it, its alert cleared
        fixed = found[("ZJ-RT-001", "RSAS-70418")]
        assert fixed.state == "fixed" and fixed.fixed_by_scan_id == scans[1].id
        assert fixed.fixed_at is not None and _aware(fixed.fixed_at) == expected[1]
        alert = db.session().get(Alert, fixed.alert_id)
        assert alert is not None and alert.urgency == "B" and not alert.is_open
        # the UPS's critical finding: in both scans, due 7 days after the first: overdue
        ups = found[("ZJ-UPS-A1", "RSAS-71093")]
        assert ups.state == "open" and ups.severity == "critical"
        assert ups.due_date == expected[0].astimezone(clock.site_tz()).date() + timedelta(days=7)
        assert [f.id for f in queries.overdue(today)] == [ups.id]  # the only one overdue
        alert = db.session().get(Alert, ups.alert_id)
        assert alert is not None and alert.urgency == "A" and alert.is_open
        # the accepted risk, with its reason, approver and last day; the one being fixed
        (accept,) = [s for s in data["states"] if s["state"] == "accepted"]
        risk = found[("ZJ-FW-002", "RSAS-62183")]
        assert (risk.state, risk.approver, risk.state_reason) == (
            "accepted",
            accept["approver"],
            accept["reason"],
        )
        set_on = (expected[0] + timedelta(days=accept["days_after"], hours=2)).astimezone(
            clock.site_tz()
        )
        assert risk.accepted_until == set_on.date() + timedelta(days=accept["accepted_days"])
        assert found[("ZJ-SW-001", "RSAS-60117")].state == "in_progress"
        # the second core switch's finding is new in the second scan
        assert _aware(found[("ZJ-SW-002", "RSAS-60117")].first_seen) == expected[1]


def test_the_report_kind_on_the_demo(demo: Flask, tmp_path: Path) -> None:
    """The pack of the quarter of the second scan, as of the seed's "now" (or of its end): its
    scans, the fixed finding and the overdue one, in English words."""
    with demo.test_request_context("/"):
        now = demo_seeded_at()
        second = db.session().scalars(select(VulnScan).order_by(VulnScan.started_at.desc()))
        at = _aware(second.first().started_at)  # type: ignore[union-attr]
        local = at.astimezone(clock.site_tz())
        period = parse_period(f"{local.year}Q{(local.month - 1) // 3 + 1}", clock.site_tz())
        out = tmp_path / "vulns.xlsx"
        build_pack(period, out, ["vulns"], lang="en", now=max(now, at + timedelta(hours=1)))
        scans_in = [
            s
            for s in db.session().scalars(select(VulnScan))
            if period.contains(_aware(s.started_at))
        ]
    book = openpyxl.load_workbook(out)
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(min_row=3, values_only=True)}
    assert cover["Vulnerabilities fixed and verified"] == 1
    scans = list(book["Vulnerability scans"].iter_rows(min_row=4, values_only=True))
    assert [(r[3], r[1]) for r in scans] == [(s.file_name, "CSV") for s in scans_in]
    assert cover["Vulnerabilities overdue"] == 1
    late = list(book["Vulnerabilities overdue"].iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[8], r[11]) for r in late] == [("ZJ-UPS-A1", "Critical risk", "Pending fix")]
    fixed = [r[0] for r in book["Vulnerabilities fixed"].iter_rows(min_row=4, values_only=True)]
    assert fixed == ["ZJ-RT-001"]
    accepted = list(book["Accepted risks"].iter_rows(min_row=4, values_only=True))
    assert [(r[0], r[12]) for r in accepted] == [("ZJ-FW-002", "赵军（主管）")]
