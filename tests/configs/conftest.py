"""A real OpenSSH sshd on a loopback port whose login is a scripted device (fake_device.py).

``device``: ``servers.scripted_sshd`` (a system user of its own whose password the tests know;
sshd with a config, host key and pid file in a folder of its own, ``ForceCommand`` starting the
device with a scenario file the tests rewrite), once per module. Skipped, saying why, where sshd
is missing or the tests do not run as root.

``telnet_device``: GNU inetutils' telnetd (``make ssh-deps``) started per connection, inetd-style,
by a loopback listener of the test's, with ``-E`` running the device with ``--login`` (it asks the
user name and password itself, as a Cisco line does).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.configs.servers import DEVICE, SSHD, Device, scripted_sshd

__all__ = ["Device"]  # the tests import it from here

TELNETD = "/usr/sbin/telnetd"


@pytest.fixture(scope="module")
def device() -> Iterator[Device]:
    if not os.path.exists(SSHD):
        pytest.skip("OpenSSH's sshd is not installed (make ssh-deps: Debian's openssh-server)")
    if os.geteuid() != 0:
        pytest.skip("the sshd tests create a system user for the device's login: run as root")
    with scripted_sshd() as found:
        yield found


@pytest.fixture(scope="module")
def telnet_device() -> Iterator[Device]:
    if not os.path.exists(TELNETD):
        pytest.skip("GNU inetutils' telnetd is not installed (make ssh-deps: inetutils-telnetd)")
    if os.geteuid() != 0:
        pytest.skip("telnetd allocates terminals and runs its login program as root: run as root")
    folder = Path(tempfile.mkdtemp(prefix="opskit-telnetd-"))
    script = folder / "fake_device.py"
    shutil.copy(DEVICE, script)
    python = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
    login = f"{python} {script} {folder / 'scenario.json'} --login"
    listener = socket.create_server(("127.0.0.1", 0))
    port = int(listener.getsockname()[1])
    servers: list[subprocess.Popen[bytes]] = []
    stop = threading.Event()

    def serve() -> None:  # what inetd does: one telnetd per connection, the socket its stdin/out
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                servers.append(
                    subprocess.Popen(
                        [TELNETD, "-h", "-E", login],
                        stdin=conn.fileno(),
                        stdout=conn.fileno(),
                        stderr=subprocess.DEVNULL,
                    )
                )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield Device("127.0.0.1", port, "backup", "telnet-Pw1", folder)
    finally:
        stop.set()
        with contextlib.suppress(OSError):  # wakes the accept() a plain close leaves waiting
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join(timeout=5)
        for server in servers:
            if server.poll() is None:
                server.kill()
            server.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
