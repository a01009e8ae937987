"""Configuration backups against the real sshd/telnetd devices (tests/configs/conftest.py):
versions stored only on change, secrets masked and kept encrypted, the alerts, pinned host keys,
failures with their reasons, the schedule's claims on SQLite and PostgreSQL, the commands."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask import Flask
from flask_babel import force_locale
from sqlalchemy import func, select, text

from monitors import poller
from monitors.configs import platforms, queries, schedule, services
from monitors.configs.models import ConfigDevice, ConfigFetch, ConfigVersion
from monitors.configs.normalise import MASK, normalise
from monitors.syslog.models import SyslogMessage
from opskit import clock, db
from opskit.alerts import wording
from opskit.alerts.models import Alert
from opskit.validation import ValidationFailed
from tests import factories
from tests.configs import samples
from tests.configs.conftest import Device

# sshd and the scripted device run on the machine's clock; the backups' times are handed in
pytestmark = [
    pytest.mark.dateless,
    pytest.mark.real_clock,
    pytest.mark.xdist_group("configs_backups"),  # one sshd for the module
]

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CISCO = platforms.get("cisco_ios")


def add_device(
    device: Device, tag: str = "CORE-SW1", platform: str = "cisco_ios", **changes: object
) -> int:
    """An asset reached at the test's device; its ConfigDevice's id (committed)."""
    asset = factories.asset(tag, kind="switch", mgmt_ip=device.host)
    settings: dict[str, object] = {
        "platform": platform,
        "username": device.username,
        "password": device.password,
        "port": device.port,
        "timeout_s": 20,
    }
    settings.update(changes)
    found = services.save_device(asset.id, **settings)  # type: ignore[arg-type]
    found.next_due_at = NOW
    db.session().commit()
    return found.id


def turn(at: datetime) -> dict[str, int]:
    """One turn of a worker's backups at ``at`` (opskit's clock stopped there)."""
    with clock.frozen(at):
        return schedule.run_due(at)


def open_alerts(rule: str) -> list[Alert]:
    return list(
        db.session().scalars(
            select(Alert).where(Alert.rule == rule, Alert.status.in_(("firing", "acknowledged")))
        )
    )


def test_versions_are_stored_on_change_with_secrets_masked_and_kept_encrypted(
    app: Flask, device: Device
) -> None:
    device.scenario(samples.CISCO_IOS.text, enable="en-Secret1")
    with app.app_context():
        device_id = add_device(device, enable_password="en-Secret1")
        assert turn(NOW) == {"claimed": 1, "fetched": 1, "changed": 1, "failed": 0}
        first = queries.versions(1)[0]
        expected = normalise(samples.CISCO_IOS.text, CISCO)
        assert (first.number, first.sha256, first.lines) == (1, expected.sha256, expected.lines)
        assert first.previous_id is None and first.size == len(expected.text.encode())
        full = queries.version(first.id)
        assert full is not None
        for secret in samples.CISCO_IOS.secrets:
            assert secret not in full.masked_text
            assert secret in full.text  # the backup keeps them, decrypted here
        assert "enable secret 5 " + MASK in full.masked_text.splitlines()
        assert "Last configuration change" not in full.text  # volatile lines dropped
        stored = db.session().execute(text("SELECT text FROM config_version")).scalar_one()
        assert stored.startswith("fernet:") and "Xy7secretRO" not in stored  # encrypted at rest
        dev = db.session().get(ConfigDevice, device_id)
        assert dev is not None and dev.host_key_type == "ssh-ed25519"
        assert dev.host_key_fingerprint and dev.host_key_fingerprint.startswith("SHA256:")
        assert (dev.next_due_at, dev.lease_until, dev.consecutive_failures) == (NOW + DAY, None, 0)
        assert open_alerts(services.RULE_CHANGED) == []  # the first backup is no change

        assert turn(NOW + timedelta(hours=23))["claimed"] == 0  # not due yet

        # other timestamps and ntp clock-period: volatile, the same configuration
        device.scenario(
            samples.CISCO_IOS.text.replace(
                "09:12:44 CST Tue Mar 4", "23:59:01 CST Sun Mar 9"
            ).replace("clock-period 17179862", "clock-period 17179901"),
            enable="en-Secret1",
        )
        assert turn(NOW + DAY)["changed"] == 0
        assert len(queries.versions(1)) == 1
        last = db.session().scalars(select(ConfigFetch).order_by(ConfigFetch.id.desc())).first()
        assert last is not None and (last.ok, last.new_version, last.version_id) == (
            True,
            False,
            first.id,
        )

        device.scenario(
            samples.CISCO_IOS.text.replace("ntp server 10.1.1.1", "ntp server 10.1.1.9"),
            enable="en-Secret1",
        )
        for hours, user, where in ((2, "admin", "vty0 (10.1.1.5)"), (3, device.username, "vty1")):
            db.session().add(
                SyslogMessage(
                    received_at=NOW + DAY + timedelta(hours=hours),
                    source="127.0.0.1",
                    asset_id=1,
                    facility=23,
                    severity=5,
                    program="SYS-5-CONFIG_I",
                    text=f"Configured from console by {user} on {where}",
                )
            )
        db.session().commit()
        assert turn(NOW + 2 * DAY)["changed"] == 1
        second = queries.versions(1)[0]
        assert (second.number, second.previous_id) == (2, first.id)
        assert second.changed_by == "admin (10.1.1.5)"  # the backup's own login left out
        [alert] = open_alerts(services.RULE_CHANGED)
        assert (alert.urgency, alert.asset_id, alert.source) == ("C", 1, "monitor")
        assert alert.message == (
            f"CORE-SW1 CORE-SW1: 配置已变更（第 2 版，{second.lines} 行）："
            f"/configs/1/versions/{second.id}"
        )
        with force_locale("zh_CN"):
            assert wording.rule_title(services.RULE_CHANGED) == "配置变更"
        with force_locale("en"):
            assert wording.alert_messages([alert])[alert.id] == (
                f"CORE-SW1 CORE-SW1: configuration changed (version 2, {second.lines} lines): "
                f"/configs/1/versions/{second.id}"
            )

    every = app.test_cli_runner().invoke(args=["configs", "fetch", "--all", "--json"])
    assert every.exit_code == 0, every.output
    assert json.loads(every.output) == {
        "asset": "CORE-SW1",
        "ok": True,
        "new_version": False,
        "version": 2,
        "reason": "",
        "error": "",
    }


def test_failures_raise_one_alert_cleared_by_the_next_success(app: Flask, device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text)
    with app.app_context():
        services.save_settings(failures_before_alert=2)
        device_id = add_device(device, password="not-it")
        assert turn(NOW)["failed"] == 1
        dev = db.session().get(ConfigDevice, device_id, populate_existing=True)
        assert dev is not None and (dev.last_reason, dev.consecutive_failures) == ("auth", 1)
        assert "wrong user name or password" in dev.last_error
        assert open_alerts(services.RULE_FAILED) == []
        assert queries.versions(dev.asset_id) == []  # nothing stored by a failed fetch

        turn(NOW + DAY)
        [alert] = open_alerts(services.RULE_FAILED)
        assert alert.urgency == "C"
        assert alert.message.startswith(
            "CORE-SW1 CORE-SW1: 配置备份已连续失败 2 次：用户名或密码错误 ("
        )

        services.save_device(
            dev.asset_id,
            platform="cisco_ios",
            username=device.username,
            password=device.password,
            port=device.port,
        )
        db.session().commit()
        assert turn(NOW + 2 * DAY)["changed"] == 1
        assert open_alerts(services.RULE_FAILED) == []
        dev = db.session().get(ConfigDevice, device_id, populate_existing=True)
        assert dev is not None and (dev.consecutive_failures, dev.last_error) == (0, "")


def test_a_changed_host_key_is_refused_before_the_password_until_an_admin_accepts(
    app: Flask, device: Device
) -> None:
    """sshd logs each password it is given (LogLevel INFO): none for the refused connection."""
    config = device.folder / "sshd_config"
    config.write_text(config.read_text().replace("LogLevel ERROR", "LogLevel INFO"))
    device.rotate_host_key()
    device.scenario(samples.CISCO_IOS.text)
    log = device.folder / "sshd.log"
    runner = app.test_cli_runner()
    with app.app_context():
        device_id = add_device(device, tag="AGG-SW2")
        assert turn(NOW)["changed"] == 1
        pinned = db.session().get(ConfigDevice, device_id)
        assert pinned is not None
        old = pinned.host_key_fingerprint
        accepted_before = log.read_text().count("Accepted password")
        assert accepted_before >= 1

        new = device.rotate_host_key()
        offset = len(log.read_text())
        assert turn(NOW + DAY) == {
            "claimed": 1,
            "fetched": 1,
            "changed": 0,
            "failed": 1,
        }
        assert "password" not in log.read_text()[offset:]  # neither accepted nor failed: not sent
        dev = db.session().get(ConfigDevice, device_id, populate_existing=True)
        assert dev is not None and dev.last_reason == "host_key"
        assert (dev.host_key_fingerprint, dev.offered_host_key_fingerprint) == (old, new)
        assert f"the SSH host key has changed (pinned ssh-ed25519 {old}" in dev.last_error
        [alert] = open_alerts(services.RULE_HOST_KEY)
        assert alert.message.endswith(f"（ssh-ed25519 {new}）")
        assert turn(NOW + 3 * DAY)["claimed"] == 0  # stopped until accepted

    wrong = runner.invoke(args=["configs", "accept-key", "AGG-SW2", "--fingerprint", "SHA256:x"])
    assert wrong.exit_code == 1
    assert f"host_key: 设备现在提供的是另一个密钥（{new}）：请重新核对。" in wrong.output
    ok = runner.invoke(args=["configs", "accept-key", "AGG-SW2", "--fingerprint", new])
    assert ok.exit_code == 0, ok.output
    assert f"AGG-SW2: pinned ssh-ed25519 {new}\n  (was {old})" in ok.output
    again = runner.invoke(args=["configs", "accept-key", "AGG-SW2"])
    assert (again.exit_code, again.output) == (1, "Error: host_key: 没有等待接受的新主机密钥。\n")

    fetched = runner.invoke(args=["configs", "fetch", "--asset", "AGG-SW2"])
    assert (fetched.exit_code, fetched.output) == (0, "AGG-SW2: unchanged (version 1)\n")
    with app.app_context():
        assert open_alerts(services.RULE_HOST_KEY) == []
        assert log.read_text().count("Accepted password") == accepted_before + 1


def test_a_hung_device_ends_at_its_timeout_and_stores_nothing_while_another_is_backed_up(
    app: Flask, device: Device, telnet_device: Device
) -> None:
    device.scenario(samples.CISCO_IOS.text, hang_after=6)
    telnet_device.scenario(
        samples.HUAWEI.text,
        style="huawei",
        hostname="HW-AGG-01",
        login=[telnet_device.username, telnet_device.password],
        encoding="gbk",
    )
    with app.app_context():
        hung = add_device(device, tag="HUNG-1")
        found = db.session().get(ConfigDevice, hung)
        assert found is not None
        found.timeout_s = 2  # below the form's 5 s: the test waits for it
        db.session().commit()
        add_device(telnet_device, tag="HW-AGG-01", platform="huawei_vrp", transport="telnet")
        results = {
            r.device_id: r for r in schedule.fetch_claimed(schedule.claim(db.session(), NOW))
        }
        assert {r.ok for r in results.values()} == {True, False}
        assert results[hung].reason == "timeout" and "within 2 s" in results[hung].error
        assert db.session().scalar(select(func.count()).select_from(ConfigVersion)) == 1
        [version] = queries.versions(2)
        full = queries.version(version.id)
        assert full is not None
        assert " description 至机房B-配线架3" in full.masked_text.splitlines()  # GBK read back
        for secret in samples.HUAWEI.secrets:
            assert secret not in full.masked_text and secret in full.text


def test_two_workers_fetch_a_due_device_once(db_app: Flask, device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text)
    with db_app.app_context():
        add_device(device)
    start = threading.Barrier(2)
    claimed: list[int] = []

    def worker() -> None:
        with db_app.app_context():
            start.wait()
            claimed.append(schedule.run_due(NOW)["claimed"])

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == [0, 1]
    with db_app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ConfigFetch)) == 1
        assert db.session().scalar(select(func.count()).select_from(ConfigVersion)) == 1


def test_due_selection(db_app: Flask) -> None:
    with db_app.app_context():
        ids = {}
        for tag in ("DUE", "LATER", "OFF", "KEY"):
            asset = factories.asset(tag, kind="switch", mgmt_ip="192.0.2.1")
            ids[tag] = services.save_device(asset.id, platform="cisco_ios", username="u").id
        sess = db.session()
        for tag, due in (("DUE", NOW), ("LATER", NOW + DAY), ("OFF", NOW), ("KEY", NOW)):
            found = sess.get(ConfigDevice, ids[tag])
            assert found is not None
            found.next_due_at = due
            found.enabled = tag != "OFF"
            if tag == "KEY":
                found.offered_host_key, found.offered_host_key_type = "AAAA", "ssh-ed25519"
        sess.commit()
        maker = db_app.extensions["opskit.sessionmaker"]
        first, second = maker(), maker()
        try:
            if first.get_bind().dialect.name == "postgresql":
                locked = first.scalars(
                    select(ConfigDevice.id).where(ConfigDevice.id == ids["DUE"]).with_for_update()
                ).all()
                assert locked == [ids["DUE"]]
                assert schedule.claim(second, NOW) == []  # skipped, not waited for
                first.rollback()
            assert schedule.claim(first, NOW) == [ids["DUE"]]
            assert schedule.claim(second, NOW) == []  # leased
            assert not schedule.claim_device(second, ids["DUE"], NOW)
            assert schedule.claim_device(second, ids["LATER"], NOW)  # a manual fetch: not due
            later = NOW + DAY + schedule.LEASE + timedelta(seconds=1)  # both leases ran out
            assert schedule.claim(second, later) == [ids["DUE"], ids["LATER"]]
        finally:
            first.close()
            second.close()


def test_settings_and_device_errors_name_the_field(app: Flask) -> None:
    runner = app.test_cli_runner()
    with app.app_context():
        asset = factories.asset("NO-IP", kind="switch")
        db.session().commit()
        with pytest.raises(ValidationFailed) as err:
            services.save_device(asset.id, platform="nokia", username="", port=70000, interval_s=60)
        assert set(err.value.errors) == {"platform", "username", "port", "interval_s", "host"}
        with pytest.raises(ValidationFailed) as err:
            services.save_device(asset.id, platform="generic", username="u", host="10.0.0.1")
        assert set(err.value.errors) == {"commands"}
        with pytest.raises(ValidationFailed) as err:
            services.save_device(
                asset.id, platform="fortigate", username="u", host="10.0.0.1", transport="telnet"
            )
        assert set(err.value.errors) == {"transport"}
    bad = runner.invoke(args=["configs", "set", "NO-IP", "--platform", "nokia", "--username", "u"])
    assert bad.exit_code == 1 and "platform: " in bad.output
    shown = runner.invoke(args=["configs", "settings", "--failures-before-alert", "5"])
    assert shown.output == "failures before an alert: 5\nconcurrency: 10\n"
    refused = runner.invoke(args=["configs", "settings", "--concurrency", "0"])
    assert refused.exit_code == 1 and "concurrency: " in refused.output
    usage = runner.invoke(args=["configs", "fetch"])
    assert usage.exit_code == 2 and "give --asset TAG (repeatable) or --all" in usage.output


def test_the_poller_runs_the_due_backups_beside_its_cycles(app: Flask, device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text)
    with app.app_context():
        add_device(device, tag="POLLED-1")
    stop = threading.Event()

    def poll() -> None:
        with app.app_context():
            poller.run(stop, idle_s=0.2)

    thread = threading.Thread(target=poll)
    thread.start()
    try:
        with app.app_context():
            for _ in range(600):  # until its first turn is recorded (bounded: a hang fails)
                if db.session().scalar(select(func.count()).select_from(ConfigFetch)):
                    break
                db.session().rollback()
                stop.wait(0.05)
            [fetch] = db.session().scalars(select(ConfigFetch)).all()
            assert (fetch.ok, fetch.new_version) == (True, True)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_a_password_the_key_cannot_decrypt_fails_that_device_only(app: Flask) -> None:
    """The encryption key was replaced (not restored from the backup): the device's attempt says
    so, the turn goes on, and the device's settings still load (its pages show them)."""
    nowhere = Device("127.0.0.1", 1, "backup", "pw-1", Path("/nonexistent"))
    with app.app_context():
        device_id = add_device(nowhere, tag="OLD-KEY")
        app.extensions["opskit.fernet"] = Fernet(Fernet.generate_key())
        assert turn(NOW) == {"claimed": 1, "fetched": 1, "changed": 0, "failed": 1}
        found = queries.device_of_asset(1)
        assert found is not None and found.id == device_id and found.last_reason == "secret"
        assert "cannot decrypt a stored secret" in found.last_error
        assert found.next_due_at == NOW + DAY
