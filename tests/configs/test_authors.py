"""Who changed a configuration, from the devices' syslog lines as the receiver parses them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitors.configs.authors import changed_by
from monitors.syslog.parsing import parse

# fixed lines, no clock
pytestmark = pytest.mark.dateless

AT = datetime(2026, 3, 4, 1, 12, tzinfo=UTC)


def said(*lines: bytes, ignore_user: str = "") -> str | None:
    messages = [parse(line, "10.0.0.1", AT) for line in lines]
    return changed_by(((m.program, m.text) for m in messages), ignore_user=ignore_user)


def test_each_vendors_change_message_names_the_user_and_where_from() -> None:
    assert (
        said(
            b"<189>52: CORE-SW1: *Mar  4 09:12:44.123: %SYS-5-CONFIG_I: Configured from console by "
            b"admin on vty0 (10.1.1.5)"
        )
        == "admin (10.1.1.5)"
    )
    assert (
        said(
            b"<190>Dec 10 2025 10:12:33+08:00 HW-CORE-01 %%01SHELL/5/CMDRECORD(s)[12]:Recorded "
            b"command information. (Task=VT0, Ip=10.1.1.6, VpnName=, User=netadmin, "
            b'AuthenticationMethod="Local-user", Command="interface GigabitEthernet0/0/1")'
        )
        == "netadmin (10.1.1.6)"
    )
    assert (
        said(
            b"<190>Jan 20 16:53:40:226 2025 H3C-SW-02 %%10SHELL/6/SHELL_CMD: -Line=vty0-IPAddr="
            b"10.1.1.7-User=h3cadmin; Command is interface GigabitEthernet1/0/1"
        )
        == "h3cadmin (10.1.1.7)"
    )
    assert (
        said(
            b"<189>Mar  4 09:12:44 jnp-r1 mgd[1234]: UI_COMMIT: User 'jadmin' requested 'commit' "
            b"operation (comment: none)"
        )
        == "jadmin"
    )
    assert (
        said(
            b'<189>date=2025-03-04 time=09:12:44 devname="FGT-01" logid="0100044547" type="event" '
            b'subtype="system" logdesc="Object attribute configured" user="fadmin" '
            b'ui="GUI(10.1.1.8)" action="Edit" cfgpath="system.interface"'
        )
        == "fadmin (GUI(10.1.1.8))"
    )


def test_users_once_each_with_their_places_and_no_read_only_or_backup_commands() -> None:
    cisco = b"<189>Mar  4 09:12:44 CORE-SW1 %SYS-5-CONFIG_I: Configured from console by "
    huawei = b"<190>Mar  4 09:12:44 HW-CORE-01 %%01SHELL/5/CMDRECORD(s)[1]:Recorded command "
    assert (
        said(
            cisco + b"admin on vty0 (10.1.1.5)",
            b"<189>Mar  4 09:13:01 CORE-SW1 %LINK-3-UPDOWN: Interface Gi0/1, changed state to down",
            cisco + b"ops on console",
            cisco + b"admin on vty1 (10.1.1.9)",
            cisco + b"admin on vty0 (10.1.1.5)",
            cisco + b"backup on vty2 (10.9.9.9)",
            ignore_user="backup",
        )
        == "admin (10.1.1.5, 10.1.1.9), ops (console)"
    )
    read_only = b'information. (Task=VT0, Ip=10.1.1.6, User=viewer, Command="display version")'
    assert said(huawei + read_only) is None
    assert said(b"<189>Mar  4 09:13:01 CORE-SW1 %LINK-3-UPDOWN: Interface Gi0/1, down") is None
