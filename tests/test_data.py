"""opskit.data (readings, alerts, rounds, assets as DataFrames) and `opskit export`, on SQLite
and PostgreSQL.

The readings are stored as the poller stores them and rolled up by ``monitors.rollups``; every
time is built from the clock (three hours before "now", on the hour). Asserted: the values
(raw, 5-minute and hourly averages, min, max, count), the index (times, in the site's time zone
or the one asked) and the columns; bad arguments name themselves; the export command's files
read back (CSV, Excel through openpyxl, Parquet through pyarrow).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner
from flask import Flask, has_app_context
from flask.cli import ScriptInfo

from assets import services as registry
from inspections.models import PatrolAnswer, PatrolFinding, PatrolRound
from monitors import queries as monitoring
from monitors import rollups
from monitors.models import Reading
from opskit import clock, data, db
from opskit.alerts.models import Alert
from opskit.cli import cli
from opskit.db import insert_rows
from tests import factories

LOAD = "ups.output.load_percent"
TEMP = "env.temperature_c"
SHANGHAI = "Asia/Shanghai"


@dataclass(frozen=True)
class Site:
    hour: datetime  # UTC, on the hour, three hours back: the readings' hour
    ups1: int
    ups2: int
    sensor: int


def _minute(site: Site, minutes: float) -> datetime:
    return site.hour + timedelta(minutes=minutes)


@pytest.fixture
def site(db_app: Flask) -> Site:
    """Two sites: 总部 (UPS-01 and the sensor SENS-01 with probes p1, p2) and 分部 (UPS-02)."""
    with db_app.app_context():
        rack = factories.rack(site="总部", room="A机房")
        far, _ = registry.get_or_create_site("分部")
        far_room, _ = registry.get_or_create_room(far, "B机房")
        db.session().flush()
        ups1 = factories.asset("UPS-01", kind="ups", room=rack.room)
        ups2 = factories.asset("UPS-02", kind="ups", room=far_room)
        sensor = factories.asset("SENS-01", kind="sensor", room=rack.room)
        db.session().commit()
        hour = clock.now().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
        here = Site(hour, ups1.id, ups2.id, sensor.id)
        rows = [
            (ups1.id, LOAD, "1", 1, 40.0),
            (ups1.id, LOAD, "1", 2.5, 50.0),
            (ups1.id, LOAD, "1", 6, 60.0),
            (ups2.id, LOAD, "1", 3, 70.0),
            (sensor.id, TEMP, "p1", 1, 21.5),
            (sensor.id, TEMP, "p2", 1, 23.0),
        ]
        insert_rows(
            Reading.__table__,
            [
                {
                    "asset_id": asset_id,
                    "monitor_id": None,
                    "metric": metric,
                    "instance": instance,
                    "at": _minute(here, minutes),
                    "value": value,
                    "text": None,
                }
                for asset_id, metric, instance, minutes, value in rows
            ],
        )
        db.session().commit()
        rollups.run(now=clock.now(), since=hour)
    return here


def _local(at: datetime, zone: str = SHANGHAI) -> pd.Timestamp:
    return pd.Timestamp(at).tz_convert(zone)


def test_five_minute_rollups_wide_in_the_site_time_zone(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        frame = data.readings(
            LOAD,
            since=site.hour - timedelta(hours=1),
            until=site.hour + timedelta(hours=1),
            rollup="5min",
        )
    assert list(frame.columns) == ["UPS-01/1", "UPS-02/1"]
    assert frame.columns.name == "series"
    assert str(frame.index.tz) == SHANGHAI
    assert list(frame.index) == [_local(site.hour), _local(_minute(site, 5))]
    assert frame.index[0].hour == (site.hour.hour + 8) % 24  # Shanghai is UTC+8
    assert frame.loc[_local(site.hour)].tolist() == [45.0, 70.0]
    assert frame.loc[_local(_minute(site, 5)), "UPS-01/1"] == 60.0
    assert math.isnan(frame.loc[_local(_minute(site, 5)), "UPS-02/1"])
    assert frame.attrs["unit"] == "%"
    assert frame.attrs["rollup"] == "5min"
    assert frame.attrs["metric"] == LOAD
    assert frame.attrs["tz"] == SHANGHAI


def test_hourly_long_with_min_max_count_and_another_time_zone(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        frame = data.readings(
            LOAD,
            since=site.hour,
            until=site.hour + timedelta(hours=2),
            rollup="hourly",
            shape="long",
            tz="UTC",
        )
    assert str(frame.index.tz) == "UTC"
    assert list(frame.index) == [pd.Timestamp(site.hour)] * 2
    assert frame.index.name == "at"
    rows = frame.reset_index(drop=True).to_dict("records")
    assert rows == [
        # count-weighted average of the 5-minute buckets: (45 x 2 + 60) / 3
        {
            "asset": "UPS-01",
            "instance": "1",
            "value": 50.0,
            "min": 40.0,
            "max": 60.0,
            "count": 3,
            "unit": "%",
        },
        {
            "asset": "UPS-02",
            "instance": "1",
            "value": 70.0,
            "min": 70.0,
            "max": 70.0,
            "count": 1,
            "unit": "%",
        },
    ]


def test_raw_readings_and_auto_choice(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        raw = data.readings(LOAD, since=site.hour, assets="UPS-01", rollup="raw", shape="long")
        auto = data.readings(LOAD, since="1d", assets=["UPS-01"])
        five = data.readings(LOAD, since="5d", assets=["UPS-01"])
        chunks = list(monitoring.metric_rows(LOAD, site.hour, clock.now(), 0, [site.ups1], chunk=2))
    assert [len(rows) for rows in chunks] == [2, 1]  # every chunk whole, none lost between
    assert sorted(row[3] for rows in chunks for row in rows) == [40.0, 50.0, 60.0]
    expected = [_local(_minute(site, m)) for m in (1, 2.5, 6)]
    assert list(raw.index) == expected
    assert raw.index[1].second == 30
    assert raw["value"].tolist() == [40.0, 50.0, 60.0]
    assert list(raw.columns) == ["asset", "instance", "value", "unit"]  # no min/max of raw
    assert auto.attrs["rollup"] == "raw"  # a day: raw readings, as a chart of a day
    assert list(auto.index) == expected
    assert auto["UPS-01/1"].tolist() == [40.0, 50.0, 60.0]
    assert five.attrs["rollup"] == "5min"
    assert five["UPS-01/1"].tolist() == [45.0, 60.0]


def test_instances_sites_and_tags(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        probes = data.readings(TEMP, since="1d", rollup="5min")
        far = data.readings(LOAD, since="1d", rollup="5min", site="分部")
        by_id = data.readings(LOAD, since="1d", rollup="5min", site=_site_id("分部"))
        tagged = data.readings(LOAD, since="1d", rollup="5min", site="总部", assets=["UPS-01"])
        none = data.readings(LOAD, since="1d", rollup="5min", site="分部", assets=["UPS-01"])
        empty = data.readings("ups.battery.charge_percent", since="1d", rollup="hourly")
    assert list(probes.columns) == ["SENS-01/p1", "SENS-01/p2"]
    assert probes.iloc[0].tolist() == [21.5, 23.0]
    assert probes.attrs["unit"] == "°C"
    assert list(far.columns) == ["UPS-02/1"]
    assert far["UPS-02/1"].tolist() == [70.0]
    assert list(by_id.columns) == ["UPS-02/1"]
    assert list(tagged.columns) == ["UPS-01/1"]
    assert none.empty and str(none.index.tz) == SHANGHAI
    assert empty.empty and list(empty.columns) == []


def _site_id(name: str) -> int:
    site, _ = registry.get_or_create_site(name)
    return int(site.id)


BAD_ARGUMENTS: list[tuple[dict[str, Any], str]] = [
    ({"metric": "ups.load"}, "metric"),
    ({"since": "yesterday"}, "since"),
    ({"since": None}, "since"),
    ({"since": "1d", "until": "2d"}, "since"),  # since after until
    ({"since": "400d", "rollup": "5min"}, "since"),  # longer than 5-minute rollups keep
    ({"since": "40d", "rollup": "raw"}, "since"),
    ({"since": "11000d"}, "since"),
    ({"rollup": "daily"}, "rollup"),
    ({"shape": "tall"}, "shape"),
    ({"tz": "Mars/Olympus"}, "tz"),
    ({"site": "月球"}, "site"),
    ({"assets": ["UPS-01", "NOPE-9"]}, "assets"),
    ({"assets": []}, "assets"),
    ({"until": "soon"}, "until"),
]


def test_bad_arguments_name_themselves(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        for kwargs, name in BAD_ARGUMENTS:
            arguments: dict[str, Any] = {"metric": LOAD, "since": "1d", **kwargs}
            metric = arguments.pop("metric")
            with pytest.raises(ValueError) as caught:
                data.readings(metric, **arguments)
            assert str(caught.value).startswith(f"{name}: "), (kwargs, caught.value)


def test_alerts_rounds_and_assets(db_app: Flask, site: Site) -> None:
    with db_app.app_context():
        room_id = factories.rack(site="总部", room="A机房").room_id
        seen = _minute(site, 10)
        db.session().add_all(
            [
                Alert(
                    dedup_key="a",
                    source="monitor",
                    rule="ups.load",
                    asset_id=site.ups1,
                    urgency="A",
                    message="=UPS load high",
                    first_seen=seen,
                    last_seen=seen,
                ),
                Alert(
                    dedup_key="b",
                    source="patrol",
                    rule="patrol.x",
                    room_id=room_id,
                    urgency="C",
                    message="door",
                    status="resolved",
                    first_seen=seen,
                    last_seen=seen,
                    resolved_at=seen + timedelta(minutes=30),
                    resolved_by="zhangwei",
                ),
            ]
        )
        started = _minute(site, 20)
        patrol = PatrolRound(
            client_id="r1",
            room_id=room_id,
            started_at=started,
            submitted_at=started + timedelta(minutes=40),
            status="submitted",
            engineer="张伟",
        )
        db.session().add(patrol)
        db.session().flush()
        answers = [
            PatrolAnswer(
                round_id=patrol.id,
                target="room",
                checklist_key="room",
                item_key=f"i{n}",
                value="x",
                level=level,
                answered_at=started,
            )
            for n, level in enumerate(("ok", "warning", "critical"))
        ]
        db.session().add_all(answers)
        db.session().flush()
        db.session().add_all(
            [
                PatrolFinding(
                    round_id=patrol.id,
                    answer_id=answers[1].id,
                    level="warning",
                    urgency="C",
                    opened_at=started,
                ),
                PatrolFinding(
                    round_id=patrol.id,
                    answer_id=answers[2].id,
                    level="critical",
                    urgency="B",
                    opened_at=started,
                    closed_at=started,
                ),
            ]
        )
        db.session().commit()
        alerts = data.alerts(since="1d")
        open_a = data.alerts(since="1d", urgency="A", state="open", tz="UTC")
        far = data.alerts(since="1d", site="分部")
        rounds = data.rounds(since="1d")
        assets = data.assets()
        ups = data.assets(kind="ups", site="分部")
        with pytest.raises(ValueError, match=r"^urgency: "):
            data.alerts(since="1d", urgency="D")
        with pytest.raises(ValueError, match=r"^kind: "):
            data.assets(kind="toaster")
    assert alerts["urgency"].tolist() == ["A", "C"]
    assert alerts["asset"].tolist()[0] == "UPS-01"
    assert alerts["room"].tolist()[1] == "A机房"
    assert alerts["status"].tolist() == ["firing", "resolved"]
    assert alerts["first_seen"].iloc[0] == _local(seen)
    assert str(alerts["first_seen"].dt.tz) == SHANGHAI
    assert alerts["resolved_at"].iloc[1] == _local(seen + timedelta(minutes=30))
    assert open_a["message"].tolist() == ["=UPS load high"]
    assert str(open_a["first_seen"].dt.tz) == "UTC"
    assert far.empty
    row = rounds.iloc[0]
    assert len(rounds) == 1
    assert (row["site"], row["room"], row["engineer"], row["status"]) == (
        "总部",
        "A机房",
        "张伟",
        "submitted",
    )
    assert (row["answers"], row["abnormal"], row["findings"], row["open_findings"]) == (3, 2, 2, 1)
    assert row["started_at"] == _local(started)
    assert assets["asset_tag"].tolist() == ["SENS-01", "UPS-01", "UPS-02"]
    assert assets.loc[site.ups2, "site"] == "分部"
    assert assets.loc[site.ups1, "room"] == "A机房"
    assert ups["asset_tag"].tolist() == ["UPS-02"]


# --- opskit export -----------------------------------------------------------------------------


def _export(app: Flask, *args: str) -> Any:
    return CliRunner().invoke(cli, ["export", *args], obj=ScriptInfo(create_app=lambda: app))


def test_export_readings_csv_xlsx_parquet_read_back(
    db_app: Flask, site: Site, tmp_path: Path
) -> None:
    since = (site.hour - timedelta(hours=1)).isoformat()
    common = ["readings", "--metric", LOAD, "--since", since, "--rollup", "5min"]
    csv = tmp_path / "load.csv"
    result = _export(db_app, *common, "-o", str(csv))
    assert result.exit_code == 0, result.output
    assert "2 rows of readings written" in result.output
    back = pd.read_csv(csv, encoding="utf-8-sig", index_col="at", parse_dates=["at"])
    assert list(back.columns) == ["UPS-01/1", "UPS-02/1"]
    assert list(back.index) == [_local(site.hour), _local(_minute(site, 5))]
    assert back.iloc[0].tolist() == [45.0, 70.0]

    xlsx = tmp_path / "load.xlsx"
    result = _export(db_app, *common, "--shape", "long", "--format", "xlsx", "-o", str(xlsx))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(xlsx, read_only=True)
    rows = [list(r) for r in book.active.iter_rows(values_only=True)]
    book.close()  # a read-only workbook holds its file open until closed
    assert rows[0] == [
        f"at ({SHANGHAI})",
        "asset",
        "instance",
        "value",
        "min",
        "max",
        "count",
        "unit",
    ]
    local = _local(site.hour).tz_localize(None).to_pydatetime()
    assert rows[1] == [local, "UPS-01", "1", 45, 40, 50, 2, "%"]
    assert rows[2] == [local, "UPS-02", "1", 70, 70, 70, 1, "%"]
    assert isinstance(rows[1][0], datetime)  # a date in Excel, not text

    parquet = tmp_path / "load.parquet"
    result = _export(db_app, *common, "--tz", "UTC", "-o", str(parquet))
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(parquet)
    assert list(frame.columns) == ["UPS-01/1", "UPS-02/1"]
    assert list(frame.index) == [pd.Timestamp(site.hour), pd.Timestamp(_minute(site, 5))]
    assert str(frame.index.tz) == "UTC"
    assert frame["UPS-01/1"].tolist() == [45.0, 60.0]
    assert frame.attrs["unit"] == "%"  # the attrs travel in the file's metadata


def test_export_escapes_formula_text_and_refuses_bad_input(
    db_app: Flask, site: Site, tmp_path: Path
) -> None:
    with db_app.app_context():
        factories.asset("-X1", kind="ups", name="=HYPERLINK(1)", vendor="@SUM(A1)")
        db.session().commit()
    csv = tmp_path / "assets.csv"
    result = _export(db_app, "assets", "--kind", "ups", "-o", str(csv))
    assert result.exit_code == 0, result.output
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert back["asset_tag"].tolist() == ["'-X1", "UPS-01", "UPS-02"]
    assert back["name"].tolist()[0] == "'=HYPERLINK(1)"
    assert back["vendor"].tolist()[0] == "'@SUM(A1)"
    xlsx = tmp_path / "assets.xlsx"
    assert _export(db_app, "assets", "--kind", "ups", "-o", str(xlsx)).exit_code == 0
    sheet = openpyxl.load_workbook(xlsx).active
    assert [c.value for c in sheet[1]][:4] == ["id", "asset_tag", "name", "kind"]
    assert (sheet["B2"].value, sheet["C2"].value) == ("-X1", "=HYPERLINK(1)")
    assert sheet["C2"].data_type == "s"  # text: the writer never writes a formula

    target = tmp_path / "bad.csv"
    for args, option in (
        (["readings", "--metric", "nope", "--since", "1d"], "--metric"),
        (["readings", "--metric", LOAD, "--since", "2d", "--until", "3d"], "--since"),
        (["readings", "--metric", LOAD, "--since", "1d", "--asset", "NOPE-1"], "--asset"),
        (["readings", "--metric", LOAD, "--since", "1d", "--rollup", "daily"], "--rollup"),
        (["alerts", "--since", "1d", "--site", "月球"], "--site"),
    ):
        result = _export(db_app, *args, "-o", str(target))
        assert result.exit_code == 2, result.output
        assert option in result.output, result.output
        assert not target.exists()
    result = _export(db_app, "assets", "-o", str(tmp_path / "assets.txt"))
    assert result.exit_code == 2 and "--format" in result.output


def test_export_parquet_without_pyarrow_says_what_to_install(
    db_app: Flask, site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    target = tmp_path / "x.parquet"
    result = _export(db_app, "assets", "-o", str(target))
    assert result.exit_code == 1
    assert "pip install 'opskit[parquet]'" in result.output
    assert not target.exists()


def test_connect_from_a_url_outside_an_app(db_app: Flask, site: Site) -> None:
    assert not has_app_context()
    app = data.connect(db_app.config["DATABASE_URL"])
    try:
        assert app is not db_app
        frame = data.readings(LOAD, since="1d", rollup="5min", assets="UPS-02")
        assert frame["UPS-02/1"].tolist() == [70.0]
    finally:
        data.disconnect()
    assert not has_app_context()


def test_times_given_as_local_text_dates_and_aware_datetimes(db_app: Flask, site: Site) -> None:
    local = _local(site.hour)
    with db_app.app_context():
        text = data.readings(LOAD, since=local.strftime("%Y-%m-%d %H:%M"), rollup="5min")
        day = data.readings(LOAD, since=local.date(), rollup="5min")
        aware = data.readings(LOAD, since=site.hour.astimezone(UTC), rollup="5min")
        naive = data.readings(LOAD, since=local.tz_localize(None).to_pydatetime(), rollup="5min")
    for frame in (text, day, aware, naive):
        assert frame.index[0] == local, frame
        assert pd.Timestamp(frame.attrs["since"]) <= local
