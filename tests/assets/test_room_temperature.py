"""The room temperature trend of the cooling headroom (``assets/room_temperature.py``).

Room 温度机房 (site 温度站) has one probe (T-1) read every hour of the ten site days before
today (d = 0 … 9, d = 9 yesterday), each reading of day d at 22 + 0.25·d °C:

- 240 hourly values; p95 by nearest rank is the ceil(0.95 · 240) = 228th smallest, i.e. the
  13th largest: day 9's 24 values are the largest (24.25 °C), so p95 = 24.25 °C;
- the limit is the room_environment checklist's cold-aisle normal maximum, 27 °C: headroom
  27 − 24.25 = 2.75 °C;
- the daily maxima 22, 22.25 … 24.25 lie on a line of 0.25 °C a day: 7.5 °C / 30 days;
- rising 0.25 °C a day, the p95 reaches 27 °C in 2.75 / 0.25 = 11 days: ``today + 11``.

Its rack F1 (10U, feed A 2,000 W) is empty: a 1U device planned in the room goes there.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_babel import force_locale
from sqlalchemy import insert

from assets import capacity, plan_report, plan_workbook, room_temperature, services
from assets.plan import fit, read_request
from assets.room_temperature import TemperatureTrend
from monitors.models import Reading
from opskit import clock, db
from tests import factories
from tests.conftest import login, post_form

pytestmark = pytest.mark.xdist_group("room_temperature")


@pytest.mark.parametrize(
    ("trend", "expected"),
    [
        (TemperatureTrend(24.25, 27.0, 10, 0.25), 11),  # 2.75 °C at 0.25 a day
        (TemperatureTrend(26.0, 27.0, 10, 0.3), 4),  # 1 / 0.3 = 3.33: the 4th day
        (TemperatureTrend(27.5, 27.0, 10, -0.1), 0),  # already over: today
        (TemperatureTrend(24.0, 27.0, 10, 0.0), None),  # flat
        (TemperatureTrend(24.0, 27.0, 3, None), None),  # too few days for a slope
        (TemperatureTrend(24.0, None, 10, 0.5), None),  # no limit
    ],
)
def test_reaches(trend: TemperatureTrend, expected: int | None) -> None:
    today = clock.now().date()
    found = trend.reaches(today)
    assert found == (None if expected is None else today + timedelta(days=expected))


def test_p95_and_slope_by_hand() -> None:
    # 20 values 1 … 20: ceil(0.95 · 20) = 19th smallest
    assert room_temperature.p95([float(v) for v in range(20, 0, -1)]) == 19.0
    assert room_temperature.p95([5.0]) == 5.0
    start = clock.site_today()
    points = [(start + timedelta(days=d), 20 + 0.5 * d) for d in (0, 1, 3)]
    assert room_temperature.slope(points) == pytest.approx(0.5)
    assert room_temperature.slope(points[:1]) is None


def seed() -> int:
    """The docstring's room (and an empty 10U rack F1, feed A 2,000 W); returns its id."""
    site, _ = services.get_or_create_site("温度站")
    room, _ = services.get_or_create_room(site, "温度机房")
    services.save_rack({"room": room, "name": "F1", "u_height": 10, "power_a_watts": 2000})
    probe = factories.asset("T-1", "sensor", room=room)
    db.session().commit()
    tz = clock.site_tz()
    today = clock.site_today()
    rows: list[dict[str, Any]] = []
    for d in range(10):
        day = today - timedelta(days=10 - d)
        for hour in range(24):
            at = datetime.combine(day, time(hour, 10), tzinfo=tz).astimezone(UTC)
            rows.append(
                {
                    "asset_id": probe.id,
                    "metric": "env.temperature_c",
                    "instance": "",
                    "at": at,
                    "value": 22 + 0.25 * d,
                }
            )
    db.session().execute(insert(Reading), rows)
    db.session().commit()
    return room.id


def test_room_trend_from_readings(db_app: Flask) -> None:
    with db_app.app_context():
        room_id = seed()
        today = clock.site_today()
        model = capacity.load(room_id=room_id)
        trend = model.rooms[room_id].temperature
        assert trend is not None
        assert (trend.p95, trend.limit, trend.days) == (24.25, 27.0, 10)
        assert (trend.headroom, trend.per_30_days) == (2.75, 7.5)
        assert trend.reaches(today) == today + timedelta(days=11)


def test_trend_in_the_plan_and_its_workbook(db_app: Flask, tmp_path: Path) -> None:
    """A 1U device planned in 温度机房: the fit's figures, the workbook's Rooms now sheet and
    its risks carry the docstring's trend (the limit reached in 11 days, within 90: a risk)."""
    out = tmp_path / "plan.xlsx"
    with db_app.app_context(), db_app.test_request_context(), force_locale("en"):
        room_id = seed()
        today = clock.site_today()
        request = read_request(
            {"room": "温度机房", "devices": [{"name": "n1", "u": 1, "watts": 100}]}
        )
        model = capacity.load(room_id=room_id)
        answer = fit(request, model=model)
        (figures,) = answer["candidates"][0]["figures"]
        assert (
            figures["room_temperature_p95"],
            figures["room_temperature_limit"],
            figures["room_temperature_per_30_days"],
        ) == (24.25, 27.0, 7.5)
        report = plan_report.collect(request, answer, model, "温度计划")
        plan_workbook.write(report, out, engineer="张伟")
    book = openpyxl.load_workbook(out)
    rows = list(book["Rooms now"].iter_rows(values_only=True))
    top = next(i for i, r in enumerate(rows) if r[0] == "Site")
    (room,) = [dict(zip(rows[top], r, strict=False)) for r in rows[top + 1 :] if r[1] == "温度机房"]
    assert (
        room["Temperature p95 (°C)"],
        room["Temperature limit (°C)"],
        room["Temperature headroom (°C)"],
        room["Temperature trend (°C / 30 days)"],
        room["Temperature limit reached"],
    ) == (24.25, 27, 2.75, 7.5, datetime.combine(today + timedelta(days=11), time()))
    risks = [r[2] for r in book["Risks"].iter_rows(values_only=True) if r[1] == "温度机房"]
    day = (today + timedelta(days=11)).isoformat()
    assert (
        "Temperature rising 7.5 °C / 30 days: its p95 (24.25 °C) reaches the room's limit "
        f"27.0 °C around {day}."
    ) in risks


def test_the_plan_page_shows_the_trend(app: Flask, client: FlaskClient) -> None:
    """The planning page's figures: 24.25 °C of 27.0 °C, rising 7.5 °C / 30 days (in the
    viewer's Chinese)."""
    with app.app_context():
        seed()
    login(client, "viewer")
    text = "room: 温度机房\ndevices:\n  - {name: n1, u: 1, watts: 100}\n"
    page = post_form(client, "/assets/plan", {"plan": text}).get_data(as_text=True)
    cell = page.split("data-room-temperature>", 1)[1].split("</td>", 1)[0]
    assert cell == "24.25 °C / 27.0 °C, +7.5 °C / 30 天"
