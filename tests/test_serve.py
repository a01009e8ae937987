"""`opskit setup` + `opskit serve`: the real console script and production server (HTTP, HTTPS);
what it says at start: the addresses tablets can use and where the first admin password is."""

from __future__ import annotations

import http.cookiejar
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from opskit import server

# the server runs in a subprocess on the machine's clock: a shifted test clock reaches nothing
pytestmark = pytest.mark.dateless

OPSKIT = str(Path(sys.executable).with_name("opskit"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    return env


def wait_until_up(url: str, context: ssl.SSLContext | None = None, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2, context=context) as response:
                if response.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def set_up_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder `opskit setup` made, once per session (2.5 s); tests serve copies."""
    path = tmp_path_factory.mktemp("serve") / "instance"
    result = subprocess.run(
        [OPSKIT, "setup"], env=_env(path), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "user:     admin" in result.stdout
    return path


@pytest.fixture
def instance(set_up_instance: Path, tmp_path: Path) -> Path:
    """A copy of the set-up instance of its own: a test may add to it (TLS files) or change it."""
    return Path(shutil.copytree(set_up_instance, tmp_path / "instance"))


@pytest.fixture(scope="session")
def tls_instance(set_up_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The set-up instance after `opskit tls init opskit.lan 127.0.0.1`, once per session."""
    path = Path(shutil.copytree(set_up_instance, tmp_path_factory.mktemp("tls") / "instance"))
    result = subprocess.run(
        [OPSKIT, "tls", "init", "opskit.lan", "127.0.0.1"],
        env=_env(path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def tls_copy(tls_instance: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(tls_instance, tmp_path / "instance"))


#: how long a stopped server may take to exit: a bound for a hang, not a speed goal (a CI run
#: whose machine was busy with other work took over 15 s)
STOP_S = 60


def _serve(instance: Path, *args: str) -> Iterator[tuple[subprocess.Popen, int]]:
    port = free_port()
    proc = subprocess.Popen(
        [OPSKIT, "serve", "--port", str(port), *args],
        env=_env(instance),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_serve_http_shows_chinese_login_and_stops_on_sigterm(instance: Path) -> None:
    gen = _serve(instance)
    proc, port = next(gen)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    with urllib.request.urlopen(base + "/login", timeout=5) as response:
        page = response.read().decode()
        assert response.headers["Server"] == "opskit"
    assert '<html lang="zh-CN">' in page and "登录" in page and "机房运维" in page
    with urllib.request.urlopen(base + "/static/vendor/htmx.org/htmx.min.js", timeout=5) as r:
        assert r.status == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=STOP_S) == 0
    output = proc.stdout.read() if proc.stdout else ""
    assert f"opskit serving on http://127.0.0.1:{port}/" in output
    gen.close()


def test_serve_tls_with_the_local_ca(tls_copy: Path) -> None:
    instance = tls_copy
    gen = _serve(instance, "--tls")
    _proc, port = next(gen)
    context = ssl.create_default_context(cafile=str(instance / "tls" / "ca.crt"))
    base = f"https://127.0.0.1:{port}"
    wait_until_up(base + "/healthz", context=context)
    with urllib.request.urlopen(base + "/login", timeout=5, context=context) as response:
        cookie = response.headers["Set-Cookie"]
        assert "Secure" in cookie
        assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    untrusted = ssl.create_default_context()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(base + "/healthz", timeout=5, context=untrusted)
    gen.close()


def test_serve_tls_without_certificate_says_what_to_run(instance: Path) -> None:
    result = subprocess.run(
        [OPSKIT, "serve", "--tls", "--port", str(free_port())],
        env=_env(instance),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "opskit tls init" in result.stderr


# --- the first admin's password, kept until it is changed -----------------------------------


def _log_in(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(base + "/login", timeout=10) as r:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.read().decode())
    assert token
    body = {"csrf_token": token.group(1), "username": username, "password": password}
    with opener.open(base + "/login", data=urllib.parse.urlencode(body).encode(), timeout=30) as r:
        assert "/login" not in r.url, "login failed"
    return opener


def _stopped_output(gen: Iterator[tuple[subprocess.Popen, int]], proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=STOP_S) == 0
    output = proc.stdout.read() if proc.stdout else ""
    gen.close()
    return output


@pytest.mark.real_clock  # the server's cookies expire by the machine's clock, not the test's
def test_first_admin_password_is_kept_and_named_at_each_start_until_changed(
    tmp_path: Path,
) -> None:
    instance = tmp_path / "instance"
    kept = instance / "initial_admin_password"
    setup = subprocess.run(
        [OPSKIT, "setup"],
        env=_env(instance),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=lambda: os.umask(0),  # the most open umask: the file is 0600 all the same
    )
    assert setup.returncode == 0, setup.stderr
    password = re.search(r"password: (\S+)", setup.stdout).group(1)  # type: ignore[union-attr]
    assert f"also in {kept} until you change it" in setup.stdout
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert kept.read_text() == f"user: admin\npassword: {password}\n"

    # every start says where it is, while it is there
    gen = _serve(instance)
    proc, port = next(gen)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    opener = _log_in(base, "admin", password)
    with opener.open(base + "/account", timeout=10) as r:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.read().decode())
    assert token
    assert kept.exists()
    # the first change of that password deletes it
    body = {"csrf_token": token.group(1), "current": password}
    body |= {"new": "a-password-of-my-own", "confirm": "a-password-of-my-own"}
    with opener.open(base + "/account", data=urllib.parse.urlencode(body).encode()) as r:
        assert r.status == 200 and r.url.endswith("/account")
    assert not kept.exists()
    output = _stopped_output(gen, proc)
    assert f"First login: user admin, password in {kept}" in output

    gen = _serve(instance)
    proc, port = next(gen)
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    output = _stopped_output(gen, proc)
    assert "opskit serving on" in output
    assert "initial_admin_password" not in output and "First login" not in output


# --- the addresses tablets can use ----------------------------------------------------------

Addr = namedtuple("Addr", "family address netmask broadcast ptp")
Stats = namedtuple("Stats", "isup")


@pytest.fixture
def interfaces(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine-room laptop: loopback, wired LAN, Wi-Fi without DHCP (link-local), Docker's
    bridge, a second LAN card that is down, and IPv6 on the wired card."""
    v4 = socket.AF_INET
    addrs = {
        "lo": [Addr(v4, "127.0.0.1", "255.0.0.0", None, None)],
        "eth0": [
            Addr(v4, "192.168.10.5", "255.255.255.0", None, None),
            Addr(socket.AF_INET6, "fe80::1", None, None, None),
        ],
        "wlan0": [Addr(v4, "169.254.7.7", "255.255.0.0", None, None)],
        "docker0": [Addr(v4, "172.17.0.1", "255.255.0.0", None, None)],
        "eth1": [Addr(v4, "10.0.0.9", "255.0.0.0", None, None)],
        "enp3s0": [Addr(v4, "10.20.30.40", "255.255.255.0", None, None)],
    }
    stats = {name: Stats(name != "eth1") for name in addrs}
    monkeypatch.setattr(psutil, "net_if_addrs", lambda: addrs)
    monkeypatch.setattr(psutil, "net_if_stats", lambda: stats)


def test_lan_addresses_skip_loopback_link_local_bridges_and_down_cards(interfaces) -> None:
    assert server.lan_ipv4_addresses() == ["10.20.30.40", "192.168.10.5"]


def test_on_127_0_0_1_it_says_how_tablets_reach_it_and_what_labels_hold(interfaces) -> None:
    text = "\n".join(server.tablet_notes("", "127.0.0.1", 5000))
    assert "Tablets cannot reach 127.0.0.1" in text
    assert "make run HOST=0.0.0.0" in text
    assert "    http://10.20.30.40:5000/\n    http://192.168.10.5:5000/" in text
    assert "169.254.7.7" not in text and "172.17.0.1" not in text
    assert "OPSKIT_BASE_URL=http://10.20.30.40:5000" in text
    assert "then --tls (make run TLS=1); see docs/https.md" in text


ALL = "0.0.0.0"  # noqa: S104 - what --host says, never bound here


def test_on_all_addresses_it_lists_them_and_checks_the_base_url(interfaces) -> None:
    text = "\n".join(server.tablet_notes("", ALL, 8443, tls=True))
    assert "Tablets on this network open:\n    https://10.20.30.40:8443/" in text
    assert "OPSKIT_BASE_URL=https://10.20.30.40:8443" in text
    assert "docs/https.md" not in text  # already HTTPS
    text = "\n".join(server.tablet_notes("https://opskit.lan:8443", ALL, 8443, tls=True))
    assert "QR labels hold https://opskit.lan:8443/a/<tag> (OPSKIT_BASE_URL)" in text
    text = "\n".join(server.tablet_notes("http://localhost:5000", ALL, 5000))
    assert "OPSKIT_BASE_URL is http://localhost:5000: no tablet can open it" in text
    text = "\n".join(server.tablet_notes("", "192.168.10.5", 5000))
    assert "Tablets on this network open: http://192.168.10.5:5000/" in text


def test_serve_prints_this_machines_lan_addresses(instance: Path) -> None:
    gen = _serve(instance)
    proc, port = next(gen)
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    output = _stopped_output(gen, proc)
    assert "Tablets cannot reach 127.0.0.1" in output
    assert "make run HOST=0.0.0.0" in output
    for ip in server.lan_ipv4_addresses():  # read the same way, from this machine
        assert f"    http://{ip}:{port}/" in output
    assert "OPSKIT_BASE_URL=http://" in output


# --- several processes, one listening socket ------------------------------------------------


def _workers(proc: subprocess.Popen, count: int, timeout: float = 30) -> list[psutil.Process]:
    """The server's worker processes, once there are ``count`` of them."""
    deadline = time.monotonic() + timeout
    while True:
        children = psutil.Process(proc.pid).children()
        if len(children) == count or time.monotonic() > deadline:
            return children
        time.sleep(0.1)


def test_serve_workers_share_the_port_restart_a_dead_one_and_stop_together(
    instance: Path,
) -> None:
    gen = _serve(instance, "--workers", "3", "--threads", "4")
    proc, port = next(gen)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(base + "/healthz")
    workers = _workers(proc, 3)
    assert len(workers) == 3
    # every worker has its own database connection: all answer /healthz with the database ok
    for _ in range(12):
        with urllib.request.urlopen(base + "/healthz", timeout=10) as r:
            assert b'"database":"ok"' in r.read().replace(b" ", b"")
    # they accept on the parent's socket: one listening socket, on the port asked for
    listening = {
        c.fd: c.laddr.port
        for p in (psutil.Process(proc.pid), *workers)
        for c in p.net_connections()
        if c.status == psutil.CONN_LISTEN
    }
    assert set(listening.values()) == {port} and len(listening) == 1

    workers[0].kill()  # a worker dies: another takes its place, the others keep serving
    deadline = time.monotonic() + 30
    while True:
        now = _workers(proc, 3)
        if workers[0].pid not in {w.pid for w in now} and len(now) == 3:
            break
        assert time.monotonic() < deadline, "the dead worker was not replaced"
        time.sleep(0.1)
    wait_until_up(base + "/healthz")
    everyone = [psutil.Process(proc.pid), *now]

    output = _stopped_output(gen, proc)  # SIGTERM: exit status 0
    assert f"opskit serving on http://127.0.0.1:{port}/" in output
    assert "3 processes x 4 threads, listen backlog" in output
    assert f"opskit worker {workers[0].pid} was killed by signal 9; starting another" in output
    _gone, alive = psutil.wait_procs(everyone, timeout=5)
    assert not alive, "workers outlived the server"


def test_serve_tls_with_workers(tls_copy: Path) -> None:
    instance = tls_copy
    gen = _serve(instance, "--tls", "--workers", "2")
    proc, port = next(gen)
    context = ssl.create_default_context(cafile=str(instance / "tls" / "ca.crt"))
    base = f"https://127.0.0.1:{port}"
    wait_until_up(base + "/healthz", context=context)
    assert len(_workers(proc, 2)) == 2
    for _ in range(6):  # fresh connections, whichever worker takes them
        with urllib.request.urlopen(base + "/login", timeout=10, context=context) as response:
            assert "Secure" in response.headers["Set-Cookie"]
    output = _stopped_output(gen, proc)
    assert "2 processes x" in output


def test_listen_backlog_is_configured_and_capped_by_the_kernel(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from opskit.config import Settings

    assert Settings.from_env({}).listen_backlog == 1024
    assert Settings.from_env({"OPSKIT_LISTEN_BACKLOG": "64"}).listen_backlog == 64
    assert Settings.from_env({"OPSKIT_WORKERS": "0", "OPSKIT_THREADS": "3"}).threads == 3
    cap = tmp_path / "somaxconn"
    cap.write_text("128\n")
    monkeypatch.setattr(server, "SOMAXCONN", cap)
    assert server.effective_backlog(1024) == 128
    assert server.effective_backlog(64) == 64
    assert "listen backlog 128 (asked 1024; the kernel caps it" in server._how(2, 8, 1024)
    monkeypatch.setattr(server, "SOMAXCONN", tmp_path / "absent")
    assert server.effective_backlog(1024) == 1024


def test_workers_stop_when_the_server_is_killed(instance: Path) -> None:
    """SIGKILL leaves the parent no chance to stop its workers: they notice and stop."""
    gen = _serve(instance, "--workers", "2")
    proc, port = next(gen)
    wait_until_up(f"http://127.0.0.1:{port}/healthz")
    workers = _workers(proc, 2)
    assert len(workers) == 2
    proc.kill()
    proc.wait(timeout=10)
    _gone, alive = psutil.wait_procs(workers, timeout=15)
    assert not alive, "workers outlived a killed server"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    gen.close()
