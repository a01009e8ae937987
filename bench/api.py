"""Benchmark: one metric over 90 days through ``opskit.data`` and the readings API (both its
layouts) against a plain SQL query of the same rows.

    python bench/api.py                    # hourly rollups (what 90 days read by default)
    python bench/api.py --rollup 5min      # 5-minute rollups over the 90 days (5.2 M rows)
    python bench/api.py --runs 5           # timed runs per leg (median)
    python bench/api.py --data DIR         # keep the seeded database in DIR and reuse it

Data: a site of 50 environment sensors with 4 probes each (200 series of
``env.temperature_c``) and 90 days of their rollups, hourly (432,000 rows) and, with
``--rollup 5min``, 5-minute too (5,184,000 more): the 5-minute rollups are kept 180 days, so
a 90-day span has both; ``rollup="auto"`` reads the hourly ones for any span over 31 days.
Plus 20 UPSes with the same rollups of ``ups.output.load_percent`` (rows the query must pass
over). Written with bulk inserts into a fresh SQLite database (not timed).

Each leg runs in its own process (peak memory, ``resource.getrusage`` max RSS, is that leg's
alone), one warm-up run then ``--runs`` timed runs, median wall clock and CPU time:

1. ``sql``: the same rows (asset id, instance, bucket, average) by a plain ``SELECT`` through
   the standard ``sqlite3`` module, ``fetchall()``: the floor;
2. ``core``: the same statement through SQLAlchemy Core (``connection.execute(...).all()``:
   typed results, datetimes parsed per row), for information;
3. ``data``: ``opskit.data.readings(metric, since=..., until=..., rollup=...)``: the wide
   frame (an aware index in the site's time zone, one column per series); and the long frame
   (with min, max and count) for information;
4. ``api``: ``GET /api/v1/readings?metric=&since=&until=&rollup=`` through the app's test
   client with a viewer's Bearer token, the streamed JSON read whole and parsed
   (:func:`api_leg`; skipped with a note in a tree without the route): ``rows`` of objects;
5. ``api_columns``: the same with ``&layout=columns``: ``chunks`` of columns, parsed the same
   way (skipped with a note in a tree whose API has no such layout).

Goal (issue #18): ``opskit.data`` and the API within 2x of the plain SQL, in CPU and wall
clock. Prints JSON, then a line of the CPU seconds and ratios.
"""

from __future__ import annotations

import argparse
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 90
SENSORS, PROBES, UPSES = 50, 4, 20
METRIC = "env.temperature_c"
RESOLUTIONS = {"hourly": 3600, "5min": 300}
SINCE, UNTIL = NOW - timedelta(days=DAYS), NOW


def app_for(folder: Path) -> Any:
    from opskit import create_app
    from opskit.config import Settings

    url = f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    return create_app({"TESTING": True}, settings=settings)


