"""Benchmark: opskit's poller against net-snmp's snmpbulkwalk, same devices, same data, one run.

    make bench-deps                                  # Debian's snmpd (the C agent) and snmp tools
    python bench/poll.py                             # quick: 50 devices
    python bench/poll.py --devices 200 --devices 1000
    python bench/poll.py --devices 200 --processes 1 --concurrency 40

The devices: Debian ``snmpd`` (net-snmp's C agent) on 127.0.0.1 listening on N UDP ports, one
port per simulated device (one snmpd per 120 ports: it opens at most 128 transports), with a
temporary configuration (v2c community ``public``). Each
device answers the standard set: SNMPv2-MIB system, IF-MIB ifTable/ifXTable and
HOST-RESOURCES-MIB hrStorage of this machine, plus an RFC 1628 UPS-MIB (22 objects of the
project's ``ups_rfc1628`` test recording, served through snmpd ``override`` lines). Ports rather
than communities because a poller keeps one transport per device address, like real devices.
snmpd, not snmpsim: snmpsim spends ~170 µs of CPU per varbind in Python and would measure itself.

opskit: N ``snmp`` monitors in a temporary opskit database (SQLite, or ``--database-url``), all
due; the real poller code path polls them once (claim, ``SnmpKind.check`` = the probe with the
shipped device profiles, readings stored, states, alert rules), with ``--processes`` workers
(``opskit poll --processes``) and ``--concurrency`` checks in flight in each.

net-snmp: what LibreNMS does. For each device, one ``snmpget`` process for the scalars opskit
reads and one ``snmpbulkwalk -v2c -Cr25`` process per table holding the columns opskit walks,
with as many devices in flight as opskit has checks in flight (processes x concurrency).
``--per-column`` adds a second net-snmp run with one snmpbulkwalk per column (opskit's own
request pattern).

Both sides are credited with the same varbinds: the values opskit's probe reads from one device
(the scalars it GETs and the rows of the columns it walks; net-snmp's whole-table walks receive
more, which is its overhead), times the devices polled. Printed: varbinds/s and devices/s for each
side and the ratio opskit / net-snmp, plus the client CPU each used.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

UPS_RECORDING = ROOT / "tests" / "monitors" / "fixtures" / "ups_rfc1628.snmprec"
OVERRIDE_TYPES = {"2": "integer", "4": "octet_str", "66": "unsigned", "65": "counter"}


def need(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else "")
    if not path:
        sys.exit(f"{tool} is missing: run `make bench-deps` (apt-get install snmpd snmp)")
    return path


def free_udp_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


PORTS_PER_AGENT = 120  # snmpd opens at most 128 transports


def start_agents(base: Path, ports: list[int]) -> list[subprocess.Popen]:
    """As many snmpd processes as needed, each serving up to PORTS_PER_AGENT ports."""
    agents = []
    try:
        for i, start in enumerate(range(0, len(ports), PORTS_PER_AGENT)):
            folder = base / f"agent{i}"
            (folder / "persist").mkdir(parents=True)
            agents.append(start_snmpd(folder, ports[start : start + PORTS_PER_AGENT]))
    except BaseException:
        for agent in agents:
            agent.kill()
        raise
    return agents


def start_snmpd(base: Path, ports: list[int]) -> subprocess.Popen:
    lines = [
        "rocommunity public 127.0.0.1",
        "master no",
        "dontLogTCPWrappersConnects yes",
    ]
    for start in range(0, len(ports), 50):  # several agentAddress lines: long lines are cut
        chunk = ports[start : start + 50]
        lines.append("agentAddress " + ",".join(f"udp:127.0.0.1:{p}" for p in chunk))
    for line in UPS_RECORDING.read_text(encoding="utf-8").splitlines():
        oid, kind, value = line.split("|", 2)
        if oid.startswith("1.3.6.1.2.1.33.") and kind in OVERRIDE_TYPES:
            shown = f'"{value}"' if kind == "4" else value
            lines.append(f"override {oid} {OVERRIDE_TYPES[kind]} {shown}")
    conf = base / "snmpd.conf"
    conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {**os.environ, "MIBS": "", "SNMP_PERSISTENT_DIR": str(base / "persist")}
    proc = subprocess.Popen(  # noqa: S603 - the bench's own tools and arguments
        [need("snmpd"), "-f", "-Lf", str(base / "snmpd.log"), "-C", "-c", str(conf)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("snmpd did not start:\n" + (base / "snmpd.log").read_text()[-2000:])
        probe = [f"127.0.0.1:{ports[-1]}", "1.3.6.1.2.1.1.5.0"]
        ok = subprocess.run(  # noqa: S603
            [need("snmpget"), "-v2c", "-c", "public", "-On", "-t", "0.3", "-r", "0", *probe],
            capture_output=True,
            env={**os.environ, "MIBS": ""},
        )
        if ok.returncode == 0:
            return proc
        time.sleep(0.2)
    proc.kill()
    sys.exit("snmpd did not answer within 30 s")


# --- opskit -----------------------------------------------------------------------------------


def request_pattern(port: int) -> tuple[list[str], list[str], int]:
    """What opskit's probe reads from one device: (scalars, walked columns, values delivered)."""
    from monitors import probe, snmp

    client = snmp.SnmpClient("127.0.0.1", port, snmp.Credentials(community="public"), timeout=2)
    scalars: dict[str, Any] = {}
    columns: dict[str, dict[str, Any]] = {}
    get, table = client.get, client.table

    async def keep_get(oids: Any) -> dict[str, Any]:
        got = await get(oids)
        scalars.update(got)
        return got

    async def keep_table(cols: Any) -> dict[str, dict[str, Any]]:
        got = await table(cols)
        columns.update(got)
        return got

    client.get = keep_get  # type: ignore[method-assign]
    client.table = keep_table  # type: ignore[method-assign]
    snmp.run(probe.probe_async(client))
    values = sum(1 for v in scalars.values() if v is not None)
    values += sum(len(rows) for rows in columns.values())
    return sorted(scalars), sorted(columns), values


