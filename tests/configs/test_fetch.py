"""Fetching configurations over SSH from a real OpenSSH sshd whose login is a scripted device
(tests/configs/conftest.py, fake_device.py): netmiko's dialogue, paging, enable, wrong password,
a device that hangs mid-output, and ``opskit configs probe``."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask

from monitors.configs import platforms
from monitors.configs.device import FetchError, Target, fetch
from monitors.configs.normalise import MASK, normalise
from tests.configs import samples
from tests.configs.conftest import Device

# the device's configuration has fixed texts; sshd and the device run on the machine's clock
pytestmark = [pytest.mark.dateless, pytest.mark.real_clock]


def target(device: Device, platform: str, **changes: object) -> Target:
    settings: dict[str, object] = {
        "host": device.host,
        "platform": platforms.get(platform),
        "username": device.username,
        "password": device.password,
        "port": device.port,
        "timeout": 20.0,
    }
    settings.update(changes)
    return Target(**settings)  # type: ignore[arg-type]


def test_cisco_fetch_with_enable_masks_secrets_and_ignores_volatile_lines(device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text, enable="en-Secret1")
    fetched = fetch(target(device, "cisco_ios", enable_password="en-Secret1"))
    assert fetched.host_key and fetched.host_key.startswith("SHA256:")
    got = normalise(fetched.raw, platforms.get("cisco_ios"))
    expected = normalise(samples.CISCO_IOS.text, platforms.get("cisco_ios"))
    assert got.text == expected.text  # no prompt, echo or blank line of the dialogue left
    assert got.volatile_removed == 5
    assert " description 上联-核心交换机" in got.masked.splitlines()
    for secret in samples.CISCO_IOS.secrets:
        assert secret not in got.masked
    assert "enable secret 5 " + MASK in got.masked.splitlines()

    # the same configuration with other timestamps: the same hash
    device.scenario(
        samples.CISCO_IOS.text.replace("09:12:44 CST Tue Mar 4", "23:59:01 CST Sun Mar 9"),
        enable="en-Secret1",
    )
    again = normalise(
        fetch(target(device, "cisco_ios", enable_password="en-Secret1")).raw,
        platforms.get("cisco_ios"),
    )
    assert again.sha256 == got.sha256


def test_a_device_that_pages_anyway_is_paged_on(device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text, paging="ignore", page_lines=7)
    raw = fetch(target(device, "cisco_ios")).raw
    assert b"--More--" in raw  # the device really paged
    got = normalise(raw, platforms.get("cisco_ios"))
    assert got.text == normalise(samples.CISCO_IOS.text, platforms.get("cisco_ios")).text


@pytest.mark.parametrize("encoding", ["utf-8", "gbk"])
def test_huawei_paging_and_chinese_text(device: Device, encoding: str) -> None:
    device.scenario(
        samples.HUAWEI.text,
        style="huawei",
        hostname="HW-AGG-01",
        paging="ignore",
        page_lines=9,
        encoding=encoding,
    )
    raw = fetch(target(device, "huawei_vrp")).raw
    assert b"---- More ----" in raw
    assert "至机房B-配线架3".encode(encoding) in raw  # as the device sent it, nothing dropped
    got = normalise(raw, platforms.get("huawei_vrp"))
    assert got.text == normalise(samples.HUAWEI.text, platforms.get("huawei_vrp")).text
    assert " description 至机房B-配线架3" in got.masked.splitlines()
    assert got.volatile_removed == 3


def test_generic_platform_runs_the_users_commands(device: Device) -> None:
    device.scenario(samples.RUIJIE.text, hostname="RJ-ACC-02")
    generic = platforms.get("generic")
    got = normalise(
        fetch(target(device, "generic", commands=("terminal length 0", "show run"))).raw, generic
    )
    assert "hostname RJ-ACC-02" in got.text.splitlines()
    assert "snmp-server community <masked> ro" in got.masked.splitlines()
    with pytest.raises(FetchError) as err:
        fetch(target(device, "generic"))
    assert (err.value.reason, str(err.value)) == (
        "commands",
        "generic: give the commands to run (--command)",
    )


def test_wrong_password(device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text)
    with pytest.raises(FetchError) as err:
        fetch(target(device, "cisco_ios", password="not-it"))
    assert err.value.reason == "auth"
    assert f"refused the login of {device.username!r}: wrong user name or password" in str(
        err.value
    )


def test_wrong_enable_password(device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text, enable="en-Secret1")
    with pytest.raises(FetchError) as err:
        fetch(target(device, "cisco_ios", enable_password="nope"))
    assert err.value.reason == "enable"
    assert "the enable password was refused" in str(err.value)


def test_a_device_that_hangs_mid_output_ends_at_the_timeout(device: Device) -> None:
    """The device sleeps 120 s after 6 lines; the fetch gives up at its own 3 s limit."""
    device.scenario(samples.CISCO_IOS.text, hang_after=6)
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch(target(device, "cisco_ios", timeout=3.0))
    assert time.monotonic() - started < 60  # not the device's 120 s
    assert err.value.reason == "timeout"
    assert "within 3 s" in str(err.value)


def test_probe_command_prints_the_masked_configuration(device: Device, app: Flask) -> None:
    device.scenario(samples.CISCO_IOS.text, enable="en-Secret1")
    runner = app.test_cli_runner()
    args = ["configs", "probe", device.host, "--platform", "cisco_ios", "--port", str(device.port)]
    args += ["--username", device.username, "--password-stdin", "--enable-stdin", "--json"]
    result = runner.invoke(args=args, input=f"{device.password}\nen-Secret1\n")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert list(data) == ["platform", "sha256", "lines", "masked", "volatile_removed", "config"]
    expected = normalise(samples.CISCO_IOS.text, platforms.get("cisco_ios"))
    assert data["platform"] == "cisco_ios"
    assert data["sha256"] == expected.sha256
    assert data["lines"] == expected.lines
    assert data["masked"] == expected.masked_count
    assert data["volatile_removed"] == 5
    assert data["config"] == expected.masked

    readable = runner.invoke(args=args[:-1], input=f"{device.password}\nen-Secret1\n")
    assert readable.exit_code == 0, readable.output
    assert f"sha256: {expected.sha256}" in readable.output
    assert "secrets masked, 5 volatile lines removed" in readable.output


def test_probe_errors_exit_2_with_a_reason(device: Device, app: Flask) -> None:
    cli = app.test_cli_runner()
    base = ["configs", "probe", device.host, "--port", str(device.port)]
    base += ["--username", device.username, "--password-stdin"]
    wrong = cli.invoke(args=[*base, "--platform", "cisco_ios"], input="not-it\n")
    assert wrong.exit_code == 2
    assert "error (auth):" in wrong.output and "wrong user name or password" in wrong.output
    unknown = cli.invoke(args=[*base, "--platform", "nokia"], input="x\n")
    assert unknown.exit_code == 2
    assert "unknown platform 'nokia'; known: arista_eos, cisco_ios" in unknown.output
    nowhere = ["configs", "probe", "127.0.0.1", "--port", "1", "--platform", "cisco_ios"]
    closed = cli.invoke(args=[*nowhere, "--username", "x", "--password-stdin"], input="x\n")
    assert closed.exit_code == 2
    assert "error (unreachable): 127.0.0.1:1 refused the connection" in closed.output


def test_telnet_login_fetch_and_wrong_password(telnet_device: Device) -> None:
    telnet_device.scenario(
        samples.CISCO_IOS.text,
        enable="en-Secret1",
        login=[telnet_device.username, telnet_device.password],
        paging="ignore",
        page_lines=11,
    )
    got = normalise(
        fetch(
            target(telnet_device, "cisco_ios", transport="telnet", enable_password="en-Secret1")
        ).raw,
        platforms.get("cisco_ios"),
    )
    assert got.text == normalise(samples.CISCO_IOS.text, platforms.get("cisco_ios")).text

    with pytest.raises(FetchError) as err:
        # netmiko's Telnet login waits between tries (about 10 s for the device's three)
        fetch(target(telnet_device, "cisco_ios", transport="telnet", password="no", timeout=60.0))
    assert err.value.reason == "auth"
    assert "wrong user name or password" in str(err.value)

    with pytest.raises(FetchError) as err:
        fetch(target(telnet_device, "cisco_ios", transport="telnet", port=1))
    assert (err.value.reason, str(err.value)) == (
        "unreachable",
        "127.0.0.1:1 refused the connection",
    )
