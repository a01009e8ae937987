"""Benchmark: configuration backups by opskit against OpenSSH's ``ssh`` client, same devices.

    sudo .venv/bin/python bench/configs.py                     # 200 devices, 10 at a time, 2 rounds
    sudo .venv/bin/python bench/configs.py --devices 200 --concurrency 20 --rounds 3

The devices: one OpenSSH ``sshd`` on a loopback port whose test user's login is the scripted
Cisco-like device of the tests (``tests/configs/servers.py``: root needed, a system user created
and removed), printing the tests' Cisco IOS sample (31 lines) without paging after ``terminal
length 0``. Every device is a separate SSH connection, login and session to it, as a machine
room's devices are (one server answers them all: its cost is the same for both sides).

opskit: ``--devices`` assets with backup settings in a fresh SQLite opskit database, all due, run
by one turn of the scheduler (``monitors.configs.schedule.run_due``: claim by lease, netmiko in
threads with ``--concurrency`` at once, each fetch bounded by its timeout, then normalised and
recorded: the first round stores the first versions and pins the host keys, the later rounds
find the configurations unchanged, as a day's backups mostly do).

ssh: the same commands (``terminal length 0``, ``show running-config``, ``exit``) typed by the
bench into ``ssh -tt`` client processes, at most ``--concurrency`` at once, each answered at its
prompt as an expect script (RANCID's ``clogin``) does; the password through ``SSH_ASKPASS``; no
known_hosts (``StrictHostKeyChecking=no``); the output kept, checked, not stored.

The sides alternate (opskit first in odd rounds, last in even ones). Printed: devices/s of each
side per round and over all rounds, the ratio opskit / ssh (goal >= 1.0x, issue #22), and the
client CPU each side used (opskit: this process's ``time.process_time``; ssh: its processes'
CPU from ``RUSAGE_CHILDREN`` plus this process's reading threads). The servers' CPU is not
counted.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
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

COMMANDS = ("terminal length 0", "show running-config", "exit")
PROMPT = re.compile(rb"CORE-SW1[#>]\Z")
SSH = "/usr/bin/ssh"


def setup_opskit(instance: Path, device: Any, count: int) -> Any:
    os.environ["OPSKIT_INSTANCE_PATH"] = str(instance)
    os.environ.pop("OPSKIT_DATABASE_URL", None)
    from assets import services as assets
    from monitors.configs import services
    from opskit import create_app, db, migrate

    app = create_app()
    with app.app_context():
        migrate.upgrade(db.engine())
        session = db.session()
        for i in range(count):
            asset = assets.save_asset(
                {"asset_tag": f"BENCH-SW-{i:04d}", "name": f"bench switch {i}", "kind": "switch"}
            )
            session.flush()
            services.save_device(
                asset.id,
                platform="cisco_ios",
                host=device.host,
                port=device.port,
                username=device.username,
                password=device.password,
                timeout_s=60,
            )
        session.commit()
    return app


def opskit_round(app: Any, count: int, concurrency: int) -> tuple[float, float]:
    """One scheduler turn over every device: (seconds, CPU seconds)."""
    from sqlalchemy import update

    from monitors.configs import schedule
    from monitors.configs.models import ConfigDevice
    from opskit import clock, db

    with app.app_context():
        now = clock.now()
        db.session().execute(
            update(ConfigDevice).values(next_due_at=now - timedelta(seconds=1), lease_until=None)
        )
        db.session().commit()
        cpu, started = time.process_time(), time.perf_counter()
        summary = schedule.run_due(now, concurrency=concurrency)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if summary["fetched"] != count or summary["failed"]:
        raise SystemExit(f"opskit: {summary}")
    return seconds, cpu


def _ssh_one(device: Any, env: dict[str, str]) -> bytes:
    """One device through an ``ssh -tt`` process, each command typed at the device's prompt."""
    proc = subprocess.Popen(  # noqa: S603 - OpenSSH's ssh, the bench's own arguments
        [
            SSH,
            "-tt",
            "-p",
            str(device.port),
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "PreferredAuthentications=password",
            "-o",
            "LogLevel=ERROR",
            f"{device.username}@{device.host}",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # no terminal of ours: SSH_ASKPASS answers
    )
    assert proc.stdin is not None and proc.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        for command in COMMANDS:
            while not PROMPT.search(output.rstrip(b" ")):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk or time.monotonic() > deadline:
                    raise SystemExit(f"ssh: no prompt; got {output[-200:]!r}")
                output += chunk
            proc.stdin.write(command.encode() + b"\r")
            proc.stdin.flush()
            if command != "exit":
                output += b"\n"  # the prompt just answered is not the next one
        output += proc.stdout.read()
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    return output


def ssh_round(device: Any, count: int, concurrency: int, askpass: Path) -> tuple[float, float]:
    """Every device through ssh processes, ``concurrency`` at once: (seconds, CPU seconds)."""
    env = {
        **os.environ,
        "SSH_ASKPASS": str(askpass),
        "SSH_ASKPASS_REQUIRE": "force",
        "BENCH_SSH_PASSWORD": device.password,
        "DISPLAY": os.environ.get("DISPLAY", ":0"),
    }
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        outputs = list(pool.map(lambda _: _ssh_one(device, env), range(count)))
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu
    cpu += (after.ru_utime - children.ru_utime) + (after.ru_stime - children.ru_stime)
    bad = [o for o in outputs if b"hostname CORE-SW1" not in o or b"\nend" not in o]
    if bad:
        raise SystemExit(f"ssh: {len(bad)} outputs without the configuration: {bad[0][-300:]!r}")
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the device's sshd login is a system user created here")
    if not os.path.exists(SSH):
        raise SystemExit("OpenSSH's ssh client is not installed (Debian: openssh-client)")

    from tests.configs import samples
    from tests.configs.servers import scripted_sshd

    work = Path(tempfile.mkdtemp(prefix="opskit-bench-configs-"))
    askpass = work / "askpass.sh"
    askpass.write_text('#!/bin/sh\nprintf "%s\\n" "$BENCH_SSH_PASSWORD"\n', encoding="utf-8")
    askpass.chmod(0o700)
    totals = {"opskit": [0.0, 0.0], "ssh": [0.0, 0.0]}
    try:
        with scripted_sshd(max_startups=args.concurrency * 3 + 10) as device:
            device.scenario(samples.CISCO_IOS.text)
            app = setup_opskit(work / "instance", device, args.devices)
            print(
                f"{args.devices} devices, {args.concurrency} at a time, {args.rounds} rounds "
                f"(CPUs: {os.cpu_count()}, load {os.getloadavg()[0]:.2f})"
            )
            for n in range(1, args.rounds + 1):
                sides = ["opskit", "ssh"] if n % 2 else ["ssh", "opskit"]
                for side in sides:
                    if side == "opskit":
                        seconds, cpu = opskit_round(app, args.devices, args.concurrency)
                    else:
                        seconds, cpu = ssh_round(device, args.devices, args.concurrency, askpass)
                    totals[side][0] += seconds
                    totals[side][1] += cpu
                    print(
                        f"  round {n} {side:>6}: {args.devices / seconds:6.1f} devices/s "
                        f"({seconds:.2f} s, client CPU {1000 * cpu / args.devices:.1f} ms/device)"
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    count = args.devices * args.rounds
    rate = {side: count / totals[side][0] for side in totals}
    for side in ("opskit", "ssh"):
        cpu_ms = 1000 * totals[side][1] / count
        print(f"{side:>8}: {rate[side]:6.1f} devices/s, client CPU {cpu_ms:.1f} ms/device")
    print(f"   ratio: {rate['opskit'] / rate['ssh']:.2f}x opskit / ssh (goal >= 1.0x)")


if __name__ == "__main__":
    main()
