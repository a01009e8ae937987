"""Benchmark: the quarterly report pack against writing the same cells with raw xlsxwriter.

    python bench/report.py              # 1x and 4x data (several minutes on 2 cores)
    python bench/report.py --scales 1   # 1x only
    python bench/report.py --data DIR   # keep the seeded databases in DIR and reuse them

Data at 1x: 2,000 assets (200 core servers), 20,000 registered addresses in 80 /24 prefixes,
1,000 links with their LLDP neighbours (some missing, some extra), 20,000 ARP sightings (a few
conflicts), 92 days (2026Q3) of hourly load rollups for the 200 core servers (CPU, memory,
storage, traffic in and out: 2.2 million rows) and the daily load rows the poller keeps from
them (``monitors.load``: 12,800 weekly rows), a patrol plan, 50 alerts; for 机房环境与供电,
可用性 and 线路带宽: 2 room probes, 4 UPSes, 8 PDUs and 2 lines with 5-minute rollups over the
quarter (24 series, 635,904 rows: a quarterly pack within the 180 days the 5-minute rollups are
kept reads those, for the rooms and the lines) and their hourly rollups (the UPS and PDU
figures), an SNMP monitor per core server with its state changes (an outage every ~18 days),
10 maintenance windows and 30 on-battery alerts. 4x multiplies all.

Each step runs in its own process so that peak memory (``resource.getrusage`` max RSS) is
that step's alone:

1. ``seed``: a fresh SQLite database at the scale (not timed);
2. ``pack``: ``reports.build.build_pack`` for 2026Q3, every kind (timed, peak RSS, and RSS
   before the build = Python + Flask + SQLAlchemy loaded); the report writer streams data rows
   as XML (``opskit.xlsx.rows``);
3. ``raw``: the pack's cells read back with their number formats (openpyxl read-only; not
   timed), then written again with xlsxwriter ``constant_memory`` into the same sheets, the
   same rows and cells, each cell with its number format (dates stay dates), through the call
   ``write_row`` makes per cell (timed). Not copied: fills, bold headers, column widths, frozen
   panes, filters, charts and the topology picture (styling; the picture's drawing is report
   work and stays in the pack's time).

4. ``cells``: the same pack with ``opskit.xlsx.rows`` off, every cell through xlsxwriter's own
   writers (same bytes; shows what the data work costs next to xlsxwriter's writing).

Prints both times (wall clock, and the process's CPU time, which other load on a shared
machine disturbs less), the ratio pack/raw and the peak memory of the pack at each scale.
Goals from the issue: ratio ≤ 1.3, memory at 4x ≤ 1.3x memory at 1x.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TZ = ZoneInfo("Asia/Shanghai")
PERIOD = "2026Q3"
DAYS = 92


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def app_for(folder: Path):
    from opskit import create_app
    from opskit.config import Settings

    url = f"sqlite:///{folder / 'bench.db'}"
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    return create_app({"TESTING": True, "SITE_NAME": "基准测试"}, settings=settings)


def seed(folder: Path, scale: int) -> dict:
    from sqlalchemy import insert

    from assets.models import Asset, IPAddress, Link, Prefix
    from assets.services import sort_key
    from monitors.models import ArpSighting, LldpNeighbor, Resolution, Rollup
    from opskit import db, migrate
    from opskit.alerts import services as alerts
    from opskit.db import make_engine

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = app_for(folder)
    started = time.perf_counter()
    now = datetime(2026, 10, 1, tzinfo=UTC)
    n_assets, n_servers = 2000 * scale, 200 * scale
    n_prefixes = 80 * scale
    with app.app_context():
        sess = db.session()
        kinds = ["server", "storage", "ups", "pdu", "firewall", "router"]
        rows = []
        for i in range(n_assets):
            if i < n_servers:
                kind, importance = "server", "core"
            elif i < n_servers + 100 * scale:
                kind, importance = "switch", "important"
            else:
                kind, importance = kinds[i % len(kinds)], "general"
            rows.append(
                {
                    "asset_tag": f"A{i:06d}",
                    "name": f"设备{i}" if i % 500 else f"=cmd|'/C calc'!A{i}",
                    "kind": kind,
                    "vendor": "华为" if i % 2 else "H3C",
                    "model": f"M-{i % 17}",
                    "serial": f"SN{i:09d}",
                    "status": "in_service",
                    "importance": importance,
                    "u_height": 1,
                    "specs": {"cpu_model": "2x Xeon", "memory_gb": 256, "disks": "4x 1.92TB"}
                    if kind == "server"
                    else {},
                    "created_at": now,
                    "updated_at": now,
                }
            )
        sess.execute(insert(Asset), rows)
        ids = [a for (a,) in sess.execute(Asset.__table__.select().with_only_columns(Asset.id))]
        ids.sort()
        servers, switches = ids[:n_servers], ids[n_servers : n_servers + 100 * scale]
        others = ids[n_servers + 100 * scale :]
        import ipaddress

        sess.execute(
            insert(Prefix),
            [
                {
                    "cidr": f"10.{p // 256}.{p % 256}.0/24",
                    "family": 4,
                    "sort_key": sort_key(ipaddress.ip_address(f"10.{p // 256}.{p % 256}.0")),
                    "prefix_length": 24,
                    "vlan": p % 4000 + 1,
                    "purpose": "业务",
                    "gateway": f"10.{p // 256}.{p % 256}.1",
                }
                for p in range(n_prefixes)
            ],
        )
        prefix_ids = sorted(
            pid for (pid,) in sess.execute(Prefix.__table__.select().with_only_columns(Prefix.id))
        )
        addresses = []
        sightings = []
        first, last = datetime(2026, 7, 1, tzinfo=UTC), datetime(2026, 9, 29, tzinfo=UTC)
        for p, pid in enumerate(prefix_ids):
            for h in range(2, 252):
                ip = f"10.{p // 256}.{p % 256}.{h}"
                k = p * 250 + h
                mac = "02:00:" + ":".join(f"{k >> sh & 255:02x}" for sh in (24, 16, 8, 0))
                addresses.append(
                    {
                        "address": ip,
                        "family": 4,
                        "sort_key": sort_key(ipaddress.ip_address(ip)),
                        "prefix_id": pid,
                        "status": "active" if h % 50 else "reserved",
                        "asset_id": ids[k % len(ids)],
                        "hostname": f"host-{k}",
                        "mac": mac,
                    }
                )
                if h % 97 == 0:
                    continue  # never seen: a conflict
                seen_mac = mac if h % 89 else "02:ff:ff:ff:ff:ff"
                sightings.append(
                    {
                        "asset_id": switches[k % len(switches)],
                        "ip": ip,
                        "mac": seen_mac,
                        "first_seen": first,
                        "last_seen": last,
                    }
                )
        sess.execute(insert(IPAddress), addresses)
        sess.execute(insert(ArpSighting), sightings)
        links, neighbours = [], []
        for i, asset_id in enumerate(others[: 1000 * scale]):
            switch = switches[i % len(switches)]
            port = f"Gi1/0/{i // len(switches) + 1}"
            a, b = sorted([(asset_id, "eth0"), (switch, port)])
            links.append(
                {
                    "a_asset_id": a[0],
                    "a_port": a[1],
                    "b_asset_id": b[0],
                    "b_port": b[1],
                    "source": "manual",
                }
            )
            if i % 20:
                neighbours.append(
                    {
                        "asset_id": switch,
                        "local_port": port,
                        "remote_sys_name": f"dev{asset_id}",
                        "remote_port": "eth0",
                        "remote_chassis_id": f"c{asset_id}",
                        "remote_asset_id": asset_id,
                        "first_seen": first,
                        "last_seen": last,
                    }
                )
            if i % 50 == 0:
                neighbours.append(
                    {
                        "asset_id": switch,
                        "local_port": f"Te1/0/{i}",
                        "remote_sys_name": f"unknown{i}",
                        "remote_port": "1",
                        "remote_chassis_id": f"x{i}",
                        "remote_asset_id": None,
                        "first_seen": first,
                        "last_seen": last,
                    }
                )
        sess.execute(insert(Link), links)
        sess.execute(insert(LldpNeighbor), neighbours)
        sess.commit()
        start = datetime(2026, 7, 1, tzinfo=TZ).astimezone(UTC)
        metrics = [
            ("host.cpu.load_percent", "", 30.0, 0.2),
            ("host.memory.used_percent", "", 50.0, 0.1),
            ("host.storage.used_percent", "/data", 60.0, 0.15),
            ("if.in_bps", "eth0", 2e8, 1e6),
            ("if.out_bps", "eth0", 1e8, 5e5),
        ]
        hours = DAYS * 24
        buckets = [start + timedelta(hours=h) for h in range(hours)]
        table = Rollup.__table__
        conn = sess.connection()
        for s_i, asset_id in enumerate(servers):
            batch = []
            for metric, instance, base, slope in metrics:
                for h, bucket in enumerate(buckets):
                    value = base + slope * (h / 24) * (1 + s_i % 5) + (h % 24) * base * 0.01
                    batch.append(
                        {
                            "asset_id": asset_id,
                            "metric": metric,
                            "instance": instance,
                            "resolution": int(Resolution.HOUR),
                            "bucket": bucket,
                            "count": 60,
                            "min": value * 0.9,
                            "max": value * 1.1,
                            "avg": value,
                            "last": value,
                        }
                    )
            conn.execute(table.insert(), batch)
        sess.commit()
        # the weekly load rows the poller keeps as it rolls up (monitors.load), built here in one
        # go for the quarter as ``opskit rollup --since`` would
        from monitors import load

        load.refresh(sess, start, start + timedelta(hours=hours), TZ)
        sess.commit()
        from inspections import services as patrol

        rooms_site = __import__("assets.services", fromlist=["x"])
        site, _ = rooms_site.get_or_create_site("总部")
        room, _ = rooms_site.get_or_create_room(site, "A机房")
        sess.flush()
        plan = patrol.save_plan(
            {
                "name": "日常巡检",
                "room_id": room.id,
                "checklist_keys": ["room_environment"],
                "schedule_times": "09:00, 15:00",
            }
        )
        plan.created_at = datetime(2026, 6, 1, tzinfo=UTC)
        from report_environment import environment_and_power  # bench/, the script's folder

        five_minute = environment_and_power(sess, scale, start, room, servers, switches)
        for i in range(50):
            alerts.raise_alert(
                f"bench-{i}",
                source="monitor",
                rule="bench",
                urgency="ABC"[i % 3],
                message=f"告警 {i}",
                at=start + timedelta(hours=i * 40),
            )
        sess.commit()
    return {
        "seed_s": round(time.perf_counter() - started, 1),
        "rollups": n_servers * hours * len(metrics),
        "five_minute": five_minute,
    }


def pack(folder: Path, out: Path, cells: bool = False) -> dict:
    app = app_for(folder)
    import xlsxwriter  # noqa: F401 - loaded before the clock starts, as in raw (opskit loads it lazily)

    from opskit.xlsx import rows as xlsxrows
    from reports.build import build_pack
    from reports.periods import parse_period

    if cells:  # every cell through xlsxwriter's own writers (the workbook is the same bytes)
        xlsxrows.supported = lambda ws: False

    with app.test_request_context("/"):
        before = rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        written = build_pack(
            parse_period(PERIOD, TZ), out, engineer="bench", now=datetime(2026, 10, 9, tzinfo=UTC)
        )
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "pack_s": round(seconds, 2),
        "pack_cpu_s": round(cpu, 2),
        "rss_before_mb": round(before, 1),
        "rss_peak_mb": round(rss_mb(), 1),
        "rows": sum(written.values()),
    }


def read_cells(path: Path) -> list[tuple[str, list[list[tuple]]]]:
    """Every sheet's rows as (value, number format or None) per cell, trailing blanks cut."""
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True)
    sheets = []
    for ws in book.worksheets:
        rows = []
        for row in ws.iter_rows():
            cells = [
                (getattr(c, "value", None), getattr(c, "number_format", "General")) for c in row
            ]
            while cells and cells[-1][0] is None:
                cells.pop()
            rows.append([(v, None if f == "General" else f) for v, f in cells])
        sheets.append((ws.title, rows))
    return sheets


