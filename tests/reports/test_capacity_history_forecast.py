"""容量规划's 80 % forecast from the daily capacity snapshots (``assets.capacity_history``), on
SQLite and PostgreSQL. Days count from the test's "today" (the site's date of the real clock);
every figure is worked out by hand below.

Room 预测机房 (site 预测站): rack F1 40U, feed A 1,000 W (no PDU: no daily peaks), nothing
installed; no air conditioner, no switch. Snapshots on the days k = 0 … 29, day k being
``today - 30 + k`` (the last, k = 29, yesterday):

- **units**: 21 + 0.3·k of 40 U: 52.5 + 0.75·k %, a straight line (no scatter, so the band is
  the line: earliest = likeliest = latest). 80 % is reached at k = 27.5 / 0.75 = 36.67: the
  first whole day at or over it is k = 37 (79.5 % on k = 36, 80.25 % on k = 37), i.e.
  ``today + 7``: "crosses within 180 days"; finding ``capacity.forecast_80`` with 7 days left;
- **addresses**: the site's two prefixes summed each day: 10.88.0.0/24 40 + 1.5·k of 100
  and 10.88.1.0/24 31 of 100 (flat): (71 + 1.5·k) / 200 = 35.5 + 0.75·k %, 80 % at
  k = 59.33: k = 60 (79.75 % on k = 59, 80.5 % on k = 60), ``today + 30``; 30 days left;
- **power**: only the last 27 days (k = 3 … 29) have a snapshot, 400 of 1,000 W each: 27 < 28
  points: "not enough data (27 daily snapshots, 28 needed)";
- **cooling**: no capacity recorded: "capacity not recorded", whatever the snapshots;
- **ports**: no switch: "capacity not recorded".

A snapshot of another room's prefix or a day after the pack's day does not count: the prefix
10.99.0.0/24 of site 别处 at 99 of 100 every day adds nothing to 预测站's addresses.
"""

from __future__ import annotations

import functools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask_babel import force_locale

from assets import capacity_history, services
from opskit import clock, db
from reports.kinds import KINDS, Context
from reports.periods import current_period
from tests import factories

pytestmark = pytest.mark.xdist_group("capacity_history_forecast")


def row(scope: str, resource: str, used: float, total: float | None, **ids: int) -> dict[str, Any]:
    return {
        "scope": scope,
        "room_id": ids.get("room_id"),
        "prefix_id": ids.get("prefix_id"),
        "resource": resource,
        "used": used,
        "total": total,
    }


def seed(today: date, now: datetime) -> None:
    site, _ = services.get_or_create_site("预测站")
    room, _ = services.get_or_create_room(site, "预测机房")
    services.save_rack({"room": room, "name": "F1", "u_height": 40, "power_a_watts": 1000})
    p1 = factories.prefix("10.88.0.0/24", site=site)
    p2 = factories.prefix("10.88.1.0/24", site=site)
    elsewhere, _ = services.get_or_create_site("别处")
    p3 = factories.prefix("10.99.0.0/24", site=elsewhere)
    db.session().commit()
    scope = f"room:{room.id}"
    for k in range(30):
        day = today - timedelta(days=30 - k)
        rows = [
            row(scope, "u", 21 + 0.3 * k, 40, room_id=room.id),
            row(scope, "cooling", 400 + 50 * k, None, room_id=room.id),
            row(f"prefix:{p1.id}", "ip", 40 + 1.5 * k, 100, prefix_id=p1.id),
            row(f"prefix:{p2.id}", "ip", 31, 100, prefix_id=p2.id),
            row(f"prefix:{p3.id}", "ip", 99, 100, prefix_id=p3.id),
        ]
        if k >= 3:
            rows.append(row(scope, "power", 400, 1000, room_id=room.id))
        db.write(functools.partial(capacity_history.write, day, rows, now))
    tomorrow = [row(f"prefix:{p3.id}", "ip", 1, 100, prefix_id=p3.id)]
    db.write(lambda: capacity_history.write(today + timedelta(days=1), tomorrow, now))


def test_forecast_from_snapshots(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        now = clock.now()
        today = clock.site_today()
        seed(today, now)
        ctx = Context(
            period=current_period("quarter", today, clock.site_tz()), now=now, headline={}
        )
        assert ctx.as_of_day == today
        (sheet,) = KINDS["capacity"].build(ctx)
        found = KINDS["capacity"].findings(ctx)  # type: ignore[misc]
    table = {r["resource"]: r for r in sheet.rows if r["room"] == "预测机房"}  # type: ignore[union-attr]
    units = table["Rack units"]
    assert (units["used"], units["capacity"]) == (0, 40)  # today's registry: nothing installed
    assert units["forecast"] == "crosses within 180 days"
    in_7 = datetime.combine(today + timedelta(days=7), datetime.min.time())
    assert (units["likeliest"], units["earliest"]) == (in_7, in_7)
    ip = table["IP addresses"]
    assert ip["forecast"] == "crosses within 180 days"
    assert ip["likeliest"] == datetime.combine(today + timedelta(days=30), datetime.min.time())
    assert table["Power"]["forecast"] == "not enough data (27 daily snapshots, 28 needed)"
    assert table["Power"]["likeliest"] is None
    assert table["Cooling"]["forecast"] == "capacity not recorded"
    assert table["Switch ports"]["forecast"] == "capacity not recorded"
    crossings = sorted(
        (f.figures["resource_key"], f.figures["days_left"])
        for f in found
        if f.key == "capacity.forecast_80" and f.subject == "预测站/预测机房"
    )
    assert crossings == [("ip", 30), ("u", 7)]
