"""What one fetch takes and gives, without netmiko (which ``device`` loads): the device to
reach (:class:`Target`), its output (:class:`Fetched`), an SSH host key (:class:`HostKey`) and
the failures (:class:`FetchError`, :class:`HostKeyChanged`). The services and the schedule use
these without paying netmiko's import until a fetch runs."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from monitors.configs.platforms import Platform

DEFAULT_PORTS = {"ssh": 22, "telnet": 23}


class FetchError(Exception):
    """A fetch failed; ``reason`` is one of auth, unreachable, protocol, timeout, enable, closed,
    commands, host_key, pager, too_big, refused; ``str()`` says what happened in words for the
    device's page."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class HostKey:
    """An SSH server's public key: ``kind`` (``ssh-ed25519``, ``ssh-rsa`` ...), the key in
    base64 (as in ``known_hosts``) and its fingerprint (``SHA256:...``, as OpenSSH prints it)."""

    kind: str
    base64: str

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256(base64.b64decode(self.base64)).digest()
        return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")

    def __str__(self) -> str:
        return f"{self.kind} {self.fingerprint}"


class HostKeyChanged(FetchError):
    """The server offered another key than the pinned one; the password was not sent."""

    def __init__(self, address: str, pinned: HostKey, offered: HostKey) -> None:
        super().__init__(
            "host_key",
            f"{address}: the SSH host key has changed (pinned {pinned}, offered {offered}); "
            "the password was not sent",
        )
        self.pinned = pinned
        self.offered = offered


@dataclass(frozen=True)
class Target:
    host: str
    platform: Platform
    username: str
    password: str | None = None
    enable_password: str | None = None
    transport: str = "ssh"
    port: int | None = None
    commands: tuple[str, ...] = ()  # instead of the platform's own
    timeout: float = 30.0
    pinned_host_key: HostKey | None = None  # SSH: only this key is accepted

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port or DEFAULT_PORTS[self.transport]}"


@dataclass(frozen=True)
class Fetched:
    raw: bytes  # the commands' outputs as the device sent them, one after the other
    host_key: str | None  # the SSH server's key fingerprint (SHA256:...), None over Telnet
    server_key: HostKey | None = None  # the SSH server's key (to pin), None over Telnet
