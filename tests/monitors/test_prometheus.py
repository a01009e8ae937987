"""/metrics (monitors.prometheus): who may scrape, the series of a seeded room with their names,
labels and values, the naming rules, and the statements a scrape costs."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from monitors.metrics import METRICS
from monitors.models import Monitor, Reading
from monitors.prometheus import NAMES, UNITS
from opskit import auth, db
from opskit.alerts.models import Alert
from opskit.config import ConfigError, Settings
from opskit.models import User
from tests import factories
from tests.servicedesk.util import new as new_request

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def parse(text: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """(family name → type, [(name, labels, value)]) of an exposition."""
    types: dict[str, str] = {}
    samples = []
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _hash, _type, name, kind = line.split(" ")
            types[name] = kind
        elif line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, line
            labels = {
                k: re.sub(r"\\[\\\"n]", lambda m: UNESCAPE[m.group(0)], v)
                for k, v in LABEL.findall(match.group(2) or "")
            }
            samples.append((match.group(1), labels, float(match.group(3))))
    return types, samples


def value_of(samples, name: str, **labels: str) -> float:
    found = [v for n, ls, v in samples if n == name and labels.items() <= ls.items()]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def token_for(app: Flask, username: str) -> str:
    with app.app_context():
        sess = db.session()
        user = sess.scalar(select(User).where(User.username == username))
        assert user is not None
        token = auth.create_token(user, "prometheus")
        sess.commit()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- who may scrape ---------------------------------------------------------------------------


def test_a_token_of_any_role_or_an_allowed_address_reads_metrics(app: Flask) -> None:
    client = app.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == "Bearer"
    assert refused.get_json()["error"] == "unauthorized"
    assert client.get("/metrics", headers=bearer("opk_not-a-token")).status_code == 401

    response = client.get("/metrics", headers=bearer(token_for(app, "viewer")))
    assert response.status_code == 200
    assert response.content_type == "text/plain; version=0.0.4; charset=utf-8"
    assert "# TYPE opskit_alerts_open gauge" in response.get_data(as_text=True)

    app.config["METRICS_ALLOW"] = Settings(
        metrics_allow="10.0.0.0/24, 127.0.0.1"
    ).metrics_networks()
    for address in ("10.0.0.7", "127.0.0.1", "::ffff:10.0.0.9"):
        allowed = client.get("/metrics", environ_base={"REMOTE_ADDR": address})
        assert allowed.status_code == 200, address
    other = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.0.1.7"})
    assert other.status_code == 403
    assert other.get_json()["error"] == "forbidden"
    # a token that does not log in is refused even from an allowed address
    bad = client.get(
        "/metrics", headers=bearer("opk_wrong"), environ_base={"REMOTE_ADDR": "10.0.0.7"}
    )
    assert bad.status_code == 401


def test_a_logged_in_browser_session_is_no_scraper(app: Flask) -> None:
    from tests.conftest import login

    client = app.test_client()
    login(client, "admin")
    assert client.get("/metrics").status_code == 401


def test_the_allow_list_setting_names_a_bad_entry() -> None:
    settings = Settings.from_env({"OPSKIT_METRICS_ALLOW": "127.0.0.1,10.0.0.0/24"})
    assert [str(n) for n in settings.metrics_networks()] == ["127.0.0.1/32", "10.0.0.0/24"]
    assert Settings.from_env({}).metrics_networks() == ()
    with pytest.raises(ConfigError, match=r"OPSKIT_METRICS_ALLOW: '10\.0\.0\.300'"):
        Settings.from_env({"OPSKIT_METRICS_ALLOW": "127.0.0.1, 10.0.0.300"})


# --- names ------------------------------------------------------------------------------------


def test_every_metric_of_the_vocabulary_has_a_name_ending_in_its_unit() -> None:
    assert not set(METRICS) - set(NAMES), "a metric without its Prometheus name"
    assert len(set(NAMES.values())) == len(NAMES)
    for metric, spec in METRICS.items():
        name = NAMES[metric]
        assert re.fullmatch(r"opskit_[a-z0-9_]+", name), name
        unit, _factor = UNITS[spec["unit"]]
        stem = name.removesuffix("_total")
        if spec["kind"] == "counter":
            assert name.endswith("_total"), name
        else:
            assert not name.endswith("_total"), name
        if unit:
            assert stem.endswith("_" + unit), (name, unit)
        assert not re.search(r"_(percent|ms|minutes|bps|c|v|a|w|hz|d|h|min)$", stem), name


# --- a seeded room ----------------------------------------------------------------------------


def seed_room(now: datetime, ups_count: int = 1) -> dict[str, int]:
    """A room with UPSes (load, source, input voltage), a temperature probe, an asset whose
    readings are two hours old, three open alerts and an overdue request."""
    rack = factories.rack(site="总部", room="A机房")
    sess = db.session()

    def placed(tag: str, kind: str) -> Any:
        made = factories.asset(tag, kind)
        made.room_id = rack.room_id
        return made

    ids: dict[str, int] = {}
    for n in range(ups_count):
        ups = placed(f"UPS-{n:02d}", "ups")
        monitor = Monitor(
            asset_id=ups.id, kind="snmp", settings={}, next_due_at=now + timedelta(seconds=30)
        )
        sess.add(monitor)
        sess.flush()
        at = now - timedelta(seconds=20)
        sess.add_all(
            [
                Reading(
                    asset_id=ups.id,
                    monitor_id=monitor.id,
                    metric="ups.output.load_percent",
                    instance="1",
                    at=at,
                    value=42.5 + n,
                ),
                Reading(
                    asset_id=ups.id,
                    monitor_id=monitor.id,
                    metric="ups.output.source",
                    instance="",
                    at=at,
                    text="battery",
                ),
                Reading(
                    asset_id=ups.id,
                    monitor_id=monitor.id,
                    metric="ups.input.voltage_v",
                    instance='L1 "north" \\ feed',
                    at=at,
                    value=229.0,
                ),
            ]
        )
        ids.setdefault("ups", ups.id)
    probe = placed("TH-01", "sensor")
    stale = placed("TH-02", "sensor")
    down = Monitor(
        asset_id=probe.id,
        kind="snmp",
        settings={},
        state="down",
        interval_s=60,
        next_due_at=now - timedelta(minutes=10),
    )
    sess.add(down)
    sess.flush()
    sess.add_all(
        [
            Reading(
                asset_id=probe.id,
                monitor_id=down.id,
                metric="env.temperature_c",
                instance="probe 1",
                at=now - timedelta(minutes=11),
                value=23.5,
            ),
            Reading(
                asset_id=stale.id,
                metric="env.temperature_c",
                instance="probe 1",
                at=now - timedelta(hours=2),
                value=30.0,
            ),
        ]
    )

    def alert(key: str, urgency: str, raised: timedelta, **values) -> None:
        sess.add(
            Alert(
                dedup_key=key,
                source="monitor",
                rule="threshold",
                asset_id=ids["ups"],
                urgency=urgency,
                message=key,
                first_seen=now - raised,
                last_seen=now,
                **values,
            )
        )

    # A: raised a day ago, nobody answered: breached
    alert("a-breached", "A", timedelta(days=1))
    # B: acknowledged and on site, 2 h 40 of its 3 h to resolve gone: warning
    alert(
        "b-warning",
        "B",
        timedelta(hours=2, minutes=40),
        status="acknowledged",
        acknowledged_at=now - timedelta(hours=2, minutes=39),
        onsite_at=now - timedelta(hours=2),
    )
    # C: raised a minute ago and acknowledged: at no risk
    alert("c-fresh", "C", timedelta(minutes=1), status="acknowledged", acknowledged_at=now)
    alert("gone", "A", timedelta(days=2), status="resolved", resolved_at=now)
    new_request(now - timedelta(days=1), urgency="A")
    sess.commit()
    return ids


def test_a_seeded_room_is_exposed_with_its_labels_and_base_units(db_app: Flask) -> None:
    with db_app.app_context():
        seed_room(db.utcnow())
    text = db_app.test_client().get("/metrics", headers=bearer(token_for(db_app, "viewer"))).text
    types, samples = parse(text)

    base = {"site": "总部", "room": "A机房", "asset": "UPS-00", "asset_kind": "ups"}
    load = value_of(samples, "opskit_ups_output_load_ratio", **base)
    assert load == pytest.approx(0.425)
    assert [ls for n, ls, _v in samples if n == "opskit_ups_output_load_ratio"] == [
        {**base, "metric": "ups.output.load_percent", "metric_instance": "1", "unit": "ratio"}
    ]
    assert types["opskit_ups_output_load_ratio"] == "gauge"
    # a state metric: one series per state, 1 for the one reported
    states = {ls["state"]: v for n, ls, v in samples if n == "opskit_ups_output_source"}
    assert states == {"normal": 0.0, "battery": 1.0, "bypass": 0.0, "other": 0.0}
    # quotes and backslashes in an instance survive the escaping
    voltage = value_of(
        samples,
        "opskit_ups_input_voltage_volts",
        metric_instance='L1 "north" \\ feed',
        unit="volts",
    )
    assert voltage == 229.0
    # the probe's monitor polled 11 minutes ago: fresh; TH-02's reading is 2 hours old: left out
    temps = {ls["asset"]: v for n, ls, v in samples if n == "opskit_env_temperature_celsius"}
    assert temps == {"TH-01": 23.5}

    alerts = {(ls["urgency"], ls["state"]): v for n, ls, v in samples if n == "opskit_alerts_open"}
    assert len(alerts) == 9
    assert {k: v for k, v in alerts.items() if v} == {
        ("A", "firing"): 1.0,
        ("B", "onsite"): 1.0,
        ("C", "acknowledged"): 1.0,
    }
    risk = {
        (ls["kind"], ls["urgency"], ls["state"]): v
        for n, ls, v in samples
        if n == "opskit_sla_at_risk"
    }
    assert len(risk) == 12
    assert {k: v for k, v in risk.items() if v} == {
        ("alert", "A", "breached"): 1.0,
        ("alert", "B", "warning"): 1.0,
        ("request", "A", "breached"): 1.0,
    }

    assert value_of(samples, "opskit_monitors_enabled") == 2
    assert value_of(samples, "opskit_monitors_due") == 1
    assert value_of(samples, "opskit_monitors_overdue") == 1
    assert value_of(samples, "opskit_monitors_failing") == 1
    assert "opskit_poller_last_cycle_age_seconds" in types  # no cycle yet: no sample
    assert not [n for n, _ls, _v in samples if n == "opskit_poller_last_cycle_age_seconds"]

    for name in types:
        assert re.fullmatch(r"opskit_[a-z0-9_]+", name), name
    if shutil.which("promtool"):  # Prometheus's own linter of expositions (make prometheus-deps)
        lint = subprocess.run(
            ["promtool", "check", "metrics"], input=text, capture_output=True, text=True
        )
        assert lint.returncode == 0, lint.stdout + lint.stderr


def _statements(app: Flask, client: FlaskClient, headers: dict[str, str]) -> int:
    engine = app.extensions["opskit.engine"]
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/metrics", headers=headers).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_the_statements_of_a_scrape_do_not_grow_with_the_assets(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests.conftest import _build_app

    counts = []
    for n in (2, 12):
        builder = _build_app(
            "sqlite",
            request,
            tmp_path_factory.mktemp(f"scrape{n}"),
            request.getfixturevalue("persona_hashes"),
        )
        app = next(builder)
        try:
            with app.app_context():
                seed_room(db.utcnow(), ups_count=n)
            headers = bearer(token_for(app, "viewer"))
            client = app.test_client()
            client.get("/metrics", headers=headers)  # the token's last use written once
            counts.append(_statements(app, client, headers))
            _types, samples = parse(client.get("/metrics", headers=headers).text)
            loads = [v for name, _ls, v in samples if name == "opskit_ups_output_load_ratio"]
            assert len(loads) == n
        finally:
            for _ in builder:
                pass
    assert counts[0] == counts[1], counts
