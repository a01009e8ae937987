"""The production WSGI server: cheroot (pure Python, threaded, HTTP and HTTPS, any OS).

On Linux and macOS it pre-forks: the parent binds the listening socket once (with a listen
backlog of ``OPSKIT_LISTEN_BACKLOG``, so 40 tablets submitting at once are queued, not reset),
forks ``--workers`` processes (default: one per CPU) that each run a threaded cheroot server
on that inherited socket with their own database engine, restarts a worker that dies and stops
them all on SIGTERM or Ctrl-C. One Python process uses one core however many threads it runs;
the processes use them all. On Windows (no fork) it is one threaded process, as before.

When it starts it says how the tablets reach it (this machine's LAN addresses, or how to listen
on them), what address the QR labels will hold (``OPSKIT_BASE_URL``) and, while the first
admin's generated password is still unchanged, the file that holds it.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from flask import Flask

from opskit import users
from opskit.addresses import (  # re-exported: the labels and the tests read them here
    EXAMPLE_ADDRESS,
    is_loopback_host,
    is_loopback_url,
    lan_ipv4_addresses,
    tablet_notes,
)
from opskit.config import Settings
from opskit.tls import server_ssl_paths

__all__ = [
    "EXAMPLE_ADDRESS",
    "build_server",
    "is_loopback_host",
    "is_loopback_url",
    "lan_ipv4_addresses",
    "run",
    "tablet_notes",
]

log = logging.getLogger("opskit.server")


#: Linux's cap on any listen backlog (a larger one is silently cut to it).
SOMAXCONN = Path("/proc/sys/net/core/somaxconn")
#: Seconds a stopping worker gets to finish its requests before it is killed.
STOP_GRACE_S = 15.0
#: Workers dying this often within CRASH_WINDOW_S stop the server (a broken start, not bad luck).
CRASH_LIMIT = 5
CRASH_WINDOW_S = 30.0


def _settings(app: Flask) -> Any:
    return app.config.get("OPSKIT_SETTINGS") or Settings()


def kernel_backlog_cap() -> int | None:
    """``net.core.somaxconn`` on Linux (None where it cannot be read)."""
    try:
        return int(SOMAXCONN.read_text().strip())
    except (OSError, ValueError):
        return None


def effective_backlog(asked: int) -> int:
    """The listen backlog the kernel grants for ``asked`` (``OPSKIT_LISTEN_BACKLOG``)."""
    cap = kernel_backlog_cap()
    return min(asked, cap) if cap else asked


def cpu_count() -> int:
    """CPUs this process may run on (a container's or taskset's share, not the host's)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def can_fork() -> bool:
    return sys.platform != "win32" and hasattr(os, "fork")


class _Server(wsgi.Server):
    """cheroot's WSGI server; given ``listen_socket`` it serves that already bound socket (one
    inherited from the pre-forking parent) instead of binding its own."""

    listen_socket: socket.socket | None = None

    def bind(self, family: int, type: int, proto: int = 0) -> socket.socket:
        if self.listen_socket is None:
            return super().bind(family, type, proto)
        sock = self.listen_socket
        if self.ssl_adapter is not None:
            sock = self.ssl_adapter.bind(sock)
        self.socket = sock
        self.bind_addr = self.resolve_real_bind_addr(sock)
        return sock

    def prepare(self) -> None:
        super().prepare()
        if self.listen_socket is not None:
            # Every worker watches the shared socket and all wake for a new connection; the
            # ones that lose the accept() must not wait there (cheroot's 1 s timeout) while
            # their own connections have requests ready.
            self.socket.settimeout(0)


def build_server(
    app: Flask,
    host: str = "127.0.0.1",
    port: int = 5000,
    threads: int | None = None,
    tls: bool = False,
    backlog: int | None = None,
    listen_socket: socket.socket | None = None,
) -> wsgi.Server:
    """Create (not start) the server; with ``tls`` it uses ``<instance>/tls/server.*``.

    ``threads`` and ``backlog`` default to ``OPSKIT_THREADS`` and ``OPSKIT_LISTEN_BACKLOG``
    (cheroot's own backlog, 5, resets tablets that submit together)."""
    settings = _settings(app)
    threads = threads or settings.threads
    server = _Server((host, port), app, numthreads=threads, server_name="opskit")
    server.request_queue_size = effective_backlog(backlog or settings.listen_backlog)
    server.listen_socket = listen_socket
    if tls:
        files = server_ssl_paths(Path(app.instance_path) / "tls")
        server.ssl_adapter = BuiltinSSLAdapter(str(files.cert), str(files.key))
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    return server


def listening_socket(host: str, port: int, backlog: int) -> socket.socket:
    """Bind and listen on ``host:port`` as cheroot would (SO_REUSEADDR, IPv6 dual-stack on
    ``::``), for the pre-forked workers to share. Port 0 picks a free port."""
    try:
        infos = socket.getaddrinfo(
            host, port, socket.AF_UNSPEC, socket.SOCK_STREAM, 0, socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise OSError(f"cannot listen on {host}: {exc}") from exc
    error: OSError | None = None
    for family, kind, proto, _name, address in infos:
        # SO_REUSEADDR on a fixed port (a restart does not wait for TIME_WAIT), nodelay
        sock = _Server.prepare_socket(address, family, kind, proto, True, None)
        try:
            sock.bind(address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sock.listen(effective_backlog(backlog))
        sock.set_inheritable(False)  # forked workers share it; exec'd programs do not
        return sock
    raise error or OSError(f"cannot listen on {host}:{port}")


def initial_password_note(app: Flask) -> list[str]:
    """Where the first admin's password is, while it is unchanged (empty list otherwise)."""
    with app.app_context():
        user = users.initial_password_user()
        path = users.initial_password_path()
    if user is None:
        return []
    return [
        f"  First login: user {user}, password in {path}",
        "  (deleted when that password is changed, e.g. under My account)",
    ]


def _announce(app: Flask, host: str, port: int, tls: bool, login_note: bool, how: str) -> None:
    scheme = "https" if tls else "http"
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - display only
    print(f"opskit serving on {scheme}://{shown}:{port}/  (Ctrl-C to stop)")
    notes = [f"  {how}"]
    notes += tablet_notes(app.config.get("BASE_URL") or "", host, port, tls)
    if login_note:
        notes += initial_password_note(app)
    print("\n".join(notes), flush=True)


def _how(workers: int, threads: int, backlog: int) -> str:
    granted = effective_backlog(backlog)
    queue = f"listen backlog {granted}"
    if granted < backlog:
        queue += f" (asked {backlog}; the kernel caps it: net.core.somaxconn)"
    procs = "1 process" if workers == 1 else f"{workers} processes"
    return f"{procs} x {threads} threads, {queue}"


def run(
    app: Flask,
    host: str = "127.0.0.1",
    port: int = 5000,
    threads: int | None = None,
    tls: bool = False,
    login_note: bool = True,
    workers: int | None = 1,
    backlog: int | None = None,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it cleanly). It first says how tablets
    reach it and (``login_note``) where the unchanged first admin password is kept.

    ``workers``: processes (None or 0: one per CPU); more than one pre-forks (Linux, macOS;
    Windows serves from one process). ``threads`` and ``backlog`` default to ``OPSKIT_THREADS``
    and ``OPSKIT_LISTEN_BACKLOG``."""
    settings = _settings(app)
    threads = threads or settings.threads
    backlog = backlog or settings.listen_backlog
    asked = workers or settings.workers
    if not can_fork():
        if asked and asked > 1:
            print(f"note: --workers {asked} needs fork (Linux, macOS); serving from one process")
        workers = 1
    else:
        workers = asked or cpu_count()
    if workers > 1:
        _run_forked(app, host, port, threads, tls, login_note, workers, backlog)
        return
    try:
        server = build_server(app, host, port, threads, tls, backlog)
        server.prepare()  # binds: a port in use is said before anything else
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"error: cannot listen on {host}:{port}: {exc}") from None
    _announce(app, host, server.bind_addr[1], tls, login_note, _how(1, threads, backlog))

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


def _run_forked(
    app: Flask,
    host: str,
    port: int,
    threads: int,
    tls: bool,
    login_note: bool,
    workers: int,
    backlog: int,
) -> None:
    """The pre-forking parent: bind once, fork ``workers`` children, restart one that dies,
    stop them all on SIGTERM/SIGINT (each finishes its requests, then exits)."""
    try:
        build_server(app, host, port, threads, tls, backlog)  # refuses missing TLS files now
        sock = listening_socket(host, port, backlog)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    except OSError as exc:
        raise SystemExit(f"error: cannot listen on {host}:{port}: {exc}") from None
    port = sock.getsockname()[1]
    _announce(app, host, port, tls, login_note, _how(workers, threads, backlog))
    # the parent serves nothing: no database connection of its own may cross into a child
    app.extensions["opskit.engine"].dispose()

    stopping = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    children: dict[int, float] = {}  # pid -> started (monotonic)
    deaths: list[float] = []

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                code = _worker(app, sock, host, port, threads, tls, backlog)
            except BaseException:  # whatever it was: say it, then exit
                log.exception("opskit worker %s failed", os.getpid())
            finally:
                os._exit(code)
        children[pid] = time.monotonic()

    try:
        for _ in range(workers):
            spawn()
        while not stopping:
            time.sleep(0.2)
            for pid, status in _reap():
                children.pop(pid, None)
                if stopping:
                    break
                now = time.monotonic()
                deaths[:] = [t for t in deaths if now - t < CRASH_WINDOW_S] + [now]
                print(f"opskit worker {pid} {_exit_text(status)}; starting another", flush=True)
                if len(deaths) >= CRASH_LIMIT:
                    print(
                        f"error: {len(deaths)} workers died within {CRASH_WINDOW_S:.0f} s; "
                        "stopping (see the errors above)",
                        file=sys.stderr,
                        flush=True,
                    )
                    stopping = True
                    _stop_children(children)
                    raise SystemExit(1)
                spawn()
    finally:
        _stop_children(children)
        sock.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _worker(
    app: Flask,
    sock: socket.socket,
    host: str,
    port: int,
    threads: int,
    tls: bool,
    backlog: int,
) -> int:
    """One forked worker: its own database pool, a threaded cheroot on the shared socket."""
    stopped = False

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopped
        if stopped:
            return  # Ctrl-C reaches every process, and the parent sends SIGTERM as well
        stopped = True
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stop)
    _stop_when_orphaned(os.getppid())
    # SQLAlchemy engines must not cross a fork: forget the parent's pool without closing its
    # connections (they are the parent's), so this process opens its own
    app.extensions["opskit.engine"].dispose(close=False)
    server = build_server(app, host, port, threads, tls, backlog, listen_socket=sock)
    try:
        server.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _stop_when_orphaned(parent: int) -> None:
    """Stop this worker (SIGTERM to itself) if its parent goes away without stopping it (killed
    with SIGKILL): an orphan would keep serving with nobody to stop it."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="opskit-parent-watch", daemon=True).start()


def _reap() -> list[tuple[int, int]]:
    """The children that have exited since the last call: (pid, wait status)."""
    done: list[tuple[int, int]] = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return done
        if pid == 0:
            return done
        done.append((pid, status))


def _exit_text(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"was killed by signal {os.WTERMSIG(status)}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def _stop_children(children: dict[int, float]) -> None:
    """SIGTERM every worker, wait for them (STOP_GRACE_S), then SIGKILL those still there."""
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            children.pop(pid, None)
    deadline = time.monotonic() + STOP_GRACE_S
    while children and time.monotonic() < deadline:
        for pid, _status in _reap():
            children.pop(pid, None)
        if children:
            time.sleep(0.05)
    for pid in list(children):
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        children.pop(pid, None)