def _stamp(at: datetime) -> str:
    """What ``UTCDateTime`` stores on SQLite."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def seed(folder: Path, five_minute: bool) -> dict[str, Any]:
    from assets.models import Asset, Room, Site
    from opskit import db, migrate
    from opskit.db import make_engine

    started = time.perf_counter()
    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    app = app_for(folder)
    series: list[tuple[int, str, str]] = []
    with app.app_context():
        sess = db.session()
        site = Site(name="数据中心", address="", notes="")
        sess.add(site)
        sess.flush()
        room = Room(site_id=site.id, name="1号机房", floor="", notes="")
        sess.add(room)
        sess.flush()
        for n in range(SENSORS):
            sensor = Asset(
                asset_tag=f"ENV-{n + 1:03d}", name="温湿度", kind="sensor", room_id=room.id
            )
            sess.add(sensor)
            sess.flush()
            series += [(sensor.id, METRIC, f"probe{p + 1}") for p in range(PROBES)]
        for n in range(UPSES):
            ups = Asset(asset_tag=f"UPS-{n + 1:03d}", name="UPS", kind="ups", room_id=room.id)
            sess.add(ups)
            sess.flush()
            series.append((ups.id, "ups.output.load_percent", "1"))
        sess.commit()
    rows = 0
    conn = sqlite3.connect(folder / "bench.db")
    sql = (
        "INSERT INTO reading_rollup (asset_id, metric, instance, resolution, bucket, count, "
        "min, max, avg, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    for name, width in RESOLUTIONS.items():
        if name == "5min" and not five_minute:
            continue
        buckets = [
            _stamp(SINCE + timedelta(seconds=width * i)) for i in range(DAYS * 86400 // width)
        ]
        for k, (asset_id, metric, instance) in enumerate(series):
            batch = []
            for i, bucket in enumerate(buckets):
                value = 20.0 + (k % 7) + ((i * 37 + k) % 100) / 50.0
                batch.append(
                    (
                        asset_id,
                        metric,
                        instance,
                        width,
                        bucket,
                        12,
                        value - 0.5,
                        value + 0.5,
                        value,
                        value,
                    )
                )
            conn.executemany(sql, batch)
            rows += len(batch)
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    return {"seed_s": round(time.perf_counter() - started, 1), "rollup_rows": rows}


def _timed(work: Callable[[], int], runs: int) -> dict[str, Any]:
    """One warm-up, then ``runs`` timed runs: median wall and CPU seconds, rows, peak RSS."""
    rows = work()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        rows = work()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "s": round(statistics.median(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3),
        "rows": rows,
        "rss_peak_mb": round(peak, 1),
    }


def sql_leg(folder: Path, rollup: str, runs: int) -> dict[str, Any]:
    query = (
        "SELECT asset_id, instance, bucket, avg FROM reading_rollup "
        "WHERE metric = ? AND resolution = ? AND bucket >= ? AND bucket < ?"
    )
    params = (METRIC, RESOLUTIONS[rollup], _stamp(SINCE), _stamp(UNTIL))

    def work() -> int:
        conn = sqlite3.connect(folder / "bench.db")
        try:
            return len(conn.execute(query, params).fetchall())
        finally:
            conn.close()

    return _timed(work, runs)


def core_leg(folder: Path, rollup: str, runs: int) -> dict[str, Any]:
    from sqlalchemy import select

    from monitors.models import Rollup
    from opskit import db

    app = app_for(folder)
    stmt = select(Rollup.asset_id, Rollup.instance, Rollup.bucket, Rollup.avg).where(
        Rollup.metric == METRIC,
        Rollup.resolution == RESOLUTIONS[rollup],
        Rollup.bucket >= SINCE,
        Rollup.bucket < UNTIL,
    )

    def work() -> int:
        with app.app_context():
            return len(db.session().connection().execute(stmt).all())

    return _timed(work, runs)


def data_leg(folder: Path, rollup: str, runs: int, shape: str) -> dict[str, Any]:
    from opskit import data

    app = app_for(folder)
    shapes: dict[str, Any] = {}

    def work() -> int:
        with app.app_context():
            frame = data.readings(METRIC, since=SINCE, until=UNTIL, rollup=rollup, shape=shape)
        shapes["shape"] = list(frame.shape)
        shapes["index_tz"] = str(frame.index.tz)
        return int(frame.notna().sum().sum()) if shape == "wide" else len(frame)

    return _timed(work, runs) | shapes


# --- the API leg: GET /api/v1/readings (added when the readings endpoint exists) ------------


API_PATH = "/api/v1/readings"


def api_leg(folder: Path, rollup: str, runs: int, layout: str = "rows") -> dict[str, Any]:
    """The same rows through ``GET /api/v1/readings?metric=&since=&until=&rollup=`` (the app's
    test client, a viewer's Bearer token): one JSON document whose ``rows`` (``layout=columns``:
    ``chunks`` of columns) the endpoint streams (``monitors.api.readings``), read whole and
    parsed here as a program would. Skipped with a note while the app has no such route or
    layout."""
    app = app_for(folder)
    if not any(rule.rule == API_PATH for rule in app.url_map.iter_rules()):
        return {"skipped": f"{API_PATH} is not served in this tree"}
    if layout != "rows":
        from monitors.api.readings import ReadingFilter

        if "layout" not in ReadingFilter.model_fields:
            return {"skipped": f"{API_PATH} has no layout={layout} in this tree"}
    from opskit import db
    from opskit.auth import create_token
    from opskit.users import create_user

    with app.app_context():
        user, _ = create_user(f"bench{time.time_ns()}", "viewer", None, "bench", None)
        token = create_token(user, "bench")
        db.session().commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    query = {
        "metric": METRIC,
        "since": SINCE.isoformat(),
        "until": UNTIL.isoformat(),
        "rollup": rollup,
    }
    if layout != "rows":
        query["layout"] = layout

    def work() -> int:
        response = client.get(API_PATH, query_string=query, headers=headers)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        body = json.loads(response.get_data())
        if layout == "rows":
            return len(body["rows"])
        return sum(len(chunk["value"]) for chunk in body["chunks"])

    return _timed(work, runs)


# --- the run ------------------------------------------------------------------------------


def child(step: str, *args: str) -> dict[str, Any]:
    result = subprocess.run(  # noqa: S603 - this script with its own arguments
        [sys.executable, __file__, "--step", step, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rollup", choices=tuple(RESOLUTIONS), default="hourly")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--data", default=None, help="Keep the seeded database here and reuse it.")
    parser.add_argument("--step", default=None)
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.step is not None:
        folder, rollup, runs = Path(ns.args[0]), ns.args[1], int(ns.args[2])
        legs: dict[str, Callable[[], dict[str, Any]]] = {
            "seed": lambda: seed(folder, rollup == "5min"),
            "sql": lambda: sql_leg(folder, rollup, runs),
            "core": lambda: core_leg(folder, rollup, runs),
            "data": lambda: data_leg(folder, rollup, runs, "wide"),
            "data_long": lambda: data_leg(folder, rollup, runs, "long"),
            "api": lambda: api_leg(folder, rollup, runs),
            "api_columns": lambda: api_leg(folder, rollup, runs, "columns"),
        }
        print(json.dumps(legs[ns.step]()))
        return
    with tempfile.TemporaryDirectory(prefix="opskit-api-bench-") as tmp:
        folder = Path(ns.data) / ns.rollup if ns.data else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        done = folder / "seed.json"
        if done.exists():
            seeded = json.loads(done.read_text())
        else:
            seeded = child("seed", str(folder), ns.rollup, "0")
            done.write_text(json.dumps(seeded))
        args = (str(folder), ns.rollup, str(ns.runs))
        out: dict[str, Any] = {"rollup": ns.rollup, "days": DAYS, **seeded}
        for leg in ("sql", "core", "data", "data_long", "api", "api_columns"):
            out[leg] = child(leg, *args)
        floor = out["sql"]
        out["ratio_data_sql"] = round(out["data"]["s"] / floor["s"], 2)
        out["cpu_ratio_data_sql"] = round(out["data"]["cpu_s"] / floor["cpu_s"], 2)
        out["ratio_data_core"] = round(out["data"]["s"] / out["core"]["s"], 2)
        out["ratio_long_sql"] = round(out["data_long"]["s"] / floor["s"], 2)
        out["cpu_ratio_long_sql"] = round(out["data_long"]["cpu_s"] / floor["cpu_s"], 2)
        for leg, name in (("api", "api"), ("api_columns", "columns")):
            if "s" in out[leg]:
                out[f"ratio_{name}_sql"] = round(out[leg]["s"] / floor["s"], 2)
                out[f"cpu_ratio_{name}_sql"] = round(out[leg]["cpu_s"] / floor["cpu_s"], 2)
        print(json.dumps(out, ensure_ascii=False, indent=2))
        api, columns = out["api"], out["api_columns"]
        print(
            f"{ns.rollup} rollups, {DAYS} days, {floor['rows']:,} rows of {METRIC}, CPU seconds "
            f"(wall in brackets; CPU is what a shared machine disturbs least): plain SQL "
            f"{floor['cpu_s']} ({floor['s']}), SQLAlchemy Core {out['core']['cpu_s']} "
            f"({out['core']['s']}); opskit.data wide {out['data']['cpu_s']} ({out['data']['s']}) "
            f"= {out['cpu_ratio_data_sql']}x SQL (wall {out['ratio_data_sql']}x; goal <= 2x), "
            f"long {out['data_long']['cpu_s']} = {out['cpu_ratio_long_sql']}x; API "
            + (
                f"rows {api['cpu_s']} ({api['s']}) = {out['cpu_ratio_api_sql']}x "
                f"(wall {out['ratio_api_sql']}x)"
                if "s" in api
                else api["skipped"]
            )
            + "; API columns "
            + (
                f"{columns['cpu_s']} ({columns['s']}) = {out['cpu_ratio_columns_sql']}x "
                f"(wall {out['ratio_columns_sql']}x; goal <= 2x)"
                if "s" in columns
                else columns["skipped"]
            )
        )


if __name__ == "__main__":
    main()
