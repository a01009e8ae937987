"""Warranty reminders become registry alerts, updated daily and cleared when renewed."""

from __future__ import annotations

from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select

from assets import services
from opskit import db
from opskit.alerts.models import Alert
from opskit.alerts.warranty import sync_warranty_alerts
from tests import factories


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def test_warranty_alerts_follow_the_registry(ctx) -> None:
    today = date(2026, 11, 25)
    expired = factories.asset("SRV-OLD", name="旧数据库", warranty_end=date(2026, 11, 1))
    soon = factories.asset(
        "SW-01", kind="switch", name="接入交换机", warranty_end=date(2026, 12, 5)
    )
    factories.asset("FAR", warranty_end=date(2027, 6, 1))
    ctx.commit()
    assert sync_warranty_alerts(today) == (2, 0)
    ctx.commit()
    rows = {a.asset_id: a for a in ctx.scalars(select(Alert))}
    assert set(rows) == {expired.id, soon.id}
    assert rows[expired.id].message == "SRV-OLD 旧数据库：保修已于 2026-11-01 到期"
    assert rows[soon.id].message == "SW-01 接入交换机：保修将于 2026-12-05 到期（10 天）"
    assert {(a.source, a.urgency, a.status) for a in rows.values()} == {("registry", "C", "firing")}

    # next day: the same alerts, updated; then the switch's warranty is extended
    sync_warranty_alerts(date(2026, 11, 26))
    services.save_asset({"warranty_end": date(2029, 12, 5)}, soon)
    ctx.commit()
    assert sync_warranty_alerts(date(2026, 11, 26)) == (1, 1)
    ctx.commit()
    assert rows[soon.id].status == "resolved"
    assert rows[expired.id].count == 3 and ctx.scalar(select(Alert.id).where(Alert.id > 2)) is None
