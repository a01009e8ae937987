"""Load forecasts (``reports.forecast``) and how the load kind shows them.

The series are written here by hand (a straight line with noise from a seeded generator); the
expected daily peaks are computed here from what is seeded, independently of the report code.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import pytest
from flask import Flask
from sqlalchemy import select

from assets.models import Asset
from monitors import load
from monitors.models import Resolution, Rollup
from opskit import db
from opskit.xlsx.writer import NUMBER, Col, ReportWriter, Sheet
from reports import forecast as fc
from reports.build import build_pack
from reports.kinds.base import Context
from reports.kinds.load import forecasts
from reports.periods import parse_period
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")
DAY0 = date(2026, 1, 1)


def rising(days: int, seed: int = 7) -> list[tuple[date, float]]:
    """Daily peaks 30 % rising 0.2 point a day with noise (sd 3): the line reaches 80 % on
    day 250 (2026-09-08)."""
    rng = random.Random(seed)
    return [(DAY0 + timedelta(days=i), 30 + 0.2 * i + rng.gauss(0, 3)) for i in range(days)]


def test_t_quantiles_match_the_tables() -> None:
    for df, p, table in ((10, 0.95, 1.8125), (26, 0.95, 1.7056), (89, 0.95, 1.6622)):
        assert fc.t_quantile(p, df) == pytest.approx(table, abs=2e-4)
    assert fc.t_quantile(0.975, 1) == pytest.approx(12.706, abs=1e-3)
    assert fc.t_quantile(0.975, 2) == pytest.approx(4.303, abs=1e-3)


def test_the_same_series_cut_a_month_apart_gives_dates_inside_each_others_bands() -> None:
    series = rising(200)
    cuts = [fc.forecast(series[:end], 80.0) for end in (120, 150, 180)]
    for f in cuts:
        assert f.state == fc.CROSSES and f.days == fc.WINDOW_DAYS
        assert f.earliest is not None and f.likeliest is not None and f.latest is not None
        assert f.earliest < f.likeliest < f.latest
        mid, low, high = f.growth() or (0, 0, 0)
        assert low < mid < high
    for f in cuts:
        for other in cuts:
            assert other.earliest <= f.likeliest <= other.latest  # type: ignore[operator]
    # the line's truth (day 250) is inside every band
    for f in cuts:
        assert f.earliest <= DAY0 + timedelta(days=250) <= f.latest  # type: ignore[operator]


def test_only_the_window_up_to_the_last_day_counts() -> None:
    """Points before the window change nothing; the period asking does not come into it."""
    series = rising(150)
    wild = [(d, 99.0 if i < 150 - fc.WINDOW_DAYS else v) for i, (d, v) in enumerate(series)]
    assert fc.forecast(wild, 80.0) == fc.forecast(series, 80.0)
    assert fc.forecast(series, 80.0).first == series[-fc.WINDOW_DAYS][0]


def test_short_series_give_not_enough_data() -> None:
    five = fc.forecast(rising(5), 80.0)
    assert five.state == fc.INSUFFICIENT and five.days == 5
    assert (five.likeliest, five.slope, five.growth()) == (None, None, None)
    assert fc.forecast(rising(fc.MIN_POINTS - 1), 80.0).state == fc.INSUFFICIENT
    assert fc.forecast(rising(fc.MIN_POINTS), 80.0).state != fc.INSUFFICIENT
    # 28 peaks, but over 40 days (gaps): enough; 28 peaks squeezed into fewer days cannot be
    sparse = [p for i, p in enumerate(rising(40)) if i % 10 < 7]
    assert len(sparse) == 28 and fc.forecast(sparse, 80.0).state != fc.INSUFFICIENT
    assert fc.forecast([], 80.0).state == fc.INSUFFICIENT


def test_flat_and_falling_series_are_not_reached() -> None:
    rng = random.Random(3)
    flat = [(DAY0 + timedelta(days=i), 40 + rng.gauss(0, 3)) for i in range(120)]
    f = fc.forecast(flat, 80.0)
    assert f.state == fc.NOT_REACHED
    assert (f.earliest, f.likeliest, f.latest) == (None, None, None)
    falling = [(DAY0 + timedelta(days=i), 70 - 0.1 * i + rng.gauss(0, 1)) for i in range(120)]
    assert fc.forecast(falling, 80.0).state == fc.NOT_REACHED
    # rising, but too slowly to get there within the horizon
    slow = [(d, 40 + 0.01 * i + rng.gauss(0, 0.5)) for i, (d, _v) in enumerate(flat)]
    f = fc.forecast(slow, 80.0)
    assert f.state == fc.NOT_REACHED and f.slope is not None and f.slope > 0


def test_above_the_limit_and_without_a_limit() -> None:
    high = [(d, v + 60) for d, v in rising(100)]
    f = fc.forecast(high, 80.0)
    assert f.state == fc.ABOVE and f.likeliest == f.last == high[-1][0]
    assert fc.forecast(rising(100), None).state == fc.NO_LIMIT


def test_a_straight_line_has_no_band() -> None:
    line = [(DAY0 + timedelta(days=i), 20 + 0.5 * i) for i in range(60)]
    f = fc.forecast(line, 80.0)
    assert f.earliest == f.likeliest == f.latest == DAY0 + timedelta(days=120)
    assert f.growth() == pytest.approx((15.0, 15.0, 15.0))


# --- the load kind: the same data asked by different packs --------------------------------

SEEDED = (date(2026, 5, 1), date(2026, 9, 30))  # the rising CPU's days


def cpu_hours() -> list[tuple[datetime, float, float]]:
    """(local hour, average, maximum) of SRV-X's CPU: 30 % on 2026-05-01 rising 0.2 point a
    day, hourly noise; the maximum a few points above the average."""
    rng = random.Random(11)
    out = []
    day = SEEDED[0]
    while day <= SEEDED[1]:
        base = 30 + 0.2 * (day - SEEDED[0]).days
        for h in range(24):
            avg = base + rng.gauss(0, 2)
            out.append(
                (
                    datetime.combine(day, datetime.min.time(), TZ).replace(hour=h),
                    avg,
                    avg + rng.uniform(1, 6),
                )
            )
        day += timedelta(days=1)
    return out


def seed() -> None:
    sess = db.session()
    x = factories.asset("SRV-X", name="交易服务器", importance="core")
    new = factories.asset("SRV-NEW", name="新服务器", importance="core")
    sess.flush()

    def rollup(asset_id: int, metric: str, hour: datetime, avg: float, peak: float) -> Rollup:
        return Rollup(
            asset_id=asset_id,
            metric=metric,
            instance="",
            resolution=int(Resolution.HOUR),
            bucket=hour.astimezone(UTC),
            count=60,
            min=avg,
            max=peak,
            avg=avg,
            last=avg,
        )

    sess.add_all(rollup(x.id, "host.cpu.load_percent", *h) for h in cpu_hours())
    rng = random.Random(5)
    sess.add_all(  # memory flat around 50 %
        rollup(x.id, "host.memory.used_percent", hour, 50 + rng.gauss(0, 1), 52 + rng.gauss(0, 1))
        for hour, _a, _p in cpu_hours()
    )
    sess.add_all(  # five days of a new server rising fast (+20 % a month)
        rollup(new.id, "host.cpu.load_percent", hour, v, v)
        for hour, v in (
            (datetime(2026, 9, 26, 10, tzinfo=TZ) + timedelta(days=d), 20 + 0.7 * d)
            for d in range(5)
        )
    )
    sess.commit()


def expected_peaks() -> list[tuple[date, float]]:
    peaks: dict[date, float] = {}
    for hour, _avg, peak in cpu_hours():
        peaks[hour.date()] = max(peaks.get(hour.date(), peak), peak)
    return sorted(peaks.items())


def summary(path: Path) -> dict[tuple[str, str], tuple]:
    book = openpyxl.load_workbook(path)
    return {(r[0], r[3]): r for r in book["负载汇总"].iter_rows(min_row=4, values_only=True)}


def as_day(value: date | None) -> datetime | None:
    return None if value is None else datetime.combine(value, datetime.min.time())


@pytest.mark.parametrize("daily", [False, True], ids=["from-rollups", "from-load-rows"])
def test_the_load_sheet_gives_the_same_forecast_whatever_the_pack(
    db_app: Flask, tmp_path: Path, daily: bool
) -> None:
    built: dict[str, dict[tuple[str, str], tuple]] = {}
    with db_app.test_request_context("/"):
        seed()
        if daily:
            load.refresh(
                db.session(),
                datetime(2026, 4, 30, tzinfo=UTC),
                datetime(2026, 10, 2, tzinfo=UTC),
                TZ,
            )
            db.session().commit()
        for text in ("2026-07", "2026-08", "2026-09", "2026Q3"):
            out = tmp_path / f"{text}.xlsx"
            build_pack(parse_period(text, TZ), out, ["load"], now=datetime(2026, 10, 9, tzinfo=TZ))
            built[text] = summary(out)
    # September's pack and the third quarter's (both ending 09-30) say the same, to the cell
    september, quarter = built["2026-09"][("SRV-X", "CPU")], built["2026Q3"][("SRV-X", "CPU")]
    assert september[7:] == quarter[7:]
    # and what they say is the forecast of the daily peaks computed here
    f = fc.forecast(expected_peaks(), 80.0)
    assert f.state == fc.CROSSES
    growth = f.growth()
    assert growth is not None and f.intercept is not None
    assert quarter[7:12] == (
        80,
        as_day(f.likeliest),
        as_day(f.earliest),
        as_day(f.latest),
        "180 天内越限",
    )
    assert quarter[12:15] == tuple(round(g, 2) for g in growth)
    assert quarter[15] == round(f.intercept, 2)
    assert quarter[16:] == (datetime(2026, 7, 2), datetime(2026, 9, 30), 91)
    assert quarter[13] < quarter[12] < quarter[14]  # the growth band
    # the same series cut at the ends of July, August and September: each likeliest day is
    # inside every other's band (dates are real dates in the workbook)
    rows = [built[m][("SRV-X", "CPU")] for m in ("2026-07", "2026-08", "2026-09")]
    assert [r[17] for r in rows] == [
        datetime(2026, 7, 31),
        datetime(2026, 8, 31),
        datetime(2026, 9, 30),
    ]
    for r in rows:
        assert all(isinstance(v, datetime) for v in r[8:11])
        for other in rows:
            assert other[9] <= r[8] <= other[10]
    # flat memory: not reached; five days of a new server: not enough data, no date
    memory = built["2026Q3"][("SRV-X", "内存")]
    assert memory[8:11] == (None, None, None)
    assert memory[11] in ("不会达到（持平或下降）", "2 年内不会达到")
    new = built["2026Q3"][("SRV-NEW", "CPU")]
    assert new[8:12] == (None, None, None, "数据不足（5 天日峰值，需 28 天）")
    assert new[12:16] == (None,) * 4 and new[18] == 5


def test_the_forecast_chart_draws_peaks_limit_and_projection(db_app: Flask, tmp_path: Path) -> None:
    out = tmp_path / "q3.xlsx"
    with db_app.test_request_context("/"):
        seed()
        build_pack(parse_period("2026Q3", TZ), out, ["load"], now=datetime(2026, 10, 9, tzinfo=TZ))
        # the same results for other readers (the recommendations), by asset and family
        ctx = Context(parse_period("2026-09", TZ), datetime(2026, 10, 9, tzinfo=UTC), {})
        tags = {a.id: a.asset_tag for a in db.session().scalars(select(Asset))}
        given = {(tags[a], family): f for (a, family), f in forecasts(ctx).items()}
    assert given[("SRV-X", "cpu")] == fc.forecast(expected_peaks(), 80.0)
    assert given[("SRV-NEW", "cpu")].state == fc.INSUFFICIENT
    assert given[("SRV-X", "memory")].state == fc.NOT_REACHED
    book = openpyxl.load_workbook(out)
    cpu = book["预测 CPU"]
    header = [c.value for c in cpu[3]]
    assert header == ["日期", "SRV-X 日峰值", "SRV-X 限值", "SRV-X 预测"]  # SRV-NEW: no line
    assert [len(chart.series) for chart in cpu._charts] == [3]
    f = fc.forecast(expected_peaks(), 80.0)
    assert f.likeliest is not None and f.first is not None
    days = {r[0].date(): r[1:] for r in cpu.iter_rows(min_row=4, values_only=True)}
    assert min(days) == f.first and max(days) == f.likeliest  # the projection to the crossing
    peaks = dict(expected_peaks())
    assert days[date(2026, 9, 30)][:2] == (round(peaks[date(2026, 9, 30)], 2), 80)
    assert days[f.likeliest][0] is None and days[f.likeliest][2] >= 80
    assert {v[1] for v in days.values()} == {80}
    assert cpu["A4"].number_format == "yyyy-mm-dd"
    memory = book["预测 内存"]  # not reached: projected to the two years' horizon
    assert [len(chart.series) for chart in memory._charts] == [3]
    last = max(r[0] for r in memory.iter_rows(min_row=4, values_only=True))
    assert last.date() == date(2026, 9, 30) + timedelta(days=fc.HORIZON_DAYS)
    assert [c.value for c in book["负载汇总"][3]][7:] == [
        "限值",
        "最可能越限日期",
        "最早（90% 区间）",
        "最晚（90% 区间）",
        "预测",
        "每 30 天增长",
        "每 30 天增长下限（90%）",
        "每 30 天增长上限（90%）",
        "最后一日趋势值",
        "预测窗口起",
        "预测窗口止（最后有数据日）",
        "所用日峰值天数",
    ]
    note = book["负载汇总"]["A1"].value
    assert "最小二乘" in note and "91" in note and "90%" in note


def test_a_chart_title_with_a_tag_like_a_cell_reference_stays_text(tmp_path: Path) -> None:
    """An asset tag such as ``x'!A1`` in a forecast chart's title is not taken for a cell
    reference (xlsxwriter would, and warn)."""

    out = tmp_path / "title.xlsx"
    title = "A0 =cmd|'/C calc'!A0 · CPU"
    with ReportWriter(out) as writer:
        writer.sheet(
            Sheet(
                "s",
                [Col("day", "Day"), Col("v", "V", NUMBER)],
                [{"day": "x", "v": 1.0}, {"day": "y", "v": 2.0}],
                charts=[{"type": "line", "category": "day", "values": ["v"], "title": title}],
            )
        )
    chart = openpyxl.load_workbook(out)["s"]._charts[0]
    assert chart.title.tx.rich.p[0].r[0].t == "A0 =cmd|'/C calc'！A0 · CPU"
