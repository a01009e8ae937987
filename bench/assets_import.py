"""Benchmark: Excel import in bounded memory, and the asset list page, at two sizes.

    python bench/assets_import.py                  # 10,000 and 1,000,000 rows (the 1M import
                                                   # takes a while; its workbook is cached)
    python bench/assets_import.py 10000 100000     # other sizes (the first is the baseline)
    python bench/assets_import.py --server 100000  # server RSS before / during / after a web import

Workbooks (rooms, 42U racks with 40 assets each, management IPs, dates; 14 columns) are written
once with xlsxwriter into ``/tmp/opskit-bench-xlsx/`` and reused. Each size is imported in a
fresh subprocess (fresh SQLite database, ``IMPORT_MAX_ROWS`` raised to the size) so its peak RSS
(``ru_maxrss``) is its own; then GET /assets/ is timed through the test client as an engineer
(first request discarded, median of the rest). Goals, printed as ratios to the first size:
peak RSS within 1.5x, import rows/s at least 0.8x, the list page within 1.5x. Rows per CPU
second are printed too: on a shared machine the wall-clock rate moves with the neighbours.
Every child's numbers are appended to ``/tmp/opskit-bench-xlsx/results.jsonl``.

``--server N`` starts the real server (cheroot) on a fresh instance in a subprocess, logs in,
does a small import to warm up, then uploads the N-row workbook through the Excel page and
prints the server's RSS when idle before, the peak during and the RSS after the import (goal:
back within 1.2x of idle before). ``BENCH_NO_TRIM=1`` leaves out the importer's gc.collect() +
malloc_trim(0) afterwards, to compare.
"""

from __future__ import annotations

import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_RUNS = 7
CACHE = Path(tempfile.gettempdir()) / "opskit-bench-xlsx"
PASSWORD = "engineer-password-1"  # noqa: S105 - a throwaway bench user


def workbook(n: int) -> Path:
    """The cached n-row workbook, written (in a subprocess) if it is not there yet."""
    path = CACHE / f"assets-{n}.xlsx"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, __file__, "--make", str(n), str(path)], check=True)  # noqa: S603
        took = time.perf_counter() - t0
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {took:.0f} s")
    return path


def make_workbook(path: Path, n: int) -> None:
    import xlsxwriter

    kinds = ["服务器", "交换机", "存储", "防火墙", "UPS", "PDU"]
    tmp = path.with_suffix(".part")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True})
    ws = wb.add_worksheet("资产")
    head = ["资产编号", "名称", "类型", "厂商", "型号", "序列号", "站点", "机房", "机柜"]
    head += ["起始U位", "高度U", "管理IP", "保修截止", "重要性"]
    for c, h in enumerate(head):
        ws.write_string(0, c, h)
    datefmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    start = date(2026, 1, 1)
    for i in range(n):
        r = i + 1
        rack = i // 40
        row = [
            f"A{i:07d}",
            f"设备{i}",
            kinds[i % len(kinds)],
            "华为" if i % 2 else "H3C",
            f"M-{i % 17}",
            f"SN{i:09d}",
            "总部",
            f"{rack // 50 + 1}号机房",
            f"R{rack:05d}",
        ]
        for c, v in enumerate(row):
            ws.write_string(r, c, v)
        ws.write_number(r, 9, i % 40 + 1)
        ws.write_number(r, 10, 1)
        ws.write_string(r, 11, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        ws.write_datetime(r, 12, start + timedelta(days=i % 1500), datefmt)
        ws.write_string(r, 13, "一般")
    wb.close()
    tmp.rename(path)


def prepare_instance(folder: Path) -> str:
    """A migrated SQLite database with one engineer; returns its URL."""
    from sqlalchemy import create_engine, insert
    from werkzeug.security import generate_password_hash

    from opskit import migrate
    from opskit.db import make_engine
    from opskit.models import User

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            insert(User),
            [
                {
                    "username": "engineer",
                    "display_name": "Engineer",
                    "role": "engineer",
                    "password_hash": generate_password_hash(PASSWORD),
                    "active": True,
                }
            ],
        )
    engine.dispose()
    return url


def make_app(folder: Path, url: str, testing: bool = True):
    from opskit import create_app
    from opskit.config import Settings

    settings = Settings(
        instance_path=folder / "instance",
        database_url=url,
        secret_key="bench",  # noqa: S106
        import_max_rows=2_000_000,
    )
    return create_app({"TESTING": testing}, settings=settings)


def login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login",
        data={"csrf_token": token.group(1), "username": "engineer", "password": PASSWORD},
    )
    assert response.status_code == 302, response.status_code


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def child(n: int, book: Path) -> None:
    """One size in this (fresh) process: import, peak RSS, list page; prints one JSON line."""
    from assets import excel

    with tempfile.TemporaryDirectory(prefix="opskit-bench-") as tmp:
        folder = Path(tmp)
        app = make_app(folder, prepare_instance(folder))
        with app.test_request_context("/"):  # warm up: imports, translations, first queries
            excel.import_workbook(workbook_small(folder), dry_run=True)
        before = rss_mb()
        with app.test_request_context("/"):
            t0, c0 = time.perf_counter(), cpu_s()
            result = excel.import_workbook(book, max_rows=max(n, 1))
            imported, cpu = time.perf_counter() - t0, cpu_s() - c0
            if not result.ok:
                raise SystemExit("\n".join(p.line() for p in result.problems[:20]))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after = rss_mb()
        client = app.test_client()
        login(client)
        times = []
        for _ in range(PAGE_RUNS):
            t0 = time.perf_counter()
            response = client.get("/assets/")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        app.extensions["opskit.engine"].dispose()
    line = json.dumps(
        {
            "n": n,
            "import_s": imported,
            "rows_per_s": n / imported,
            "cpu_s": cpu,
            "rows_per_cpu_s": n / cpu,
            "rss_before_mb": before,
            "peak_mb": peak,
            "rss_after_mb": after,
            "page_s": statistics.median(times[1:]),
            "created": result.counts["资产"]["created"],
        }
    )
    with (CACHE / "results.jsonl").open("a", encoding="utf-8") as fh:  # a record of every run
        fh.write(line + "\n")
    print(line)


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def workbook_small(folder: Path) -> Path:
    path = folder / "small.xlsx"
    make_workbook(path, 20)
    return path


