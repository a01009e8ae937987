"""The demo's capacity history: ~90 days of daily snapshots (``assets.capacity_history``) ending
with today's, so the 容量规划 sheet's 80 % forecast has a line to fit from the first run.

Today's snapshot is the real one (the seeded registry, readings and reservation); each earlier
day is worked back from it as a site that grew: rack units, ports and addresses step up in whole
units now and then (a server installed, a port patched, an address assigned), power and cooling
rise smoothly with a little day-to-day noise. The same seed gives the same history."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from assets import capacity, capacity_history

DAYS = 90  # days of history, today's included
#: resource → the share of today's use that came in over the DAYS (the growth worked back)
GROWTH = {"u": 0.18, "power": 0.15, "cooling": 0.15, "ports": 0.12, "ip": 0.10}
WHOLE = ("u", "ports", "ip")  # counted in whole units
NOISE = 0.02  # power and cooling: ± this share of the day's figure


def _earlier(row: dict[str, Any], back: int, rng: random.Random) -> dict[str, Any]:
    """``row`` (today's) as it was ``back`` days ago."""
    today = float(row["used"])
    used = today * (1 - GROWTH[row["resource"]] * back / (DAYS - 1))
    if row["resource"] in WHOLE:
        used = float(min(today, round(used)))
    else:
        used = round(used * (1 + rng.uniform(-NOISE, NOISE)), 1)
    return {**row, "used": max(0.0, used)}


def seed(now: datetime) -> int:
    """Write today's snapshot and the DAYS - 1 days before it; returns the rows written (the
    caller commits)."""
    rows = capacity_history.figures(capacity.load(now=now))
    today = capacity_history.site_day(now)
    rng = random.Random(23)
    written = capacity_history.write(today, rows, now)
    for back in range(1, DAYS):
        day_rows = [_earlier(row, back, rng) for row in rows]
        written += capacity_history.write(
            today - timedelta(days=back), day_rows, now - timedelta(days=back)
        )
    return written
