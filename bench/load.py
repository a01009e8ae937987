"""Benchmark: `opskit serve` under concurrent clients, on the demo's seeded database.

    python bench/load.py                  # 1, 5 and 20 clients, 15 s each, three server setups
    python bench/load.py --duration 30    # longer runs
    python bench/load.py --soak 600       # the living demo under 20 clients for 10 minutes

The load tool is wrk (Debian: ``apt-get install -y wrk``). Each client is one wrk connection
(keep-alive) that asks, one request after the other, for the home page (the dashboard: every
tile) and the asset list, alternately (a Lua script; a response other than 200 counts as an
error, so a lost login cannot pass for a fast page). The login is made once with urllib and its
session cookie and User-Agent are sent by every request.

Three setups of the same seeded database (``opskit demo --seed-only``: the demo site and weeks of
history) are measured in turn:

- ``before``: how `opskit serve` ran before issue #13: one process of 16 threads, cheroot's
  listen backlog of 5, no dashboard tile cache (OPSKIT_WORKERS=1, OPSKIT_THREADS=16,
  OPSKIT_LISTEN_BACKLOG=5, OPSKIT_DASHBOARD_CACHE_S=0);
- ``one process``: its defaults but one process (OPSKIT_WORKERS=1): what the tile cache alone
  does;
- ``now``: its defaults (one process per CPU, 4 threads each, backlog 1024, tiles kept 5 s).

Goals, printed as ratios measured in the same run: at 20 clients ``now`` serves >= 1.6x the
requests per second it serves to 1 client (on 2 cores), with 0 errors, and its p99 latency is
<= 3x its p50. The machine's load average is printed at the start and the end, and for each
measurement the CPU the server's processes got (in cores): two workers that get one core
between them (a shared machine, busy with something else) cannot serve twice as much, and the
numbers of a busy machine are only comparable within one run.

``--soak SECONDS`` runs `opskit demo` (its simulated SNMP agents, poller, notifier and periodic
jobs included) under 20 clients for that long, after a warm-up of ``--warm-up`` seconds (90) of
the same load: the warm-up fills what is filled once (the connection pool, compiled templates,
the first run of the demo's periodic jobs a minute after it starts, which builds the scheduled
report packs). It prints throughput and each process's resident memory and open files every
minute, then at the end (after idle connections have closed) the change since the start and
the growth per minute over the second half of the run, where a leak would show. Not part of
`make test`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OPSKIT = str(Path(sys.executable).with_name("opskit"))
USER = "bench"
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway database
PATHS = ("/", "/assets/")
LEVELS = (1, 5, 20)
#: cheroot closes an idle keep-alive connection after 10 s: wait that long before counting fds
SETTLE_S = 12

SETUPS = {
    "before": {
        "OPSKIT_WORKERS": "1",
        "OPSKIT_THREADS": "16",
        "OPSKIT_LISTEN_BACKLOG": "5",
        "OPSKIT_DASHBOARD_CACHE_S": "0",
    },
    "one process": {"OPSKIT_WORKERS": "1"},
    "now": {},
}

LUA = r"""
local paths = {PATHS}
counter = 0
bad = 0  -- a global: done() reads it from each thread (thread:get)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  bad = 0
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local not200 = 0
  for _, t in ipairs(threads) do
    not200 = not200 + t:get("bad")
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, ' ..
    '"timeout": %d, "status": %d, "not200": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    not200, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def loadavg() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def env_for(instance: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPSKIT_")}
    env["OPSKIT_INSTANCE_PATH"] = str(instance)
    env.update(extra or {})
    return env


