"""Benchmark: Excel import of 1k and 50k assets, and the asset list page at both sizes.

    python bench/assets_import.py            # 1,000 and 50,000 assets (a few minutes)
    python bench/assets_import.py 1000 5000  # other sizes (the first is the baseline)

For each size: a fresh SQLite database in a temporary folder, a generated workbook (rooms,
42U racks, 40 assets per rack, management IPs, dates), the import timed (parse + checks +
one transaction), then GET /assets/ through the Flask test client as a logged-in engineer
(first request discarded, median of the rest). Prints the times and the ratios to the first
size. Goal: the list page at 50k within 1.5x of 1k.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_RUNS = 7


def make_workbook(path: Path, n: int) -> None:
    import xlsxwriter

    kinds = ["服务器", "交换机", "存储", "防火墙", "UPS", "PDU"]
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
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
            f"A{i:06d}",
            f"设备{i}",
            kinds[i % len(kinds)],
            "华为" if i % 2 else "H3C",
            f"M-{i % 17}",
            f"SN{i:09d}",
            "总部",
            f"{rack // 50 + 1}号机房",
            f"R{rack:04d}",
        ]
        for c, v in enumerate(row):
            ws.write_string(r, c, v)
        ws.write_number(r, 9, i % 40 + 1)
        ws.write_number(r, 10, 1)
        ws.write_string(r, 11, f"10.{i // 65536}.{i // 256 % 256}.{i % 256}")
        ws.write_datetime(r, 12, start + timedelta(days=i % 1500), datefmt)
        ws.write_string(r, 13, "一般")
    wb.close()


def make_app(folder: Path):
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from opskit import create_app, db, migrate
    from opskit.config import Settings
    from opskit.db import make_engine
    from opskit.models import User

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    app = create_app({"TESTING": True}, settings=settings)
    with app.app_context():
        sess = db.session()
        sess.execute(
            insert(User),
            [
                {
                    "username": "engineer",
                    "display_name": "Engineer",
                    "role": "engineer",
                    "password_hash": generate_password_hash("engineer-password-1"),
                    "active": True,
                }
            ],
        )
        sess.commit()
    return app


def login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login",
        data={
            "csrf_token": token.group(1),
            "username": "engineer",
            "password": "engineer-password-1",
        },
    )
    assert response.status_code == 302, response.status_code


def run(n: int) -> dict[str, float]:
    from assets import excel

    with tempfile.TemporaryDirectory(prefix="opskit-bench-") as tmp:
        folder = Path(tmp)
        book = folder / f"assets-{n}.xlsx"
        t0 = time.perf_counter()
        make_workbook(book, n)
        generate = time.perf_counter() - t0
        app = make_app(folder)
        with app.test_request_context("/"):
            t0 = time.perf_counter()
            result = excel.import_workbook(book)
            imported = time.perf_counter() - t0
            if not result.ok:
                raise SystemExit("\n".join(p.line() for p in result.problems[:20]))
        client = app.test_client()
        login(client)
        times = []
        size = 0
        for _ in range(PAGE_RUNS):
            t0 = time.perf_counter()
            response = client.get("/assets/")
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
            size = len(response.data)
        page = statistics.median(times[1:])
        with app.app_context():  # the data part alone: one page of assets and the count
            from assets import queries

            query_times = []
            for _ in range(PAGE_RUNS):
                t0 = time.perf_counter()
                queries.list_assets()
                query_times.append(time.perf_counter() - t0)
            query = statistics.median(query_times[1:])
            racks = len(queries.all_racks())
        app.extensions["opskit.engine"].dispose()
    print(
        f"{n:>7} assets: workbook {generate:6.2f} s, import {imported:7.2f} s "
        f"({1000 * imported / n:.2f} ms/row), list page {1000 * page:7.1f} ms ({size} bytes), "
        f"of which list_assets() {1000 * query:5.1f} ms; {racks} racks"
    )
    return {"import": imported, "page": page, "size": size, "query": query}


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [1_000, 50_000]
    results = {n: run(n) for n in sizes}
    base = sizes[0]
    for n in sizes[1:]:
        r, b = results[n], results[base]
        print(
            f"ratio {n}/{base}: import {r['import'] / b['import']:.1f}x "
            f"(rows {n / base:.0f}x), list page {r['page'] / b['page']:.2f}x"
            f"  [goal: list page <= 1.5x]; list_assets() {r['query'] / b['query']:.2f}x"
        )
    if results[base]["size"] < 5000:
        print("note: /assets/ looks like a placeholder page (small response); measured anyway.")


if __name__ == "__main__":
    main(sys.argv[1:])