def raw(source: Path, out: Path) -> dict:
    import xlsxwriter

    sheets = read_cells(source)
    cells = sum(1 for _n, rows in sheets for r in rows for v, _f in r if v is not None)
    before = rss_mb()
    started, cpu = time.perf_counter(), time.process_time()
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    formats: dict[str, object] = {}
    for name, rows in sheets:
        ws = book.add_worksheet(name)
        write = ws._write  # what write_row calls per cell, with this cell's own format
        for r, row in enumerate(rows):
            for c, (value, num_format) in enumerate(row):
                fmt = None
                if num_format is not None:
                    fmt = formats.get(num_format)
                    if fmt is None:
                        fmt = formats[num_format] = book.add_format({"num_format": num_format})
                write(r, c, value, fmt)
    book.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "raw_s": round(seconds, 2),
        "raw_cpu_s": round(cpu, 2),
        "cells": cells,
        "raw_rss_before_mb": round(before, 1),
        "raw_rss_peak_mb": round(rss_mb(), 1),
    }


def child(step: str, *args: str) -> dict:
    result = subprocess.run(  # noqa: S603 - this script with its own arguments
        [sys.executable, __file__, "--step", step, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scales", default="1,4")
    parser.add_argument("--step", default=None)
    parser.add_argument(
        "--data", default=None, help="Keep seeded databases here and reuse them (DIR/1x, DIR/4x)."
    )
    parser.add_argument("args", nargs="*")
    ns = parser.parse_args()
    if ns.step == "upgrade":
        from opskit import migrate
        from opskit.db import make_engine

        engine = make_engine(f"sqlite:///{Path(ns.args[0]) / 'bench.db'}")
        migrate.upgrade(engine)
        engine.dispose()
        print("{}")
        return
    if ns.step == "seed":
        print(json.dumps(seed(Path(ns.args[0]), int(ns.args[1]))))
        return
    if ns.step in ("pack", "cells"):
        print(json.dumps(pack(Path(ns.args[0]), Path(ns.args[1]), cells=ns.step == "cells")))
        return
    if ns.step == "raw":
        print(json.dumps(raw(Path(ns.args[0]), Path(ns.args[1]))))
        return
    results = {}
    for scale in [int(s) for s in ns.scales.split(",")]:
        with tempfile.TemporaryDirectory(prefix=f"opskit-report-bench-{scale}x-") as tmp:
            folder = Path(ns.data) / f"{scale}x" if ns.data else Path(tmp)
            done = folder / "seed.json"
            if done.exists():
                info = json.loads(done.read_text())
                child("upgrade", str(folder))  # migrations added since it was seeded
            else:
                folder.mkdir(parents=True, exist_ok=True)
                info = child("seed", str(folder), str(scale))
                done.write_text(json.dumps(info))
            out = folder / "pack.xlsx"
            info |= child("pack", str(folder), str(out))
            info |= child("raw", str(out), str(folder / "raw.xlsx"))
            by_cell = child("cells", str(folder), str(folder / "cells.xlsx"))
            info["cells_s"], info["cells_cpu_s"] = by_cell["pack_s"], by_cell["pack_cpu_s"]
            info["ratio"] = round(info["pack_s"] / info["raw_s"], 2)
            info["cpu_ratio"] = round(info["pack_cpu_s"] / info["raw_cpu_s"], 2)
            info["file_mb"] = round(out.stat().st_size / 1e6, 1)
            results[scale] = info
            print(
                f"{scale}x: seed {info['seed_s']} s ({info['rollups']:,} hourly rollups, "
                f"{info.get('five_minute', 0):,} 5-minute rollups); "
                f"pack {info['pack_s']} s, raw xlsxwriter {info['raw_s']} s, "
                f"ratio {info['ratio']} (CPU {info['pack_cpu_s']} s / {info['raw_cpu_s']} s = "
                f"{info['cpu_ratio']}); "
                f"{info['rows']:,} rows, {info['cells']:,} cells, {info['file_mb']} MB; "
                f"pack peak RSS {info['rss_peak_mb']} MB "
                f"(before build {info['rss_before_mb']} MB); "
                f"the pack with xlsxwriter's cell writers instead of streamed rows "
                f"{info['cells_s']} s (CPU {info['cells_cpu_s']} s = "
                f"{info['cells_cpu_s'] / info['raw_cpu_s']:.2f}x raw)",
                flush=True,
            )
    if 1 in results and 4 in results:
        one, four = results[1], results[4]
        added_1 = max(one["rss_peak_mb"] - one["rss_before_mb"], 1)
        added_4 = four["rss_peak_mb"] - four["rss_before_mb"]
        print(
            f"memory 4x/1x: peak RSS {four['rss_peak_mb'] / one['rss_peak_mb']:.2f}, "
            f"added by the build {added_4 / added_1:.2f}"
        )


if __name__ == "__main__":
    main()
