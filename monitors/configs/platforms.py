"""Device platforms as data: ``platforms.yaml`` beside this module, read and checked here.

One entry per platform name (``[a-z0-9_]+``)::

    cisco_ios:
      title: Cisco IOS / IOS-XE       # required: what people call it
      netmiko: cisco_ios              # required: netmiko's device type over SSH
      telnet: cisco_ios_telnet        # optional: netmiko's device type over Telnet (none: SSH only)
      enable: true                    # optional: an enable password enters privileged mode
                                      # (true: netmiko's enable(); super: Huawei VRP's super)
      paging_off: terminal length 0   # optional: sent after login so the output is not paged
      commands: [show running-config] # required list (empty for "generic": the user's own)
      volatile: [REGEX, ...]          # lines dropped before hashing (timestamps, uptime, ...)
      secrets:                        # lines whose NAMED groups are masked with <masked>
        - REGEX
        - {pattern: REGEX, varies: true}  # printed differently every time: masked before hashing

A mistake is reported as ``platforms.yaml: NAME.FIELD: what is wrong``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from opskit.rulefiles import load_yaml

PLATFORMS_FILE = Path(__file__).with_name("platforms.yaml")
GENERIC = "generic"

#: What pagers print while they wait for a key (a space pages on), whatever the platform.
PAGING_PROMPTS = (
    r"<-{2,4} ?More ?-{2,4}>",  # first: the brackets are the pager's too
    r"--\s?More\s?--",
    r"-{2,4} More -{2,4}",
    r"--More or \(q\)uit--",
)


class PlatformError(ValueError):
    """The platforms file is wrong, or a platform name is unknown."""


@dataclass(frozen=True)
class Secret:
    pattern: re.Pattern[str]
    varies: bool = False


@dataclass(frozen=True)
class Platform:
    name: str
    title: str
    netmiko: str
    telnet: str | None
    enable: bool | str  # False, True (netmiko's enable()) or "super"
    paging_off: str | None
    commands: tuple[str, ...]
    volatile: tuple[re.Pattern[str], ...]
    secrets: tuple[Secret, ...]

    def device_type(self, transport: str) -> str:
        """netmiko's device type for ``ssh`` or ``telnet``."""
        if transport == "ssh":
            return self.netmiko
        if transport == "telnet" and self.telnet:
            return self.telnet
        raise PlatformError(f"{self.name}: {transport} is not offered for this platform")


def _regex(where: str, value: Any) -> re.Pattern[str]:
    if not isinstance(value, str) or not value:
        raise PlatformError(f"{where}: a regular expression (text) is needed")
    try:
        return re.compile(value)
    except re.error as exc:
        raise PlatformError(f"{where}: not a regular expression: {exc}") from None


def _secret(where: str, value: Any) -> Secret:
    varies = False
    if isinstance(value, dict):
        unknown = set(value) - {"pattern", "varies"}
        if unknown:
            raise PlatformError(f"{where}: unknown keys {sorted(unknown)}")
        varies = bool(value.get("varies", False))
        value = value.get("pattern")
    pattern = _regex(where, value)
    if not pattern.groupindex:
        raise PlatformError(f"{where}: no named group (?P<s>...) saying what to mask")
    return Secret(pattern, varies)


def _enable(where: str, value: Any) -> bool | str:
    if value == "super" or isinstance(value, bool):
        return value
    raise PlatformError(f"{where}.enable: true, false or super")


_KEYS = {"title", "netmiko", "telnet", "enable", "paging_off", "commands", "volatile", "secrets"}


def _platform(name: str, raw: Any) -> Platform:
    where = f"{PLATFORMS_FILE.name}: {name}"
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise PlatformError(f"{where}: a platform name is [a-z0-9_]+")
    if not isinstance(raw, dict):
        raise PlatformError(f"{where}: a mapping is needed")
    unknown = set(raw) - _KEYS
    if unknown:
        raise PlatformError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("title", "netmiko"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise PlatformError(f"{where}.{key}: required text")
    commands = raw.get("commands")
    if not isinstance(commands, list) or not all(isinstance(c, str) and c for c in commands):
        raise PlatformError(f"{where}.commands: a list of commands is needed")
    if not commands and name != GENERIC:
        raise PlatformError(f"{where}.commands: at least one command")
    volatile = raw.get("volatile") or []
    secrets = raw.get("secrets") or []
    if not isinstance(volatile, list) or not isinstance(secrets, list):
        raise PlatformError(f"{where}: volatile and secrets are lists")
    return Platform(
        name=name,
        title=raw["title"],
        netmiko=raw["netmiko"],
        telnet=raw.get("telnet") or None,
        enable=_enable(where, raw.get("enable", False)),
        paging_off=raw.get("paging_off") or None,
        commands=tuple(commands),
        volatile=tuple(_regex(f"{where}.volatile[{i}]", v) for i, v in enumerate(volatile)),
        secrets=tuple(_secret(f"{where}.secrets[{i}]", s) for i, s in enumerate(secrets)),
    )


def parse(text: str) -> dict[str, Platform]:
    """The platforms of a platforms file's text."""
    data = load_yaml(text)  # libyaml when available: read within a report pack's build
    if not isinstance(data, dict):
        raise PlatformError(f"{PLATFORMS_FILE.name}: a mapping of platform names is needed")
    return {str(name): _platform(str(name), raw) for name, raw in data.items()}


@cache
def load() -> dict[str, Platform]:
    """The shipped platforms, by name."""
    return parse(PLATFORMS_FILE.read_text(encoding="utf-8"))


@cache
def titles() -> dict[str, str]:
    """Each shipped platform's name → its title, as ``load()`` has them, without building the
    platforms (their ~75 regular expressions): what a report pack needs of them."""
    data = load_yaml(PLATFORMS_FILE.read_text(encoding="utf-8"))
    return {str(name): str(raw["title"]) for name, raw in data.items()}


def get(name: str) -> Platform:
    """The platform called ``name``; an unknown name's error lists the known ones."""
    found = load().get(name)
    if found is None:
        raise PlatformError(f"unknown platform {name!r}; known: {', '.join(sorted(load()))}")
    return found
