"""The demo's device configuration backups and firmware upgrade records (issue #22), as
``data/configs.yaml`` tells them, through the domain's own services: ``save_device`` (access with
an encrypted password), ``record`` (each daily backup: a version only when the normalised text
changed, the 配置变更 / 配置备份失败 alerts) and the upgrade services (``plan`` with its
maintenance window, ``start`` relying on a fresh backup, ``finish`` reading the version back),
each run at its moment of the past under ``clock.frozen``.

- the core switch ``ZJ-SW-001`` (Huawei VRP): three versions, a VLAN with its ACL added (the
  change's alert resolved by the engineer who made it) and a port set up two days ago (its alert
  open); who made each change is read from the switch's syslog command records, seeded here;
- the firewall ``ZJ-FW-001`` (VRP): one version, confirmed every day;
- the router ``ZJ-RT-002`` (H3C Comware): a firmware upgrade done five nights ago in its window,
  started on the backup fetched just before, the new version read back from the configuration
  fetched after the work;
- the out-of-band switch ``ZJ-SW-010`` (Comware): its backups have failed for three days (its
  password was changed on the switch): a 配置备份失败 alert is open.

The texts are ``data/configs/<name>.txt`` as the devices print them (timestamps, secrets).
The demo has no device to reach, so every device is seeded with its schedule switched off
(``enabled`` false, like the database servers' monitors of ``databases``): the living demo's
poller never tries them and the alert list gets no failures from them; "fetch now" on a
device's page shows what an unreachable device does (within the devices' 10 s limit).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

from sqlalchemy import select

from monitors.configs import services as config_services
from monitors.configs.target import Fetched, FetchError, HostKey
from monitors.configs.upgrades import services as upgrades
from monitors.syslog import parsing
from monitors.syslog import store as syslog_store
from opskit import clock, db
from opskit.alerts import services as alert_services
from opskit.alerts.models import Alert
from opskit.audit import acting_as
from opskit.demo import devices
from opskit.demo.datafiles import load
from opskit.demo.registry import Built

USERNAME = "netbackup"  # the devices' read-only account for backups
DAILY_S = 86400
#: a fetch's limit: "fetch now" on a demo device's page (no device answers) ends in 10 s
TIMEOUT_S = 10
LOCAL7 = 23


@cache
def text(name: str) -> str:
    """The configuration ``data/configs/<name>.txt`` as the device prints it."""
    folder = resources.files("opskit.demo") / "data" / "configs"
    return (folder / f"{name}.txt").read_text(encoding="utf-8")


def host_key(tag: str) -> HostKey:
    """The device's SSH host key (an Ed25519 public key blob made from its tag)."""
    blob = b""
    for part in (b"ssh-ed25519", hashlib.sha256(tag.encode()).digest()):
        blob += len(part).to_bytes(4, "big") + part
    return HostKey("ssh-ed25519", base64.b64encode(blob).decode())


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    """The instant (UTC) of ``hour:minute`` on the site's calendar ``day``."""
    return datetime.combine(day, time(hour, minute), clock.site_tz()).astimezone(UTC)


@dataclass
class _Event:
    at: datetime
    kind: str  # fetch, plan, start, finish
    text: str = ""  # fetch: the text's name ("" with error: a failure)
    error: tuple[str, str] | None = None
    spec: dict[str, Any] | None = None  # a configs entry or an upgrade


def _timeline(entry: dict[str, Any], plans: list[dict[str, Any]], now: datetime) -> list[_Event]:
    """One device's daily backups of the past ``days`` and its upgrades' steps, in time order;
    each backup with the text the device printed then, or its failure."""
    data = load("configs")
    today = now.astimezone(clock.site_tz()).date()
    hour, minute = data["backup_hour"], entry["minute"]

    def daily(days_ago: int) -> datetime:
        return _local(today - timedelta(days=days_ago), hour, minute)

    texts = [(daily(c["from"]), c["text"], c) for c in entry["configs"]]
    events: list[_Event] = []
    for upgrade in plans:
        window = upgrade["window"]
        start = _local(today - timedelta(days=window["days_ago"]), window["hour"])
        upgrade = {**upgrade, "starts": start, "ends": start + timedelta(hours=window["hours"])}
        plan_at = start - timedelta(days=upgrade["planned"]["days_before_window"], hours=8)
        after = start + timedelta(minutes=100)
        texts.append((after, upgrade["text_after"], {}))
        events += [
            _Event(plan_at, "plan", spec=upgrade),
            _Event(start - timedelta(minutes=20), "fetch"),  # the backup the start relies on
            _Event(start + timedelta(minutes=5), "start", spec=upgrade),
            _Event(after, "fetch"),  # the configuration after the work
            _Event(after + timedelta(minutes=10), "finish", spec=upgrade),
        ]
    days_ago = data["days"]
    while (at := daily(days_ago)) <= now:
        events.append(_Event(at, "fetch"))
        days_ago -= 1
    texts.sort(key=lambda t: t[0])
    failing = entry.get("failing")
    for event in events:
        if event.kind != "fetch":
            continue
        if failing is not None and event.at >= daily(failing["from"]):
            event.error = (failing["reason"], failing["error"])
            continue
        since, event.text, spec = [t for t in texts if t[0] <= event.at][-1]
        if since == event.at:  # the backup that first found this text
            event.spec = spec
    return sorted(events, key=lambda e: e.at)


