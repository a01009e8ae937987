"""Benchmark: where does it fit (``assets.plan.fit``) at 1x and 10x the demo's registry.

    python bench/plan.py             # 1x and 10x in one run
    python bench/plan.py --runs 9    # more timed runs per size (median)

Data per site (1x: one site; 10x: ten sites, 200 racks, 5,000 assets, 50 prefixes): two rooms
of ten 42U racks, each rack fed twice (2 x 7,360 W) with two PDUs (feed A and B) holding 14 days
of hourly ``pdu.power_w`` rollups, an access switch (U42) whose 48 10G ports were polled (24 up
with 14 days of hourly traffic rollups, 24 down: 4 of those linked, 4 with traffic three days
ago), 22 servers (1U and 2U, with a nameplate or not), so 25 assets a rack, 500 a site; five
/24 prefixes with 100 addresses each; a precision air conditioner per room with its capacity.
Written with bulk inserts into a fresh SQLite database per size (not timed).

Timed: ``read_request`` + ``fit`` (the capacity model's reads included: racks, units, assets,
PDU percentiles, port states, links, prefix utilisation) for four 2U servers of 600 W, dual
fed, two 10G ports and an address each, in one named site: the answer a resident engineer asks
for. Median of ``--runs`` after one warm-up run, wall clock and CPU. And the same request
without a site: the fit chooses one site from the registry's free rack units first
(``assets.plan_scope``) and reads the measurements of that site only.

Goal (issue #23): both answers at 10x within 2x of 1x and under a second. Prints JSON.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NOW = datetime(2026, 10, 1, tzinfo=UTC)
DAYS = 14
RACKS_PER_ROOM = 10
PORTS = 48


def app_for(folder: Path) -> Any:
    from opskit import create_app
    from opskit.config import Settings

    url = f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    return create_app({"TESTING": True, "SITE_NAME": "基准测试"}, settings=settings)


def seed(folder: Path, sites: int) -> dict[str, int]:
    from sqlalchemy import insert

    from assets.models import Asset, IPAddress, Prefix, Rack, Room, Site
    from assets.services import sort_key
    from opskit import db, migrate
    from opskit.db import make_engine

    engine = make_engine(f"sqlite:///{folder / 'bench.db'}")
    migrate.upgrade(engine)
    engine.dispose()
    app = app_for(folder)
    counts = dict.fromkeys(("racks", "assets", "prefixes", "rollups", "readings"), 0)
    hours = [NOW - timedelta(hours=h) for h in range(1, DAYS * 24 + 1)]
    with app.app_context():
        sess = db.session()
        tag = 0
        for s in range(sites):
            site = Site(name=f"站点{s:02d}", address="", notes="")
            sess.add(site)
            sess.flush()
            for prefix_no in range(5):
                cidr = f"10.{s}.{prefix_no}.0/24"
                network = ipaddress.ip_address(f"10.{s}.{prefix_no}.0")
                prefix = Prefix(
                    cidr=cidr, family=4, sort_key=sort_key(network),
                    prefix_length=24, gateway=f"10.{s}.{prefix_no}.1", site_id=site.id,
                    purpose="", notes="",
                )  # fmt: skip
                sess.add(prefix)
                sess.flush()
                sess.execute(
                    insert(IPAddress),
                    [
                        {
                            "address": f"10.{s}.{prefix_no}.{h}",
                            "family": 4,
                            "sort_key": sort_key(ipaddress.ip_address(f"10.{s}.{prefix_no}.{h}")),
                            "prefix_id": prefix.id,
                            "status": "active",
                        }
                        for h in range(2, 102)
                    ],
                )
                counts["prefixes"] += 1
            for r in range(2):
                room = Room(site_id=site.id, name=f"{r + 1}号机房", floor="", notes="")
                sess.add(room)
                sess.flush()
                tag += 1
                sess.add(
                    Asset(
                        asset_tag=f"AC-{tag:05d}", name="精密空调", kind="precision_ac",
                        room_id=room.id, specs={"cooling_watts": 200_000},
                    )
                )  # fmt: skip
                counts["assets"] += 1
                for k in range(RACKS_PER_ROOM):
                    rack = Rack(
                        room_id=room.id, name=f"{'AB'[r]}{k + 1:02d}", u_height=42,
                        power_a_watts=7360, power_b_watts=7360, notes="",
                    )  # fmt: skip
                    sess.add(rack)
                    sess.flush()
                    counts["racks"] += 1
                    tag = _rack(sess, room.id, rack.id, tag, hours, counts)
        sess.commit()
    return counts


def _rack(sess: Any, room_id: int, rack_id: int, tag: int, hours: list, counts: dict) -> int:
    """One rack's assets, units, PDU draw, switch ports; returns the last asset tag number."""
    from sqlalchemy import insert

    from assets.models import Asset, Link, RackUnit
    from monitors.models import Reading, Rollup

    def asset(kind: str, u: int | None, height: int, specs: dict) -> Asset:
        nonlocal tag
        tag += 1
        a = Asset(
            asset_tag=f"{kind[:3].upper()}-{tag:05d}", name=f"{kind} {tag}", kind=kind,
            room_id=room_id, rack_id=rack_id, u_position=u, u_height=height, specs=specs,
        )  # fmt: skip
        sess.add(a)
        counts["assets"] += 1
        return a

    pdus = [asset("pdu", None, 0, {"feed": feed}) for feed in "AB"]
    switch = asset("switch", 42, 1, {"power_watts": 150})
    servers = []
    unit = 1
    for i in range(22):
        height = 2 if i % 3 == 0 else 1
        servers.append(asset("server", unit, height, {"power_watts": 350} if i % 2 else {}))
        unit += height + (1 if i % 5 == 4 else 0)  # a gap now and then
    sess.flush()
    units = [
        {"rack_id": rack_id, "unit": u, "asset_id": a.id}
        for a in [switch, *servers]
        for u in range(a.u_position, a.u_position + a.u_height)
    ]
    sess.execute(insert(RackUnit), units)
    rollups = []
    for n, pdu in enumerate(pdus):
        for i, at in enumerate(hours):
            value = 1500.0 + 300 * n + (i * 37 % 400)
            rollups.append(_rollup(pdu.id, "pdu.power_w", "", at, value))
    readings = []
    polled = NOW - timedelta(minutes=5)
    for p in range(1, PORTS + 1):
        port = f"XGigabitEthernet1/0/{p}"
        up = p <= 24
        for metric, text in (("if.oper_status", "up" if up else "down"), ("if.admin_status", "up")):
            readings.append(_reading(switch.id, metric, port, polled, text=text))
        readings.append(_reading(switch.id, "if.speed_bps", port, polled, value=1e10))
        if up:
            for at in hours:
                rollups.append(_rollup(switch.id, "if.in_bps", port, at, 1e8))
        elif p > 44:
            readings.append(
                _reading(switch.id, "if.in_bps", port, NOW - timedelta(days=3), value=5e5)
            )
    for p, server in zip(range(25, 29), servers, strict=False):
        a, b = sorted([(server.id, "eth1"), (switch.id, f"XGigabitEthernet1/0/{p}")])
        sess.add(Link(a_asset_id=a[0], a_port=a[1], b_asset_id=b[0], b_port=b[1]))
    sess.execute(insert(Rollup), rollups)
    sess.execute(insert(Reading), readings)
    counts["rollups"] += len(rollups)
    counts["readings"] += len(readings)
    return tag


