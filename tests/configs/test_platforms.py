"""The shipped platforms file is valid, names real netmiko device types, and a mistake in a
platforms file is reported by name and field."""

from __future__ import annotations

import re

import pytest
from netmiko.ssh_dispatcher import CLASS_MAPPER

from monitors.configs import platforms

pytestmark = pytest.mark.dateless

EXPECTED = {
    "cisco_ios", "cisco_nxos", "huawei_vrp", "h3c_comware", "ruijie", "juniper_junos",
    "arista_eos", "fortigate", "linux", "generic",
}  # fmt: skip


def test_every_platform_of_the_issue_is_shipped_with_real_device_types() -> None:
    shipped = platforms.load()
    assert set(shipped) == EXPECTED
    for p in shipped.values():
        assert p.netmiko in CLASS_MAPPER, p.name
        if p.telnet:
            assert p.telnet in CLASS_MAPPER, p.name
        assert p.commands or p.name == platforms.GENERIC
    assert platforms.get("huawei_vrp").device_type("telnet") == "huawei_telnet"
    assert platforms.get("cisco_ios").device_type("ssh") == "cisco_ios"


def test_titles_are_the_platforms_titles() -> None:
    """``titles()`` (what a report pack reads) names every platform as ``load()`` does."""
    titles = platforms.titles()
    assert titles == {name: p.title for name, p in platforms.load().items()}
    assert titles["huawei_vrp"] == "Huawei VRP"


def test_unknown_platform_lists_the_known_ones() -> None:
    with pytest.raises(platforms.PlatformError) as err:
        platforms.get("nokia")
    assert "unknown platform 'nokia'; known: arista_eos, cisco_ios," in str(err.value)


def test_telnet_where_the_platform_has_none() -> None:
    with pytest.raises(platforms.PlatformError, match="fortigate: telnet is not offered"):
        platforms.get("fortigate").device_type("telnet")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x:\n  title: X\n  commands: [a]\n", "x.netmiko: required text"),
        ("x:\n  title: X\n  netmiko: n\n  commands: []\n", "x.commands: at least one command"),
        ("x:\n  title: X\n  netmiko: n\n  commands: [a]\n  volatile: ['(']\n", "x.volatile[0]"),
        (
            "x:\n  title: X\n  netmiko: n\n  commands: [a]\n  secrets: ['password (\\S+)']\n",
            "x.secrets[0]: no named group",
        ),
        ("x:\n  title: X\n  netmiko: n\n  commands: [a]\n  colour: red\n", "unknown keys"),
        ("Bad-Name:\n  title: X\n", "a platform name is [a-z0-9_]+"),
    ],
)
def test_mistakes_are_named(text: str, message: str) -> None:
    with pytest.raises(platforms.PlatformError, match=re.escape(message)):
        platforms.parse(text)
