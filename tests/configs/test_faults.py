"""Issue #22's faults against the real sshd/telnetd devices (tests/configs/conftest.py): a pager
nobody listed, a 10 MB configuration (stored whole, its page bounded), a Telnet device that
echoes twice or not at all, and Huawei's ``super`` password. Each ends with the configuration
whole or a reason in words, and nothing half stored."""

from __future__ import annotations

import re
import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from monitors.configs import device as fetching
from monitors.configs import platforms, queries
from monitors.configs.device import FetchError, fetch
from monitors.configs.history import views
from monitors.configs.models import ConfigDevice, ConfigFetch, ConfigVersion
from monitors.configs.normalise import normalise
from opskit import db
from tests.configs import samples
from tests.configs.conftest import Device
from tests.configs.test_backups import NOW, add_device, turn
from tests.configs.test_fetch import target
from tests.conftest import login

# sshd and the scripted device run on the machine's clock; the backups' times are handed in
pytestmark = [
    pytest.mark.dateless,
    pytest.mark.real_clock,
    pytest.mark.xdist_group("configs_faults"),  # one sshd and one telnetd for the module
]

CISCO = platforms.get("cisco_ios")
HUAWEI = platforms.get("huawei_vrp")


def big_config(size: int) -> str:
    """A Cisco-like configuration of about ``size`` bytes (interfaces with Chinese descriptions)."""
    block = "".join(
        f"interface GigabitEthernet{i // 48 + 1}/0/{i % 48 + 1}\n"
        f" description 至机柜A{i % 40:02d}-服务器{i}\n"
        f" switchport access vlan {100 + i % 50}\n!\n"
        for i in range(1000)
    )
    copies = size // len(block.encode()) + 1
    body = "".join(block.replace("服务器", f"服务器{n}-") for n in range(copies))
    return f"hostname BIG-CORE\n!\n{body}snmp-server community Big-RO-9 RO\nend\n"


def test_an_unknown_pager_ends_the_fetch_quoting_it_and_a_bracketed_one_pages_on(
    device: Device,
) -> None:
    device.scenario(
        samples.CISCO_IOS.text,
        paging="ignore",
        page_lines=7,
        pager="-- Press any key to continue --",
    )
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        fetch(target(device, "cisco_ios", timeout=6.0))
    assert time.monotonic() - started < 5.5  # the quiet time (a third of 6 s), not the timeout
    assert err.value.reason == "pager"
    assert "stopped after 7 lines at a prompt that is not its own nor a known pager: " in str(
        err.value
    )
    assert "'-- Press any key to continue --'" in str(err.value)

    # "<--- More --->": a known pager in brackets is paged on, and no bracket is left behind
    device.scenario(samples.CISCO_IOS.text, paging="ignore", page_lines=7, pager="<--- More --->")
    raw = fetch(target(device, "cisco_ios")).raw
    assert raw.count(b"<--- More --->") == len(samples.CISCO_IOS.text.splitlines()) // 7
    assert normalise(raw, CISCO).text == normalise(samples.CISCO_IOS.text, CISCO).text


def test_a_10_mb_configuration_is_stored_whole_and_its_page_is_bounded(
    app: Flask, client: FlaskClient, device: Device
) -> None:
    config = big_config(10 * 2**20)
    assert len(config.encode()) > 10 * 2**20
    device.scenario(config)
    expected = normalise(config, CISCO)
    with app.app_context():
        asset_id = (
            db.session().get(ConfigDevice, add_device(device, "BIG-CORE", timeout_s=60)).asset_id
        )
        assert turn(NOW) == {"claimed": 1, "fetched": 1, "changed": 1, "failed": 0}
        (listed,) = queries.versions(asset_id)
        assert (listed.sha256, listed.lines, listed.size) == (
            expected.sha256,
            expected.lines,
            len(expected.text.encode()),
        )
        assert listed.lines > 300_000
        full = queries.version(listed.id)
        assert full is not None and full.text == expected.text  # whole, secrets kept
        assert full.masked_text == expected.masked
        version_id = listed.id

    login(client, "viewer")
    base = f"/configs/{asset_id}/versions/{version_id}"
    page = client.get(base + "?view=text").get_data(as_text=True)
    assert len(page) < 1_000_000  # not 10 MB of HTML
    assert len(re.findall(r'<tr class="equal">', page)) == views.TEXT_LINES
    bounded = re.search(r'id="version-bounded">([^<]+)<a href="([^"]+)"', page)
    assert bounded is not None
    assert f"{views.TEXT_LINES:,}" in bounded[1] and f"{expected.lines:,}" in bounded[1]
    split = client.get(base).get_data(as_text=True)  # the first version: every line "added"
    assert len(split) < 200_000 and 'data-kind="added"' not in split
    assert 'id="version-bounded"' in split
    download = client.get(bounded[2])
    assert download.status_code == 200
    assert "attachment" in download.headers["Content-Disposition"]
    assert download.get_data(as_text=True) == expected.masked
    assert "Big-RO-9" not in download.get_data(as_text=True)  # masked


