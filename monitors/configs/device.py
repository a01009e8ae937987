"""One fetch of one device's configuration over SSH or Telnet, with netmiko.

netmiko blocks, so a fetch runs in a daemon thread of its own and the caller waits at most
``timeout`` seconds for it: at the deadline the connection's socket is shut down (which ends
netmiko's reads) and :class:`FetchError` ``timeout`` is raised, whatever the device was doing
(connecting, logging in, or stopping mid-output). Every read inside netmiko is bounded by the
same timeout (``read_timeout_override``), so the thread ends soon after too.

netmiko decodes each read separately and drops bytes that are not valid in its encoding, which
would lose GBK text and UTF-8 characters split between two reads; it is given ``latin-1`` (one
character per byte, nothing dropped) and the bytes are decoded once the whole output is in
(``normalise``: UTF-8, else GB18030).

SSH host keys (trust on first use, pinned): ``Target.pinned_host_key`` is the key a backup
pinned (type and base64). paramiko's host-key policy is replaced by one that compares the key the
server offers with it during the key exchange, before any authentication: a different key ends
the attempt with :class:`HostKeyChanged` (reason ``host_key``) and the password is never sent.
Nothing pinned: any key is taken and returned in :class:`Fetched` for the caller to pin.

Pagers: the platform's ``paging_off`` command is sent after login; a device that pages anyway
(the command refused, a restricted account) is answered with a space at every ``--More--`` /
``---- More ----`` it prints, and ``normalise.render`` removes the prompts from the text.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paramiko  # type: ignore[import-untyped]  # no stubs (types-paramiko is not a dependency)
from netmiko import (
    BaseConnection,
    ConnectHandler,
    NetmikoAuthenticationException,
    NetmikoTimeoutException,
    ReadException,
    ReadTimeout,
)

from monitors.configs.platforms import PAGING_PROMPTS
from monitors.configs.target import (  # re-exported: what a fetch takes and gives
    DEFAULT_PORTS as DEFAULT_PORTS,
)
from monitors.configs.target import Fetched as Fetched
from monitors.configs.target import FetchError as FetchError
from monitors.configs.target import HostKey as HostKey
from monitors.configs.target import HostKeyChanged as HostKeyChanged
from monitors.configs.target import Target as Target

# paramiko logs a failed handshake with its traceback; with no handler of the program's own the
# lastResort handler prints it on stderr, over the one-line reason this module gives
logging.getLogger("paramiko").addHandler(logging.NullHandler())
_PAGER = "|".join(f"(?:{p})" for p in PAGING_PROMPTS)


class _PinnedKeyPolicy(paramiko.MissingHostKeyPolicy):
    """paramiko asks this for every server key (no known_hosts is loaded), during the key
    exchange and before authentication: the pinned key passes, another raises."""

    def __init__(self, target: Target) -> None:
        self.target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: Any) -> None:
        pinned = self.target.pinned_host_key
        offered = HostKey(key.get_name(), key.get_base64())
        if pinned is not None and offered != pinned:
            raise HostKeyChanged(self.target.address, pinned, offered)


@dataclass
class _Attempt:
    target: Target
    deadline: float
    sock: socket.socket | None = None
    conn: BaseConnection | None = None
    result: Fetched | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)
    stopped: bool = False

    def remaining(self) -> float:
        return max(0.5, self.deadline - time.monotonic())

    def stop(self) -> None:
        """Shut the connection's socket: netmiko's reads then end at once (or at their timeout)."""
        self.stopped = True
        sockets = [self.sock]
        telnet = getattr(self.conn, "remote_conn", None)
        if telnet is not None and hasattr(telnet, "get_socket"):
            sockets.append(telnet.get_socket())
        for sock in sockets:
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


def _connect(attempt: _Attempt) -> socket.socket:
    target = attempt.target
    port = target.port or DEFAULT_PORTS[target.transport]
    try:
        return socket.create_connection((target.host, port), timeout=attempt.remaining())
    except ConnectionRefusedError:
        raise FetchError("unreachable", f"{target.address} refused the connection") from None
    except TimeoutError:
        raise FetchError(
            "unreachable", f"{target.address} did not answer within {target.timeout:g} s"
        ) from None
    except OSError as exc:
        raise FetchError("unreachable", f"{target.address}: {exc.strerror or exc}") from None


def _command_output(conn: BaseConnection, command: str, prompt: str, attempt: _Attempt) -> str:
    """What ``command`` prints, paged on with a space where the device pages."""
    end = rf"(?:{_PAGER})|^{re.escape(prompt)}[ \t]*$"
    conn.write_channel(command + conn.RETURN)
    output = ""
    while True:
        chunk = conn.read_until_pattern(end, re_flags=re.M, read_timeout=attempt.remaining())
        output += chunk
        if re.search(rf"(?:{_PAGER})\s*$", chunk):
            conn.write_channel(" ")
            continue
        break
    lines = output.split("\n")
    if lines and command in lines[0]:
        lines = lines[1:]  # the echo
    if lines and lines[-1].strip().startswith(prompt):
        lines = lines[:-1]
    return "\n".join(lines)


def _session(attempt: _Attempt) -> Fetched:
    target = attempt.target
    platform = target.platform
    commands = target.commands or platform.commands
    if not commands:
        raise FetchError("commands", f"{platform.name}: give the commands to run (--command)")
    params: dict[str, Any] = {
        "device_type": platform.device_type(target.transport),
        "host": target.host,
        "port": target.port or DEFAULT_PORTS[target.transport],
        "username": target.username,
        "password": target.password or "",
        "secret": target.enable_password or "",
        "conn_timeout": target.timeout,
        "auth_timeout": target.timeout,
        "banner_timeout": target.timeout,
        "blocking_timeout": target.timeout,
        "read_timeout_override": target.timeout,
        "encoding": "latin-1",
        "allow_agent": False,
        "use_keys": False,
        "auto_connect": False,
    }
    if target.transport == "ssh":
        attempt.sock = _connect(attempt)
        params["sock"] = attempt.sock
    conn = ConnectHandler(**params)
    conn.key_policy = _PinnedKeyPolicy(target)  # netmiko's default adds any key unchecked
    attempt.conn = conn
    try:
        conn._open()  # what auto_connect does; after attempt.conn is set, so stop() reaches it
        host_key = server_key = None
        client = getattr(conn, "remote_conn_pre", None)  # SSH only
        if client is not None:
            transport = client.get_transport()
            if transport is not None:
                key = transport.get_remote_server_key()
                host_key = key.fingerprint
                server_key = HostKey(key.get_name(), key.get_base64())
        if platform.enable and target.enable_password:
            try:
                conn.enable()
            except ValueError:
                raise FetchError(
                    "enable", f"{target.address}: the enable password was refused"
                ) from None
        prompt = conn.find_prompt()
        # netmiko's own escape stripping (Huawei: a space with each cursor-left) would eat the
        # indentation after a pager's prompt; normalise.render reads the escapes as a screen does
        conn.ansi_escape_codes = False
        if platform.paging_off:
            conn.send_command(
                platform.paging_off,
                expect_string=rf"{re.escape(prompt)}[ \t]*$",
                read_timeout=attempt.remaining(),
            )
        outputs = [_command_output(conn, c, prompt, attempt) for c in commands]
    finally:
        with contextlib.suppress(Exception):  # the connection may be gone already
            conn.disconnect()
        if attempt.sock is not None:  # netmiko leaves it open when the key exchange is refused
            attempt.sock.close()
    return Fetched("\n".join(outputs).encode("latin-1"), host_key, server_key)


def _explain(exc: BaseException, attempt: _Attempt) -> FetchError:
    target = attempt.target
    if isinstance(exc, FetchError):
        return exc
    if isinstance(exc, NetmikoAuthenticationException):
        return FetchError(
            "auth",
            f"{target.address} refused the login of {target.username!r}: wrong user name or "
            "password",
        )
    if isinstance(exc, ReadTimeout):
        return FetchError(
            "timeout",
            f"{target.address} stopped answering: no prompt within {target.timeout:g} s",
        )
    if isinstance(exc, NetmikoTimeoutException):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = lines[-1] if lines else ""
        if "banner" in text or "protocol" in text.lower():
            return FetchError(
                "protocol", f"{target.address} did not answer as an SSH server ({text})"
            )
        return FetchError(
            "timeout", f"{target.address}: no answer within {target.timeout:g} s ({text})"
        )
    if isinstance(exc, ConnectionRefusedError):  # Telnet: netmiko opens the socket itself
        return FetchError("unreachable", f"{target.address} refused the connection")
    if isinstance(exc, TimeoutError) and attempt.conn is not None and attempt.sock is None:
        return FetchError(
            "unreachable", f"{target.address} did not answer within {target.timeout:g} s"
        )
    if isinstance(exc, ReadException | EOFError | OSError):
        return FetchError("closed", f"{target.address} closed the connection ({exc})")
    return FetchError("closed", f"{target.address}: {type(exc).__name__}: {exc}")


def fetch(target: Target) -> Fetched:
    """The configuration output of one device; :class:`FetchError` with a reason otherwise.
    Returns or raises within ``target.timeout`` seconds (and a moment)."""
    attempt = _Attempt(target, deadline=time.monotonic() + target.timeout)

    def run() -> None:
        try:
            attempt.result = _session(attempt)
        except BaseException as exc:  # handed to the caller's thread
            attempt.error = exc
        finally:
            attempt.done.set()

    thread = threading.Thread(target=run, name=f"configs {target.address}", daemon=True)
    thread.start()
    if not attempt.done.wait(target.timeout):
        attempt.stop()
        raise FetchError(
            "timeout",
            f"{target.address}: no complete answer within {target.timeout:g} s "
            "(the device stopped answering)",
        )
    if attempt.error is not None:
        raise _explain(attempt.error, attempt)
    assert attempt.result is not None
    return attempt.result
