"""Over 500 lines: one script to read and run (messages, daemons' configurations, pacing, table).

Benchmark: syslog messages/s and SNMP traps/s that opskit's receivers store in the database,
each against the C daemon (rsyslogd, snmptrapd) writing the same messages to a file, in one
run; then a 10x burst and the receivers' memory.

    make bench-deps                                    # Debian's rsyslog, snmptrapd, snmp
    python bench/ingest.py                             # SQLite (WAL), about 2 minutes
    python bench/ingest.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/ingest.py --quick                     # a smoke run, ~30 s

What runs, each a real process on 127.0.0.1 and its own UDP port:

- ``opskit syslog receive --no-tcp`` and ``opskit traps --community public``, as shipped
  (bounded queues of 10,000), on a temporary SQLite database in WAL mode and, with
  ``--postgres`` (or ``OPSKIT_TEST_POSTGRES_URL``), a private schema in PostgreSQL (dropped at
  the end); the senders' addresses are registered assets, so every message is matched to one
  and the rules (link down/up, login failures; the profiles' trap rules) raise and clear alerts
  as they would in a machine room;
- ``rsyslogd -n -f CONF -i PIDFILE`` with ``imudp`` writing every message to a file
  (``RSYSLOG_FileFormat``; its default queues), and ``snmptrapd -f -Lf FILE -c CONF`` with
  ``disableAuthorization yes`` writing one line per trap (``-F``, numeric OIDs, ``-n``).

The messages: syslog datagrams in the formats ``monitors.syslog.parsing`` handles (Cisco
``%LINK-3-UPDOWN`` with sequence number and ``*`` time, Huawei ``%%01IFNET/4/LINK_STATE``,
H3C ``%%10`` with the year after the time, Linux RFC 3164 ``sshd[pid]:``, RFC 5424 with
structured data), texts as in ``bench/syslog_search.py``; SNMPv2c traps encoded by pysnmp once
(linkDown/linkUp with ifIndex/ifAdminStatus/ifOperStatus, UPS-MIB upsTrapOnBattery,
coldStart, an unknown enterprise trap with a text variable). Both sides get the same datagrams
in the same order, from ``--senders`` UDP sockets bound to 127.0.0.2, 127.0.0.3, ... (devices).
The sender is Python sending pre-built datagrams; its own rate (into a socket nobody reads) is
measured first and printed: a receiver that keeps up with it is only known to be at least
that fast (marked ``>=``).

Sustained rate: the sender offers a steady rate for ``--step`` seconds, doubling from a low
rate until a receiver falls behind (fewer than 99.5 % of the step's messages durable, or the
last of them durable more than half a second plus a quarter of the step after the sending
ended), then twice halves the gap. Durable means rows in the table (``max(id)``, read by this
process) for opskit and lines in the file for the daemons. The sustained rate is the durable
rate of the fastest step kept up; the table prints it for both sides, the ratio opskit /
daemon, and the messages lost at that step and over all steps (sent, less durable).

Burst: 10x opskit's sustained rate (at most the sender's rate) for 3 s; the receiver's RSS
(psutil; the writer's process and its children — the sockets' process, ``monitors.relay`` — added
up) is sampled every 50 ms before, during and after, and what the receiver counted
(received, stored, shed because the queue was full) is printed: a bounded queue sheds, so the
peak stays near the level before the burst however long a storm lasts, and memory does not
keep growing after it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.syslog_search import TEMPLATES  # noqa: E402 - after the path is set

OPSKIT = ROOT / ".venv" / "bin" / "opskit"
POOL = 20_000  # distinct syslog datagrams, sent in turn
TRAP_POOL = 600  # distinct traps (pysnmp encodes ~1 ms each)
TRAP_MARK = b"@@TRAP@@"  # what snmptrapd writes before each trap
KEEP = 0.995  # share of a step's messages that must be durable
SAMPLE_S = 0.05


def need(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else "")
    if not path:
        sys.exit(f"{tool} is missing: run `make bench-deps` (apt-get install rsyslog snmptrapd)")
    return path


def free_port() -> int:
    """A port free for UDP and TCP on 127.0.0.1 (opskit's syslog receiver binds both)."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        port = udp.getsockname()[1]
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            tcp.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            udp.close()
            tcp.close()
    raise SystemExit("no free port")


# --- the messages -------------------------------------------------------------------------------


#: the templates the shipped rules act on (link down/up, MAC flapping, failed logins)
RULED = ("UPDOWN", "LINK_STATE", "MACFLAP", "Failed password")


def syslog_datagrams(n: int, hosts: list[str], rule_share: float) -> list[bytes]:
    """``n`` datagrams in the wire formats switches and servers send; about ``rule_share`` of
    them of the kinds the shipped rules act on."""
    import random

    rng = random.Random(16)
    ruled = {
        vendor: [t for t in templates if any(w in t[0] + t[3] for w in RULED)]
        for vendor, templates in TEMPLATES.items()
    }
    plain = {
        vendor: [t for t in templates if t not in ruled[vendor]]
        for vendor, templates in TEMPLATES.items()
    }
    start = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
    out = []
    for k in range(n):
        vendor = ("cisco", "huawei", "h3c", "linux", "linux5424")[k % 5]
        family = "linux" if vendor == "linux5424" else vendor
        pick = ruled if rng.random() < rule_share and ruled[family] else plain
        program, severity, facility, template = rng.choice(pick[family])
        up = rng.random() < 0.8
        a, b, i = rng.randrange(250), rng.randrange(250), rng.randrange(1, 49)
        text = template.format(
            i=i,
            j=rng.randrange(1, 49),
            a=a,
            b=b,
            v=rng.randrange(1, 400),
            p=rng.randrange(1024, 61000),
            ps=1,
            t="08:00:00",
            updown="up" if up else "down",
            UPDOWN="UP" if up else "DOWN",
        )
        at = start + timedelta(milliseconds=37 * k)
        pri = facility * 8 + severity
        host = hosts[k % len(hosts)]
        if vendor == "cisco":
            ms = at.microsecond // 1000
            line = f"<{pri}>{k + 1}: *{at:%b %e %H:%M:%S}.{ms:03d}: %{program}: {text}"
        elif vendor == "huawei":
            module, level, brief = program.split("/")
            tag = f"%%01{module}/{level}/{brief}(l)[{k % 9}]"
            line = f"<{pri}>{at:%b %e %Y %H:%M:%S} {host} {tag}:{text}"
        elif vendor == "h3c":
            line = f"<{pri}>{at:%b %e %H:%M:%S %Y} {host} %%10{program}: {text}"
        elif vendor == "linux":
            line = f"<{pri}>{at:%b %e %H:%M:%S} {host} {program}[{1000 + k % 5000}]: {text}"
        else:
            stamp = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            line = f'<{pri}>1 {stamp} {host} {program} {k % 5000} ID47 [origin ip="{a}"] {text}'
        out.append(line.encode())
    return out


def ruled_share(pool: list[bytes]) -> float:
    """The share of ``pool`` the shipped syslog rules act on (a pattern or a clear matches)."""
    from monitors.syslog import rules
    from monitors.syslog.parsing import parse

    shipped = rules.load(None)
    at = datetime(2026, 12, 6, tzinfo=UTC)
    hits = 0
    for data in pool:
        m = parse(data, "127.0.0.2", at)
        subject = f"{m.program}: {m.text}" if m.program else m.text
        hits += any(
            r.pattern.search(subject) or (r.clear is not None and r.clear.search(subject))
            for r in shipped
        )
    return hits / len(pool)


def trap_datagrams(n: int) -> list[bytes]:
    """``n`` SNMPv2c traps (community public), encoded by pysnmp."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api

    v2c = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    out = []
    for k in range(n):
        ifindex = k % 48 + 1
        kind = k % 6
        if kind in (0, 1):  # linkDown / linkUp
            oid = f"1.3.6.1.6.3.1.1.5.{3 + kind}"
            binds = [
                (f"1.3.6.1.2.1.2.2.1.1.{ifindex}", v2c.Integer(ifindex)),
                (f"1.3.6.1.2.1.2.2.1.7.{ifindex}", v2c.Integer(1)),
                (f"1.3.6.1.2.1.2.2.1.8.{ifindex}", v2c.Integer(2 - kind)),
            ]
        elif kind == 2:  # UPS-MIB upsTrapOnBattery
            oid = "1.3.6.1.2.1.33.2.1"
            binds = [
                ("1.3.6.1.2.1.33.1.2.3.0", v2c.Integer(37)),
                ("1.3.6.1.2.1.33.1.2.2.0", v2c.Integer(12)),
            ]
        elif kind == 3:  # coldStart
            oid, binds = "1.3.6.1.6.3.1.1.5.1", []
        else:  # an enterprise trap no rule knows
            oid = f"1.3.6.1.4.1.99999.0.{kind}"
            binds = [("1.3.6.1.4.1.99999.1.1.0", v2c.OctetString(f"sensor {k} 温度 high".encode()))]
        pdu = v2c.TrapPDU()
        v2c.apiTrapPDU.set_defaults(pdu)
        v2c.apiTrapPDU.set_request_id(pdu, k + 1)
        v2c.apiTrapPDU.set_varbinds(
            pdu,
            [
                ("1.3.6.1.2.1.1.3.0", v2c.TimeTicks(100 * k)),
                ("1.3.6.1.6.3.1.1.4.1.0", v2c.ObjectIdentifier(oid)),
                *binds,
            ],
        )
        message = v2c.Message()
        v2c.apiMessage.set_defaults(message)
        v2c.apiMessage.set_community(message, "public")
        v2c.apiMessage.set_pdu(message, pdu)
        out.append(bytes(encoder.encode(message)))
    return out


# --- sending ------------------------------------------------------------------------------------


class Sender:
    """Pre-built datagrams from several sockets (one per simulated device), paced."""

    def __init__(self, addresses: list[str], pool: list[bytes]) -> None:
        self.socks = []
        for address in addresses:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
            sock.bind((address, 0))
            self.socks.append(sock)
        self.pool = pool

    def send(self, port: int, rate: float, seconds: float) -> tuple[int, float]:
        """Send ``rate``/s for ``seconds`` (rate 0: as fast as possible); (sent, end time)."""
        total = int(rate * seconds) if rate else len(self.pool)
        socks, pool, target = self.socks, self.pool, ("127.0.0.1", port)
        n_socks, n_pool = len(socks), len(pool)
        t0 = time.perf_counter()
        i = 0
        while i < total:
            due = total if not rate else min(total, int((time.perf_counter() - t0) * rate) + 1)
            while i < due:
                try:
                    socks[i % n_socks].sendto(pool[i % n_pool], target)
                except BlockingIOError:  # the kernel's buffer: try this one again
                    time.sleep(0.0001)
                    continue
                i += 1
            if i < total:
                time.sleep(0.0005)
        return i, time.perf_counter()

    def alone(self, seconds: float) -> float:
        """The sender's own rate: into a socket nobody reads (datagrams/s)."""
        sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sink.bind(("127.0.0.1", 0))
        try:
            t0 = time.perf_counter()
            sent = 0
            while time.perf_counter() - t0 < seconds:
                n, _end = self.send(sink.getsockname()[1], 0, 0)
                sent += n
            return sent / (time.perf_counter() - t0)
        finally:
            sink.close()

    def close(self) -> None:
        for sock in self.socks:
            sock.close()


# --- receivers ----------------------------------------------------------------------------------


@dataclass
class Receiver:
    """A receiver process and how to count what it made durable."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    durable: Callable[[], int]
    log: Path | None = None  # opskit's stderr with its counters
    extra: list[Any] = field(default_factory=list)

    def counters(self) -> dict[str, int]:
        """The last counters opskit printed (received, stored, dropped/shed)."""
        if self.log is None or not self.log.exists():
            return {}
        lines = [ln for ln in self.log.read_text(errors="replace").splitlines() if "received" in ln]
        if not lines:
            return {}
        out = {}
        for key, pattern in (
            ("received", r"received (\d+)"),
            ("stored", r"stored (\d+)"),
            ("shed", r"(?:dropped|shed) (\d+)"),
        ):
            if m := re.search(pattern, lines[-1]):
                out[key] = int(m.group(1))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for closer in self.extra:
            closer()


class LineCounter:
    """Lines (or occurrences of ``token``) in a file that grows, read incrementally."""

    def __init__(self, path: Path, token: bytes = b"\n") -> None:
        self.path, self.token, self.offset, self.lines = path, token, 0, 0
        self.tail = b""  # a token cut at the end of the last read

    def __call__(self) -> int:
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except FileNotFoundError:
            return 0
        self.offset += len(chunk)
        data = self.tail + chunk
        self.lines += data.count(self.token)
        keep = len(self.token) - 1
        self.tail = data[-keep:] if keep and not data.endswith(self.token) else b""
        return self.lines


def row_counter(url: str, table: str) -> tuple[Callable[[], int], Callable[[], None]]:
    """``max(id)`` of ``table`` (rows inserted so far into an empty table), and a closer."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    conn = engine.connect()
    query = text(f"SELECT coalesce(max(id), 0) FROM {table}")  # noqa: S608 - our table names

    def count() -> int:
        value = int(conn.execute(query).scalar() or 0)
        conn.rollback()
        return value

    def close() -> None:
        conn.close()
        engine.dispose()

    return count, close


def wait_for(path: Path, text: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    tail = path.read_text(errors="replace")[-2000:] if path.exists() else ""
    proc.kill()
    raise SystemExit(f"{what} did not start:\n{tail}")


def start_opskit(kind: str, url: str, instance: Path, folder: Path) -> Receiver:
    port = free_port()
    log = folder / f"opskit-{kind}-{port}.log"
    env = {**os.environ, "OPSKIT_DATABASE_URL": url, "OPSKIT_INSTANCE_PATH": str(instance)}
    if kind == "syslog":
        args = ["syslog", "receive", "--no-tcp"]
        ready, table = "receiving syslog", "syslog_message"
    else:
        args = ["traps", "--community", "public"]
        ready, table = "receiving SNMP traps", "snmp_trap"
    args += ["--host", "127.0.0.1", "--port", str(port), "--report-every", "0.5"]
    with log.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 - the project's own command
            [str(OPSKIT), *args], env=env, stdout=subprocess.DEVNULL, stderr=err
        )
    wait_for(log, ready, proc, f"opskit {kind}")
    count, close = row_counter(url, table)
    return Receiver(f"opskit {kind}", proc, port, count, log, [close])


def daemon_files(folder: Path, name: str, out: str, conf: Callable[[Path, Path], str]) -> tuple:
    """The daemon's folder, its output file and its configuration file (written)."""
    work = folder / name
    work.mkdir()
    path = work / f"{name}.conf"
    path.write_text(conf(work, work / out), encoding="utf-8")
    return work, work / out, path


def start_rsyslog(folder: Path) -> Receiver:
    port = free_port()
    work, out, conf = daemon_files(
        folder,
        "rsyslog",
        "messages.log",
        lambda work, out: (
            f'global(workDirectory="{work}")\n'
            'module(load="imudp")\n'
            f'input(type="imudp" address="127.0.0.1" port="{port}")\n'
            f'action(type="omfile" file="{out}" template="RSYSLOG_FileFormat")\n'
        ),
    )
    log = work / "rsyslogd.out"
    with log.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 - Debian's rsyslogd
            [need("rsyslogd"), "-n", "-f", str(conf), "-i", str(work / "rsyslogd.pid")],
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    counter = LineCounter(out)
    deadline = time.monotonic() + 30
    while counter() == 0:  # ready when a probe message reaches the file
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("rsyslogd did not start:\n" + log.read_text(errors="replace"))
        probe.sendto(b"<14>bench: ready", ("127.0.0.1", port))
        time.sleep(0.2)
    probe.close()
    time.sleep(0.3)
    return Receiver("rsyslogd", proc, port, counter)


def start_snmptrapd(folder: Path) -> Receiver:
    port = free_port()
    work, out, conf = daemon_files(
        folder,
        "snmptrapd",
        "traps.log",
        lambda _work, _out: (
            "disableAuthorization yes\nauthCommunity log public\ndoNotRetainNotificationLogs yes\n"
        ),
    )
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(work)}
    log = work / "snmptrapd.out"
    with log.open("wb") as err:
        proc = subprocess.Popen(  # noqa: S603 - Debian's snmptrapd
            [
                need("snmptrapd"),
                "-f",
                "-C",
                "-c",
                str(conf),
                "-n",
                "-On",
                "-Lf",
                str(out),
                "-F",
                f"{TRAP_MARK.decode()} %b %v\n",
                f"udp:127.0.0.1:{port}",
            ],
            env=env,
            stdout=err,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while not out.exists() or b"NET-SNMP version" not in out.read_bytes():  # it listens
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("snmptrapd did not start:\n" + log.read_text(errors="replace"))
        time.sleep(0.1)
    # one mark a trap (a text variable may be printed as hex over several lines)
    return Receiver("snmptrapd", proc, port, LineCounter(out, TRAP_MARK))


# --- measuring ----------------------------------------------------------------------------------


@dataclass
class Step:
    offered: float
    sent: int
    durable: int
    rate: float  # durable / (last durable - start)
    lag: float  # seconds from the end of sending to the last durable one
    kept_up: bool


def step(sender: Sender, rx: Receiver, rate: float, seconds: float) -> Step:
    before = rx.durable()
    t0 = time.perf_counter()
    sent, end = sender.send(rx.port, rate, seconds)
    last_value, last_at = rx.durable(), time.perf_counter()
    deadline = end + max(5.0, seconds * 2)
    while time.perf_counter() < deadline and last_value - before < sent:
        time.sleep(SAMPLE_S)
        value = rx.durable()
        if value != last_value:
            last_value, last_at = value, time.perf_counter()
        elif time.perf_counter() - last_at > 1.5:
            break  # nothing more arrives: the rest was lost
    durable = last_value - before
    lag = max(0.0, last_at - end)
    kept = durable >= KEEP * sent and lag <= 0.5 + seconds / 4
    settle(rx)
    return Step(rate, sent, durable, durable / max(last_at - t0, 1e-9), lag, kept)


def settle(rx: Receiver, quiet: float = 1.5, limit: float = 120.0) -> None:
    """Wait until ``rx`` has stored what it still holds (nothing new for ``quiet`` seconds),
    so that a step that fell behind does not leave its backlog to the next step."""
    value, since, start = rx.durable(), time.perf_counter(), time.perf_counter()
    while time.perf_counter() - since < quiet and time.perf_counter() - start < limit:
        time.sleep(0.1)
        now = rx.durable()
        if now != value:
            value, since = now, time.perf_counter()


def sustained(
    sender: Sender, rx: Receiver, start: float, ceiling: float, seconds: float
) -> tuple[Step | None, list[Step]]:
    """The fastest step ``rx`` kept up with: doubling from ``start``, then two halvings."""
    steps: list[Step] = []
    best: Step | None = None
    failed: float | None = None
    rate = start
    while True:
        got = step(sender, rx, rate, seconds)
        steps.append(got)
        print(
            f"    {rx.name:<16} offered {rate:>9,.0f}/s: {got.durable:>8,} of {got.sent:>8,} "
            f"durable, {got.rate:>9,.0f}/s, last {got.lag:4.2f} s after the sending"
            f"{'' if got.kept_up else '  (fell behind)'}",
            flush=True,
        )
        if not got.kept_up:
            failed = rate
            break
        best = got
        if rate >= ceiling:
            break
        rate = min(rate * 2, ceiling)
    low = best.offered if best else start / 2
    for _ in range(2 if failed is not None else 0):
        middle = (low + failed) / 2 if failed is not None else low
        got = step(sender, rx, middle, seconds)
        steps.append(got)
        print(
            f"    {rx.name:<16} offered {middle:>9,.0f}/s: {got.durable:>8,} of {got.sent:>8,} "
            f"durable, {got.rate:>9,.0f}/s{'' if got.kept_up else '  (fell behind)'}",
            flush=True,
        )
        if got.kept_up:
            best, low = got, middle
        else:
            failed = middle
    return best, steps


def burst(sender: Sender, rx: Receiver, rate: float, seconds: float) -> dict[str, Any]:
    """``rate``/s for ``seconds`` with the receiver's RSS sampled before, during and after."""
    import psutil

    proc = psutil.Process(rx.proc.pid)
    family = [proc, *proc.children(recursive=True)]  # opskit's receiver runs in a child
    samples: list[tuple[float, float]] = []

    def rss(p: Any) -> int:
        try:
            return int(p.memory_info().rss)
        except psutil.NoSuchProcess:
            return 0

    def sample() -> None:
        samples.append((time.perf_counter(), sum(rss(p) for p in family) / 2**20))

    t_begin = time.perf_counter()
    while time.perf_counter() - t_begin < 1.0:
        sample()
        time.sleep(SAMPLE_S)
    before_rss = max(rss for _t, rss in samples)
    counters0 = rx.counters()
    durable0 = rx.durable()
    import threading

    done = threading.Event()

    def sampler() -> None:
        while not done.is_set():
            sample()
            time.sleep(SAMPLE_S)

    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    t0 = time.perf_counter()
    sent, end = sender.send(rx.port, rate, seconds)
    last, last_at = rx.durable(), time.perf_counter()
    while time.perf_counter() - last_at < 2.0 and time.perf_counter() - end < 60:
        time.sleep(0.1)
        value = rx.durable()
        if value != last:
            last, last_at = value, time.perf_counter()
    time.sleep(1.0)
    done.set()
    thread.join()
    during = [rss for t, rss in samples if t0 <= t <= last_at]
    after = [rss for t, rss in samples if t > last_at]
    time.sleep(0.6)  # one more counters line
    counters = rx.counters()
    return {
        "rate": sent / max(end - t0, 1e-9),
        "sent": sent,
        "durable": last - durable0,
        "received": counters.get("received", 0) - counters0.get("received", 0),
        "shed": counters.get("shed", 0) - counters0.get("shed", 0),
        "before": before_rss,
        "peak": max(during or [before_rss]),
        "after": after[-1] if after else samples[-1][1],
        "drain_s": last_at - end,
    }


# --- the databases ------------------------------------------------------------------------------


def prepare_database(url: str, instance: Path, addresses: list[str]) -> None:
    """Migrated, with one registered asset per sending address."""
    from assets import services
    from opskit import create_app, db, migrate
    from opskit.audit import acting_as
    from opskit.config import Settings
    from opskit.db import make_engine

    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()
    app = create_app(settings=Settings(instance_path=instance, database_url=url, secret_key="b"))  # noqa: S106
    with app.app_context(), acting_as("bench"):
        for k, address in enumerate(addresses):
            services.save_asset(
                {
                    "asset_tag": f"DEV-{k:02d}",
                    "name": f"device {k}",
                    "kind": "switch",
                    "mgmt_ip": address,
                }
            )
        db.session().commit()
    app.extensions["opskit.engine"].dispose()


def postgres_schema(base: str) -> tuple[str, Callable[[], None]]:
    from sqlalchemy import create_engine, text

    schema = f"bench_ingest_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-csearch_path={schema}')}", drop


# --- the run ------------------------------------------------------------------------------------


def fmt_rate(step_: Step | None, ceiling_hit: bool) -> str:
    if step_ is None:
        return "—"
    return f"{'>=' if ceiling_hit else ''}{step_.rate:,.0f}/s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--quick", action="store_true", help="a smoke run (short steps)")
    parser.add_argument("--step", type=float, default=2.0, help="seconds per offered rate")
    parser.add_argument("--senders", type=int, default=8, help="sending sockets (devices)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("OPSKIT_TEST_POSTGRES_URL", ""),
        help="also a PostgreSQL database (a private schema, dropped at the end)",
    )
    parser.add_argument("--only", choices=("syslog", "traps"), help="one kind only")
    parser.add_argument(
        "--rule-share",
        type=float,
        default=0.03,
        help="share of syslog messages of the kinds the rules act on (link down/up, MAC "
        "flapping, failed logins; default 0.03)",
    )
    args = parser.parse_args()
    seconds = 0.6 if args.quick else args.step
    need("rsyslogd")
    need("snmptrapd")
    addresses = [f"127.0.0.{k + 2}" for k in range(args.senders)]
    print(
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; {args.senders} senders; "
        f"steps of {seconds:g} s",
        flush=True,
    )
    kinds = [args.only] if args.only else ["syslog", "traps"]
    rows: list[tuple[str, str, Step | None, bool, Step | None, bool, int, int]] = []
    bursts: list[tuple[str, dict[str, Any]]] = []
    cleanups: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory(prefix="opskit-bench-ingest-") as tmp:
        folder = Path(tmp)
        try:
            backends = [("SQLite", f"sqlite:///{folder / 'opskit.db'}")]
            if args.postgres:
                url, drop = postgres_schema(args.postgres)
                cleanups.append(drop)
                backends.append(("PostgreSQL", url))
            for name, url in backends:
                prepare_database(url, folder / f"instance-{name}", addresses)
            for kind in kinds:
                pool = (
                    syslog_datagrams(
                        POOL, [f"dev{k:02d}" for k in range(args.senders)], args.rule_share
                    )
                    if kind == "syslog"
                    else trap_datagrams(TRAP_POOL)
                )
                sender = Sender(addresses, pool)
                ceiling = sender.alone(1.0 if not args.quick else 0.3)
                print(f"\n{kind}: the sender alone {ceiling:,.0f} datagrams/s", flush=True)
                if kind == "syslog":
                    share = ruled_share(pool)
                    print(f"  {share:.1%} of the messages are ones the rules act on", flush=True)
                ceiling = ceiling * 0.9  # offered rates the sender really keeps
                start = 1000.0 if kind == "syslog" else 100.0
                daemon = start_rsyslog(folder) if kind == "syslog" else start_snmptrapd(folder)
                try:
                    d_best, d_steps = sustained(sender, daemon, start, ceiling, seconds)
                finally:
                    daemon.stop()
                d_top = d_best is not None and d_best.offered >= ceiling and d_best.kept_up
                for backend, url in backends:
                    rx = start_opskit(kind, url, folder / f"instance-{backend}", folder)
                    try:
                        o_best, o_steps = sustained(sender, rx, start, ceiling, seconds)
                        o_top = o_best is not None and o_best.offered >= ceiling
                        lost = sum(s.sent - s.durable for s in o_steps)
                        d_lost = sum(s.sent - s.durable for s in d_steps)
                        rows.append(
                            (f"{kind}, {backend}", kind, o_best, o_top, d_best, d_top, lost, d_lost)
                        )
                        base = o_best.rate if o_best else start
                        burst_rate = min(10 * base, ceiling)
                        got = burst(sender, rx, burst_rate, 1.0 if args.quick else 3.0)
                        bursts.append((f"opskit {kind}, {backend}", got))
                    finally:
                        rx.stop()
                sender.close()
        finally:
            for cleanup in cleanups:
                cleanup()
    print("\nSustained rate (durable: rows in the database / lines in the file)")
    header = (
        f"{'stream':<22} {'opskit':>12} {'C daemon':>12} {'ratio':>7}  "
        f"{'lost at that step':>18}  {'lost, all steps':>16}"
    )
    print(header)
    print("-" * len(header))
    for name, kind, o_best, o_top, d_best, d_top, lost, d_lost in rows:
        ratio = (o_best.rate / d_best.rate) if o_best and d_best else 0.0
        daemon = "rsyslogd" if kind == "syslog" else "snmptrapd"
        at_step = (
            f"{(o_best.sent - o_best.durable) if o_best else 0:,} / "
            f"{(d_best.sent - d_best.durable) if d_best else 0:,}"
        )
        print(
            f"{name:<22} {fmt_rate(o_best, o_top):>12} {fmt_rate(d_best, d_top):>12} "
            f"{ratio:>6.2f}x  {at_step:>18}  {lost:>7,} / {d_lost:<7,} ({daemon})"
        )
    print("(>=: kept up with the sender, which is then the limit; lost: opskit / the daemon)")
    print("\n10x burst: the opskit receiver's memory (RSS, MB) and what it counted")
    for name, got in bursts:
        print(
            f"  {name}: {got['sent']:,} sent at {got['rate']:,.0f}/s; "
            f"received {got['received']:,}, "
            f"durable {got['durable']:,}, shed {got['shed']:,} (queue full), "
            f"{max(0, got['sent'] - got['received']):,} lost before the receiver (kernel buffer); "
            f"RSS {got['before']:.0f} before, peak {got['peak']:.0f}, "
            f"{got['after']:.0f} after; queue drained {got['drain_s']:.1f} s after the burst"
        )


if __name__ == "__main__":
    main()