def opskit(instance: Path, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - opskit of this venv, the bench's own arguments
        [OPSKIT, *args],
        env=env_for(instance),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"opskit {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def seeded_instance(folder: Path) -> Path:
    instance = folder / "instance"
    t0 = time.perf_counter()
    opskit(instance, "demo", "--seed-only")
    opskit(
        instance, "user", "create", USER, "--role", "engineer", "--password-stdin", stdin=PASSWORD
    )
    print(f"seeded the demo site in {time.perf_counter() - t0:.0f} s ({instance})", flush=True)
    return instance


def wait_up(base: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server stopped (status {proc.returncode})")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as r:  # noqa: S310
                if r.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.3)


def log_in(base: str) -> tuple[str, str]:
    """(Cookie header, User-Agent) of a logged-in session."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login", timeout=30) as r:
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', r.read().decode())
    assert token, "no CSRF token on /login"
    body = {"csrf_token": token.group(1), "username": USER, "password": PASSWORD}
    with opener.open(base + "/login", data=urllib.parse.urlencode(body).encode(), timeout=60) as r:
        assert "/login" not in r.url, "the bench user could not log in"
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    return cookie, dict(opener.addheaders)["User-agent"]


def start_server(instance: Path, command: list[str], extra: dict[str, str]) -> tuple:
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - opskit of this venv, the bench's own arguments
        [OPSKIT, *command, "--port", str(port)],
        env=env_for(instance, extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    wait_up(base, proc)
    return proc, base


def stop_server(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    return proc.stdout.read() if proc.stdout else ""


def wrk(base: str, script: Path, auth: tuple[str, str], clients: int, seconds: int) -> dict:
    cookie, agent = auth
    command = [
        "wrk",
        f"-t{min(clients, 2)}",
        f"-c{clients}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        "-H",
        f"Cookie: {cookie}",
        "-H",
        f"User-Agent: {agent}",
        base,
    ]
    out = subprocess.run(  # noqa: S603 - wrk with the bench's own arguments
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk said:\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[len("RESULT ") :])
    r["rps"] = r["requests"] / (r["duration_us"] / 1e6)
    r["errors"] = sum(r[k] for k in ("connect", "read", "write", "timeout", "not200"))
    return r


def server_processes(proc: subprocess.Popen) -> list:
    import psutil

    parent = psutil.Process(proc.pid)
    return [parent, *parent.children(recursive=True)]


def cpu_seconds(proc: subprocess.Popen) -> float:
    """CPU time the server's processes have used (a worker started later counts from 0)."""
    import psutil

    total = 0.0
    for p in server_processes(proc):
        with contextlib.suppress(psutil.Error):
            times = p.cpu_times()
            total += times.user + times.system
    return total


def rss_mib(proc: subprocess.Popen) -> float:
    """Resident memory of the server's processes together."""
    import psutil

    total = 0
    for p in server_processes(proc):
        with contextlib.suppress(psutil.Error):  # a process that has just ended
            total += p.memory_info().rss
    return total / 2**20


def footprint(proc: subprocess.Popen) -> str:
    import psutil

    rows = []
    for p in server_processes(proc):
        try:
            rss = p.memory_info().rss / 2**20
            what = " ".join(p.cmdline()[1:3])[-40:]
            rows.append(f"pid {p.pid} ({what}): RSS {rss:.0f} MiB, {p.num_fds()} open fds")
        except psutil.Error:  # a process that has just ended
            pass
    return "; ".join(rows)


def bench(args: argparse.Namespace, script: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="opskit-load-") as tmp:
        instance = seeded_instance(Path(tmp))
        results: dict[str, dict[int, dict]] = {}
        for name, extra in SETUPS.items():
            proc, base = start_server(instance, ["serve"], extra)
            try:
                auth = log_in(base)
                wrk(base, script, auth, 5, 3)  # warm up: templates compiled, caches filled
                results[name] = {}
                for clients in LEVELS:
                    used, t0 = cpu_seconds(proc), time.monotonic()
                    results[name][clients] = r = wrk(base, script, auth, clients, args.duration)
                    cores = (cpu_seconds(proc) - used) / (time.monotonic() - t0)
                    print(
                        f"{name:>11} {clients:>2} clients: {r['rps']:6.1f} req/s  "
                        f"p50 {r['p50_us'] / 1000:5.0f} ms  p90 {r['p90_us'] / 1000:5.0f} ms  "
                        f"p99 {r['p99_us'] / 1000:5.0f} ms  errors {r['errors']}  "
                        f"server CPU {cores:.2f} cores",
                        flush=True,
                    )
            finally:
                output = stop_server(proc)
            how = next((x.strip() for x in output.splitlines() if "threads, listen" in x), "")
            print(f"{'':>12}{name}: {how}", flush=True)
        print(f"\n{loadavg()} (end)")
        now, before, one = results["now"], results["before"], results["one process"]
        scale = now[20]["rps"] / now[1]["rps"]
        tail = now[20]["p99_us"] / max(1, now[20]["p50_us"])
        errors = sum(r["errors"] for r in now.values())
        print("\ngoals (now):")
        print(f"  throughput 20 clients / 1 client: {scale:.2f}x   (goal >= 1.6x on 2 cores)")
        print(f"  p99 / p50 at 20 clients:          {tail:.2f}x   (goal <= 3x)")
        print(f"  errors:                           {errors}       (goal 0)")
        print("at 20 clients:")
        for name, other in (("before", before), ("one process", one)):
            print(
                f"  now / {name}: throughput {now[20]['rps'] / other[20]['rps']:.2f}x, "
                f"p99 {now[20]['p99_us'] / other[20]['p99_us']:.2f}x"
            )


def demo_memory(proc: subprocess.Popen) -> tuple[float, int]:
    """(RSS in MiB, open fds) of the demo process itself (snmpsim is shown apart)."""
    import psutil

    p = psutil.Process(proc.pid)
    return p.memory_info().rss / 2**20, p.num_fds()


def soak(args: argparse.Namespace, script: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="opskit-soak-") as tmp:
        instance = seeded_instance(Path(tmp))
        proc, base = start_server(instance, ["demo", "--snmp-port-base", "0"], {})
        try:
            auth = log_in(base)
            print(f"warm-up: 20 clients for {args.warm_up} s", flush=True)
            wrk(base, script, auth, 20, args.warm_up)
            time.sleep(SETTLE_S)  # idle keep-alive connections closed, as at the end
            print(f"start: {footprint(proc)}", flush=True)
            rss0, fds0 = demo_memory(proc)
            samples: list[tuple[int, float]] = []
            left = args.soak
            total = 0
            errors = 0
            while left > 0:
                chunk = min(60, left)
                r = wrk(base, script, auth, 20, chunk)
                total += r["requests"]
                errors += r["errors"]
                left -= chunk
                rss, fds = demo_memory(proc)
                samples.append((args.soak - left, rss))
                print(
                    f"  {args.soak - left:>4} s: {r['rps']:6.1f} req/s, p99 "
                    f"{r['p99_us'] / 1000:.0f} ms, errors {r['errors']}, demo RSS {rss:.1f} MiB, "
                    f"{fds} fds (under load); {loadavg()}",
                    flush=True,
                )
            time.sleep(SETTLE_S)
            print(f"end:   {footprint(proc)}")
            rss1, fds1 = demo_memory(proc)
            print(f"{total} requests, {errors} errors in {args.soak} s")
            print(
                f"demo process: RSS {rss0:.1f} -> {rss1:.1f} MiB ({rss1 / rss0:.3f}x), "
                f"open fds {fds0} -> {fds1}"
            )
            half = [x for x in samples if x[0] > args.soak / 2]
            if len(half) >= 2:
                (t0, m0), (t1, m1) = half[0], half[-1]
                print(
                    f"growth over the second half ({t0}-{t1} s): "
                    f"{(m1 - m0) / max(1, (t1 - t0) / 60):+.2f} MiB a minute"
                )
        finally:
            stop_server(proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per measurement")
    parser.add_argument("--soak", type=int, default=0, help="seconds of the demo under load")
    parser.add_argument("--warm-up", type=int, default=90, help="seconds of load before --soak")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk (Debian/Ubuntu), brew install wrk")
    print(loadavg() + " (start)", flush=True)
    with tempfile.TemporaryDirectory(prefix="opskit-wrk-") as tmp:
        script = Path(tmp) / "load.lua"
        paths = "{" + ", ".join(f'"{p}"' for p in PATHS) + "}"
        script.write_text(LUA.replace("{PATHS}", paths), encoding="utf-8")
        if args.soak:
            soak(args, script)
        else:
            bench(args, script)


if __name__ == "__main__":
    main()