def _rollup(asset_id: int, metric: str, instance: str, at: datetime, value: float) -> dict:
    return {
        "asset_id": asset_id, "metric": metric, "instance": instance, "resolution": 3600,
        "bucket": at, "count": 12, "min": value, "max": value, "avg": value, "last": value,
    }  # fmt: skip


def _reading(asset_id: int, metric: str, instance: str, at: datetime, **value: Any) -> dict:
    return {"asset_id": asset_id, "metric": metric, "instance": instance, "at": at, **value}


PLAN = {
    "devices": [
        {
            "name": f"app-{i}",
            "u": 2,
            "watts": 600,
            "feeds": 2,
            "ports": {"10G": 2},
            "addresses": {"prefix": "10.0.1.0/24", "count": 1},
        }
        for i in range(1, 5)
    ]
}


def measure(folder: Path, runs: int, site: str | None) -> dict[str, Any]:
    from flask_babel import force_locale

    from assets.plan import fit, read_request

    app = app_for(folder)
    walls, cpus = [], []
    answer: dict[str, Any] = {}
    with app.app_context(), force_locale("en"):
        for run in range(runs + 1):
            data = {**PLAN, **({"site": site} if site else {})}
            w0, c0 = time.perf_counter(), time.process_time()
            answer = fit(read_request(data), now=NOW)
            wall, cpu = time.perf_counter() - w0, time.process_time() - c0
            if run:  # the first run warms the caches
                walls.append(wall)
                cpus.append(cpu)
    best = answer["candidates"][0] if answer["candidates"] else None
    return {
        "wall_s": round(statistics.median(walls), 4),
        "cpu_s": round(statistics.median(cpus), 4),
        "candidates": len(answer["candidates"]),
        "rejected": len(answer["rejected"]),
        "best": best["why"] if best else None,
        "site_chosen": answer.get("site_chosen"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    ns = parser.parse_args()
    out: dict[str, Any] = {
        "goal": "the answer with and without a site at 10x <= 2x of 1x and < 1 s"
    }
    with tempfile.TemporaryDirectory(prefix="opskit-bench-plan-") as tmp:
        for scale in (1, 10):
            folder = Path(tmp) / f"x{scale}"
            folder.mkdir()
            t0 = time.perf_counter()
            counts = seed(folder, scale)
            out[f"x{scale}"] = {
                "data": counts,
                "seed_s": round(time.perf_counter() - t0, 1),
                "site": measure(folder, ns.runs, "站点00"),
                "all_sites": measure(folder, ns.runs, None),
            }
    one, ten = out["x1"]["site"], out["x10"]["site"]
    out["ratio_site_10x_1x"] = round(ten["wall_s"] / one["wall_s"], 2)
    out["ratio_site_10x_1x_cpu"] = round(ten["cpu_s"] / one["cpu_s"], 2)
    out["ratio_all_sites_10x_1x"] = round(
        out["x10"]["all_sites"]["wall_s"] / out["x1"]["all_sites"]["wall_s"], 2
    )
    out["ratio_all_sites_10x_1x_cpu"] = round(
        out["x10"]["all_sites"]["cpu_s"] / out["x1"]["all_sites"]["cpu_s"], 2
    )
    out["goal_met"] = all(
        out[f"ratio_{scope}_10x_1x"] <= 2 and out["x10"][scope]["wall_s"] < 1
        for scope in ("site", "all_sites")
    )
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