def run_sizes(sizes: list[int]) -> None:
    results = {}
    for n in sizes:
        book = workbook(n)
        out = subprocess.run(  # noqa: S603 - this script, its own arguments
            [sys.executable, __file__, "--child", str(n), str(book)],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results[n] = r
        print(
            f"{n:>9,} rows: import {r['import_s']:8.1f} s ({r['rows_per_s']:7.0f} rows/s; "
            f"{r['rows_per_cpu_s']:.0f} rows per CPU second), "
            f"RSS before {r['rss_before_mb']:.0f} MB, peak {r['peak_mb']:.0f} MB, "
            f"after {r['rss_after_mb']:.0f} MB; list page {1000 * r['page_s']:.1f} ms",
            flush=True,
        )
    base = results[sizes[0]]
    for n in sizes[1:]:
        r = results[n]
        print(
            f"ratio {n:,}/{sizes[0]:,}: peak RSS {r['peak_mb'] / base['peak_mb']:.2f}x "
            f"[goal <= 1.5x], rows/s {r['rows_per_s'] / base['rows_per_s']:.2f}x "
            f"[goal >= 0.8x] (per CPU second {r['rows_per_cpu_s'] / base['rows_per_cpu_s']:.2f}x), "
            f"list page {r['page_s'] / base['page_s']:.2f}x [goal <= 1.5x]"
        )


# --- the server's memory around a web import -------------------------------------------------


def serve(folder: Path, url: str, port: int) -> None:
    from opskit.server import build_server

    if os.environ.get("BENCH_NO_TRIM"):  # to see what malloc_trim after an import gives back
        from opskit.xlsx import reader

        reader.release_memory = lambda: None
    app = make_app(folder, url, testing=False)
    server = build_server(app, port=port, threads=4)
    server.prepare()
    print("ready", flush=True)
    server.serve()


def run_server(n: int) -> None:
    import psutil
    import requests

    book = workbook(n)
    with tempfile.TemporaryDirectory(prefix="opskit-bench-") as tmp:
        folder = Path(tmp)
        url = prepare_instance(folder)
        port = 18000 + os.getpid() % 1000
        proc = subprocess.Popen(  # noqa: S603 - this script, its own arguments
            [sys.executable, __file__, "--serve", str(folder), url, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            server = psutil.Process(proc.pid)
            base = f"http://127.0.0.1:{port}"
            http = requests.Session()
            page = http.get(f"{base}/login").text
            token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
            done = http.post(
                f"{base}/login",
                data={"csrf_token": token, "username": "engineer", "password": PASSWORD},
                allow_redirects=False,
            )
            assert done.status_code == 302, done.status_code

            def upload(path: Path, dry_run: bool) -> requests.Response:
                page = http.get(f"{base}/assets/excel/").text
                token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                data = {"csrf_token": token}
                if dry_run:
                    data["dry_run"] = "1"
                with path.open("rb") as fh:
                    return http.post(
                        f"{base}/assets/excel/", data=data, files={"file": (path.name, fh)}
                    )

            for _ in range(2):  # warm up: every module and thread the import uses
                assert upload(workbook_small(folder), dry_run=True).status_code == 200
            time.sleep(1)
            idle = server.memory_info().rss / 2**20
            peak = [idle]
            stop = threading.Event()

            def sample() -> None:
                while not stop.is_set():
                    peak[0] = max(peak[0], server.memory_info().rss / 2**20)
                    time.sleep(0.2)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()
            t0 = time.perf_counter()
            response = upload(book, dry_run=False)
            took = time.perf_counter() - t0
            stop.set()
            sampler.join()
            time.sleep(1)
            after = server.memory_info().rss / 2**20
            again = upload(book, dry_run=True)  # the same file again: everything unchanged
            time.sleep(1)
            after_again = server.memory_info().rss / 2**20
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(
        f"server, web import of {n:,} rows: HTTP {response.status_code} in {took:.1f} s "
        f"({len(response.content):,} bytes of page); RSS idle {idle:.0f} MB, "
        f"peak {peak[0]:.0f} MB, "
        f"after {after:.0f} MB ({after / idle:.2f}x idle) [goal <= 1.2x]; after a second "
        f"(dry) run {after_again:.0f} MB (HTTP {again.status_code})"
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--make"]:
        make_workbook(Path(argv[2]), int(argv[1]))
    elif argv[:1] == ["--child"]:
        child(int(argv[1]), Path(argv[2]))
    elif argv[:1] == ["--serve"]:
        serve(Path(argv[1]), argv[2], int(argv[3]))
    elif argv[:1] == ["--server"]:
        run_server(int(argv[1]) if len(argv) > 1 else 100_000)
    else:
        run_sizes([int(a) for a in argv] or [10_000, 1_000_000])


if __name__ == "__main__":
    main(sys.argv[1:])
