"""Benchmark: the home dashboard with the demo site, and with 20x its assets and history.

    python bench/dashboard.py          # scale 1 and scale 20 (a few minutes)
    python bench/dashboard.py 1 5      # other scales (the first is the baseline)

For each scale: a fresh SQLite database in a temporary folder, seeded with the demo's own seed
functions (``opskit.demo.seed.seed(scale=k)``): k times the IT racks and their assets (servers,
switches, PDUs, storage; rooms, UPSes and air conditioners stay), and k times the history
(two weeks per k of readings, alerts, patrol rounds, logbook). Then GET / through the Flask test
client as a logged-in engineer, and each tile's own refresh endpoint; the scales take turns
request by request (first round discarded, median of the rest), so a shared machine's load
changes hit them alike. Prints the times and the ratio to the first scale. Goal: <= 1.5x (the
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


def prepare(scale: int, folder: Path) -> dict:
    """A seeded database at ``scale`` and a logged-in test client."""
    from opskit import db, users
    from opskit.audit import acting_as
    from opskit.demo import seed

    app = make_app(folder)
    with app.app_context():
        t0 = time.perf_counter()
        counts = seed.seed(scale=scale, snmp_port=16161)
        seeded = time.perf_counter() - t0
        with acting_as("bench"):
            users.create_user("bench", "engineer", PASSWORD, display_name="Bench")
            db.session().commit()
    client = app.test_client()
    login(client)
    print(
        f"scale {scale:>2}: {counts.get('assets')} assets, {counts.get('readings')} readings, "
        f"{counts.get('alerts')} alerts, {counts.get('rounds')} rounds, "
        f"{counts.get('logbook')} logbook entries (seeded in {seeded:.0f} s)",
        flush=True,
    )
    return {"app": app, "client": client}


def measure(runs: dict[int, dict], path: str) -> dict[int, tuple[float, int]]:
    """Median time of GET ``path`` per scale; the scales take turns, so a machine that gets
    busier or quieter during the run affects them alike."""
    times: dict[int, list[float]] = {k: [] for k in runs}
    sizes: dict[int, int] = {}
    for _ in range(PAGE_RUNS):
        for k, run in runs.items():
            t0 = time.perf_counter()
            response = run["client"].get(path)
            times[k].append(time.perf_counter() - t0)
            assert response.status_code == 200, (path, response.status_code)
            sizes[k] = len(response.data)
    return {k: (statistics.median(t[1:]), sizes[k]) for k, t in times.items()}


def main(argv: list[str]) -> None:
    from opskit import dashboard

    scales = [int(a) for a in argv] or [1, 20]
    with tempfile.TemporaryDirectory(prefix="opskit-bench-") as tmp:
        runs = {}
        for k in scales:
            folder = Path(tmp) / f"scale-{k}"
            folder.mkdir()
            runs[k] = prepare(k, folder)
        home = measure(runs, "/")
        tiles = {name: measure(runs, f"/tiles/{name}") for name in dashboard.TILES}
        for run in runs.values():
            run["app"].extensions["opskit.engine"].dispose()
    base = scales[0]
    for k in scales:
        print(
            f"scale {k:>2}: home page {1000 * home[k][0]:6.1f} ms ({home[k][1]} bytes); tiles: "
            + ", ".join(f"{n} {1000 * t[k][0]:.1f}" for n, t in tiles.items())
            + " ms"
        )
    for k in scales[1:]:
        worst = max(tiles, key=lambda n: tiles[n][k][0] / tiles[n][base][0])
        print(
            f"ratio scale {k}/{base}: home page {home[k][0] / home[base][0]:.2f}x  "
            f"[goal: <= 1.5x]; fastest-growing tile {worst} "
            f"{tiles[worst][k][0] / tiles[worst][base][0]:.2f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
