"""The living demo's device configurations (``opskit.demo.configs``): each device's versions, the
core switch's change and its diff, the device whose backups fail and its alert, secrets masked
everywhere but the encrypted backup, and the firmware upgrade record. What is expected is worked
out here from ``data/configs.yaml`` and the texts in ``data/configs/``, and from the seed's "now"
(the times of the daily backups)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from assets.models import Asset
from monitors.configs import normalise, platforms
from monitors.configs.models import ConfigDevice, ConfigFetch, ConfigVersion
from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import clock, db
from opskit.alerts.models import Alert, MaintenanceWindow
from opskit.demo import configs, run
from opskit.demo.datafiles import load
from tests.conftest import demo_app, demo_seeded_at, login

pytestmark = pytest.mark.xdist_group("demo_configs")

#: what a secret looks like in the texts: the word after cipher / irreversible-cipher / hash
SECRET = re.compile(r"\b(?:irreversible-cipher|cipher|hash) (\S+)")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_template: Path) -> Iterator[Flask]:
    yield from demo_app(tmp_path_factory, demo_template, "demo-configs")


def _daily(now: datetime, days_ago: int, minute: int) -> datetime:
    day = now.astimezone(clock.site_tz()).date() - timedelta(days=days_ago)
    hour = load("configs")["backup_hour"]
    return datetime.combine(day, time(hour, minute), clock.site_tz()).astimezone(UTC)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _asset_id(tag: str) -> int:
    found = db.session().scalar(select(Asset.id).where(Asset.asset_tag == tag))
    assert found is not None
    return found


def _versions(tag: str) -> list[ConfigVersion]:
    return list(
        db.session().scalars(
            select(ConfigVersion)
            .where(ConfigVersion.asset_id == _asset_id(tag))
            .order_by(ConfigVersion.number)
        )
    )


def _entry(tag: str) -> dict[str, Any]:
    return next(d for d in load("configs")["devices"] if d["tag"] == tag)


def _masked(name: str, platform: str) -> str:
    return normalise.normalise(configs.text(name).encode(), platforms.get(platform)).masked


def test_each_device_has_its_access_and_versions_switched_off(demo: Flask) -> None:
    data = load("configs")
    with demo.app_context():
        now = demo_seeded_at()
        for entry in data["devices"]:
            tag = entry["tag"]
            device = db.session().scalar(
                select(ConfigDevice).where(ConfigDevice.asset_id == _asset_id(tag))
            )
            assert device is not None, tag
            assert (device.platform, device.username) == (entry["platform"], "netbackup")
            assert device.enabled is False and device.interval_s == 86400
            assert device.timeout_s == configs.TIMEOUT_S
            assert device.password  # stored, encrypted (below)
            raw = (
                db.session()
                .execute(
                    text("SELECT password FROM config_device WHERE id = :id"), {"id": device.id}
                )
                .scalar_one()
            )
            assert raw and device.password not in raw
            assert device.host_key_fingerprint == configs.host_key(tag).fingerprint
            # one version per distinct text, plus the upgrade's new one, in order
            names = [c["text"] for c in entry["configs"]]
            names += [u["text_after"] for u in data["upgrades"] if u["tag"] == tag]
            versions = _versions(tag)
            assert [v.number for v in versions] == list(range(1, len(names) + 1))
            platform = entry["platform"]
            assert [v.masked_text for v in versions] == [_masked(n, platform) for n in names]
            for config in entry["configs"]:  # each text first stored by that day's backup
                stored = next(
                    v for v in versions if v.masked_text == _masked(config["text"], platform)
                )
                took = _aware(stored.fetched_at) - _daily(now, config["from"], entry["minute"])
                assert timedelta(0) < took < timedelta(seconds=10)
            # a daily backup every day of the last two weeks (the upgrade's two besides)
            fetches = db.session().scalars(
                select(ConfigFetch.started_at).where(ConfigFetch.asset_id == device.asset_id)
            )
            daily = {
                _daily(now, d, entry["minute"])
                for d in range(data["days"], -1, -1)
                if _daily(now, d, entry["minute"]) <= now
            }
            assert daily <= {_aware(at) for at in fetches}


def test_the_core_switch_change_its_diff_author_and_alerts(demo: Flask) -> None:
    tag = "ZJ-SW-001"
    old = _masked("zj-sw-001.v1", "huawei_vrp")
    new = _masked("zj-sw-001.v2", "huawei_vrp")
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
    added = [line[1:] for line in diff if line.startswith("+") and not line.startswith("+++")]
    removed = [line[1:] for line in diff if line.startswith("-") and not line.startswith("---")]
    assert removed == [
        "vlan batch 100 110 200 210 300",
        " port trunk allow-pass vlan 100 110 200 210 300",
    ]
    assert "vlan 220" in added and "acl number 3010" in added
    assert " traffic-filter inbound acl 3010" in added and len(added) == 19
    with demo.app_context():
        asset_id = _asset_id(tag)
        first, second, third = _versions(tag)
        assert second.previous_id == first.id and third.previous_id == second.id
        if run.loopback_aliases():  # the switch's syslog names who made each change
            authors = [c["changed_by"] for c in _entry(tag)["configs"][1:]]
            said = [f"{a['user']} ({a['ip']})" for a in authors]
            assert [second.changed_by, third.changed_by] == said
        changed = list(
            db.session().scalars(
                select(Alert)
                .where(Alert.dedup_key == f"configs.changed:{asset_id}")
                .order_by(Alert.id)
            )
        )
        assert [a.status for a in changed] == ["resolved", "firing"]
        assert "VLAN 220" in (changed[0].resolution_note or "")
        assert f"/configs/{asset_id}/versions/{second.id}" in changed[0].message
        assert f"/configs/{asset_id}/versions/{third.id}" in changed[1].message
        version_id = second.id
    client = demo.test_client()
    login(client, "viewer")
    page = client.get(f"/configs/{asset_id}/versions/{version_id}?view=unified")
    assert page.status_code == 200
    shown = page.get_data(as_text=True)
    for line in ("acl number 3010", "rule 100 deny ip source 10.22.0.0 0.0.0.255", "视频监控网关"):
        assert line in shown


def test_the_failing_device_and_its_alert(demo: Flask) -> None:
    tag = "ZJ-SW-010"
    entry = _entry(tag)
    failing = entry["failing"]
    with demo.app_context():
        now = demo_seeded_at()
        expected = sum(
            _daily(now, d, entry["minute"]) <= now for d in range(failing["from"], -1, -1)
        )
        assert expected in (3, 4)  # three days ago, two, yesterday, and today's if it ran
        asset_id = _asset_id(tag)
        device = db.session().scalar(select(ConfigDevice).where(ConfigDevice.asset_id == asset_id))
        assert device is not None
        assert device.consecutive_failures == expected
        assert (device.last_reason, device.last_error) == (failing["reason"], failing["error"])
        failed = list(
            db.session().scalars(
                select(ConfigFetch).where(
                    ConfigFetch.asset_id == asset_id, ConfigFetch.ok.is_(False)
                )
            )
        )
        assert len(failed) == expected and all(f.version_id is None for f in failed)
        assert len(_versions(tag)) == 1  # the last good backup is kept
        alert = db.session().scalar(
            select(Alert).where(Alert.dedup_key == f"configs.failed:{asset_id}")
        )
        assert alert is not None and alert.status == "firing" and alert.urgency == "C"
        assert f"{expected} " in alert.message and "10.10.0.5:22" in alert.message
        assert alert.message.startswith("ZJ-SW-010 带外管理交换机")
        # the devices that back up fine have no failure alert
        others = db.session().scalars(
            select(Alert.dedup_key).where(Alert.dedup_key.like("configs.failed:%"))
        )
        assert list(others) == [f"configs.failed:{asset_id}"]


def test_masked_texts_hold_no_secret_and_the_backup_keeps_them(demo: Flask) -> None:
    folder = Path(configs.__file__).parent / "data" / "configs"
    names = sorted(p.stem for p in folder.glob("*.txt"))
    assert len(names) == 7
    found = {s for name in names for s in SECRET.findall(configs.text(name))}
    assert len(found) >= 12
    with demo.app_context():
        versions = list(db.session().scalars(select(ConfigVersion)))
        assert len(versions) == 7
        for version in versions:
            assert "<masked>" in version.masked_text
            assert not [s for s in found if s in version.masked_text]
            assert [s for s in found if s in version.text]  # the encrypted backup has them
        stored = db.session().execute(text("SELECT masked_text, text FROM config_version")).all()
        assert not [s for row in stored for s in found if s in row[0] or s in row[1]]
    client = demo.test_client()
    login(client, "engineer")
    with demo.app_context():
        asset_id = _asset_id("ZJ-SW-001")
        version_id = _versions("ZJ-SW-001")[0].id
    shown = client.get(f"/configs/{asset_id}/versions/{version_id}").get_data(as_text=True)
    assert "irreversible-cipher" in shown and not [s for s in found if s in shown]


def test_the_upgrade_record(demo: Flask) -> None:
    spec = load("configs")["upgrades"][0]
    with demo.app_context():
        now = demo_seeded_at()
        asset_id = _asset_id(spec["tag"])
        record = db.session().scalar(
            select(ConfigUpgrade).where(ConfigUpgrade.asset_id == asset_id)
        )
        assert record is not None
        assert (record.state, record.from_version, record.to_version) == (
            "done",
            spec["from_version"],
            spec["to_version"],
        )
        assert record.files_backed_up.splitlines()[0] == "flash:/startup.cfg"
        assert record.created_by == spec["as"] and record.note == spec["note"]
        window = db.session().get(MaintenanceWindow, record.window_id)
        assert window is not None
        starts = _daily(now, spec["window"]["days_ago"], 0) + timedelta(
            hours=spec["window"]["hour"] - load("configs")["backup_hour"]
        )
        assert _aware(window.starts_at) == starts
        assert _aware(window.ends_at) == starts + timedelta(hours=spec["window"]["hours"])
        assert record.started_at is not None and record.finished_at is not None
        assert _aware(record.started_at) > starts
        assert _aware(record.finished_at) < _aware(window.ends_at)
        # it relied on the version the backup before the window confirmed: the first one
        before, after = _versions(spec["tag"])
        assert record.backup_version_id == before.id
        assert _aware(after.fetched_at) > starts
        assert (record.read_back, record.read_back_source, record.matches) == (
            spec["to_version"],
            "config",
            True,
        )
        # the change the upgrade made was raised, and resolved as planned
        alert = db.session().scalar(
            select(Alert).where(Alert.dedup_key == f"configs.changed:{asset_id}")
        )
        assert alert is not None and alert.status == "resolved"
        assert alert.resolution_note == spec["resolved"]
        record_id = record.id
    client = demo.test_client()
    login(client, "viewer")
    page = client.get(f"/configs/upgrades/{record_id}")
    assert page.status_code == 200
    assert "0821P16" in page.get_data(as_text=True)
