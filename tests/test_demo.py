"""`opskit demo`: the living demo site, started as a user would, on a temporary instance.

One run of the real console script: it seeds an empty SQLite database, starts the simulated
SNMP agents, the poller, the notifier and the web server; the poller stores readings from the
agents; the dashboard shows each UPS with the values polled from its recording; Ctrl-C (SIGINT)
stops the whole process tree.
"""

from __future__ import annotations

import html
import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
import pytest
from werkzeug.security import check_password_hash

from monitors.kinds.ping import icmp_unavailable
from opskit import server
from opskit.demo import devices, emitters, history, recordings
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, new_context, screenshot

OPSKIT = str(Path(sys.executable).with_name("opskit"))


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Output:
    """The demo's console output, read in a thread so the pipe never fills up."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self.t0 = time.monotonic()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(f"{time.monotonic() - self.t0:6.1f} {line.rstrip()}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, needle: str, proc: subprocess.Popen, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            assert proc.poll() is None, f"demo exited ({proc.returncode}):\n{self.text}"
            assert time.monotonic() < deadline, f"no {needle!r} within {timeout} s:\n{self.text}"
            time.sleep(0.2)


def _polled(db: Path, tag: str) -> dict[tuple[str, str], tuple[datetime, float | None, str | None]]:
    """The newest reading the poller stored (monitor set) per metric/instance of one asset."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15) as conn:
        rows = conn.execute(
            "SELECT r.metric, r.instance, r.at, r.value, r.text FROM reading r "
            "JOIN asset a ON a.id = r.asset_id "
            "WHERE a.asset_tag = ? AND r.monitor_id IS NOT NULL ORDER BY r.at, r.id",
            (tag,),
        ).fetchall()
    out = {}
    for metric, instance, at, value, text in rows:
        when = datetime.fromisoformat(at).replace(tzinfo=UTC)
        out[(metric, instance)] = (when, value, text)
    return out


