"""Firmware upgrade records (monitors/configs/upgrades): refused without a fresh configuration
backup, started with one, the version read back after; the pages with a real "fetch now"
against the scripted device behind a real sshd (tests/configs/conftest.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from monitors.configs.models import ConfigDevice, ConfigFetch, ConfigVersion
from monitors.configs.upgrades import services
from monitors.configs.upgrades.models import ConfigUpgrade
from opskit import clock, db
from opskit.alerts import queries as desk
from opskit.validation import ValidationFailed
from tests import factories
from tests.configs import samples, stored
from tests.configs.conftest import Device
from tests.conftest import login, post_form

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
HOUR = timedelta(hours=1)
CONFIG = "version 15.2\nhostname CORE-SW1\nenable secret 5 <masked>\nend\n"


def _plan(asset_id: int, to: str = "15.2", hours: int = 24, **changes: object) -> ConfigUpgrade:
    values = services.PlanValues(
        to_version=to,
        window_start=NOW + 24 * HOUR,
        window_end=NOW + 26 * HOUR,
        reason="CVE-2026-1234 in the SSH server",
        advisory="cisco-sa-ssh-2026",
        files_backed_up="flash:/config.text\nflash:/c2960-old.bin",
        backup_hours=hours,
    )
    for key, value in changes.items():
        setattr(values, key, value)
    return services.plan(asset_id, values)


# the records' times are fixed instants (opskit's clock stopped at NOW)
@pytest.mark.dateless
def test_start_needs_a_backup_within_the_hours_before_the_window(db_app: Flask) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        asset = factories.asset("SW-CORE-01", kind="switch", specs={"firmware": "12.2(55)SE"})
        db.session().add(ConfigDevice(asset_id=asset.id, platform="cisco_ios", username="b"))
        old = stored.version(
            asset.id, 1, NOW - 2 * HOUR * 24, CONFIG
        )  # 2 days before: 3 before the window
        record = _plan(asset.id)
        db.session().commit()
        # planned, from the firmware stored on the asset, inside a window that holds alerts
        assert (record.state, record.from_version, record.backup_hours) == (
            "planned",
            "12.2(55)SE",
            24,
        )
        windows = desk.maintenance_windows_between(NOW, NOW + 48 * HOUR)
        assert [(w.asset_id, w.starts_at, w.ends_at) for w in windows] == [
            (asset.id, NOW + 24 * HOUR, NOW + 26 * HOUR)
        ]
        # the same form sent again: the same record, no second window
        assert _plan(asset.id).id == record.id
        assert len(desk.maintenance_windows_between(NOW, NOW + 48 * HOUR)) == 1

        with pytest.raises(ValidationFailed) as refused:
            services.start(record.id)
        assert list(refused.value.errors) == ["backup"]
        assert "2026-03-02 09:00" in str(refused.value)  # the window's start − 24 h, site time
        db.session().rollback()
        assert db.session().get(ConfigUpgrade, record.id).state == "planned"

        # a fetch since then that found the configuration unchanged is a fresh backup too
        db.session().add(
            ConfigFetch(
                asset_id=asset.id,
                started_at=NOW + HOUR,
                finished_at=NOW + HOUR,
                ok=True,
                version_id=old.id,
            )
        )
        db.session().commit()
        started = services.start(record.id)
        db.session().commit()
        assert (started.state, started.started_at, started.backup_version_id) == (
            "started",
            NOW,
            old.id,
        )
        with pytest.raises(ValidationFailed) as again:
            services.start(record.id)
        assert list(again.value.errors) == ["state"]
        db.session().rollback()

        # a wider rule (72 h) accepts the 3-day-old version itself
        wide = _plan(asset.id, to="15.2(7)E4", hours=72)
        assert services.start(wide.id).backup_version_id == old.id


@pytest.mark.dateless
def test_the_version_is_read_back_from_a_later_configuration_else_the_asset(
    db_app: Flask,
) -> None:
    with db_app.app_context(), clock.frozen(NOW):
        asset = factories.asset("SW-CORE-02", kind="switch", specs={"firmware": "12.2(55)SE"})
        db.session().add(ConfigDevice(asset_id=asset.id, platform="cisco_ios", username="b"))
        stored.version(asset.id, 1, NOW, CONFIG)
        record = _plan(asset.id, to="15.2")
        services.start(record.id)
        db.session().commit()
    # after the window, no configuration fetched since it started: the asset's stored firmware
    with db_app.app_context(), clock.frozen(NOW + 27 * HOUR):
        done = services.finish(record.id, True, "rebooted once")
        db.session().commit()
        assert (done.state, done.finished_at, done.note) == (
            "done",
            NOW + 27 * HOUR,
            "rebooted once",
        )
        assert (done.read_back, done.read_back_source, done.matches) == (
            "12.2(55)SE",
            "firmware",
            False,
        )
        # a configuration fetched after the work names the new version
        stored.version(asset.id, 2, NOW + 26 * HOUR, CONFIG.replace("CORE-SW1", "CORE-SW2"))
        again = services.read_back(done)
        db.session().commit()
        assert (again.read_back, again.read_back_source, again.matches) == ("15.2", "config", True)

    with db_app.app_context(), clock.frozen(NOW):
        bare = factories.asset("SW-ACC-03", kind="switch")
        failed = _plan(bare.id, to="V200R019C10SPC800")
        failed.state = "started"
        services.finish(failed.id, False, "image rejected")
        # nothing to read back: not known, neither matching nor not
        assert (failed.state, failed.read_back, failed.matches) == ("failed", "", None)


@pytest.mark.dateless
def test_version_lines_of_every_platform() -> None:
    found = {s.platform: services.version_in(s.text) for s in samples.ALL}
    assert found == {
        "cisco_ios": "15.2",
        "cisco_nxos": "9.3(8) Bios:version 05.45",
        "huawei_vrp": "V200R019C10SPC500",
        "h3c_comware": "7.1.064, Release 6615P08",
        "juniper_junos": "21.4R3-S1",
        "arista_eos": "EOS-4.28.3M",
        "fortigate": "FGT60F-7.2.5-FW-build1517-230606:opmode=0:vdom=0:user=admin",
        "ruijie": "RGOS 10.4(3b19)p2",
    }
    assert services.matches("Version 5.170 (S5735 V200R019C10SPC800)", "v200r019c10spc800")
    assert not services.matches("V200R019C10SPC500", "V200R019C10SPC800")
    assert not services.matches("", "15.2")


# sshd and the scripted device run on the machine's clock; opskit's is stopped at fixed instants
@pytest.mark.dateless
@pytest.mark.real_clock
def test_the_pages_refuse_a_start_then_fetch_now_and_start(app: Flask, device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text, enable="en-Secret1")
    with app.app_context():
        asset = factories.asset(
            "CORE-SW1", kind="switch", mgmt_ip=device.host, specs={"firmware": "12.2(55)SE"}
        )
        db.session().add(
            ConfigDevice(
                asset_id=asset.id,
                platform="cisco_ios",
                port=device.port,
                username=device.username,
                password=device.password,
                enable_password="en-Secret1",
                timeout_s=20,
            )
        )
        db.session().commit()
        asset_id = asset.id
    client = app.test_client()
    login(client, "engineer")
    with clock.frozen(NOW):
        form = {
            "from_version": "12.2(55)SE",
            "to_version": "15.2",
            "reason": "CVE",
            "advisory": "cisco-sa-ssh-2026",
            "window_start": "2026-03-03T09:00",  # Shanghai: NOW + 24 h
            "window_end": "2026-03-03T11:00",
            "files_backed_up": "flash:/config.text",
            "backup_hours": "24",
        }
        bad = post_form(client, f"/configs/{asset_id}/upgrades/new", {**form, "window_end": "x"})
        assert bad.status_code == 400
        assert re.findall(r'data-error="(\w+)"', bad.get_data(as_text=True)) == ["window_end"]
        assert 'value="cisco-sa-ssh-2026"' in bad.get_data(as_text=True)
        created = post_form(client, f"/configs/{asset_id}/upgrades/new", form)
        assert created.status_code == 302
        page_url = created.headers["Location"]
        upgrade_id = int(page_url.rsplit("/", 1)[1])
        with app.app_context():
            record = db.session().get(ConfigUpgrade, upgrade_id)
            window = desk.maintenance_window(record.window_id)
            assert (window.starts_at, window.ends_at) == (NOW + 24 * HOUR, NOW + 26 * HOUR)

        refused = post_form(client, f"/configs/upgrades/{upgrade_id}/start", follow_redirects=True)
        # the flash names the oldest a backup may be: the window's start − 24 h, site time
        assert "2026-03-02 09:00" in refused.get_data(as_text=True)
        with app.app_context():
            assert db.session().get(ConfigUpgrade, upgrade_id).state == "planned"
        # "fetch now" on the record's page: a real fetch over SSH, back to the record
        fetched = post_form(
            client, f"/configs/{asset_id}/fetch", {"next": f"/configs/upgrades/{upgrade_id}"}
        )
        assert fetched.status_code == 302
        assert fetched.headers["Location"].endswith(f"/configs/upgrades/{upgrade_id}")
        with app.app_context():
            kept = db.session().scalars(select(ConfigVersion)).all()
            assert [(v.number, v.fetched_at) for v in kept] == [(1, NOW)]
            assert "en-Secret1" not in kept[0].masked_text
        started = post_form(client, f"/configs/upgrades/{upgrade_id}/start")
        assert started.status_code == 302
        with app.app_context():
            record = db.session().get(ConfigUpgrade, upgrade_id)
            assert (record.state, record.backup_version_id) == ("started", kept[0].id)
    with clock.frozen(NOW + 27 * HOUR):
        post_form(client, f"/configs/upgrades/{upgrade_id}/finish", {"outcome": "done"})
        with app.app_context():
            record = db.session().get(ConfigUpgrade, upgrade_id)
            # nothing fetched since the window began: the stored firmware, which is the old one
            assert (record.state, record.read_back, record.matches) == ("done", "12.2(55)SE", False)
        # fetched after the work (unchanged text here), then read back: the configuration's line
        post_form(client, f"/configs/{asset_id}/fetch", {"next": f"/configs/upgrades/{upgrade_id}"})
        post_form(client, f"/configs/upgrades/{upgrade_id}/read-back")
        with app.app_context():
            record = db.session().get(ConfigUpgrade, upgrade_id)
            assert (record.read_back, record.read_back_source, record.matches) == (
                "15.2",
                "config",
                True,
            )
        page = client.get(f"/configs/upgrades/{upgrade_id}").get_data(as_text=True)
        assert f'href="/configs/{asset_id}/versions/{kept[0].id}"' in page
        assert "cisco-sa-ssh-2026" in page and "flash:/config.text" in page
    viewer = app.test_client()
    login(viewer, "viewer")
    assert viewer.get(f"/configs/upgrades/{upgrade_id}").status_code == 200
    assert post_form(viewer, f"/configs/upgrades/{upgrade_id}/read-back").status_code == 403
