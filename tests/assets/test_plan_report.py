"""The planning workbook (``assets.plan_report``, ``opskit plan --report``) for a plan on the
seeded room of ``test_plan`` (its docstring lists the room), read back with openpyxl. Every
figure below is worked out by hand from that room:

The plan: ``app``, 2U, 300 W, two feeds, one 10G port, one address of 10.1.2.0/29. The fit
puts it in R1 U5-U6 (R1's runs: U3 and U5-U10), on SW1 XGigabitEthernet1/0/1 (the one free 10G
port), address 10.1.2.5 (.1 gateway, .2-.4 registered).

- R1: 3 of 10 U used (U1-U2, U4), longest free run 6U; 900 W measured of 2,000 W per feed:
  45 % on failover, 1,200 W = 60 % after; units 30 % → 50 %.
- R2: 400 W (estimated) of 1,000 W on its one feed: 40 %. R4: 250 W of 3,000 W: 1/12.
- Room: 12 of 40 U used (30 %), 14 after (35 %); IT load 1,550 W of 4,000 W cooling
  (38.75 %), 1,850 W after (46.25 %: headroom 53.75 %, no risk).
- Ports: 10G 1 free, 1 taken, 0 after; 1G 1 free.
- 10.1.2.0/29: 4 of 6 used (66.7 %), 5 after (83.3 %): over 80 %, the one risk.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale

from assets import capacity, plan_report, plan_workbook
from assets.plan import fit, read_request
from opskit import clock
from tests.assets.test_plan import NOW, dev, seed_room
from tests.conftest import login, post_form

pytestmark = pytest.mark.xdist_group("plan_report")

APP = dev("app", 2, 300, feeds=2, ports={"10G": 1}, addresses={"prefix": "10.1.2.0/29"})


def table(book: Any, sheet: str, first_header: str) -> list[dict[str, Any]]:
    """The rows of ``sheet``'s table under the header row starting with ``first_header``."""
    rows = list(book[sheet].iter_rows(values_only=True))
    top = next(i for i, row in enumerate(rows) if row[0] == first_header)
    headers = rows[top]
    return [dict(zip(headers, row, strict=False)) for row in rows[top + 1 :]]


def test_planning_workbook(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "plan.xlsx"
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed_room()
        request = read_request({"devices": [APP]})
        model = capacity.load(now=NOW)
        answer = fit(request, model=model)
        report = plan_report.collect(request, answer, model, "OA-2027")
        plan_workbook.write(report, out, engineer="张伟", now=NOW)
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == [
        "Cover",
        "Racks now",
        "Rooms now",
        "Free ports",
        "IP prefixes now",
        "Placements",
        "New addresses",
        "Cabling",
        "Effect",
        "Risks",
    ]
    assert book.properties.title == "OA-2027 Equipment configuration and planning report"
    assert book.properties.creator == "张伟"
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True) if row[0]}
    assert cover["Plan name"] == "OA-2027"
    assert cover["Rooms"] == "总部/A机房"
    assert (cover["Devices"], cover["Units planned"], cover["Planned draw (W)"]) == (1, 2, 300)
    assert (cover["New addresses"], cover["Switch ports"], cover["Risks"]) == (1, 1, 1)

    racks = {r["Rack"]: r for r in table(book, "Racks now", "Room")}
    assert list(racks) == ["R1", "R2", "R3", "R4"]
    r1 = racks["R1"]
    assert (r1["U used"], r1["U free"], r1["Longest free run (U)"]) == (3, 7, 6)
    assert (r1["Draw (W)"], r1["Feed A rating (W)"], r1["Feed B rating (W)"]) == (900, 2000, 2000)
    assert r1["Feed A on failover"] == pytest.approx(900 / 2000)
    assert r1["Feed B on failover"] == pytest.approx(900 / 2000)
    assert r1["Draw from"] == "measured (95th percentile of the PDUs)"
    assert racks["R2"]["Feed A on failover"] == pytest.approx(400 / 1000)
    assert racks["R2"]["Feed B rating (W)"] is None
    assert racks["R4"]["Feed A on failover"] == pytest.approx(250 / 3000)
    assert racks["R3"]["Feed A rating (W)"] is None

    (room,) = table(book, "Rooms now", "Site")
    assert (room["IT load (W)"], room["Cooling capacity (W)"]) == (1550, 4000)
    assert room["Cooling used"] == pytest.approx(1550 / 4000)
    assert room["Free ports by speed"] == "10G ×1, 1G ×1"

    ports = {r["Speed"]: r for r in table(book, "Free ports", "Room")}
    assert [
        (s, r["Free now"], r["Taken by the plan"], r["Free after"]) for s, r in ports.items()
    ] == [
        ("10G", 1, 1, 0),
        ("1G", 1, 0, 1),
    ]
    (prefix,) = table(book, "IP prefixes now", "Prefix")
    assert (prefix["Prefix"], prefix["Usable"], prefix["Used"], prefix["Free"]) == (
        "10.1.2.0/29", 6, 4, 2,
    )  # fmt: skip
    assert prefix["Utilisation"] == pytest.approx(4 / 6)

    (placed,) = table(book, "Placements", "Device")
    assert (placed["Rack"], placed["From U"], placed["To U"]) == ("R1", 5, 6)
    assert (placed["Planned draw (W)"], placed["Feeds"], placed["New addresses"]) == (
        300, "A+B", "10.1.2.5",
    )  # fmt: skip
    assert table(book, "New addresses", "Device") == [
        {"Device": "app", "Prefix": "10.1.2.0/29", "Address": "10.1.2.5"}
    ]
    assert table(book, "Cabling", "Device") == [
        {
            "Device": "app",
            "Device port": "10G port 1",
            "Rack": "R1",
            "Switch": "SW1",
            "Switch port": "XGigabitEthernet1/0/1",
            "Speed": "10G",
        }
    ]
    effect = {
        (r["Name"], r["Figure"]): (r["Before"], r["After"]) for r in table(book, "Effect", "Scope")
    }
    assert effect[("R1", "Units used")] == pytest.approx((3 / 10, 5 / 10))
    assert effect[("R1", "Feed A on failover")] == pytest.approx((900 / 2000, 1200 / 2000))
    assert effect[("R1", "Feed B on failover")] == pytest.approx((900 / 2000, 1200 / 2000))
    assert effect[("R2", "Units used")] == pytest.approx((4 / 10, 4 / 10))
    assert effect[("A机房", "Units used")] == pytest.approx((12 / 40, 14 / 40))
    assert effect[("A机房", "Cooling used")] == pytest.approx((1550 / 4000, 1850 / 4000))
    assert effect[("10.1.2.0/29", "Addresses used")] == pytest.approx((4 / 6, 5 / 6))
    assert table(book, "Risks", "Scope") == [
        {
            "Scope": "Prefix",
            "Name": "10.1.2.0/29",
            "Risk": "5 of 6 addresses used after the plan (83 %), over 80 %.",
        }
    ]


