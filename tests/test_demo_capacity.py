"""The living demo's capacity history (``opskit.demo.capacity``): 90 days of daily snapshots
ending with the seed's site day, so the 容量规划 sheet forecasts every resource of its rooms
from the first run; and its rooms' temperature trend beside the cooling."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select

from assets import capacity, capacity_history
from assets.snapshot_models import CapacitySnapshot
from opskit import clock, db
from reports.kinds import KINDS, Context
from reports.periods import current_period
from tests.conftest import demo_app, demo_seeded_at

pytestmark = pytest.mark.xdist_group("demo_capacity")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-capacity")


def test_the_demo_has_ninety_days_of_snapshots(demo: Flask) -> None:
    with demo.app_context(), demo.test_request_context(), force_locale("en"):
        now = demo_seeded_at()
        today = capacity_history.site_day(now)
        first, last, days = (
            db.session()
            .execute(
                select(
                    func.min(CapacitySnapshot.day),
                    func.max(CapacitySnapshot.day),
                    func.count(func.distinct(CapacitySnapshot.day)),
                )
            )
            .one()
        )
        assert (first, last, days) == (today - timedelta(days=89), today, 90)
        # today's is the model's own figures; the job finds it and does nothing
        assert capacity_history.taken(today)
        model = capacity.load(now=now)
        rooms = {r.name: r for r in model.rooms.values()}
        trend = rooms["一号机房"].temperature
        assert trend is not None and trend.limit is not None and trend.slope is not None
        ctx = Context(current_period("quarter", today, clock.site_tz()), now, headline={})
        (sheet,) = KINDS["capacity"].build(ctx)
    words = {(r["room"], r["resource"]): r["forecast"] for r in sheet.rows}  # type: ignore[union-attr]
    assert not any(w.startswith("not enough data") for w in words.values()), words
