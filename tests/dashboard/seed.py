"""One small machine room with a value for every dashboard tile (shared by the client and the
browser tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from assets import services as asset_services
from monitors.models import Monitor, Reading
from opskit import db
from opskit.alerts import rules
from opskit.alerts import services as alert_services
from tests import factories


@dataclass
class Seeded:
    ups_id: int
    sensor_id: int
    server_id: int
    switch_id: int
    dead_id: int
    alert_id: int
    rack_id: int


def reading(
    asset_id: int,
    metric: str,
    value: float | None,
    at: datetime,
    instance: str = "",
    text: str | None = None,
) -> None:
    db.session().add(
        Reading(asset_id=asset_id, metric=metric, instance=instance, at=at, value=value, text=text)
    )


def seed(today: date | None = None) -> Seeded:
    now = db.utcnow()
    today = today or now.date()
    rack = factories.rack(room="A机房", name="A01")
    ups = factories.asset("UPS-01", kind="ups", name="一号UPS", rack=rack, u_position=1, u_height=3)
    sensor = factories.asset("ENV-01", kind="sensor", name="温湿度1", room=rack.room)
    server = factories.asset(
        "SRV-01",
        kind="server",
        name="数据库服务器",
        rack=rack,
        u_position=10,
        u_height=2,
        warranty_end=today + timedelta(days=20),
    )
    switch = factories.asset("SW-01", kind="switch", name="核心交换机", rack=rack, u_position=40)
    dead = factories.asset("SRV-02", kind="server", name="备份服务器", rack=rack, u_position=20)
    asset_services.save_link(switch, "Gi1/0/1", server, "eth0", medium="Cat6")
    db.session().flush()
    for asset, state, error in (
        (ups, "up", ""),
        (sensor, "up", ""),
        (server, "up", ""),
        (switch, "up", ""),
        (dead, "down", "timeout after 2 s"),
    ):
        db.session().add(
            Monitor(
                asset_id=asset.id,
                kind="tcp",
                settings={"host": "127.0.0.1", "port": 9},
                state=state,
                state_since=now - timedelta(minutes=5),
                last_polled_at=now - timedelta(seconds=30),
                last_error=error,
            )
        )
    at = now - timedelta(minutes=1)
    reading(ups.id, "ups.output.source", None, at, text="battery")
    reading(ups.id, "ups.output.load_percent", 42, at, instance="1")
    reading(ups.id, "ups.battery.charge_percent", 87, at)
    reading(ups.id, "ups.battery.runtime_minutes", 23, at)
    reading(ups.id, "ups.battery.status", None, at, text="low")
    for hours in range(24, 0, -1):  # a day of history for the sparkline
        reading(
            sensor.id, "env.temperature_c", 22 + hours % 3, now - timedelta(hours=hours), "probe1"
        )
        reading(sensor.id, "env.humidity_percent", 45, now - timedelta(hours=hours), "probe1")
    reading(sensor.id, "env.temperature_c", 24.5, at, "probe1")
    reading(sensor.id, "env.humidity_percent", 47, at, "probe1")
    reading(server.id, "host.storage.used_percent", 93.4, at, "/var")
    reading(server.id, "host.storage.used_percent", 40, at, "/")
    # the poller feeds every reading to the alert rules: /var is over storage.full's warning
    rules.evaluate(server.id, "host.storage.used_percent", 93.4, at, "/var", "%")
    rules.evaluate(server.id, "host.storage.used_percent", 40, at, "/", "%")
    alert = alert_services.raise_alert(
        "monitor:ups:on_battery",
        source="monitor",
        rule="ups.on_battery",
        urgency="A",
        message="UPS-01 市电中断，电池供电",
        asset_id=ups.id,
        at=now - timedelta(minutes=2),
    )
    # patrol: a plan for the room at the very start and end of the day (overdue or due,
    # depending on the hour the test runs), and a visitor in the logbook
    from inspections import logbook
    from inspections import services as patrol
    from opskit.i18n import site_tz

    patrol.save_plan(
        {
            "name": "每日机房巡检",
            "room_id": rack.room_id,
            "checklist_keys": ["room_environment"],
            "schedule_times": "00:00, 23:59",
        }
    )
    logbook.record_entry(
        {"room_id": rack.room_id, "name": "张三", "purpose": "更换硬盘", "organisation": "厂商"},
        site_tz(),
        now=now - timedelta(minutes=20),
    )
    db.session().commit()
    return Seeded(ups.id, sensor.id, server.id, switch.id, dead.id, alert.id, rack.id)