def _checks(db: Path) -> dict[tuple[str, str], tuple[str, datetime | None, str]]:
    """(asset tag, monitor name) → state, last polled and settings of the demo's line pings
    and application checks."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15) as conn:
        rows = conn.execute(
            "SELECT a.asset_tag, m.name, m.state, m.last_polled_at, m.settings FROM monitor m "
            "JOIN asset a ON a.id = m.asset_id WHERE m.kind IN ('ping', 'http', 'tcp')"
        ).fetchall()
    return {
        (tag, name): (state, datetime.fromisoformat(at).replace(tzinfo=UTC) if at else None, s)
        for tag, name, state, at, s in rows
    }


def _login(base: str, password: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(base + "/login", timeout=10) as r:
        page = r.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, page[:2000]
    body = urllib.parse.urlencode(
        {"csrf_token": token.group(1), "username": "admin", "password": password}
    ).encode()
    with opener.open(base + "/login", data=body, timeout=30) as r:
        assert r.status == 200
        assert "/login" not in r.url, "login failed"
    return opener


def _ups_row(page: str, tag: str) -> dict[str, str]:
    row = re.search(rf'<tr data-ups="{re.escape(tag)}">(.*?)</tr>', page, re.S)
    assert row, f"no UPS row for {tag} on the dashboard"
    fields = {}
    for name, inner in re.findall(r'data-field="(\w+)">(.*?)</(?:td|span)>', row.group(1), re.S):
        fields[name] = html.unescape(re.sub(r"<[^>]+>", "", inner)).strip()
    return fields


def _on_a_tablet(base: str, password: str, ups_tag: str) -> tuple[str, list[str]]:
    """Log in on an iPad viewport, take the README's demo screenshot; the UPS row's text and
    any request that tried to leave the machine.

    In a thread of its own: Playwright's sync API refuses a thread where an asyncio loop runs,
    and the SNMP tests that may have run before in this worker use asyncio.
    """

    def run() -> tuple[str, list[str]]:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                context, guard = new_context(p, browser, "iPad Mini landscape")
                tablet = context.new_page()
                tablet.goto(base + "/login")
                tablet.fill("#username", "admin")
                tablet.fill("#password", password)
                tablet.tap("#login-submit")
                row = tablet.wait_for_selector(f'tr[data-ups="{ups_tag}"]')
                assert row is not None
                text = row.inner_text()
                tablet.wait_for_load_state("networkidle")
                screenshot(tablet, "demo-home")
                context.close()
                return text, guard.external
            finally:
                browser.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result(timeout=120)


@pytest.mark.real_clock  # the demo runs in its own process, on the machine's clock
def test_demo_seeds_polls_shows_real_ups_values_and_stops_cleanly(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    port, snmp_port = _free_tcp_port(), _free_udp_port()
    started = datetime.now(UTC)
    proc = subprocess.Popen(
        [OPSKIT, "demo", "--port", str(port), "--snmp-port-base", str(snmp_port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Output(proc)
    family: list[psutil.Process] = []
    try:
        out.wait_for("Ctrl-C stops everything", proc, timeout=240)
        # the announcement's last line (its lines come as they are worked out: the LAN
        # addresses and whether ICMP may be sent take a moment on a busy machine)
        out.wait_for("see docs/https.md", proc, timeout=60)
        assert f"http://127.0.0.1:{port}/" in out.text
        assert f"udp://127.0.0.1:{snmp_port}" in out.text
        assert "SNMP traps received on udp://127.0.0.1:" in out.text
        assert "syslog received on udp and tcp://127.0.0.1:" in out.text
        assert re.search(r"\d+ assets", out.text)
        assets = int(re.search(r"(\d+) assets", out.text).group(1))  # type: ignore[union-attr]
        assert assets >= 60
        password = re.search(r"password: (\S+)", out.text)
        assert password, out.text
        # printed before the site is created (anything after may fail), and kept in a file
        assert out.text.index("password:") < out.text.index("Creating the demo site"), out.text
        kept = instance / "initial_admin_password"
        assert kept.read_text() == f"user: admin\npassword: {password.group(1)}\n"
        # where tablets reach it, and what the labels will hold
        assert "Tablets cannot reach 127.0.0.1" in out.text
        assert "OPSKIT_BASE_URL" in out.text
        for ip in server.lan_ipv4_addresses():
            assert f"http://{ip}:{port}/" in out.text

        # the simulated agents are children of the demo
        family = psutil.Process(proc.pid).children(recursive=True)
        assert any("snmpsim" in " ".join(p.cmdline()) for p in family), family

        # the poller stores readings from the simulated agents
        db = instance / "opskit.db"
        steady, battery = devices.STEADY_UPS, devices.BATTERY_TEST_UPS
        deadline = time.monotonic() + 120
        while True:
            polled = {tag: _polled(db, tag) for tag in (steady, battery, "ZJ-UPS-A1")}
            if all(("ups.output.load_percent", "1") in polled[t] for t in (steady, battery)) and (
                ("ups.output.load_percent", "") in polled["ZJ-UPS-A1"]
            ):
                break
            assert proc.poll() is None, out.text
            assert time.monotonic() < deadline, f"no polled UPS readings:\n{out.text}"
            time.sleep(1)
        for tag in (steady, battery):
            assert polled[tag][("ups.output.load_percent", "1")][0] >= started.replace(
                microsecond=0
            )

        # the lines' pings (where this process may send ICMP) and opskit's application checks
        # (its /healthz on this run's port, the syslog receiver's TCP port) answer the poller
        wanted = [(history.OPSKIT_HOST, history.HEALTH_CHECK_NAME)]
        wanted.append((history.OPSKIT_HOST, history.SYSLOG_CHECK_NAME))
        if not icmp_unavailable():
            wanted += [(tag, history.LINE_PING_NAME) for tag in devices.LINES]
        while True:
            checks = _checks(db)
            polled_at = [checks[k][1] for k in wanted if checks[k][0] == "up"]
            if len(polled_at) == len(wanted) and all(at and at >= started for at in polled_at):
                break
            assert proc.poll() is None, out.text
            assert time.monotonic() < deadline + 120, f"checks not answered: {checks}"
            time.sleep(1)
        assert f"http://127.0.0.1:{port}/healthz" in checks[wanted[0]][2]

        # what the steady UPS's recording answers: the polled values are exactly those
        expected = recordings.probe_at(devices.recording(devices.by_tag(steady)), time.time())
        want = {(m["metric"], m["instance"]): m["value"] for m in expected["metrics"]}
        assert want[("ups.output.load_percent", "1")] == 36
        for key in [
            ("ups.output.load_percent", "1"),
            ("ups.battery.charge_percent", ""),
            ("ups.battery.runtime_minutes", ""),
        ]:
            assert polled[steady][key][1] == want[key], key
        assert polled[steady][("ups.output.source", "")][2] == "normal"
        # the APC UPS's values move with the clock: the recording at the poll time says which
        at, load, _ = polled["ZJ-UPS-A1"][("ups.output.load_percent", "")]
        then = recordings.probe_at(devices.recording(devices.by_tag("ZJ-UPS-A1")), at.timestamp())
        want_a1 = {(m["metric"], m["instance"]): m["value"] for m in then["metrics"]}
        assert abs(load - want_a1[("ups.output.load_percent", "")]) <= 1

        # the dashboard shows each UPS with the values the poller stored
        base = f"http://127.0.0.1:{port}"
        opener = _login(base, password.group(1))
        polled[battery] = _polled(db, battery)
        with opener.open(base + "/", timeout=30) as r:
            page = r.read().decode()
        row = _ups_row(page, steady)
        assert row["load"] == "36%", row
        assert row["charge"] == "97%", row
        assert re.search(r"\b58\b", row["runtime"]), row
        assert row["source"] in ("市电", "市电供电", "On mains") or "市电" in row["source"], row
        # the battery-test UPS as last polled (before or after the page, if a poll came between)
        row = _ups_row(page, battery)
        seen = []
        for polled_battery in (polled[battery], _polled(db, battery)):
            load_now = polled_battery[("ups.output.load_percent", "1")][1]
            source_now = polled_battery[("ups.output.source", "")][2]
            seen.append((f"{round(load_now)}%", source_now == "battery"))
        assert (row["load"], "电池" in row["source"]) in seen, (row, seen)

        # the devices' traps and syslog: the seeded week listed at once, matched to assets
        traps_page = opener.open(base + "/monitoring/traps/", timeout=30).read().decode()
        assert traps_page.count("data-oid=") >= 20 and devices.BATTERY_TEST_UPS in traps_page
        syslog_page = opener.open(base + "/monitoring/syslog/", timeout=30).read().decode()
        assert "IF_STATE" in syslog_page or "CRON" in syslog_page, syslog_page[-3000:]
        # and the receivers take what a device sends now, naming it by its own address
        trap_port = int(re.search(r"SNMP traps received on udp://127.0.0.1:(\d+)", out.text)[1])
        ups = devices.by_tag(devices.BATTERY_TEST_UPS)
        going = emitters.Emission(time.time(), ups.tag, emitters.UPS_TRAP_ON_BATTERY)
        emitters.send(going, emitters.Targets(trap_port, 0, devices.addresses()))
        deadline = time.monotonic() + 30
        while not _trap_after(db, devices.address(ups), started):
            assert time.monotonic() < deadline, f"the live trap was not stored:\n{out.text}"
            time.sleep(0.5)

        # on a tablet: the living site's home page, with nothing fetched from off the machine
        # (the README's demo screenshot)
        text, external = _on_a_tablet(base, password.group(1), steady)
        assert "36%" in text, text
        assert external == [], external
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C does
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise
        finally:  # also when an assertion failed: an open pipe fails a later test (ResourceWarning)
            out._thread.join(10)
            if proc.stdout:
                proc.stdout.close()
    assert code == 0, out.text
    assert "demo stopped" in out.text
    assert family, "the demo had no child processes"
    time.sleep(0.5)
    left = [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert left == [], f"processes left behind: {left}"


def _trap_after(db: Path, source: str, since: datetime) -> bool:
    """A trap from ``source`` stored since ``since`` (the demo's own database, read directly)."""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=15) as conn:
        rows = conn.execute(
            "SELECT received_at FROM snmp_trap WHERE source = ? ORDER BY id DESC LIMIT 5", (source,)
        ).fetchall()
    return any(datetime.fromisoformat(r[0]).replace(tzinfo=UTC) >= since for r in rows)


def _demo(instance: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    return subprocess.run(
        [OPSKIT, "demo", "--port", str(_free_tcp_port()), "--snmp-port-base", "0", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(0),  # the most open umask: the file is 0600 all the same
    )


@pytest.mark.real_clock  # the demo seeds its history in its own process, on the machine's clock
def test_a_demo_that_fails_to_start_does_not_lose_the_admin_password(tmp_path: Path) -> None:
    """The first `make run` creates the admin, then the simulated agents fail (here: their
    working folder cannot be made). The password was printed before, it is kept in a 0600 file,
    the next start says where, and the first change of that password deletes the file."""
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "demo").write_text("in the way of demo/snmpsim/")
    kept = instance / "initial_admin_password"

    first = _demo(instance)
    assert first.returncode == 1, first.stdout
    assert "error:" in first.stdout and "snmpsim" in first.stdout, first.stdout
    password = re.search(r"^  password: (\S+)$", first.stdout, re.M)
    assert password, first.stdout
    assert first.stdout.index("  login:    admin") < first.stdout.index("Creating the demo site")
    assert f"(also in {kept} until you change it under My account)" in first.stdout
    assert kept.read_text() == f"user: admin\npassword: {password.group(1)}\n"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    with sqlite3.connect(instance / "opskit.db") as conn:
        row = conn.execute("SELECT password_hash FROM user_account WHERE username = 'admin'")
        (hashed,) = row.fetchone()
    assert check_password_hash(hashed, password.group(1))  # the printed password logs in

    again = _demo(instance, "--serve-existing")  # what `make run` runs
    assert again.returncode == 1, again.stdout
    assert f"  login:    admin\n  password: in {kept}\n" in again.stdout, again.stdout
    assert password.group(1) not in again.stdout  # a secret is shown once

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    changed = subprocess.run(
        [OPSKIT, "user", "passwd", "admin", "--password-stdin"],
        input="a-password-of-my-own\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert changed.returncode == 0, changed.stderr
    assert not kept.exists()
    last = _demo(instance)
    assert "initial_admin_password" not in last.stdout, last.stdout
    assert "`opskit user passwd admin` prints a new one" in last.stdout


def test_demo_over_https_without_a_certificate_says_what_to_run(tmp_path: Path) -> None:
    """`make run TLS=1` before `opskit tls init`: it stops before creating anything."""
    instance = tmp_path / "instance"
    result = _demo(instance, "--tls")
    assert result.returncode == 1, result.stdout
    assert "run `opskit tls init HOST...`" in result.stdout, result.stdout
    assert "password" not in result.stdout
    assert not (instance / "opskit.db").exists()
