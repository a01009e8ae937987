"""One small machine room with a value for every dashboard tile (shared by the client and the
browser tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from assets import services as asset_services
from monitors.models import Monitor, Reading
from opskit import clock, db
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


def monitors(states: list[tuple], now: datetime, minutes: int) -> None:
    """A TCP monitor per (asset, state, last error), in that state for ``minutes``, polled
    30 s before ``now``."""
    for asset, state, error in states:
        db.session().add(
            Monitor(
                asset_id=asset.id,
                kind="tcp",
                settings={"host": "127.0.0.1", "port": 9},
                state=state,
                state_since=now - timedelta(minutes=minutes),
                last_polled_at=now - timedelta(seconds=30),
                last_error=error,
            )
        )


def ups_readings(
    ups_id: int, at: datetime, source: str, load: float, charge: float, runtime: float
) -> None:
    """A UPS's output source, load, battery charge and runtime at ``at``."""
    reading(ups_id, "ups.output.source", None, at, text=source)
    reading(ups_id, "ups.output.load_percent", load, at, instance="1")
    reading(ups_id, "ups.battery.charge_percent", charge, at)
    reading(ups_id, "ups.battery.runtime_minutes", runtime, at)


def database_server(
    tag: str, room: object, kind: str, at: datetime, connections: float, tps: float, hit: float
) -> None:
    """A database server in ``room`` with a disabled ``kind`` monitor (never polled) and its
    server-wide connections used (%), transactions per second and cache hit (%) at ``at``."""
    server = factories.asset(tag, kind="server", name=f"{tag} 数据库", room=room)
    settings = {"host": "127.0.0.1", "port": 5432 if kind == "postgresql" else 3306}
    db.session().add(Monitor(asset_id=server.id, kind=kind, settings=settings, enabled=False))
    reading(server.id, "db.connections.used_percent", connections, at)
    reading(server.id, "db.transactions_per_s", tps, at)
    reading(server.id, "db.cache_hit_percent", hit, at)


def seed(today: date | None = None) -> Seeded:
    now = db.utcnow()
    today = today or clock.site_today()
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
    states = ((ups, "up", ""), (sensor, "up", ""), (server, "up", ""), (switch, "up", ""))
    monitors([*states, (dead, "down", "timeout after 2 s")], now, 5)
    at = now - timedelta(minutes=1)
    ups_readings(ups.id, at, source="battery", load=42, charge=87, runtime=23)
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
    from inspections import services as patrol
    from inspections.logbook import services as logbook
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


@dataclass
class TwoSites:
    """``seed()``'s site (总部, room A机房) and a second one (分部, room B机房) with other values
    in every tile, plus things of no site: an alert of no asset or room, a spare of no room."""

    first: Seeded
    site_a: int
    site_b: int
    room_b: int
    ups_b: int
    switch_b: int
    server_b: int


def seed_two_sites(today: date | None = None) -> TwoSites:
    first = seed(today)
    now = db.utcnow()
    today = today or clock.site_today()
    rack = factories.rack(site="分部", room="B机房", name="B01")
    ups = factories.asset("UPS-B1", kind="ups", name="二号UPS", rack=rack, u_position=1, u_height=3)
    sensor = factories.asset("ENV-B1", kind="sensor", name="温湿度B", room=rack.room)
    server = factories.asset(
        "SRV-B1",
        kind="server",
        name="文件服务器",
        rack=rack,
        u_position=10,
        u_height=2,
        warranty_end=today + timedelta(days=45),
    )
    switch = factories.asset("SW-B1", kind="switch", name="汇聚交换机", rack=rack, u_position=40)
    # of no site: a spare in the store room (no room registered) whose warranty ends soon
    factories.asset("SPARE-01", kind="server", status="spare", warranty_end=today + timedelta(10))
    db.session().flush()
    states = ((ups, "up", ""), (sensor, "up", ""), (server, "up", ""))
    monitors([*states, (switch, "down", "connection refused")], now, 7)
    at = now - timedelta(minutes=1)
    ups_readings(ups.id, at, source="normal", load=15, charge=100, runtime=61)
    for hours in range(24, 0, -1):
        reading(sensor.id, "env.temperature_c", 20, now - timedelta(hours=hours), "probe1")
        reading(sensor.id, "env.humidity_percent", 50, now - timedelta(hours=hours), "probe1")
    reading(sensor.id, "env.temperature_c", 21.0, at, "probe1")
    reading(sensor.id, "env.humidity_percent", 52, at, "probe1")
    reading(server.id, "host.storage.used_percent", 97.2, at, "/data")
    rules.evaluate(server.id, "host.storage.used_percent", 97.2, at, "/data", "%")  # critical: B
    # a room's alert of no asset (a patrol finding), and one of neither asset nor room
    alert_services.raise_alert(
        "patrol:leak:B机房",
        source="patrol",
        rule="patrol.finding",
        urgency="C",
        message="B机房 地板下漏水",
        room_id=rack.room_id,
        at=now - timedelta(minutes=3),
    )
    alert_services.raise_alert(
        "manual:sms-gateway",
        source="manual",
        rule="manual",
        urgency="C",
        message="短信网关余额不足",
        at=now - timedelta(minutes=4),
    )
    from inspections import services as patrol
    from inspections.logbook import services as logbook
    from opskit.i18n import site_tz

    patrol.save_plan(
        {
            "name": "分部夜间巡检",
            "room_id": rack.room_id,
            "checklist_keys": ["room_environment"],
            "schedule_times": "00:00",
        }
    )
    logbook.record_entry(
        {"room_id": rack.room_id, "name": "李四", "purpose": "线路检修", "organisation": "电信"},
        site_tz(),
        now=now - timedelta(minutes=10),
    )
    for tag, reason, minutes in (("SRV-B1", "系统补丁", 6), ("SPARE-01", "出库检测", 8)):
        logbook.record_power(
            {"asset_tag": tag, "action": "restart", "reason": reason, "performed_by": "王五"},
            site_tz(),
            now=now - timedelta(minutes=minutes),
        )
    from opskit.servicedesk import services as desk

    # an open service request in each site: of the file server (B机房) and of the UPS (A机房)
    for title, category, tag_or_id in (
        ("文件共享无法访问", "software", {"asset_tag": "SRV-B1"}),
        ("打印机卡纸", "hardware", {"asset_id": first.ups_id}),
    ):
        desk.open_request(
            description=title,
            title=title,
            category=category,
            channel="phone",
            urgency="C",
            **tag_or_id,
        )
    from assets.queries import get_asset

    room_a = get_asset(first.ups_id).room
    # a database server in each site: a paused database monitor and its latest values
    database_server("DB-A1", room_a, "postgresql", at, connections=91.4, tps=850.2, hit=99.3)
    database_server("DB-B1", rack.room, "mysql", at, connections=32.0, tps=120.0, hit=93.5)
    db.session().commit()
    return TwoSites(
        first,
        room_a.site_id,
        rack.room.site_id,
        rack.room_id,
        ups.id,
        switch.id,
        server.id,
    )
