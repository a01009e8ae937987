"""A real SNMP agent for the monitors tests: snmpsim serving the recordings in ./fixtures.

Each ``fixtures/NAME.snmprec`` answers to community NAME (v1/v2c) and to SNMPv3 context NAME for
the user below (SHA/AES). One snmpsim process serves the whole session on a free UDP port.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).with_name("fixtures")
V3_USER = "opskit"
V3_AUTH_KEY = "opskit-auth-key-1"
V3_PRIV_KEY = "opskit-priv-key-1"
# A second agent's keys for the same v3 user name (sites often give each device its own keys)
OTHER_V3_AUTH_KEY = "other-device-auth-2"
OTHER_V3_PRIV_KEY = "other-device-priv-2"


@dataclass(frozen=True)
class Agent:
    host: str
    port: int


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _responder() -> str:
    exe = Path(sys.executable).with_name("snmpsim-command-responder")
    if exe.exists():
        return str(exe)
    found = shutil.which("snmpsim-command-responder")
    if not found:  # `make test` installs it; a silent skip would hide the SNMP tests
        raise RuntimeError("snmpsim is not installed: pip install -e '.[dev]'")
    return found


def _answers(
    port: int, community: bytes = b"ups_rfc1628", expect: bytes = b"ups-a1", host: str = "127.0.0.1"
) -> bool:
    """One SNMPv2c GET of sysName.0 from one recording, by hand-built datagram."""
    # Avoid pysnmp here: the client under test must not be what decides the agent is up.
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])  # 1.3.6.1.2.1.1.5.0
    varbind = b"\x30" + bytes([len(oid) + 4]) + b"\x06" + bytes([len(oid)]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    msg_body = b"\x02\x01\x01\x04" + bytes([len(community)]) + community + pdu
    msg = b"\x30" + bytes([len(msg_body)]) + msg_body
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(msg, (host, port))
        try:
            return expect in s.recv(4096)
        except OSError:
            return False


@contextlib.contextmanager
def running_snmpsim(
    base: Path,
    probe_community: bytes,
    extra_args: tuple[str, ...] = (),
    host: str = "127.0.0.1",
    port: int | None = None,
) -> Iterator[Agent]:
    """Serve ``base/data/*.snmprec`` with snmpsim on ``host`` (any 127.0.0.0/8 address answers
    on Linux) and ``port`` (default: a free one) until the block ends."""
    data, cache = base / "data", base / "cache"
    cache.mkdir(exist_ok=True)
    port = port or _free_udp_port()
    log_path = base / "snmpsim.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [
            _responder(),
            f"--data-dir={data}",
            f"--cache-dir={cache}",
            f"--agent-udpv4-endpoint={host}:{port}",
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},
    )
    try:
        deadline = time.monotonic() + 60
        # the reply echoes the community: any answer from that recording means "up"
        while not _answers(port, probe_community, probe_community, host):
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise RuntimeError("snmpsim did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.2)
        yield Agent(host, port)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _v3_args(auth_key: str, priv_key: str) -> tuple[str, ...]:
    return (
        f"--v3-user={V3_USER}",
        f"--v3-auth-key={auth_key}",
        "--v3-auth-proto=SHA",
        f"--v3-priv-key={priv_key}",
        "--v3-priv-proto=AES",
    )


@pytest.fixture(scope="session")
def snmp_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    base = tmp_path_factory.mktemp("snmpsim")
    (base / "data").mkdir()
    for rec in FIXTURES.glob("*.snmprec"):
        shutil.copy(rec, base / "data" / rec.name)
    with running_snmpsim(base, b"ups_rfc1628", _v3_args(V3_AUTH_KEY, V3_PRIV_KEY)) as agent:
        yield agent


@pytest.fixture(scope="session")
def other_keys_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    """Another device: the same SNMPv3 user name as ``snmp_agent`` with other keys
    (OTHER_V3_AUTH_KEY / OTHER_V3_PRIV_KEY); serves the Linux host and APC UPS recordings."""
    base = tmp_path_factory.mktemp("snmpsim-other")
    (base / "data").mkdir()
    for name in ("linux_host", "apc_ups"):
        shutil.copy(FIXTURES / f"{name}.snmprec", base / "data" / f"{name}.snmprec")
    args = _v3_args(OTHER_V3_AUTH_KEY, OTHER_V3_PRIV_KEY)
    with running_snmpsim(base, b"linux_host", args) as agent:
        yield agent
