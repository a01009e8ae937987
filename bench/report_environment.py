"""The data of the report kinds 机房环境与供电, 可用性 and 线路带宽 for ``bench/report.py``
(its ``seed`` step calls :func:`environment_and_power`)."""

from __future__ import annotations

from datetime import datetime, timedelta

DAYS = 92  # 2026Q3, as bench/report.py


def environment_and_power(
    sess, scale: int, start: datetime, room, servers: list[int], switches: list[int]
) -> int:
    """The data of 机房环境与供电, 可用性 and 线路带宽 at ``scale``: 2 room probes
    (temperature and humidity), 4 UPSes (load, battery charge) and 8 PDUs (current), 2 lines
    on switch ports (in, out), all as 5-minute rollups over the quarter and their hourly ones
    (what a quarterly pack within the 180 days of 5-minute rollups reads); an SNMP monitor per core
    server with its state changes (up, and an outage every ~18 days), 10 maintenance windows;
    30 on-battery alerts. Returns the 5-minute rollups written."""
    from sqlalchemy import insert

    from assets.models import Asset, CommunicationLine, Link
    from monitors.models import Monitor, Resolution, Rollup, StatusFlip
    from opskit.alerts.models import Alert, MaintenanceWindow

    now = start
    made = {}
    for kind, count, specs in (
        ("sensor", 2, {}),
        ("ups", 4, {}),
        ("pdu", 8, {"额定电流（A）": 16}),
        ("line", 2, {}),
    ):
        made[kind] = []
        for i in range(count * scale):
            asset = Asset(
                asset_tag=f"ENV-{kind}-{i:04d}",
                name=f"{kind} {i}",
                kind=kind,
                room_id=room.id,
                specs=specs,
                created_at=now,
                updated_at=now,
            )
            sess.add(asset)
            made[kind].append(asset)
    sess.flush()
    for i, line in enumerate(made["line"]):
        sess.add(CommunicationLine(asset_id=line.id, circuit_id=f"BENCH-{i}", bandwidth_mbps=100))
        a, b = sorted([(line.id, "A端"), (switches[i % len(switches)], f"Uplink{i}")])
        sess.add(Link(a_asset_id=a[0], a_port=a[1], b_asset_id=b[0], b_port=b[1]))
    series = [(a.id, "env.temperature_c", "probe", 23.0, 6.0) for a in made["sensor"]]
    series += [(a.id, "env.humidity_percent", "probe", 50.0, 12.0) for a in made["sensor"]]
    series += [(a.id, "ups.output.load_percent", "1", 60.0, 25.0) for a in made["ups"]]
    series += [(a.id, "ups.battery.charge_percent", "", 98.0, 2.0) for a in made["ups"]]
    series += [(a.id, "pdu.current_a", "1", 10.0, 5.0) for a in made["pdu"]]
    for i in range(len(made["line"])):
        port = (switches[i % len(switches)], f"Uplink{i}")
        series += [
            (port[0], "if.in_bps", port[1], 6e7, 3e7),
            (port[0], "if.out_bps", port[1], 3e7, 2e7),
        ]
    five = int(Resolution.FIVE_MINUTES)
    slots = DAYS * 24 * 12
    conn = sess.connection()
    for asset_id, metric, instance, base, swing in series:
        batch = []
        for k in range(slots):
            value = base + swing * ((k * 37) % 101 - 50) / 50
            batch.append(
                {
                    "asset_id": asset_id,
                    "metric": metric,
                    "instance": instance,
                    "resolution": five,
                    "bucket": start + timedelta(seconds=five * k),
                    "count": 5,
                    "min": value - 0.5,
                    "max": value + 0.5,
                    "avg": value,
                    "last": value,
                }
            )
        conn.execute(Rollup.__table__.insert(), batch)
        # and their hours, as the rollups make them from the 5-minute buckets
        hourly = []
        for h in range(0, slots, 12):
            hour = batch[h : h + 12]
            hourly.append(
                {
                    **hour[0],
                    "resolution": int(Resolution.HOUR),
                    "count": sum(r["count"] for r in hour),
                    "min": min(r["min"] for r in hour),
                    "max": max(r["max"] for r in hour),
                    "avg": sum(r["avg"] for r in hour) / len(hour),
                    "last": hour[-1]["last"],
                }
            )
        conn.execute(Rollup.__table__.insert(), hourly)
    monitors = [
        {"asset_id": a, "kind": "snmp", "name": "SNMP", "settings": {}, "created_at": now}
        for a in servers
    ]
    sess.execute(insert(Monitor), monitors)
    ids = [m.id for m in sess.query(Monitor).order_by(Monitor.id)]
    flips = []
    for n, monitor_id in enumerate(ids):
        flips.append(
            {
                "monitor_id": monitor_id,
                "at": start - timedelta(days=1),
                "old": "unknown",
                "new": "up",
            }
        )
        for day in range(n % 18, DAYS, 18):
            down = start + timedelta(days=day, hours=n % 24)
            flips.append({"monitor_id": monitor_id, "at": down, "old": "up", "new": "down"})
            flips.append(
                {
                    "monitor_id": monitor_id,
                    "at": down + timedelta(minutes=5 + n % 40),
                    "old": "down",
                    "new": "up",
                }
            )
    sess.execute(insert(StatusFlip), flips)
    for w in range(10 * scale):
        opens = start + timedelta(days=w * 9 % DAYS, hours=1)
        sess.add(
            MaintenanceWindow(
                asset_id=servers[w % len(servers)] if w % 2 else None,
                room_id=None if w % 2 else room.id,
                starts_at=opens,
                ends_at=opens + timedelta(hours=2),
                reason=f"变更 {w}",
            )
        )
    for i in range(30 * scale):
        at = start + timedelta(hours=i * 70)
        ups = made["ups"][i % len(made["ups"])]
        sess.add(
            Alert(
                dedup_key=f"ups-{i}",
                source="monitor",
                rule="ups.on_battery",
                asset_id=ups.id,
                urgency="A",
                message="UPS 电池供电",
                status="resolved",
                first_seen=at,
                last_seen=at,
                resolved_at=at + timedelta(minutes=3 + i % 20),
            )
        )
    sess.flush()
    return len(series) * slots
