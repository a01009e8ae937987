"""Benchmark: the home dashboard with the demo site, and with 20x its assets and history.

    python bench/dashboard.py          # scale 1 and scale 20 (a few minutes)
    python bench/dashboard.py 1 5      # other scales (the first is the baseline)

For each scale: a fresh SQLite database in a temporary folder, seeded with the demo's own seed
functions (``opskit.demo.seed.seed(scale=k)``): k times the IT racks and their assets (servers,
switches, PDUs, storage; rooms, UPSes and air conditioners stay), and k times the history
(two weeks per k of readings, alerts, patrol rounds, logbook). Then GET / through the Flask test
client as a logged-in engineer (first request discarded, median of the rest), and each tile's
own refresh endpoint. Prints the times and the ratio to the first scale. Goal: <= 1.5x (the
page must not grow with the history kept).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PAGE_RUNS = 9
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway database


def make_app(folder: Path):
    from opskit import create_app, migrate
    from opskit.config import Settings
    from opskit.db import make_engine

    url = f"sqlite:///{folder / 'bench.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    settings = Settings(instance_path=folder / "instance", database_url=url, secret_key="bench")  # noqa: S106
    return create_app({"TESTING": True}, settings=settings)


def login(client) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert token, "no CSRF token on /login"
    response = client.post(
        "/login", data={"csrf_token": token.group(1), "username": "bench", "password": PASSWORD}
    )
    assert response.status_code == 302, response.status_code


def _median_get(client, path: str) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(PAGE_RUNS):
        t0 = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - t0)
        assert response.status_code == 200, (path, response.status_code)
        size = len(response.data)
    return statistics.median(times[1:]), size


def run(scale: int) -> dict[str, float]:
    from opskit import db, users
    from opskit.audit import acting_as
    from opskit.demo import seed

    with tempfile.TemporaryDirectory(prefix="opskit-bench-") as tmp:
        app = make_app(Path(tmp))
        with app.app_context():
            t0 = time.perf_counter()
            counts = seed.seed(scale=scale, snmp_port=16161)
            seeded = time.perf_counter() - t0
            with acting_as("bench"):
                users.create_user("bench", "engineer", PASSWORD, display_name="Bench")
                db.session().commit()
        client = app.test_client()
        login(client)
        page, size = _median_get(client, "/")
        tiles = {}
        from opskit import dashboard

        for name in dashboard.TILES:
            tiles[name], _ = _median_get(client, f"/tiles/{name}")
        app.extensions["opskit.engine"].dispose()
    print(
        f"scale {scale:>2}: {counts.get('assets')} assets, {counts.get('readings')} readings, "
        f"{counts.get('alerts')} alerts, {counts.get('rounds')} rounds, "
        f"{counts.get('logbook')} logbook (seeded in {seeded:.0f} s); "
        f"home page {1000 * page:6.1f} ms ({size} bytes)"
    )
    print("          tiles: " + ", ".join(f"{k} {1000 * v:.1f} ms" for k, v in tiles.items()))
    return {"page": page, "size": size, **{f"tile:{k}": v for k, v in tiles.items()}}


def main(argv: list[str]) -> None:
    scales = [int(a) for a in argv] or [1, 20]
    results = {k: run(k) for k in scales}
    base = scales[0]
    for k in scales[1:]:
        r, b = results[k], results[base]
        worst = max((key for key in r if key.startswith("tile:")), key=lambda key: r[key] / b[key])
        print(
            f"ratio scale {k}/{base}: home page {r['page'] / b['page']:.2f}x  [goal: <= 1.5x]; "
            f"slowest-growing tile {worst[5:]} {r[worst] / b[worst]:.2f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
