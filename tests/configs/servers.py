"""The scripted device behind a real OpenSSH sshd, for the tests (``conftest.device``) and
``bench/configs.py``: :func:`scripted_sshd` creates a system user of its own (root only:
useradd/chpasswd; removed after) whose password the caller gets; sshd (Debian's openssh-server,
``make ssh-deps``) runs ``-D -e -f`` with a config, host key and pid file in a folder of its own
and ``ForceCommand`` starting ``fake_device.py`` with a scenario file the caller rewrites
(:meth:`Device.scenario`; the device reads it at every login)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko  # type: ignore[import-untyped]

SSHD = "/usr/sbin/sshd"
DEVICE = Path(__file__).with_name("fake_device.py")


@dataclass
class Device:
    host: str
    port: int
    username: str
    password: str
    folder: Path
    sshd_pid: int = 0  # SSH only

    def rotate_host_key(self) -> str:
        """Give sshd a new host key, as a replaced device has: the key regenerated and sshd told
        to reload (SIGHUP re-executes it with its configuration, which the caller may have
        changed too). Returns once sshd offers the new key; the new key's fingerprint."""
        key = self.folder / "host_key"
        for path in (key, key.with_suffix(".pub")):
            path.unlink(missing_ok=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
        new = paramiko.Ed25519Key.from_private_key_file(str(key))
        os.kill(self.sshd_pid, signal.SIGHUP)
        for _ in range(200):
            try:
                with socket.create_connection((self.host, self.port), timeout=2) as sock:
                    transport = paramiko.Transport(sock)
                    try:
                        transport.start_client(timeout=5)
                        offered = transport.get_remote_server_key()
                    finally:
                        transport.close()
                if offered.get_base64() == new.get_base64():
                    return str(new.fingerprint)
            except (OSError, paramiko.SSHException, EOFError):
                pass
            time.sleep(0.05)
        raise RuntimeError("sshd did not come back with its new host key")

    def scenario(self, config: str, **settings: Any) -> None:
        """What the next login finds: the configuration text and the device's behaviour."""
        (self.folder / "config.txt").write_text(config, encoding="utf-8")
        data = {
            "style": "cisco",
            "hostname": "CORE-SW1",
            "enable": None,
            "paging": "honour",
            "page_lines": 20,
            "hang_after": None,
            "config": str(self.folder / "config.txt"),
        }
        data.update(settings)
        (self.folder / "scenario.json").write_text(json.dumps(data), encoding="utf-8")
        for name in ("config.txt", "scenario.json"):
            (self.folder / name).chmod(0o644)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(200):
        if proc.poll() is not None:
            raise RuntimeError(f"sshd exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("sshd did not listen")


@contextmanager
def scripted_sshd(max_startups: int = 50) -> Iterator[Device]:
    """sshd on a free loopback port, its test user's login the scripted device (see above)."""
    python = shutil.which("python3", path="/usr/bin:/bin") or "/usr/bin/python3"
    folder = Path(tempfile.mkdtemp(prefix="opskit-sshd-"))
    folder.chmod(0o755)
    user = f"opskitcfg{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(12)
    script = folder / "fake_device.py"
    shutil.copy(DEVICE, script)
    script.chmod(0o644)
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation folder
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key")],
        check=True,
    )
    port = _free_port()
    (folder / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {folder / 'host_key'}\n"
        f"PidFile {folder / 'sshd.pid'}\nUsePAM no\nPasswordAuthentication yes\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication no\nPermitRootLogin no\n"
        f"AllowUsers {user}\nStrictModes no\nPrintMotd no\nPrintLastLog no\n"
        f"LogLevel ERROR\nMaxStartups {max_startups}\n"
        f"ForceCommand {python} {script} {folder / 'scenario.json'}\n",
        encoding="utf-8",
    )
    # home: the device's folder (sshd starts the session there; nothing is written to it)
    subprocess.run(["useradd", "-M", "-d", str(folder), "-s", "/bin/sh", user], check=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(["chpasswd"], input=f"{user}:{password}\n".encode(), check=True)
        with open(folder / "sshd.log", "wb") as log:
            proc = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", str(folder / "sshd_config")],
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        try:
            _wait_listening(port, proc)
        except RuntimeError as exc:
            log_text = (folder / "sshd.log").read_text(errors="replace")
            raise RuntimeError(f"{exc}: {log_text}") from None
        yield Device("127.0.0.1", port, user, password, folder, sshd_pid=proc.pid)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=10)
        subprocess.run(["pkill", "-KILL", "-u", user], check=False)  # the sessions left
        subprocess.run(["userdel", "-f", user], check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
