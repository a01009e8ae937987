"""The production WSGI server: cheroot (pure Python, threaded, HTTP and HTTPS, any OS)."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from types import FrameType

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from flask import Flask

log = logging.getLogger("opskit.server")


def build_server(
    app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 16, tls: bool = False
) -> wsgi.Server:
    """Create (not start) the server; with ``tls`` it uses ``<instance>/tls/server.*``."""
    server = wsgi.Server((host, port), app, numthreads=threads, server_name="opskit")
    if tls:
        from opskit.tls import server_ssl_paths

        files = server_ssl_paths(Path(app.instance_path) / "tls")
        server.ssl_adapter = BuiltinSSLAdapter(str(files.cert), str(files.key))
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    return server


def run(
    app: Flask, host: str = "127.0.0.1", port: int = 5000, threads: int = 16, tls: bool = False
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it cleanly)."""
    try:
        server = build_server(app, host, port, threads, tls)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    scheme = "https" if tls else "http"
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - display only
    print(f"opskit serving on {scheme}://{shown}:{port}/  (Ctrl-C to stop)", flush=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