def test_more_than_the_limit_is_refused_naming_it_and_nothing_is_stored(
    app: Flask, device: Device, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(fetching, "MAX_OUTPUT_BYTES", 2**20)  # 1 MB instead of 32: quicker
    device.scenario(big_config(2 * 2**20))
    with app.app_context():
        add_device(device, "BIG-FW")
        assert turn(NOW)["failed"] == 1
        row = db.session().scalars(select(ConfigFetch)).one()
        assert (row.ok, row.reason) == (False, "too_big")
        assert "printed more than 1 MB (the limit of one configuration backup)" in row.error
        count = db.session().scalar(select(func.count()).select_from(ConfigVersion))
        assert count == 0
        assert str(queries.REASON_LABELS["too_big"]) in ("Configuration too large", "配置过大")


def test_a_telnet_device_that_echoes_twice_with_cr_nul_or_not_at_all(telnet_device: Device) -> None:
    login_as = [telnet_device.username, telnet_device.password]
    telnet_device.scenario(samples.CISCO_IOS.text, login=login_as, echo="twice", paging="ignore")
    raw = fetch(target(telnet_device, "cisco_ios", transport="telnet")).raw
    got = normalise(raw, CISCO)
    assert got.text == normalise(samples.CISCO_IOS.text, CISCO).text  # no echoed command

    # CR NUL (Telnet's bare carriage return) ending every echo and every line
    telnet_device.scenario(samples.CISCO_IOS.text, login=login_as, echo="crnul")
    raw = fetch(target(telnet_device, "cisco_ios", transport="telnet")).raw
    assert normalise(raw, CISCO).text == normalise(samples.CISCO_IOS.text, CISCO).text

    # nothing echoed: netmiko's session preparation waits for the echo of "terminal width 511"
    telnet_device.scenario(samples.CISCO_IOS.text, login=login_as, echo="none")
    with pytest.raises(FetchError) as err:
        fetch(target(telnet_device, "cisco_ios", transport="telnet", timeout=3.0))
    assert (err.value.reason, str(err.value)) == (
        "timeout",
        f"127.0.0.1:{telnet_device.port}: no prompt within 3 s while logging in and preparing "
        "the session (the device stopped answering, or does not echo what is typed)",
    )


def test_cr_nul_line_ends_over_ssh(device: Device) -> None:
    device.scenario(samples.CISCO_IOS.text, echo="crnul")
    raw = fetch(target(device, "cisco_ios")).raw
    assert b"\x00" in raw  # as the device sent it (netmiko made its CR a line end)
    assert normalise(raw, CISCO).text == normalise(samples.CISCO_IOS.text, CISCO).text


def test_huawei_super_password(device: Device) -> None:
    device.scenario(samples.HUAWEI.text, style="huawei", hostname="HW-AGG-01", super="su-Pw1")
    got = normalise(fetch(target(device, "huawei_vrp", enable_password="su-Pw1")).raw, HUAWEI)
    assert got.text == normalise(samples.HUAWEI.text, HUAWEI).text

    with pytest.raises(FetchError) as err:
        fetch(target(device, "huawei_vrp", enable_password="not-it"))
    assert err.value.reason == "enable"
    assert "the super password was refused (Password is not correct.)" in str(err.value)


@pytest.mark.parametrize(
    ("style", "platform", "said"),
    [
        ("huawei", "huawei_vrp", "Error: Unrecognized command found at '^' position."),
        ("cisco", "cisco_ios", "% Invalid input detected at '^' marker."),
    ],
)
def test_a_refused_command_is_no_configuration(
    app: Flask, device: Device, style: str, platform: str, said: str
) -> None:
    """No super/enable password given where the account needs one: the device's error is not
    stored as a version."""
    device.scenario(samples.HUAWEI.text, style=style, super="su-Pw1", enable="en-Secret1")
    with app.app_context():
        add_device(device, platform=platform)
        assert turn(NOW)["failed"] == 1
        row = db.session().scalars(select(ConfigFetch)).one()
        command = platforms.get(platform).commands[0]
        assert (row.ok, row.reason) == (False, "refused")
        assert row.error == (
            f"{device.host}:{device.port} refused {command!r}: {said} (an account without the "
            "privilege needs the enable/super password)"
        )
        assert db.session().scalar(select(func.count()).select_from(ConfigVersion)) == 0