def setup_opskit(instance: Path, database_url: str, ports: list[int]) -> Any:
    os.environ["OPSKIT_INSTANCE_PATH"] = str(instance)
    if database_url:
        os.environ["OPSKIT_DATABASE_URL"] = database_url
    from assets import services
    from monitors import kinds
    from monitors.models import Monitor
    from opskit import create_app, db, migrate

    app = create_app()
    with app.app_context():
        engine = db.engine()
        if engine.dialect.name == "postgresql":
            from sqlalchemy import text

            with engine.begin() as conn:  # a scratch database: start empty
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        migrate.upgrade(engine)
        session = db.session()
        now = db.utcnow()
        for i, port in enumerate(ports):
            asset = services.save_asset(
                {"asset_tag": f"BENCH-{i:05d}", "name": f"bench device {i}", "kind": "server"}
            )
            session.flush()
            settings = {"host": "127.0.0.1", "port": port, "timeout": 2, "retries": 1}
            session.add(
                Monitor(
                    asset_id=asset.id,
                    kind="snmp",
                    settings=kinds.validate("snmp", settings),
                    secret='{"community": "public"}',  # noqa: S106 - the bench agent's
                    next_due_at=now - timedelta(seconds=1),
                )
            )
        session.commit()
    return app


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_opskit(processes: int, concurrency: int) -> tuple[float, float, dict[str, float]]:
    """Poll every due monitor once; (wall seconds, client CPU seconds, summary)."""
    from monitors import workers
    from opskit import create_app

    started: list[float] = []
    summary = workers.poll_once(
        processes,
        concurrency,
        timeout=30,
        app_factory=create_app,
        on_start=lambda: started.append(time.perf_counter()),
    )
    wall = time.perf_counter() - started[0]
    return wall, summary["cpu_s"], summary  # CPU of the polling itself, not the start-up


# --- net-snmp ---------------------------------------------------------------------------------


def tables_of(columns: list[str]) -> list[str]:
    """The table entries (column OID without its last arc) holding these columns, in order."""
    return list(dict.fromkeys(c.rsplit(".", 1)[0] for c in columns))


