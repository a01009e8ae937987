"""Run the living demo: simulated SNMP agents, poller, notifier and web server in one process tree.

- **snmpsim** (a child process) serves every device of ``opskit.demo.devices`` on one UDP port of
  127.0.0.1, each under its own community. It is put in its own process group, so Ctrl-C in the
  terminal reaches only the demo, which then stops it; on Linux the kernel also kills it if the
  demo itself dies (``PR_SET_PDEATHSIG``).
- **The poller** (``monitors.poller.run``) and **the notifier** (``opskit.alerts.notify``) run in
  threads of the demo process, each in its own app context; the poller also runs the alert
  rules, the rollups and the retention; the notifier, like ``opskit notify run``, also builds the
  quarterly report pack when it is due (checked every 10 minutes, the first time 10 minutes in).
- **The web server** (cheroot, as ``opskit serve``) runs in the main thread.

SIGINT and SIGTERM stop the web server, then the threads, then snmpsim, and the command returns.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from flask import Flask

from monitors import poller, snmp
from opskit import db, jobs
from opskit.alerts import notify
from opskit.audit import acting_as
from opskit.demo import devices
from opskit.server import build_server

log = logging.getLogger("opskit.demo")

DEFAULT_SNMP_PORT = 16161
NOTIFY_EVERY_S = 10.0
JOBS_FIRST_IN_S = 60.0  # the periodic jobs (opskit.jobs): a minute after the demo started


class DemoError(RuntimeError):
    pass


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def responder() -> str:
    """The ``snmpsim-command-responder`` executable next to this Python, or on PATH."""
    exe = Path(sys.executable).with_name("snmpsim-command-responder")
    if exe.exists():
        return str(exe)
    found = shutil.which("snmpsim-command-responder")
    if not found:
        raise DemoError(
            "snmpsim is not installed (it simulates the demo's SNMP devices): pip install snmpsim"
        )
    return found


def _sys_name_query(community: bytes) -> bytes:
    """An SNMPv2c GET of sysName.0, built by hand (no SNMP engine needed to see if it is up)."""
    oid = bytes([0x2B, 6, 1, 2, 1, 1, 5, 0])
    varbind = b"\x30" + bytes([len(oid) + 4]) + b"\x06" + bytes([len(oid)]) + oid + b"\x05\x00"
    varbinds = b"\x30" + bytes([len(varbind)]) + varbind
    pdu_body = b"\x02\x01\x01\x02\x01\x00\x02\x01\x00" + varbinds
    pdu = b"\xa0" + bytes([len(pdu_body)]) + pdu_body
    body = b"\x02\x01\x01\x04" + bytes([len(community)]) + community + pdu
    return b"\x30" + bytes([len(body)]) + body


def agent_answers(port: int, device: devices.Device) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(0.3)
        s.sendto(_sys_name_query(device.community.encode()), ("127.0.0.1", port))
        try:
            return device.sys_name.encode() in s.recv(4096)
        except OSError:
            return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def snmp_agents(
    workdir: Path, port: int, timeout: float = 60.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve the demo devices with snmpsim on 127.0.0.1:``port`` until the block ends."""
    data, cache = workdir / "data", workdir / "cache"
    devices.write_data_dir(data)
    shutil.rmtree(cache, ignore_errors=True)  # indexes of older recordings
    cache.mkdir(parents=True)
    log_path = workdir / "snmpsim.log"
    with log_path.open("wb") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own executable and arguments
            [
                responder(),
                f"--data-dir={data}",
                f"--cache-dir={cache}",
                f"--agent-udpv4-endpoint=127.0.0.1:{port}",
                "--log-level=error",
            ],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "SNMPSIM_ALLOW_ROOT": "true"},
            process_group=0,
            preexec_fn=_die_with_parent,
        )
    try:
        deadline = time.monotonic() + timeout
        probe = devices.DEVICES[0]
        while not agent_answers(port, probe):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise DemoError(
                    "the simulated SNMP agents did not start:\n"
                    + log_path.read_text(errors="replace")[-2000:]
                )
            time.sleep(0.2)
        yield proc
    finally:
        stop_process(proc)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _in_app(app: Flask, actor: str, body: Callable[[], None]) -> Callable[[], None]:
    def target() -> None:
        with app.app_context(), acting_as(actor):
            try:
                body()
            except Exception:  # a crash here must not take the web server down silently
                log.exception("%s stopped", actor)

    return target


def start_workers(app: Flask, stop: threading.Event) -> list[threading.Thread]:
    """The poller and the notifier, each in a thread with its own app context."""

    def poll() -> None:
        poller.run(stop, concurrency=20, timeout=20.0, idle_s=2.0)

    def send() -> None:
        next_at: dict[str, float] = {}
        while not stop.is_set():
            try:
                notify.run_once()
                db.session().commit()
            except Exception:
                log.exception("notification pass failed")
                db.session().rollback()
            db.session().close()
            # as `opskit notify run`: the packages' periodic jobs (the scheduled report packs)
            for job in jobs.due(next_at, time.monotonic(), first_in=JOBS_FIRST_IN_S):
                try:
                    jobs.run(job)
                except Exception:
                    log.exception("scheduled %s not built", job.name)
                    db.session().rollback()
                db.session().close()
            stop.wait(NOTIFY_EVERY_S)

    threads = [
        threading.Thread(target=_in_app(app, "poller", poll), name="demo-poller", daemon=True),
        threading.Thread(target=_in_app(app, "notifier", send), name="demo-notifier", daemon=True),
    ]
    for t in threads:
        t.start()
    return threads


def serve_until_stopped(
    app: Flask, host: str, port: int, on_ready: Callable[[], None], tls: bool = False
) -> None:
    """Run cheroot in this (main) thread until SIGINT/SIGTERM (HTTPS with ``tls``)."""
    server = build_server(app, host, port, threads=16, tls=tls)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.prepare()  # binds: a port in use fails here, before anything is printed
        on_ready()
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run(
    app: Flask,
    host: str,
    port: int,
    snmp_port: int,
    announce: Callable[[], None],
    tls: bool = False,
) -> None:
    """Agents, workers and the web server until SIGINT/SIGTERM; everything stopped on return."""
    workdir = Path(app.instance_path) / "demo" / "snmpsim"
    stop = threading.Event()
    threads: list[threading.Thread] = []
    with snmp_agents(workdir, snmp_port):
        try:
            threads = start_workers(app, stop)
            serve_until_stopped(app, host, port, announce, tls)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            with contextlib.suppress(Exception):
                snmp.shutdown()
