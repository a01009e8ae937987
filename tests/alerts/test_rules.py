"""Alert rules: the shipped definitions, thresholds with "for" and hysteresis, states,
unreachable devices by importance, stale data (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from opskit import db
from opskit.alerts import rules
from opskit.alerts.models import Alert
from tests import factories

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.fixture
def ctx(db_app: Flask):
    with db_app.test_request_context("/"):
        yield db.session()


def _alerts(ctx) -> list[tuple[str, str, str]]:
    ctx.flush()
    return [(a.rule, a.urgency, a.status) for a in ctx.scalars(select(Alert).order_by(Alert.id))]


def test_every_shipped_rule_is_valid() -> None:
    loaded = rules.load_rules(rules.default_rules_text())
    names = {r.name for r in loaded}
    assert {"ups.on_battery", "cooling.failure", "device.unreachable", "room.temperature"} <= names
    on_battery = next(r for r in loaded if r.name == "ups.on_battery")
    assert on_battery.urgency == "A" and on_battery.states == ("battery",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: {}", "expected `rules:` with a list"),
        ("rules: [{kind: state}]", "rules[0]: each rule needs a name"),
        ("rules: [{name: x, kind: magic, urgency: A}]", "x.kind: expected one of"),
        ("rules: [{name: x, kind: state, metric: m, states: [a], urgency: D}]", "x.urgency"),
        (
            "rules: [{name: x, kind: threshold, metric: m, warning: hot, urgency: C}]",
            "x.warning: expected a number",
        ),
        (
            "rules: [{name: x, kind: threshold, metric: m, warning: 90, critical: 70, urgency: C}]",
            "x: critical must be beyond warning",
        ),
        (
            "rules: [{name: x, kind: threshold, metric: m, warning: 1, for: soon, urgency: C}]",
            "x.for: expected a duration",
        ),
        (
            "rules: [{name: x, kind: state, metric: m, states: [a], urgency: A}, "
            "{name: x, kind: state, metric: m, states: [b], urgency: A}]",
            "x: the name is used twice",
        ),
    ],
)
def test_bad_rules_name_the_rule_and_key(text: str, message: str) -> None:
    with pytest.raises(ValueError) as info:
        rules.load_rules(text, "site.yaml")
    assert message in str(info.value) and str(info.value).startswith("site.yaml")


def test_threshold_needs_for_duration_escalates_and_clears_with_hysteresis(ctx) -> None:
    ups = factories.asset("UPS-01", kind="ups", name="1号UPS")
    steps = [(0, 75), (1, 76), (2, 77), (3, 92), (5, 93), (6, 68), (7, 64)]
    seen = []
    for minute, value in steps:
        rules.evaluate(ups.id, "ups.output.load_percent", value, T0 + minute * M, unit="%")
        seen.append(_alerts(ctx))
    assert seen[0] == [] and seen[1] == []  # warning must hold for 2 minutes
    assert seen[2] == [("ups.load", "C", "firing")]
    assert seen[3] == [("ups.load", "C", "firing")]  # critical pending
    assert seen[4] == [("ups.load", "B", "firing")]  # escalated after 2 minutes
    assert seen[5] == [("ups.load", "B", "firing")]  # 68 % is above the 65 % recovery limit
    assert seen[6] == [("ups.load", "B", "resolved")]
    alert = ctx.scalar(select(Alert))
    assert alert.message == "UPS-01 1号UPS: UPS 负载过高 (93%)"
    assert alert.resolved_at == T0 + 7 * M


def test_short_spike_does_not_fire(ctx) -> None:
    ups = factories.asset("UPS-01", kind="ups")
    rules.evaluate(ups.id, "ups.output.load_percent", 80, T0)
    rules.evaluate(ups.id, "ups.output.load_percent", 50, T0 + M)
    rules.evaluate(ups.id, "ups.output.load_percent", 80, T0 + 2 * M)
    rules.evaluate(ups.id, "ups.output.load_percent", 80, T0 + 3 * M)
    assert _alerts(ctx) == []


def test_state_rule_ups_on_battery_is_a(ctx) -> None:
    ups = factories.asset("UPS-01", kind="ups")
    rules.evaluate(ups.id, "ups.output.source", "normal", T0)
    assert _alerts(ctx) == []
    rules.evaluate(ups.id, "ups.output.source", "battery", T0 + M)
    assert _alerts(ctx) == [("ups.on_battery", "A", "firing")]
    rules.evaluate(ups.id, "ups.output.source", "normal", T0 + 10 * M)
    assert _alerts(ctx) == [("ups.on_battery", "A", "resolved")]


def test_instances_are_separate_conditions(ctx) -> None:
    sensor = factories.asset("TH-01", kind="sensor")
    rules.evaluate(sensor.id, "env.temperature_c", 33, T0, instance="冷通道1")
    rules.evaluate(sensor.id, "env.temperature_c", 33, T0 + 6 * M, instance="冷通道1")
    rules.evaluate(sensor.id, "env.temperature_c", 22, T0 + 6 * M, instance="冷通道2")
    assert _alerts(ctx) == [("room.temperature", "A", "firing")]
    assert "[冷通道1]" in ctx.scalar(select(Alert.message))


def test_unreachable_urgency_follows_importance(ctx) -> None:
    core = factories.asset("SW-CORE", kind="switch", importance="core")
    edge = factories.asset("SW-EDGE", kind="switch", importance="general")
    for asset in (core, edge):
        rules.device_status(asset.id, False, T0, "timeout")
        rules.device_status(asset.id, False, T0 + 3 * M, "timeout")
    assert _alerts(ctx) == [
        ("device.unreachable", "A", "firing"),
        ("device.unreachable", "C", "firing"),
    ]
    rules.device_status(core.id, True, T0 + 4 * M)
    assert _alerts(ctx)[0] == ("device.unreachable", "A", "resolved")


def test_stale_data(ctx) -> None:
    host = factories.asset("SRV-01")
    rules.data_age(host.id, T0 - 5 * M, T0)
    assert _alerts(ctx) == []
    rules.data_age(host.id, T0 - 20 * M, T0)
    assert _alerts(ctx) == [("data.stale", "C", "firing")]
    rules.data_age(host.id, T0 + M, T0 + 2 * M)
    assert _alerts(ctx) == [("data.stale", "C", "resolved")]


def test_garbage_values_raise_nothing(ctx) -> None:
    ups = factories.asset("UPS-01", kind="ups")
    rules.evaluate(ups.id, "ups.output.load_percent", "n/a", T0)
    rules.evaluate(ups.id, "ups.output.load_percent", None, T0 + 5 * M)
    assert _alerts(ctx) == []


def test_site_rules_file_overrides_the_default(db_app: Flask) -> None:
    from pathlib import Path

    path = Path(db_app.instance_path) / "alert_rules.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "rules:\n  - {name: ups.load, kind: threshold, metric: ups.output.load_percent, "
        "warning: 50, urgency: B, message: 负载超过一半}\n",
        encoding="utf-8",
    )
    with db_app.test_request_context("/"):
        ups = factories.asset("UPS-01", kind="ups")
        rules.evaluate(ups.id, "ups.output.load_percent", 55, T0)
        assert _alerts(db.session()) == [("ups.load", "B", "firing")]
