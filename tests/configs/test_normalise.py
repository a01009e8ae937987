"""Normalising configurations: volatile lines dropped, secrets masked, the hash stable, terminal
output rendered, GBK decoded (monitors/configs/normalise.py and platforms.yaml)."""

from __future__ import annotations

import hashlib

import pytest

from monitors.configs import platforms
from monitors.configs.normalise import MASK, normalise, render
from tests.configs import samples

# pure functions of the text: no clock involved
pytestmark = pytest.mark.dateless


@pytest.mark.parametrize("sample", samples.ALL, ids=lambda s: s.platform)
def test_each_platform_masks_its_secrets_and_drops_its_volatile_lines(
    sample: samples.Sample,
) -> None:
    platform = platforms.get(sample.platform)
    got = normalise(sample.text, platform)
    for secret in sample.secrets:
        assert secret in got.text  # the stored copy keeps them
        assert secret not in got.masked, f"{secret} shown"
    assert got.masked_count == got.masked.count(MASK) >= len(sample.secrets)
    assert got.volatile_removed == sample.volatile
    assert got.lines == len(got.text.splitlines())
    assert got.lines + got.volatile_removed == len(render(sample.text))
    # the hash is of the stored text (unless a secret varies by itself, see fortigate below)
    if not any(s.varies for s in platform.secrets):
        assert got.sha256 == hashlib.sha256(got.text.encode()).hexdigest()
    # the unchanged lines stay as they were, in order
    assert [line for line in got.masked.splitlines() if MASK not in line] == [
        line for line in got.text.splitlines() if not any(s in line for s in sample.secrets)
    ]


def test_cisco_volatile_lines_do_not_change_the_hash_a_real_change_does() -> None:
    ios = platforms.get("cisco_ios")
    first = normalise(samples.CISCO_IOS.text, ios)
    later = samples.CISCO_IOS.text.replace("09:12:44 CST Tue Mar 4", "17:02:10 CST Fri Mar 7")
    later = later.replace("ntp clock-period 17179862", "ntp clock-period 17179869")
    later = later.replace(
        "Current configuration : 2178 bytes", "Current configuration : 2179 bytes"
    )
    assert later != samples.CISCO_IOS.text
    assert normalise(later, ios).sha256 == first.sha256
    changed = samples.CISCO_IOS.text.replace("ntp server 10.1.1.1", "ntp server 10.1.1.2")
    assert normalise(changed, ios).sha256 != first.sha256
    # a changed password is a change, though it is masked on every page
    password = samples.CISCO_IOS.text.replace("0822455D0A16", "0822455D0A17")
    assert normalise(password, ios).sha256 != first.sha256
    assert normalise(password, ios).masked == first.masked


def test_exact_masking_of_cisco_lines() -> None:
    got = normalise(samples.CISCO_IOS.text, platforms.get("cisco_ios")).masked.splitlines()
    assert "enable secret 5 <masked>" in got
    assert "username admin privilege 15 secret 9 <masked>" in got
    assert "snmp-server community <masked> RO 10" in got
    assert "tacacs-server host 10.1.1.5 key 7 <masked>" in got
    assert " password 7 <masked>" in got
    assert " description 上联-核心交换机" in got
    assert not any(line.startswith(("Building", "Current configuration", "! Last")) for line in got)


def test_exact_masking_of_huawei_lines() -> None:
    got = normalise(samples.HUAWEI.text, platforms.get("huawei_vrp")).masked.splitlines()
    assert " local-user admin password irreversible-cipher <masked>" in got
    assert "snmp-agent community read cipher <masked>" in got
    assert "snmp-agent community write <masked>" in got
    assert "  authentication-mode md5 1 cipher <masked>" in got
    assert got[0] == "#"  # !Software Version and the two time lines dropped


def test_fortigate_enc_values_vary_without_changing_the_hash() -> None:
    fgt = platforms.get("fortigate")
    first = normalise(samples.FORTIGATE.text, fgt)
    again = samples.FORTIGATE.text.replace(
        "SH2nlSm9TjMmkY0oCqlKzyh1Q2FMKOmG2tW0Ql4=", "ZZ9nlSm9TjMmkY0oCqlKzyh1Q2FMKOmG2tW0Ql4="
    ).replace("#conf_file_ver=1830527114093857", "#conf_file_ver=1830527114099999")
    assert normalise(again, fgt).sha256 == first.sha256
    assert "set password ENC <masked>" in first.masked


def test_gbk_output_is_decoded() -> None:
    text = samples.HUAWEI.text.replace("return", "return")
    raw = text.encode("gbk")
    got = normalise(raw, platforms.get("huawei_vrp"))
    assert " description 至机房B-配线架3" in got.text.splitlines()
    assert got.sha256 == normalise(text, platforms.get("huawei_vrp")).sha256
    assert normalise(text.encode("utf-8"), platforms.get("huawei_vrp")).text == got.text


def test_render_removes_pagers_and_applies_backspaces_and_cursor_moves() -> None:
    cisco = (
        "interface Gi0/1\r\n description uplink\r\n --More-- "
        + "\x08" * 10
        + " " * 10
        + "\x08" * 10
        + " switchport mode trunk\r\n!\r\n"
    )
    assert render(cisco) == [
        "interface Gi0/1",
        " description uplink",
        " switchport mode trunk",
        "!",
    ]
    huawei = (
        "#\r\ninterface GE0/0/1\r\n  ---- More ----\x1b[42D                                    "
        "      \x1b[42D undo shutdown\r\n#\r\n"
    )
    assert render(huawei) == ["#", "interface GE0/0/1", " undo shutdown", "#"]
    # a pager prompt left on a line of its own (the device did not erase it) is no line: the
    # same configuration paged or not has the same lines (and hash)
    assert render("a\n--More--\nb\n") == ["a", "b"]
    assert render("a\r\n<--- More --->\r\nb\r\n") == ["a", "b"]
    assert render("\x1b[0mhostname x\x1b[K\r\n") == ["hostname x"]
