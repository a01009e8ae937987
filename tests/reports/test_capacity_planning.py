"""容量规划 (``reports/kinds/capacity_planning.py``) on a seeded site, on SQLite and PostgreSQL.
Every figure is worked out by hand below.

Room A机房 is ``tests.assets.test_plan``'s room (its docstring lists it):

- units: 12 of 40 used (R1 3, R2 4, R3 0, R4 5);
- power: the rated racks' capacity one feed each, R1 2,000 + R2 1,000 + R4 3,000 = 6,000 W,
  against their draw 900 (measured) + 400 + 250 = 1,550 W: 25.8 %;
- cooling: 1,550 of 4,000 W; ports: SW1 saw six ports of a known speed, two free: 4 of 6 used;
- addresses: its site's prefix 10.2.0.0/28 (14 usable): the gateway and 10.2.0.2-.12 used,
  12 of 14 (85.7 %): at 80 % or more, but not a rule's resource (units and power are);
- forecast: R1's PDUs have five days of readings: not enough data for a date.

Room B机房 (same site): rack B1, 10U, feed A 1,000 W, a 9U server (units 90 %: R-CAP-01)
and a PDU read once a day at local noon for 60 days, rising in a straight line from 300 W (day
0, 60 days before the pack's instant) to 700 W (day 59, yesterday): 30 % + 40/59 % a day of
1,000 W, first at or over 80 % on day 74 (79.5 % on day 73, 80.2 % on day 74): 2026-03-24,
14 days after the pack's instant (2026-03-10): R-CAP-02 (within 180 days).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import insert

from assets import services
from monitors.models import Reading
from opskit import db
from reports import recommendations
from reports.kinds import KINDS, Context
from reports.periods import parse_period
from tests import factories
from tests.assets.test_plan import NOW, seed_room

pytestmark = pytest.mark.xdist_group("capacity_planning")
TZ = ZoneInfo("Asia/Shanghai")


def seed() -> None:
    seed_room()
    site, _ = services.get_or_create_site("总部")
    p28 = factories.prefix("10.2.0.0/28", gateway="10.2.0.1", site=site)
    for n in range(2, 13):
        services.save_address({"address": f"10.2.0.{n}", "prefix": p28})
    room, _ = services.get_or_create_room(site, "B机房")
    rack = services.save_rack({"room": room, "name": "B1", "u_height": 10, "power_a_watts": 1000})
    factories.asset("B-SRV", rack=rack, u_position=1, u_height=9, specs={"power_watts": 100})
    pdu = factories.asset("PB", "pdu", rack=rack, u_height=0, specs={"feed": "A"})
    noon = datetime(2026, 3, 9, 4, 0, tzinfo=UTC)  # local noon, the day before NOW
    rows: list[dict[str, Any]] = [
        {
            "asset_id": pdu.id,
            "metric": "pdu.power_w",
            "instance": "",
            "at": noon - timedelta(days=59 - k),
            "value": 300 + 400 * k / 59,
        }
        for k in range(60)
    ]
    db.session().execute(insert(Reading), rows)
    db.session().commit()


def test_capacity_planning(db_app: Flask) -> None:
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        seed()
        ctx = Context(period=parse_period("2026Q1", TZ), now=NOW, headline={})
        assert ctx.as_of == NOW
        (sheet,) = KINDS["capacity"].build(ctx)
        found = KINDS["capacity"].findings(ctx)  # type: ignore[misc]
    assert sheet.name == "Capacity planning"
    table = {(r["room"], r["resource"]): r for r in sheet.rows}  # type: ignore[union-attr]
    a = {k[1]: v for k, v in table.items() if k[0] == "A机房"}
    assert (a["Rack units"]["used"], a["Rack units"]["capacity"]) == (12, 40)
    assert a["Rack units"]["forecast"] == "not enough data"
    assert (a["Power"]["used"], a["Power"]["capacity"], a["Power"]["unit"]) == (1550, 6000, "W")
    assert a["Power"]["share"] == pytest.approx(1550 / 6000)
    assert a["Power"]["forecast"].startswith("not enough data (")
    assert (a["Cooling"]["used"], a["Cooling"]["capacity"]) == (1550, 4000)
    assert (a["Switch ports"]["used"], a["Switch ports"]["capacity"]) == (4, 6)
    assert (a["IP addresses"]["used"], a["IP addresses"]["capacity"]) == (12, 14)
    b = {k[1]: v for k, v in table.items() if k[0] == "B机房"}
    assert (b["Rack units"]["used"], b["Rack units"]["capacity"]) == (9, 10)
    assert b["Cooling"]["forecast"] == "capacity not recorded"
    assert b["Switch ports"]["capacity"] is None
    assert b["Power"]["capacity"] == 1000
    assert b["Power"]["likeliest"] == datetime(2026, 3, 24)
    assert b["Power"]["forecast"] == "crosses within 180 days"
    # the headline: rooms with a resource at 80 % or more: A (addresses) and B (units)
    assert ctx.headline["Rooms with a resource at 80 % or more"].value == 2
    assert ctx.headline["Fullest room (units or power)"].value == pytest.approx(0.9)

    over = sorted((f.subject, f.figures["resource_key"], f.value) for f in found
                  if f.key == "capacity.room_over")  # fmt: skip
    # the site's addresses count for each of its rooms
    assert over == [
        ("总部/A机房", "ip", 85.7),
        ("总部/B机房", "ip", 85.7),
        ("总部/B机房", "u", 90.0),
    ]
    (crossing,) = [f for f in found if f.key == "capacity.forecast_80"]
    assert (crossing.subject, crossing.figures["likeliest"], crossing.figures["days_left"]) == (
        "总部/B机房", date(2026, 3, 24).isoformat(), 14,
    )  # fmt: skip
    (summary,) = [f for f in found if f.key == "capacity.summary"]
    assert summary.figures["text"] == (
        "Capacity: 2 of 2 rooms have a resource at 80 % or more (总部/A机房, 总部/B机房)."
    )
    with db_app.test_request_context(), force_locale("en"):
        recs = recommendations.recommend(found, recommendations.load())
    fired = sorted((r.rule.id, r.finding.subject) for r in recs if r.rule.id.startswith("R-CAP"))
    assert fired == [("R-CAP-01", "总部/B机房"), ("R-CAP-02", "总部/B机房")]
