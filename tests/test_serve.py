"""`opskit setup` + `opskit serve`: the real console script and production server (HTTP, HTTPS)."""

from __future__ import annotations

import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

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
            time.sleep(0.2)


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    path = tmp_path / "instance"
    result = subprocess.run(
        [OPSKIT, "setup"], env=_env(path), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "user:     admin" in result.stdout
    return path


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
                proc.wait(timeout=15)
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
    assert proc.wait(timeout=15) == 0
    output = proc.stdout.read() if proc.stdout else ""
    assert f"opskit serving on http://127.0.0.1:{port}/" in output
    gen.close()


def test_serve_tls_with_the_local_ca(instance: Path) -> None:
    result = subprocess.run(
        [OPSKIT, "tls", "init", "opskit.lan", "127.0.0.1"],
        env=_env(instance),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
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
