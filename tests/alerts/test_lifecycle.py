"""Alert lifecycle on both databases: dedup, escalation, auto-resolve, flapping, maintenance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, AlertEvent
from opskit.audit import acting_as
from opskit.validation import ValidationFailed
from tests import factories

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
KEY = "monitor:ups.output.source:asset=1"


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def _raise(urgency: str = "B", at: datetime = T0, key: str = KEY, **kw) -> Alert:
    return services.raise_alert(
        key,
        source="monitor",
        rule="ups.on_battery",
        urgency=urgency,
        message="UPS on battery",
        at=at,
        **kw,
    )


def _events(ctx, alert: Alert) -> list[tuple[str, bool]]:
    ctx.flush()
    return [
        (e.kind, e.notify)
        for e in ctx.scalars(
            select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
        )
    ]


def test_repeats_update_one_alert(ctx) -> None:
    first = _raise(at=T0)
    second = _raise(at=T0 + timedelta(minutes=1))
    ctx.commit()
    assert first is second
    assert (first.count, first.first_seen, first.last_seen) == (2, T0, T0 + timedelta(minutes=1))
    assert ctx.scalar(select(func.count()).select_from(Alert)) == 1
    assert _events(ctx, first) == [("raised", True)]


def test_worse_repeat_escalates(ctx) -> None:
    alert = _raise("C")
    _raise("A", at=T0 + timedelta(minutes=2))
    ctx.commit()
    assert alert.urgency == "A"
    assert _events(ctx, alert) == [("raised", True), ("escalated", True)]


def test_database_allows_one_open_alert_per_condition(ctx) -> None:
    _raise()
    ctx.commit()
    ctx.add(
        Alert(
            dedup_key=KEY,
            source="monitor",
            rule="r",
            urgency="C",
            message="dup",
            first_seen=T0,
            last_seen=T0,
        )
    )
    with pytest.raises(IntegrityError):
        ctx.commit()
    ctx.rollback()


def test_clearing_resolves_automatically_and_a_new_occurrence_is_a_new_alert(ctx) -> None:
    alert = _raise()
    resolved = services.clear_alert(KEY, at=T0 + timedelta(minutes=5))
    ctx.commit()
    assert resolved is alert and alert.status == "resolved"
    assert alert.resolved_at == T0 + timedelta(minutes=5) and alert.resolution_note == "auto"
    assert services.clear_alert(KEY) is None
    later = _raise(at=T0 + timedelta(hours=2))
    ctx.commit()
    assert later is not alert and later.status == "firing"
    assert _events(ctx, alert) == [("raised", True), ("resolved", True)]


def test_flapping_reopens_and_stops_notifying(ctx) -> None:
    minute = timedelta(minutes=1)
    a1 = _raise(at=T0)
    services.clear_alert(KEY, at=T0 + 1 * minute)
    a2 = _raise(at=T0 + 2 * minute)
    services.clear_alert(KEY, at=T0 + 3 * minute)
    a3 = _raise(at=T0 + 4 * minute)  # fifth change within 30 min: flapping
    services.clear_alert(KEY, at=T0 + 5 * minute)
    a4 = _raise(at=T0 + 6 * minute)
    ctx.commit()
    assert a1 is not a2 and a3 is a2 and a4 is a2
    assert a2.flapping and a2.status == "firing"
    assert ctx.scalar(select(func.count()).select_from(Alert)) == 2
    assert _events(ctx, a2) == [
        ("raised", True),
        ("resolved", True),
        ("raised", False),
        ("flapping", True),
        ("resolved", False),
        ("raised", False),
    ]


def test_maintenance_window_silences_the_room(ctx) -> None:
    rack = factories.rack()
    ups = factories.asset("UPS-01", kind="ups", rack=rack, u_position=1, u_height=3)
    services.add_maintenance(
        T0 - timedelta(hours=1), T0 + timedelta(hours=1), room_id=rack.room_id, reason="UPS 换电池"
    )
    quiet = _raise(at=T0, asset_id=ups.id)
    ctx.commit()
    assert quiet.silenced and quiet.room_id == rack.room_id
    assert _events(ctx, quiet) == [("silenced", False)]
    services.clear_alert(KEY, at=T0 + timedelta(minutes=10))
    loud = _raise(at=T0 + timedelta(hours=3), asset_id=ups.id)
    ctx.commit()
    assert not loud.silenced
    assert _events(ctx, loud) == [("raised", True)]


def test_maintenance_window_needs_a_target_and_an_order(ctx) -> None:
    with pytest.raises(ValidationFailed) as info:
        services.add_maintenance(T0, T0 - timedelta(minutes=1))
    assert set(info.value.errors) == {"ends_at", "asset_id"}


def test_acknowledge_onsite_resolve_are_kept_in_history(ctx) -> None:
    with acting_as("poller"):
        alert = _raise("A")
    with acting_as("engineer", 2):
        services.acknowledge(alert, "正在处理", at=T0 + timedelta(minutes=3))
        services.record_onsite(alert, "扫码到场", at=T0 + timedelta(minutes=50))
        with pytest.raises(ValidationFailed):
            services.resolve(alert, "   ")
        services.resolve(alert, "更换电池模块", at=T0 + timedelta(hours=2))
    ctx.commit()
    assert (alert.acknowledged_by, alert.onsite_by, alert.resolved_by) == ("engineer",) * 3
    rows = ctx.scalars(
        select(AlertEvent).where(AlertEvent.alert_id == alert.id).order_by(AlertEvent.id)
    ).all()
    assert [(e.kind, e.actor, e.note) for e in rows] == [
        ("raised", "poller", "UPS on battery"),
        ("acknowledged", "engineer", "正在处理"),
        ("onsite", "engineer", "扫码到场"),
        ("resolved", "engineer", "更换电池模块"),
    ]
    with pytest.raises(ValidationFailed):
        services.acknowledge(alert)
    with pytest.raises(ValidationFailed):
        services.resolve(alert, "again")


def test_bad_urgency_and_source_are_refused(ctx) -> None:
    with pytest.raises(ValidationFailed):
        _raise("D")
    with pytest.raises(ValidationFailed):
        services.raise_alert(KEY, source="psychic", rule="r", urgency="C", message="m")