def _command_records(tag: str, change: dict[str, Any], at: datetime) -> int:
    """The switch's syslog records of the commands that made a change (Huawei CMDRECORD), as
    ``opskit syslog receive`` stores them: what tells who changed the configuration."""
    device = devices.by_tag(tag)
    source = devices.address(device)
    tz = clock.site_tz()
    messages = []
    start = at - timedelta(hours=change["hours_before"])
    for k, command in enumerate(change["commands"]):
        when = start + timedelta(seconds=20 * k)
        local = when.astimezone(tz)
        stamp = f"{local:%b} {local.day:2d} {local:%Y %H:%M:%S}"
        line = (
            f"<{LOCAL7 * 8 + 5}>{stamp} {device.sys_name} %%01SHELL/5/CMDRECORD(s)[{k}]:"
            f"Recorded command information. (Task=VT0, Ip={change['ip']}, VpnName=, "
            f'User={change["user"]}, AuthenticationMethod="Local-user", Command="{command}")'
        )
        messages.append(parsing.parse(line.encode(), source, when))
    return syslog_store.Writer().store(messages)


def _resolve_changed(asset_id: int, who: str, note: str, at: datetime) -> None:
    key = f"{config_services.RULE_CHANGED}:{asset_id}"
    alert = db.session().scalar(
        select(Alert).where(Alert.dedup_key == key).order_by(Alert.id.desc()).limit(1)
    )
    if alert is not None and alert.is_open:
        with acting_as(who):
            alert_services.resolve(alert, note, at=at)
        db.session().commit()


def _fetch(device_id: int, tag: str, event: _Event) -> bool:
    """One daily backup recorded through the services; whether it stored a new version."""
    finished = event.at + timedelta(seconds=4 + len(event.text) % 5)
    if event.error is not None:
        outcome = config_services.Outcome(
            event.at, finished, error=FetchError(event.error[0], event.error[1])
        )
    else:
        key = host_key(tag)
        raw = text(event.text).encode("utf-8")
        fetched = Fetched(raw, key.fingerprint, key)
        outcome = config_services.Outcome(event.at, finished, fetched=fetched)
    return config_services.record(device_id, outcome).new_version


def _upgrade_step(event: _Event, asset_id: int, records: dict[str, int]) -> None:
    spec = event.spec
    assert spec is not None
    with clock.frozen(event.at), acting_as(spec["as"]):
        if event.kind == "plan":
            values = upgrades.PlanValues(
                to_version=spec["to_version"],
                window_start=spec["starts"],
                window_end=spec["ends"],
                from_version=spec["from_version"],
                reason=spec["reason"],
                advisory=spec["advisory"],
                files_backed_up=spec["files_backed_up"],
            )
            records[spec["to_version"]] = upgrades.plan(asset_id, values).id
        elif event.kind == "start":
            upgrades.start(records[spec["to_version"]])
        else:
            upgrades.finish(records[spec["to_version"]], True, spec["note"])
    db.session().commit()
    if event.kind == "finish":
        _resolve_changed(asset_id, spec["as"], spec["resolved"], event.at + timedelta(minutes=5))


def seed(built: Built, now: datetime) -> dict[str, int]:
    """The devices' access, their backups and upgrades (commits); how many of each."""
    data = load("configs")
    made = {"config_devices": 0, "config_versions": 0, "upgrades": 0}
    first_engineer = load("site")["people"][0]["username"]
    for entry in data["devices"]:
        tag = entry["tag"]
        asset_id = built.assets[tag].id
        plans = [u for u in data.get("upgrades", []) if u["tag"] == tag]
        timeline = _timeline(entry, plans, now)
        with clock.frozen(timeline[0].at - timedelta(hours=2)), acting_as(first_engineer):
            device = config_services.save_device(
                asset_id,
                platform=entry["platform"],
                username=USERNAME,
                password=secrets.token_urlsafe(12),  # no device checks it: the demo has none
                interval_s=DAILY_S,
                timeout_s=TIMEOUT_S,
                enabled=False,
            )
            device_id = device.id
        db.session().commit()
        made["config_devices"] += 1
        records: dict[str, int] = {}
        for event in timeline:
            if event.kind != "fetch":
                _upgrade_step(event, asset_id, records)
                made["upgrades"] += event.kind == "plan"
                continue
            change = (event.spec or {}).get("changed_by")
            if change:
                _command_records(tag, change, event.at)
            made["config_versions"] += _fetch(device_id, tag, event)
            resolved = (event.spec or {}).get("resolved")
            if resolved:
                at = event.at + timedelta(minutes=40)
                _resolve_changed(asset_id, resolved["as"], resolved["note"], at)
    return made
