"""The 机房环境与供电 kind on a seeded 2026Q3, read back with openpyxl.

The clock is set to 2026-10-10 (the quarter is over). Room A's two probes have 5-minute
rollups on three days of each month, room B's probe only raw readings (a site whose rollups do
not run yet); a UPS has load and battery rollups and on-battery alerts (overlapping, before the
quarter, across its start); a PDU has current rollups and a rated current. Every expected
figure is computed here from the seeded values; SQLite and PostgreSQL.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import openpyxl
from flask import Flask
from flask_babel import force_locale
from pytest import approx

from monitors.models import Reading, Resolution, Rollup
from opskit import clock, db
from opskit.alerts.models import Alert
from reports.build import build_pack
from reports.kinds import KINDS, Context
from reports.periods import parse_period
from tests import factories
from tests.reports.rollups import five_minute

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 10, 10, 10, 0, tzinfo=TZ)
START = datetime(2026, 7, 1, tzinfo=TZ)
END = datetime(2026, 10, 1, tzinfo=TZ)
FIVE = int(Resolution.FIVE_MINUTES)
#: three days of each month with 5-minute rollups
DAYS = [START + timedelta(days=d) for d in (3, 4, 5, 34, 35, 36, 65, 66, 67)]


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def slots() -> list[datetime]:
    return [day + timedelta(minutes=5 * i) for day in DAYS for i in range(288)]


def probe_value(k: int, offset: float) -> float:
    """A temperature that leaves 18–27 °C now and then: 22 ± 6 over a 97-slot cycle."""
    return round(22 + offset + 6 * math.sin(k * 2 * math.pi / 97), 3)


def rollup(asset_id: int, metric: str, at: datetime, value: float, instance: str = "") -> Rollup:
    return five_minute(asset_id, metric, instance, at, value, spread=0.5)


def alert(asset_id: int, rule: str, first: str, resolved: str | None, key: str) -> Alert:
    return Alert(
        dedup_key=key,
        source="monitor",
        rule=rule,
        asset_id=asset_id,
        urgency="A",
        message="UPS 电池供电",
        status="resolved" if resolved else "firing",
        first_seen=local(first),
        last_seen=local(resolved or first),
        resolved_at=local(resolved) if resolved else None,
    )


def seed() -> dict[str, Any]:
    sess = db.session()
    rack_a = factories.rack(room="A机房", name="A01")
    rack_b = factories.rack(room="B机房", name="B01")
    room_a, room_b = rack_a.room, rack_b.room
    p1 = factories.asset("ENV-A1", kind="sensor", room=room_a)
    p2 = factories.asset("ENV-A2", kind="sensor", room=room_a)
    p3 = factories.asset("ENV-B1", kind="sensor", room=room_b)
    ups = factories.asset("UPS-1", kind="ups", name="1号UPS", room=room_a)
    pdu = factories.asset(
        "PDU-A01",
        kind="pdu",
        name="机柜 PDU",
        rack=rack_a,
        room=room_a,
        specs={"额定电流(A)": "16 A"},
    )
    factories.asset("PDU-B01", kind="pdu", name="无额定 PDU", rack=rack_b, room=room_b)
    times = slots()
    temps: dict[int, list[tuple[datetime, float]]] = {p1.id: [], p2.id: []}
    rows = []
    for k, at in enumerate(times):
        for probe, offset in ((p1.id, 0.0), (p2.id, 1.5)):
            value = probe_value(k, offset)
            temps[probe].append((at, value))
            rows.append(rollup(probe, "env.temperature_c", at, value, "probe"))
        rows.append(rollup(p1.id, "env.humidity_percent", at, 50.0, "probe"))
        load = 40 + (k * 37) % 50  # 40..89 %
        rows.append(rollup(ups.id, "ups.output.load_percent", at, float(load), "1"))
        rows.append(rollup(ups.id, "ups.battery.charge_percent", at, 100.0 - (k % 7), ""))
        rows.append(rollup(pdu.id, "pdu.current_a", at, 5 + (k * 13) % 11, "1"))
    # outside the quarter: not counted
    rows.append(rollup(p1.id, "env.temperature_c", local("2026-06-30 23:55"), 60.0, "probe"))
    rows.append(rollup(p1.id, "env.temperature_c", local("2026-10-01 00:00"), 60.0, "probe"))
    sess.add_all(rows)
    raw = [
        ("2026-08-01 10:00:10", 24.0),
        ("2026-08-01 10:02:10", 29.0),  # same 5-minute slot: one slot outside
        ("2026-08-01 10:07:00", 30.0),  # the next slot: outside
        ("2026-08-02 10:00:00", 17.0),  # below 18: outside
        ("2026-08-03 10:00:00", 20.0),
    ]
    for when, value in raw:
        sess.add(
            Reading(
                asset_id=p3.id,
                metric="env.temperature_c",
                instance="t",
                at=local(when),
                value=value,
            )
        )
    sess.add_all(
        [
            # reading rule and trap condition of one power cut: one episode 08-10 09:00–09:40
            alert(ups.id, "ups.on_battery", "2026-08-10 09:00", "2026-08-10 09:30", "u1"),
            alert(
                ups.id, "trap.apc_ups.ups_on_battery", "2026-08-10 09:01", "2026-08-10 09:40", "u2"
            ),
            alert(ups.id, "ups.on_battery", "2026-09-02 14:00", "2026-09-02 14:12", "u3"),
            alert(ups.id, "ups.on_battery", "2026-06-30 23:50", "2026-07-01 00:20", "u4"),
            alert(ups.id, "ups.on_battery", "2026-06-01 10:00", "2026-06-01 10:05", "u5"),
            alert(ups.id, "ups.battery_low", "2026-08-10 09:35", "2026-08-10 09:45", "u6"),
        ]
    )
    sess.commit()
    return {"temps": temps, "times": times}


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.ceil(q * len(ordered)) - 1]


def table(ws: Any) -> list[tuple[Any, ...]]:
    return [r for r in ws.iter_rows(min_row=4, values_only=True)]


def test_environment_sheets(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        seeded = seed()
        build_pack(parse_period("2026Q3", TZ), out, ["environment"])
    book = openpyxl.load_workbook(out)
    span_h = (END - START).total_seconds() / 3600

    # --- rooms: A's two probes pooled, 18–27 °C and 40–60 %RH (the patrol checklist's) ---
    rows = {(r[1], r[2]): r for r in table(book["机房温湿度"])}
    assert [c.value for c in book["机房温湿度"][3]][:4] == ["站点", "机房", "测量项", "单位"]
    temps = seeded["temps"]
    values = [v for series in temps.values() for _, v in series]
    outside = {at for series in temps.values() for at, v in series if v + 0.5 > 27 or v - 0.5 < 18}
    a = rows[("A机房", "温度")]
    assert a[3:6] == ("°C", 18, 27)
    assert a[6] == approx(round(min(values) - 0.5, 1))
    assert a[7] == approx(round(sum(values) / len(values), 1))
    assert a[8] == approx(round(max(values) + 0.5, 1))
    hours = len(outside) * 5 / 60
    assert a[9] == approx(round(hours, 2))
    assert a[10] == approx(hours / span_h)
    assert a[11] == 5 * len(values)
    humid = rows[("A机房", "相对湿度")]
    assert humid[3:12] == ("%RH", 40, 60, 49.5, 50.0, 50.5, 0, 0, 5 * len(seeded["times"]))
    # B: raw readings in 5-minute slots: 10:00 (29 inside it), 10:05 (30), 08-02 (17)
    b = rows[("B机房", "温度")]
    assert b[6:12] == (17.0, 24.0, 30.0, 0.25, approx(0.25 / span_h), 5)
    assert ("B机房", "相对湿度") not in rows  # no probe: no row

    # --- UPS ---
    times = seeded["times"]
    loads = [40 + (k * 37) % 50 for k in range(len(times))]
    (ups,) = table(book["UPS负载与电池"])
    assert ups[:3] == ("UPS-1", "1号UPS", "A机房")
    assert ups[3] == approx(round(nearest_rank([float(x) for x in loads], 0.95), 1))
    assert ups[4] == max(loads)
    assert ups[5] == 100.0 - 6 - 0.5  # the lowest slot's minimum
    assert ups[6] is None and ups[7] is None  # no runtime, no battery temperature
    assert ups[8:] == (1, 3, 20 + 40 + 12)  # a battery-low alert; minutes inside the quarter

    episodes = table(book["UPS电池供电记录"])
    assert [(r[2], r[3], r[4]) for r in episodes] == [
        (datetime(2026, 7, 1, 0, 0), datetime(2026, 7, 1, 0, 20), 20.0),
        (datetime(2026, 8, 10, 9, 0), datetime(2026, 8, 10, 9, 40), 40.0),
        (datetime(2026, 9, 2, 14, 0), datetime(2026, 9, 2, 14, 12), 12.0),
    ]
    assert {r[0] for r in episodes} == {"UPS-1"}

    # --- PDU: 95th percentile of the current against 16 A; the other's rating unknown ---
    pdus = {r[2]: r for r in table(book["PDU负载"])}
    currents = [float(5 + (k * 13) % 11) for k in range(len(times))]
    p95 = nearest_rank(currents, 0.95)
    assert pdus["PDU-A01"][:5] == ("A机房", "A01", "PDU-A01", "机柜 PDU", 16)
    assert pdus["PDU-A01"][5:8] == (p95, max(currents), approx(p95 / 16))
    assert pdus["PDU-B01"][4] == "未知" and pdus["PDU-B01"][5] is None


def test_environment_findings(db_app: Flask) -> None:
    with db_app.test_request_context("/"), clock.frozen(NOW), force_locale("zh_CN"):
        seeded = seed()
        ctx = Context(period=parse_period("2026Q3", TZ), now=NOW.astimezone(UTC), headline={})
        found = KINDS["environment"].findings(ctx)  # type: ignore[misc]
    by_key: dict[str, list[Any]] = {}
    for f in found:
        by_key.setdefault(f.key, []).append(f)
    temps = seeded["temps"]
    outside = {at for series in temps.values() for at, v in series if v + 0.5 > 27 or v - 0.5 < 18}
    rooms = {f.subject: f.figures for f in by_key["environment.temperature_out_of_range"]}
    assert rooms["A机房"]["hours"] == approx(round(len(outside) * 5 / 60, 2))
    assert (rooms["A机房"]["low"], rooms["A机房"]["high"], rooms["A机房"]["unit"]) == (18, 27, "°C")
    assert rooms["B机房"]["hours"] == 0.25
    assert "environment.humidity_out_of_range" not in by_key  # 49.5–50.5 %RH: inside
    (battery,) = by_key["environment.ups_on_battery"]
    assert battery.subject == "1号UPS (UPS-1)"
    assert battery.figures | {} == {
        "tag": "UPS-1",
        "name": "1号UPS",
        "episodes": 3,
        "minutes": 72.0,
        "longest": 40.0,
    }
    loads = [float(40 + (k * 37) % 50) for k in range(len(seeded["times"]))]
    (load,) = by_key["environment.ups_load_high"]
    assert load.figures["p95"] == approx(round(nearest_rank(loads, 0.95), 1)) and load.value > 80
    (pdu,) = by_key["environment.pdu_overload"]  # the PDU without a rating: never a finding
    currents = [float(5 + (k * 13) % 11) for k in range(len(seeded["times"]))]
    assert pdu.figures["load_pct"] == round(nearest_rank(currents, 0.95) / 16 * 100, 1)
    (summary,) = by_key["environment.summary"]
    text = summary.figures["text"]
    assert "3 次" in text and "72.0 分钟" in text
    assert f"{round(min(v for s in temps.values() for _, v in s) - 0.5, 1)}" in text


def test_ups_and_pdu_figures_from_the_hourly_means_when_there_are_any(
    db_app: Flask, tmp_path: Path
) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"), clock.frozen(NOW):
        rack = factories.rack(room="A机房", name="A01")
        pdu = factories.asset("PDU-H", kind="pdu", rack=rack, specs={"rated_current_a": 32})
        sess = db.session()
        hourly = [float(4 + h % 9) for h in range(24 * 10)]  # ten days of hourly means
        for h, value in enumerate(hourly):
            at = START + timedelta(days=20, hours=h)
            hour = five_minute(pdu.id, "pdu.current_a", "1", at, value)
            hour.resolution = 3600
            sess.add(hour)
            # the 5-minute rollups of the same hours hold a spike the hourly means smooth out
            sess.add(five_minute(pdu.id, "pdu.current_a", "1", at, 30.0 if h == 5 else value))
        sess.commit()
        build_pack(parse_period("2026Q3", TZ), out, ["environment"])
    (row,) = table(openpyxl.load_workbook(out)["PDU负载"])
    p95 = nearest_rank(hourly, 0.95)
    assert row[2:8] == ("PDU-H", "PDU-H", 32, p95, max(hourly), approx(p95 / 32))
