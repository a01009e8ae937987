"""Run the living demo: simulated SNMP agents, poller, notifier and web server in one process tree.

- **snmpsim** (a child process) serves every device of ``opskit.demo.devices`` on one UDP port of
  127.0.0.1, each under its own community. It is put in its own process group, so Ctrl-C in the
  terminal reaches only the demo, which then stops it; on Linux the kernel also kills it if the
  demo itself dies (``PR_SET_PDEATHSIG``).
- **The poller** (``monitors.poller.run``) and **the notifier** (``opskit.alerts.notify``) run in
  threads of the demo process, each in its own app context; the poller also runs the alert
  rules, the rollups and the retention; the notifier, like ``opskit notify run``, also builds the
  quarterly report pack when it is due (checked every 10 minutes, the first time 10 minutes in).
- **The trap and syslog receivers** (``opskit traps`` and ``opskit syslog receive``: the same
  receivers and database writers, in threads) listen on 127.0.0.1 only, on ports of their own
  (``DEFAULT_TRAP_PORT`` 16162 UDP, ``DEFAULT_SYSLOG_PORT`` 16514 UDP and TCP; a free port when
  taken), so a real ``opskit traps`` on 162/10162 or syslog on 514/10514 is never in the way.
- **The devices' traps and syslog** (``opskit.demo.emitters``, a thread): each device sends
  from its own loopback address (``devices.address``), on which snmpsim also answers for it and
  which its SNMP monitor polls, so the receivers name the right asset. Where this system has no
  loopback aliases (Linux routes all of 127.0.0.0/8 to itself; macOS does not), the devices
  share 127.0.0.1 and send nothing.
- **The web server** (cheroot, as ``opskit serve``) runs in the main thread.

SIGINT and SIGTERM stop the web server, then the threads, then the receivers (after storing what
they hold), then snmpsim, and the command returns.
"""

from __future__ import annotations

import contextlib
import ipaddress
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
from typing import Any

from flask import Flask

from monitors import poller, snmp
from monitors.syslog import receiver as syslog_receiver
from monitors.syslog import store as syslog_store
from monitors.traps import receiver as trap_receiver
from monitors.traps import store as trap_store
from opskit import db, jobs
from opskit.alerts import notify
from opskit.audit import acting_as
from opskit.demo import devices, emitters, history
from opskit.server import build_server

log = logging.getLogger("opskit.demo")

DEFAULT_SNMP_PORT = 16161
DEFAULT_TRAP_PORT = 16162
DEFAULT_SYSLOG_PORT = 16514
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


def loopback_aliases() -> bool:
    """Whether the devices' own loopback addresses (127.0.0.101 ...) can be used here."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind((devices.address(devices.DEVICES[-1]), 0))
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
    workdir: Path, port: int, timeout: float = 60.0, addresses: tuple[str, ...] = ()
) -> Iterator[subprocess.Popen[bytes]]:
    """Serve the demo devices with snmpsim on 127.0.0.1:``port`` (and on each of ``addresses``,
    the same port) until the block ends."""
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
                *(f"--agent-udpv4-endpoint={address}:{port}" for address in addresses),
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


def _listening(make: Callable[[int], Any], port: int) -> Any:
    """A receiver started on ``port``, else (taken) on a free port."""
    rx = make(port)
    try:
        rx.start()
    except (trap_receiver.BindError, syslog_receiver.BindError):
        if port == 0:
            raise
        rx = make(0)
        rx.start()
    return rx


@contextlib.contextmanager
def receivers(app: Flask, trap_port: int, syslog_port: int) -> Iterator[tuple[int, int]]:
    """The trap and syslog receivers on 127.0.0.1, each with its database writer in a thread,
    until the block ends (then what they received is stored and they stop). Yields their
    ports."""
    stop = threading.Event()
    with app.app_context():  # accepted from the first datagram on (the writer reloads them)
        credentials, _hosts = trap_store.load_credentials()
        db.session().close()

    def trap_rx(port: int) -> trap_receiver.Receiver:
        rx = trap_receiver.Receiver("127.0.0.1", port)
        rx.configure(credentials)
        return rx

    traps = _listening(trap_rx, trap_port)
    try:
        syslog = _listening(lambda p: syslog_receiver.Receiver("127.0.0.1", p), syslog_port)
    except BaseException:
        traps.stop()
        raise
    threads = [
        threading.Thread(
            target=_in_app(app, "traps", lambda: trap_store.run(traps, stop)),
            name="demo-traps",
            daemon=True,
        ),
        threading.Thread(
            target=_in_app(app, "syslog", lambda: syslog_store.run(syslog, stop)),
            name="demo-syslog",
            daemon=True,
        ),
    ]
    for t in threads:
        t.start()
    try:
        yield traps.port, syslog.port
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        traps.stop()
        syslog.stop()


def start_emitters(
    app: Flask, stop: threading.Event, targets: emitters.Targets
) -> threading.Thread:
    """The devices' traps and syslog, sent as they fall due (``opskit.demo.emitters``)."""
    thread = threading.Thread(
        target=_in_app(app, "emitters", lambda: emitters.run(stop, targets)),
        name="demo-emitters",
        daemon=True,
    )
    thread.start()
    return thread


def web_url(host: str, port: int, tls: bool = False) -> str:
    """The web server's ``/healthz`` as this machine reaches it (127.0.0.1 when it listens on
    every address)."""
    try:
        everywhere = not host or ipaddress.ip_address(host).is_unspecified
    except ValueError:  # a host name
        everywhere = False
    reach = "127.0.0.1" if everywhere else host
    if ":" in reach:
        reach = f"[{reach}]"
    return f"{'https' if tls else 'http'}://{reach}:{port}/healthz"


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
    announce: Callable[[int, int], None],
    tls: bool = False,
    trap_port: int = DEFAULT_TRAP_PORT,
    syslog_port: int = DEFAULT_SYSLOG_PORT,
    aliases: bool = True,
) -> None:
    """Agents, receivers, workers, the devices' traps and syslog and the web server until
    SIGINT/SIGTERM; everything stopped on return. ``announce`` is told the receivers' ports
    once the web server listens; without loopback ``aliases`` the devices send nothing."""
    workdir = Path(app.instance_path) / "demo" / "snmpsim"
    stop = threading.Event()
    threads: list[threading.Thread] = []
    addresses = devices.addresses() if aliases else {}
    with (
        snmp_agents(workdir, snmp_port, addresses=tuple(addresses.values())),
        receivers(app, trap_port, syslog_port) as (traps_at, syslog_at),
    ):
        with app.app_context():  # the application checks: this run's ports
            history.point_checks_at(
                web_url(host, port, tls), syslog_at, None if aliases else "127.0.0.1"
            )
            db.session().commit()
        try:
            threads = start_workers(app, stop)
            if addresses:
                targets = emitters.Targets(traps_at, syslog_at, addresses)
                threads.append(start_emitters(app, stop, targets))
            serve_until_stopped(app, host, port, lambda: announce(traps_at, syslog_at), tls)
        finally:
            stop.set()
            for t in threads:
                t.join(30)
            with contextlib.suppress(Exception):
                snmp.shutdown()
