"""The home dashboard over the Flask client: every tile with the seeded values, each tile's
partial endpoint, kiosk mode, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from monitors.models import Rollup
from opskit import db
from opskit.config import Settings
from tests.conftest import login
from tests.dashboard.seed import seed


def _tile(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*id="tile-{name}".*?</section>', html, re.S)
    assert match, f"tile {name} missing"
    return match.group(0)


def test_every_tile_shows_the_seeded_values(db_app, db_client) -> None:
    with db_app.app_context():
        s = seed()
    login(db_client, "viewer")
    html = db_client.get("/").get_data(as_text=True)
    alerts = _tile(html, "alerts")
    assert re.search(r'data-urgency="A">\s*A <span[^>]*data-count>1<', alerts)
    assert re.search(r'data-urgency="C">\s*C <span[^>]*data-count>1<', alerts)
    assert f'data-alert-id="{s.alert_id}"' in alerts  # the A alert's clock is the nearest
    assert 'data-clock="acknowledge"' in alerts and "opskit-countdown" in alerts
    ups = _tile(html, "ups")
    assert 'data-ups="UPS-01"' in ups and "电池供电" in ups  # on battery
    assert ">42%<" in ups and ">87%<" in ups and "23 分钟" in ups
    assert re.search(r'data-field="battery-status">电池电量低<', ups)
    env = _tile(html, "environment")
    assert 'data-room="A机房"' in env
    assert re.search(r'data-metric="env.temperature_c" data-level="ok">24.5 °C<', env)
    assert re.search(r'data-metric="env.humidity_percent" data-level="ok">47.0 %RH<', env)
    spark = re.search(r"data-series='(\[.*?\])'", env).group(1)
    assert spark.count("[") >= 20  # a day of half-hour buckets
    devices = _tile(html, "devices")
    assert re.search(r'data-state="up">.*?data-count>4<', devices, re.S)
    assert re.search(r'data-state="down">.*?data-count>1<', devices, re.S)
    assert "SRV-02" in devices and "timeout after 2 s" in devices
    storage = _tile(html, "storage")
    assert 'data-volume="SRV-01:/var"' in storage and "93.4%" in storage
    assert 'data-volume="SRV-01:/"' not in storage and 'data-level="warning"' in storage
    warranty = _tile(html, "warranty")
    assert 'data-asset="SRV-01"' in warranty and "20 天" in warranty
    patrol = _tile(html, "patrol")
    assert patrol.count("每日机房巡检 · A机房") == 2  # 00:00 and 23:59 slots of today
    states = re.findall(r'data-round-state="(\w+)"', patrol)
    assert len(states) == 2 and set(states) <= {"due", "overdue"}
    for state in ("due", "overdue"):
        count = re.search(rf'data-state="{state}">\s*<div[^>]*data-count>(\d+)<', patrol).group(1)
        assert int(count) == states.count(state)
    logbook = _tile(html, "logbook")
    assert "张三" in logbook and "更换硬盘" in logbook and "A机房" in logbook
    assert 'id="nav-sections"' in html

    # with hourly rollups stored, the sparkline is drawn from them (max of the hour)
    with db_app.app_context():
        hour = db.utcnow().replace(minute=0, second=0, microsecond=0)
        for back, top in ((2, 26.5), (1, 25.5), (0, 24.5)):
            db.session().add(
                Rollup(
                    asset_id=s.sensor_id,
                    metric="env.temperature_c",
                    instance="probe1",
                    resolution=3600,
                    bucket=hour - timedelta(hours=back),
                    count=60,
                    min=20,
                    max=top,
                    avg=22,
                    last=22,
                )
            )
        db.session().commit()
    env = db_client.get("/tiles/environment").get_data(as_text=True)
    temp = re.search(
        r'data-metric="env.temperature_c" data-limits=\'[^\']*\' data-series=\'(\[.*?\])\'', env
    )
    assert [p[1] for p in json.loads(temp.group(1))] == [26.5, 25.5, 24.5]

    # a room whose cold aisle must stay at or below 24 °C: 24.5 is a warning there
    with db_app.app_context():
        from assets.queries import get_asset
        from inspections.limits import LimitOverride

        room_id = get_asset(s.sensor_id).room_id
        db.session().add(
            LimitOverride(
                checklist="room_environment",
                item="cold_aisle_temperature",
                scope="room",
                target_id=room_id,
                limits={"normal": [18, 24]},
            )
        )
        db.session().commit()
    env = db_client.get("/tiles/environment").get_data(as_text=True)
    assert re.search(r'data-metric="env.temperature_c" data-level="warning">24.5 °C<', env)
    assert 'data-limits=\'{"critical": [15.0, 32.0], "normal": [18.0, 24.0]}\'' in env

    part = db_client.get("/tiles/ups")
    assert part.status_code == 200
    body = part.get_data(as_text=True)
    assert body.lstrip().startswith("<section") and 'data-ups="UPS-01"' in body
    assert "<nav" not in body
    assert db_client.get("/tiles/nope").status_code == 404


def test_kiosk_has_no_navigation_and_larger_type(app, client) -> None:
    login(client, "viewer")
    for path in ("/kiosk", "/?kiosk=1"):
        html = client.get(path).get_data(as_text=True)
        assert 'class="opskit-kiosk"' in html
        assert 'id="nav-sections"' not in html
        assert 'hx-trigger="every 30s"' in html
        assert 'id="tile-alerts"' in html and "无未关闭的告警。" in html
    # the interval is a setting; the app config overrides it (the browser tests use 2 s)
    assert Settings.from_env({"OPSKIT_DASHBOARD_REFRESH_S": "5"}).dashboard_refresh_s == 5
    app.config["DASHBOARD_REFRESH_S"] = 7
    assert 'hx-trigger="every 7s"' in client.get("/tiles/devices").get_data(as_text=True)