def test_cli_report_in_chinese_and_refused_outputs(app: Flask, tmp_path: Path) -> None:
    with app.app_context():
        seed_room()
    runner = app.test_cli_runner()
    plan_file = tmp_path / "oa.yaml"
    # app goes to R1 U5-U6 (as above); the second, 1U, to the rack already used, its smallest
    # run: R1 U3 (900 + 300 + 100 = 1,300 W of 1,600 W)
    plan_file.write_text(
        "devices:\n  - {name: app, u: 2, watts: 300, feeds: 2}\n"
        "  - {name: '=cmd|x', u: 1, watts: 100}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out" / "oa.xlsx"
    with clock.frozen(NOW):
        refused = runner.invoke(args=["plan", str(plan_file), "--report", str(out)])
        assert refused.exit_code == 2 and "--parents" in refused.output
        assert not out.parent.exists()
        result = runner.invoke(args=["plan", str(plan_file), "--report", str(out), "--parents"])
        assert result.exit_code == 0, result.output
        device = runner.invoke(args=["plan", str(plan_file), "--report", "/dev/null"])
        assert device.exit_code == 2 and "not a regular file" in device.output
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "封面" and "风险" in book.sheetnames
    assert book.properties.title == "oa 设备配置现状及设备规划报告"
    placed = [
        (p["设备"], p["机柜"], p["起始 U"], p["结束 U"]) for p in table(book, "设备布置", "设备")
    ]
    assert placed == [("app", "R1", 5, 6), ("=cmd|x", "R1", 3, 3)]
    # a device named like a formula is written as text, never a formula
    ws = book["设备布置"]
    cell = next(c for row in ws.iter_rows() for c in row if c.value == "=cmd|x")
    assert cell.data_type == "s"


def test_the_page_downloads_a_candidates_workbook(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        seed_room()
    login(client, "viewer")  # a download writes nothing: any role may have it
    text = "room: A机房\ndevices:\n  - {name: app, u: 2, watts: 300, feeds: 2}\n"
    with clock.frozen(NOW):
        page = post_form(client, "/assets/plan", {"plan": text})
        assert 'data-report="1"' in page.get_data(as_text=True)
        got = post_form(client, "/assets/plan/report", {"plan": text, "candidate": "1"})
        missing = post_form(client, "/assets/plan/report", {"plan": text, "candidate": "9"})
    assert got.status_code == 200
    assert got.headers["Content-Disposition"] == "attachment; filename=plan-report-1.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(got.data))
    (placed,) = table(book, "设备布置", "设备")
    assert (placed["机柜"], placed["起始 U"], placed["结束 U"]) == ("R1", 5, 6)
    cover = {row[0]: row[1] for row in book["封面"].iter_rows(values_only=True) if row[0]}
    assert cover["规划名称"] == "规划"
    assert missing.status_code == 400
    assert "没有候选 9" in missing.get_data(as_text=True)
