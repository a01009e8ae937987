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
``---- More ----`` it prints, and ``normalise.render`` removes the prompts from the text. A pager
nobody listed (the output stops on an unfinished line that is not the prompt, ``QUIET_S``
seconds) ends the attempt with reason ``pager`` quoting it, instead of waiting for the timeout.

Output is read until the prompt comes back, searching only its tail, up to ``MAX_OUTPUT_BYTES``
(more: reason ``too_big``); the command's echo is dropped whether the device echoes it once,
twice (redisplayed on a line of its own) or not at all.

A command answered by the device's error (``% Invalid input``, ``Error: Unrecognized command``)
ends the attempt with reason ``refused``: that text is no configuration to store.

Enable: ``enable: true`` platforms use netmiko's ``enable()``; ``enable: super`` (Huawei VRP) sends
``super`` and the password, an ``Error:`` answer ending the attempt (reason ``enable``).
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

from monitors.configs.normalise import render
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
#: seconds of silence on an unfinished line that is not the prompt before a fetch gives up on it
#: as an unknown pager (at most a third of the device's timeout)
QUIET_S = 5.0
#: the most one fetch reads (characters = bytes: read as latin-1); more ends it (``too_big``)
MAX_OUTPUT_BYTES = 32 * 2**20
_TAIL = 4096  # the end of the output searched for the prompt or a pager


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
    logged_in: bool = False  # netmiko's login and session preparation are done

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


def _quoted(tail: str) -> str:
    """The line a device stopped on, as a screen shows it (escapes applied), for a message."""
    shown = render(tail.rsplit("\n", 1)[-1])
    line = shown[-1].strip() if shown else ""
    return line if len(line) <= 80 else line[:77] + "..."


def _without_echo(lines: list[str], command: str) -> list[str]:
    """``lines`` without the command's echo: on the first line, and again on a line of its own
    where a device redisplays it (some Telnet devices do); an echo-less device starts with the
    output (or a blank line)."""
    for _ in range(2):
        if lines and lines[0].strip().endswith(command):
            lines = lines[1:]
    return lines


def _read_output(conn: BaseConnection, command: str, prompt: str, attempt: _Attempt) -> str:
    """Read until the device is back at its prompt, paging on with a space at a known pager.

    Only the output's tail is searched (a 10 MB configuration is not searched again at every
    read). Output that stops for ``QUIET_S`` on an unfinished line that is neither the prompt nor
    a known pager ends the attempt (reason ``pager``) quoting that line: a prompt nobody told us
    about (``-- Press any key --``) would otherwise wait silently for the whole timeout."""
    end = re.compile(rf"(?:^{re.escape(prompt)}[ \t]*|(?:{_PAGER})\s*)\Z", re.M)
    pager = re.compile(rf"(?:{_PAGER})\s*\Z")
    target = attempt.target
    quiet = min(QUIET_S, target.timeout / 3)
    chunks: list[str] = []
    size = 0
    tail = ""
    last_data = time.monotonic()
    while True:
        chunk = conn.read_channel()
        now = time.monotonic()
        if chunk:
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_OUTPUT_BYTES:
                raise FetchError(
                    "too_big",
                    f"{target.address} printed more than {MAX_OUTPUT_BYTES // 2**20} MB "
                    "(the limit of one configuration backup): stopped, nothing stored",
                )
            tail = (tail + chunk)[-_TAIL:]
            last_data = now
            if end.search(tail):
                if pager.search(tail):
                    conn.write_channel(" ")
                    tail = ""
                    continue
                return "".join(chunks)
            continue
        if now >= attempt.deadline:
            raise ReadTimeout("no prompt")
        unfinished = tail.rsplit("\n", 1)[-1]
        if now - last_data >= quiet and _quoted(unfinished):
            lines = len(_without_echo("".join(chunks).split("\n"), command)) - 1
            raise FetchError(
                "pager",
                f"{target.address} stopped after {lines} lines at a prompt that is not its own "
                f"nor a known pager: '{_quoted(unfinished)}' (waited {quiet:g} s; add the "
                "platform's paging-off command or ask for this pager to be known)",
            )
        time.sleep(0.02)


def _command_output(conn: BaseConnection, command: str, prompt: str, attempt: _Attempt) -> str:
    """What ``command`` prints, without the command's echo (once or twice) and the prompt."""
    conn.write_channel(command + conn.RETURN)
    lines = _without_echo(_read_output(conn, command, prompt, attempt).split("\n"), command)
    if lines and lines[-1].strip().startswith(prompt):
        lines = lines[:-1]
    return "\n".join(lines)


#: how devices refuse a command (Cisco/Ruijie/Arista ``% Invalid input``, Huawei/H3C ``Error:``,
#: Junos ``syntax error``), on a short answer only: a configuration may quote such words
_REFUSED = re.compile(
    r"^\s*(?:% ?(?:Invalid|Unknown|Incomplete|Ambiguous|Unrecognized)\b|Error:|"
    r"syntax error|unknown command)",
    re.I,
)
_REFUSAL_LINES = 5


def _check_not_refused(command: str, output: str, attempt: _Attempt) -> None:
    """A command the device refused (no privilege: the enable/super password missing, or a
    command the platform does not have) ends the attempt: its error text is no configuration."""
    lines = [line.strip() for line in render(output) if line.strip()]
    if len(lines) > _REFUSAL_LINES:
        return
    refusal = next((line for line in lines if _REFUSED.match(line)), None)
    if refusal is not None:
        raise FetchError(
            "refused",
            f"{attempt.target.address} refused {command!r}: {refusal} (an account without the "
            "privilege needs the enable/super password)",
        )


def _super(conn: BaseConnection, attempt: _Attempt) -> None:
    """Huawei VRP's ``super``: the password raises the user's level (``<HOST>`` stays)."""
    target = attempt.target
    prompt = conn.find_prompt()
    conn.write_channel("super" + conn.RETURN)
    said = conn.read_until_pattern(
        rf"ssword:\s*$|^{re.escape(prompt)}[ \t]*$|Error.*$",
        re_flags=re.M | re.I,
        read_timeout=attempt.remaining(),
    )
    if re.search(r"ssword:\s*$", said, re.I):
        conn.write_channel((target.enable_password or "") + conn.RETURN)
        said = conn.read_until_pattern(
            rf"^{re.escape(prompt)}[ \t]*$", re_flags=re.M, read_timeout=attempt.remaining()
        )
    refused = re.search(r"^\s*Error:?\s*(.*?)\s*$", said, re.M)
    if refused:
        raise FetchError(
            "enable", f"{target.address}: the super password was refused ({refused.group(1)})"
        )


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
        if platform.enable == "super" and target.enable_password:
            _super(conn, attempt)
        elif platform.enable and target.enable_password:
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
        attempt.logged_in = True
        outputs = [_command_output(conn, c, prompt, attempt) for c in commands]
        for command, output in zip(commands, outputs, strict=True):
            _check_not_refused(command, output, attempt)
    except BaseException:
        attempt.stop()  # netmiko's disconnect would wait at a pager or a hung device's output
        raise
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
        if not attempt.logged_in and attempt.conn is not None:
            raise FetchError(
                "timeout",
                f"{target.address}: no prompt within {target.timeout:g} s while logging in and "
                "preparing the session (the device stopped answering, or does not echo what "
                "is typed)",
            )
        raise FetchError(
            "timeout",
            f"{target.address}: no complete answer within {target.timeout:g} s "
            "(the device stopped answering)",
        )
    if attempt.error is not None:
        raise _explain(attempt.error, attempt)
    assert attempt.result is not None
    return attempt.result