def netsnmp_device(port: int, scalars: list[str], walks: list[str], wanted: set[str]) -> int:
    """One device the LibreNMS way; the varbinds received that opskit also reads."""
    env = {**os.environ, "MIBS": ""}
    target = f"127.0.0.1:{port}"
    got = 0
    base = ["-v2c", "-c", "public", "-On", "-t", "2", "-r", "1"]
    out = subprocess.run(  # noqa: S603
        [SNMPGET, *base, target, *scalars], capture_output=True, text=True, env=env
    ).stdout
    got += sum(1 for line in out.splitlines() if " = " in line and "No Such" not in line)
    for oid in walks:
        out = subprocess.run(  # noqa: S603
            [SNMPBULKWALK, *base, "-Cr25", target, oid], capture_output=True, text=True, env=env
        ).stdout
        for line in out.splitlines():
            name = line.split(" = ", 1)[0].lstrip(".")
            if name.rsplit(".", 1)[0] in wanted or any(name.startswith(w + ".") for w in wanted):
                got += 1
    return got


def run_netsnmp(
    ports: list[int], scalars: list[str], walks: list[str], wanted: set[str], parallel: int
) -> tuple[float, float, int]:
    cpu0 = children_cpu()
    start = time.perf_counter()
    with ThreadPoolExecutor(parallel) as pool:
        counts = list(pool.map(lambda p: netsnmp_device(p, scalars, walks, wanted), ports))
    return time.perf_counter() - start, children_cpu() - cpu0, sum(counts)


def main() -> None:
    global SNMPGET, SNMPBULKWALK
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, action="append", help="devices (repeatable)")
    parser.add_argument(
        "--processes", type=int, default=os.cpu_count() or 1, help="opskit poller processes"
    )
    parser.add_argument("--concurrency", type=int, default=20, help="checks in flight per process")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temp folder")
    parser.add_argument("--per-column", action="store_true", help="also net-snmp per column")
    args = parser.parse_args()
    sizes = args.devices or [50]
    SNMPGET, SNMPBULKWALK = need("snmpget"), need("snmpbulkwalk")
    need("snmpd")
    parallel = args.processes * args.concurrency
    print(
        f"opskit: {args.processes} process(es) x {args.concurrency} checks in flight; "
        f"net-snmp: {parallel} devices in flight; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows = []
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="opskit-bench-poll-") as tmp:
            base = Path(tmp)
            ports = free_udp_ports(n)
            agents = start_agents(base, ports)
            try:
                scalars, columns, per_device = request_pattern(ports[0])
                setup_opskit(base / "instance", args.database_url, ports)
                wall, cpu, summary = run_opskit(args.processes, args.concurrency)
                up = summary["up"]
                if up != n:
                    print(f"  warning: opskit polled {summary}")
                ops = (up * per_device / wall, up / wall, cpu)
                wanted = set(columns)
                nwall, ncpu, got = run_netsnmp(ports, scalars, tables_of(columns), wanted, parallel)
                net = (got / nwall, n / nwall, ncpu)
                line = [n, per_device, ops, net, ops[0] / net[0]]
                if args.per_column:
                    cwall, ccpu, cgot = run_netsnmp(ports, scalars, columns, wanted, parallel)
                    line.append((cgot / cwall, n / cwall, ccpu))
                rows.append(line)
                print(
                    f"{n} devices, {per_device} varbinds each ({len(scalars)} scalars, "
                    f"{len(columns)} columns in {len(tables_of(columns))} tables):\n"
                    f"  opskit poller   {ops[0]:>9,.0f} varbinds/s  {ops[1]:>7.1f} devices/s"
                    f"  client CPU {cpu:6.1f} s\n"
                    f"  net-snmp        {net[0]:>9,.0f} varbinds/s  {net[1]:>7.1f} devices/s"
                    f"  client CPU {ncpu:6.1f} s (snmpget + snmpbulkwalk per table)\n"
                    f"  ratio opskit / net-snmp: {ops[0] / net[0]:.2f}x"
                )
                if args.per_column:
                    col = line[5]
                    print(
                        f"  net-snmp/column {col[0]:>9,.0f} varbinds/s  {col[1]:>7.1f} devices/s"
                        f"  client CPU {col[2]:6.1f} s; ratio {ops[0] / col[0]:.2f}x"
                    )
            finally:
                for agent in agents:
                    agent.terminate()
                    agent.wait(10)


SNMPGET = SNMPBULKWALK = ""

if __name__ == "__main__":
    main()
