"""A monitor disabled or deleted resolves the threshold alerts of the metrics only it supplied,
with the reason in words on the alert's event (in the site's language: 监控已停用：<monitor>);
alerts still fed by another monitor, and other assets' alerts, stay open. Checked on the rows,
on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from monitors import services
from monitors.models import Monitor, MonitorState, Reading
from opskit import db
from opskit.alerts import rules
from opskit.alerts.models import Alert, AlertEvent, RuleState
from opskit.db import utcnow
from tests import factories

TEMP, LOAD, ALARMS = "env.temperature_c", "ups.output.load_percent", "ups.alarms.count"


def feed(m: Monitor, metric: str, value: float, instance: str, at: datetime) -> None:
    """What the poller does with one reading: store it under its monitor, judge it."""
    db.session().execute(
        insert(Reading),
        [
            {
                "asset_id": m.asset_id,
                "monitor_id": m.id,
                "metric": metric,
                "instance": instance,
                "at": at,
                "value": value,
            }
        ],
    )
    rules.evaluate(m.asset_id, metric, value, at, instance)


def alerts_of(asset_id: int) -> dict[str, str]:
    """``rule [instance]`` → status of the asset's alerts."""
    db.session().expire_all()
    found = db.session().scalars(select(Alert).where(Alert.asset_id == asset_id))
    return {a.dedup_key.split(":", 1)[1].split(":", 1)[0] + _where(a): a.status for a in found}


def _where(alert: Alert) -> str:
    instance = alert.dedup_key.rsplit(":", 1)[1]
    return f" [{instance}]" if instance else ""


def last_event(asset_id: int, rule: str, instance: str = "") -> tuple[str, str]:
    key = f"rule:{rule}:{asset_id}:{instance}"
    event = db.session().scalars(
        select(AlertEvent)
        .join(Alert)
        .where(Alert.dedup_key == key)
        .order_by(AlertEvent.id.desc())
        .limit(1)
    )
    row = event.one()
    return row.kind, row.note


def level(asset_id: int, rule: str, instance: str = "") -> str:
    return (
        db.session()
        .scalars(
            select(RuleState.level).where(
                RuleState.asset_id == asset_id,
                RuleState.rule == rule,
                RuleState.instance == instance,
            )
        )
        .one()
    )


def test_stopping_a_monitor_resolves_the_alerts_only_it_fed(db_app: Flask) -> None:
    with db_app.app_context():
        ups = factories.asset("UPS-1", kind="ups")
        other_ups = factories.asset("UPS-2", kind="ups")
        room = factories.asset("ROOM-SENSORS")
        db.session().flush()
        snmp, _ = services.add_monitor(
            ups.id, "snmp", {"host": "192.0.2.10"}, {"community": "c"}, name="UPS-1 SNMP"
        )
        ping, _ = services.add_monitor(ups.id, "ping", {"host": "192.0.2.10"})
        snmp2, _ = services.add_monitor(
            other_ups.id, "snmp", {"host": "192.0.2.11"}, {"community": "c"}
        )
        # two probes' gateways of one room; both report rack-A, only the first rack-B
        first, _ = services.add_monitor(room.id, "snmp", {"host": "192.0.2.20"}, {"community": "c"})
        second, _ = services.add_monitor(room.id, "tcp", {"host": "192.0.2.21", "port": 161})
        for m in (snmp, ping, snmp2, first, second):
            m.state = MonitorState.UP
        now = utcnow()
        for minutes in (10, 1):  # held beyond the rules' "for"
            at = now - timedelta(minutes=minutes)
            feed(snmp, LOAD, 95, "1", at)
            feed(snmp, ALARMS, 2, "", at)
            feed(snmp2, LOAD, 95, "1", at)
            feed(first, TEMP, 35, "rack-A", at)
            feed(first, TEMP, 35, "rack-B", at)
            feed(second, TEMP, 34, "rack-A", at - timedelta(seconds=30))
        # a pending level (over the limit, not yet for 2 minutes) on UPS-1's second output
        feed(snmp, LOAD, 95, "2", now)
        db.session().commit()
        firing = {"ups.load [1]": "firing", "ups.alarms": "firing"}
        assert alerts_of(ups.id) == firing
        assert alerts_of(other_ups.id) == {"ups.load [1]": "firing"}
        assert alerts_of(room.id) == {
            "room.temperature [rack-A]": "firing",
            "room.temperature [rack-B]": "firing",
        }

        # The ping monitor supplied none of UPS-1's readings: disabling it settles nothing.
        services.set_enabled(ping, False)
        db.session().commit()
        assert alerts_of(ups.id) == firing

        # UPS-1's SNMP monitor disabled: its load and alarm alerts are resolved, saying why.
        services.set_enabled(snmp, False)
        db.session().commit()
        assert alerts_of(ups.id) == {"ups.load [1]": "resolved", "ups.alarms": "resolved"}
        assert last_event(ups.id, "ups.load", "1") == ("resolved", "监控已停用：UPS-1 SNMP")
        assert last_event(ups.id, "ups.alarms") == ("resolved", "监控已停用：UPS-1 SNMP")
        resolved = db.session().scalars(select(Alert).where(Alert.asset_id == ups.id)).all()
        assert {a.resolution_note for a in resolved} == {"监控已停用：UPS-1 SNMP"}
        assert level(ups.id, "ups.load", "1") == "ok" and level(ups.id, "ups.alarms") == "ok"
        pending = db.session().scalars(
            select(RuleState.pending_level).where(
                RuleState.asset_id == ups.id, RuleState.instance == "2"
            )
        )
        assert pending.one() is None
        # the other UPS's alert, fed by its own monitor, is untouched
        assert alerts_of(other_ups.id) == {"ups.load [1]": "firing"}
        assert last_event(other_ups.id, "ups.load", "1")[0] == "raised"

        # Enabled again and still over the limit: a fresh alert, after the rule's "for".
        services.set_enabled(snmp, True)
        feed(snmp, LOAD, 95, "1", utcnow())
        feed(snmp, LOAD, 95, "1", utcnow() + timedelta(minutes=3))
        db.session().commit()
        statuses = db.session().scalars(
            select(Alert.status)
            .where(Alert.dedup_key == f"rule:ups.load:{ups.id}:1")
            .order_by(Alert.id)
        )
        assert statuses.all() == ["resolved", "firing"]

        # Deleting the room's first gateway: rack-B (only it reported) is resolved; rack-A,
        # which the second monitor still reports, stays open.
        services.delete_monitor(first)
        db.session().commit()
        assert alerts_of(room.id) == {
            "room.temperature [rack-A]": "firing",
            "room.temperature [rack-B]": "resolved",
        }
        kind, note = last_event(room.id, "room.temperature", "rack-B")
        assert kind == "resolved" and note.startswith("监控已删除：")
        assert "192.0.2.20" in note  # an unnamed monitor is named by its kind and target
        assert last_event(room.id, "room.temperature", "rack-A")[0] == "raised"
        assert alerts_of(other_ups.id) == {"ups.load [1]": "firing"}

        # The second, now the last to report rack-A, disabled: rack-A is resolved too.
        services.update_monitor(second, dict(second.settings), second.interval_s, enabled=False)
        db.session().commit()
        assert alerts_of(room.id)["room.temperature [rack-A]"] == "resolved"
        assert last_event(room.id, "room.temperature", "rack-A")[1].startswith("监控已停用：")
        assert alerts_of(other_ups.id) == {"ups.load [1]": "firing"}
