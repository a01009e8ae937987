"""The demo's monitors and their history: an SNMP monitor per simulated device, the host
monitor of this machine, a ping of each communication line's far end (a loopback address of its
own), two application checks of opskit itself (HTTP ``/healthz`` of the web server, TCP to the
syslog receiver; pointed at this run's ports by :func:`point_checks_at`), and weeks of readings
computed from the devices' recordings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from assets import queries as registry
from monitors import counters
from monitors import services as monitor_services
from monitors.metrics import METRICS
from monitors.models import Monitor, Reading
from opskit import db
from opskit.db import utcnow
from opskit.demo import recordings
from opskit.demo.devices import DEVICES, LINES, address, addresses, line_end, recording
from opskit.demo.registry import Built

HISTORY_DAYS = 14  # at scale 1
HISTORY_STEP = timedelta(minutes=30)  # over the last RECENT_DAYS (the 24 h sparklines)
OLDER_STEP = timedelta(hours=2)  # before that (weekly trends)
RECENT_DAYS = 2

#: the name of the demo's SNMP monitors (they are told apart by their asset, not their name)
DEMO_MONITOR_NAME = "演示 SNMP 代理"
#: what demo databases made before named them: "demo-agent <community>", a secret on a page
_OLD_DEMO_PREFIX = "demo-agent "
#: the names of the demo's line pings and application checks (the site's own words)
LINE_PING_NAME = "线路对端连通性"
HEALTH_CHECK_NAME = "opskit 健康检查"
SYSLOG_CHECK_NAME = "日志接收端口"
#: the asset the application checks belong to: the machine opskit runs on
OPSKIT_HOST = "ZJ-SRV-000"
#: where the application checks point before the first run (the defaults of ``opskit demo``)
DEFAULT_WEB = "http://127.0.0.1:5000/healthz"
DEFAULT_SYSLOG_PORT = 16514


def seed_monitors(built: Built, snmp_port: int) -> int:
    """SNMP monitors for the simulated devices (each at its own loopback address), the host
    monitor for this machine."""
    made = 0
    for device in DEVICES:
        asset = built.assets[device.tag]
        settings = {"host": address(device), "port": snmp_port, "version": "2c"}
        monitor_services.add_monitor(
            asset.id,
            "snmp",
            {**settings, "timeout": 2, "retries": 1},
            {"community": device.community},
            interval_s=device.interval_s,
            name=DEMO_MONITOR_NAME,  # never the community: monitor names are shown to viewers
        )
        made += 1
    host_id = built.assets[OPSKIT_HOST].id
    monitor_services.add_monitor(host_id, "host", {}, interval_s=30, name="本机")
    for tag in LINES:
        settings = {"host": line_end(tag), "count": 3, "timeout": 1}
        monitor_services.add_monitor(
            built.assets[tag].id, "ping", settings, interval_s=60, name=LINE_PING_NAME
        )
    monitor_services.add_monitor(
        host_id, "http", {"url": DEFAULT_WEB}, interval_s=60, name=HEALTH_CHECK_NAME
    )
    syslog = {"host": "127.0.0.1", "port": DEFAULT_SYSLOG_PORT}
    monitor_services.add_monitor(host_id, "tcp", syslog, interval_s=60, name=SYSLOG_CHECK_NAME)
    return made + 1 + len(LINES) + 2


def point_checks_at(web_url: str, syslog_port: int, shared_host: str | None = None) -> int:
    """Point the demo's application checks at this run's web server (``web_url``, its
    ``/healthz``) and syslog receiver (``syslog_port`` on 127.0.0.1), and its line pings at
    ``shared_host`` when this system has no loopback aliases; due now. Returns how many changed."""
    wanted = {
        HEALTH_CHECK_NAME: {"url": web_url, "verify_tls": not web_url.startswith("https:")},
        SYSLOG_CHECK_NAME: {"host": "127.0.0.1", "port": syslog_port},
    }
    names = [*wanted, LINE_PING_NAME]
    monitors = list(db.session().scalars(select(Monitor).where(Monitor.name.in_(names))))
    tags = {
        a.id: a.asset_tag for a in registry.assets_by_ids(sorted({m.asset_id for m in monitors}))
    }
    changed = 0
    for m in monitors:
        settings = dict(m.settings or {})
        if m.name == LINE_PING_NAME:
            tag = tags.get(m.asset_id, "")
            want = {"host": shared_host or (line_end(tag) if tag in LINES else settings["host"])}
        else:
            want = wanted[m.name]
        if any(settings.get(k) != v for k, v in want.items()):
            settings.update(want)
            m.settings = settings
            changed += 1
        m.next_due_at = utcnow()
        m.lease_until = None
    return changed


def point_monitors_at(snmp_port: int, shared_host: str | None = None) -> int:
    """Point the demo's SNMP monitors at the agents of this run: the port, and each device's
    own address (``shared_host`` for all where this system has no loopback aliases; a database
    made before the devices had addresses is moved to them); due now. Returns how many changed."""
    changed = 0
    demo = (Monitor.name == DEMO_MONITOR_NAME) | Monitor.name.startswith(_OLD_DEMO_PREFIX)
    monitors = list(db.session().scalars(select(Monitor).where(demo)))
    tags = {
        a.id: a.asset_tag for a in registry.assets_by_ids(sorted({m.asset_id for m in monitors}))
    }
    hosts = addresses()
    for m in monitors:
        m.name = DEMO_MONITOR_NAME
        settings = dict(m.settings or {})
        host = shared_host or hosts.get(tags.get(m.asset_id, ""), settings.get("host"))
        if settings.get("port") != snmp_port or settings.get("host") != host:
            settings.update(port=snmp_port, host=host)
            m.settings = settings
            changed += 1
        m.next_due_at = utcnow()
        m.lease_until = None
    return changed


def _history_times(now: datetime, days: int) -> list[datetime]:
    """Every 2 hours, then every 30 minutes over the last two days, and now."""
    start = (now - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)
    start -= timedelta(hours=start.hour % 2)
    recent = now - timedelta(days=RECENT_DAYS)
    out, t = [], start
    while t < now - HISTORY_STEP / 2:
        out.append(t)
        t += HISTORY_STEP if t >= recent else OLDER_STEP
    return [*out, now]  # and what the devices say now: the tiles have values from the start


def seed_readings(built: Built, now: datetime, days: int) -> int:
    """Readings over ``days`` for the simulated devices, from the recordings (``_history_times``).

    The real device profiles run against each recording at each past time, so the history
    joins up with what the poller reads live. The first two weeks are computed; a longer
    history repeats their two-hourly points shifted by whole fortnights (the recordings are
    periodic by the day and the hour, so the repeat is what the agents would have answered).
    """
    block_days = min(days, HISTORY_DAYS)
    times = _history_times(now, block_days)
    booted = times[0].timestamp() if times else now.timestamp()
    rows: list[dict[str, Any]] = []
    for device in DEVICES:
        text = recording(device)
        asset_id = built.assets[device.tag].id
        before: dict[tuple[str, str], tuple[float, int]] = {}  # counter → (time, value)
        for at in times:
            result = recordings.probe_at(text, at.timestamp(), booted)
            for r in result["metrics"]:
                vocab = METRICS.get(r["metric"], {})
                if vocab.get("kind") == "counter":
                    # the rate since the time before, as the poller derives it (if.in_bps ...)
                    key, value = (r["metric"], r["instance"]), int(r["value"])
                    last, before[key] = before.get(key), (at.timestamp(), value)
                    into = counters.RATES.get(r["metric"])
                    if last is None or into is None:
                        continue
                    per_s = counters.rate(
                        last[1], value, at.timestamp() - last[0], r.get("bits") or 64
                    )
                    if per_s is not None:
                        rows.append(
                            {
                                "asset_id": asset_id,
                                "monitor_id": None,
                                "metric": into[0],
                                "instance": r["instance"][:128],
                                "at": at,
                                "value": round(per_s * into[1], 3),
                                "text": None,
                            }
                        )
                    continue
                number = isinstance(r["value"], int | float)
                rows.append(
                    {
                        "asset_id": asset_id,
                        "monitor_id": None,
                        "metric": r["metric"],
                        "instance": r["instance"][:128],
                        "at": at,
                        "value": float(r["value"]) if number else None,
                        "text": None if number else str(r["value"])[:64],
                    }
                )
    sess = db.session()
    total = 0
    repeats = max(1, -(-days // block_days))
    older = [row for row in rows if row["at"].minute == 0 and row["at"].hour % 2 == 0]
    table = Reading.__table__
    for k in range(repeats):
        shift = timedelta(days=block_days * k)
        batch = [{**row, "at": row["at"] - shift} for row in older] if k else rows
        for start in range(0, len(batch), 5000):
            sess.execute(table.insert(), batch[start : start + 5000])
        total += len(batch)
    return total
