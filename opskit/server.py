"""The production WSGI server: cheroot (pure Python, threaded, HTTP and HTTPS, any OS).

When it starts it says how the tablets reach it (this machine's LAN addresses, or how to listen
on them), what address the QR labels will hold (``OPSKIT_BASE_URL``) and, while the first
admin's generated password is still unchanged, the file that holds it.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

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


#: Interfaces no tablet reaches: container and VM bridges and their virtual cables.
VIRTUAL_INTERFACES = ("docker", "br-", "veth", "virbr", "vnet", "cni", "flannel", "podman", "lxc")

#: An address for examples when this machine has no LAN address (the README's example).
EXAMPLE_ADDRESS = "192.168.10.5"


def lan_ipv4_addresses() -> list[str]:
    """This machine's IPv4 addresses a tablet on the LAN may use, read from the network
    interfaces (no internet needed): interfaces that are up, without loopback (127.0.0.0/8),
    link-local (169.254.0.0/16) and container or VM bridges."""
    import psutil

    stats = psutil.net_if_stats()
    found: list[str] = []
    for name, addrs in sorted(psutil.net_if_addrs().items()):
        if name.startswith(VIRTUAL_INTERFACES):
            continue
        if name in stats and not stats[name].isup:
            continue
        for addr in addrs:
            if addr.family != socket.AF_INET:
                continue
            try:
                ip = ipaddress.IPv4Address(addr.address)
            except ValueError:
                continue
            if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
                continue
            if str(ip) not in found:
                found.append(str(ip))
    return found


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``*.localhost``, 127.0.0.0/8 or ::1: an address only this machine reaches."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` (``http://127.0.0.1:5000/``) leads to this machine only."""
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    return host is not None and is_loopback_host(host)


def _url(scheme: str, host: str, port: int) -> str:
    default = 443 if scheme == "https" else 80
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}/" if port == default else f"{scheme}://{shown}:{port}/"


def tablet_notes(base_url: str, host: str, port: int, tls: bool = False) -> list[str]:
    """What to tell the engineer at start: the addresses the tablets can use (or how to listen
    on them), what the QR labels will hold, and where HTTPS is explained."""
    scheme = "https" if tls else "http"
    lan = lan_ipv4_addresses()
    any_address = host in {"0.0.0.0", "::", ""}  # noqa: S104 - comparing, not binding
    lines: list[str] = []
    if any_address:
        if lan:
            lines.append("  Tablets on this network open:")
            lines += [f"    {_url(scheme, ip, port)}" for ip in lan]
        else:
            lines.append(
                "  This computer has no LAN address yet: connect it to the machine room's "
                f"network; tablets then open {scheme}://<its address>:{port}/"
            )
        reachable = lan
    elif is_loopback_host(host):
        lines.append(f"  Tablets cannot reach {host}: it is this computer only.")
        lines.append(
            "  To serve the machine room's network, listen on all addresses: "
            "make run HOST=0.0.0.0 (opskit serve or demo: --host 0.0.0.0)"
        )
        if lan:
            lines.append("  and the tablets open:")
            lines += [f"    {_url(scheme, ip, port)}" for ip in lan]
        reachable = []
    else:
        lines.append(f"  Tablets on this network open: {_url(scheme, host, port)}")
        reachable = [host]

    example = _url(scheme, (reachable or lan or [EXAMPLE_ADDRESS])[0], port).rstrip("/")
    configured = base_url.strip()
    if not configured:
        lines.append(
            "  QR labels hold the address the label page is opened from, unless "
            "OPSKIT_BASE_URL is set."
        )
        lines.append(
            f"  Before printing labels, set it to the address the tablets use, e.g. "
            f"OPSKIT_BASE_URL={example}"
        )
    elif is_loopback_url(configured):
        lines.append(
            f"  OPSKIT_BASE_URL is {configured}: no tablet can open it, so the label page "
            f"refuses to print; set it to the address the tablets use, e.g. {example}"
        )
    else:
        lines.append(f"  QR labels hold {configured.rstrip('/')}/a/<tag> (OPSKIT_BASE_URL).")
    if not tls:
        lines.append(
            "  The tablets' camera scanner and offline rounds need HTTPS: opskit tls init "
            "<name or address>, then --tls (make run TLS=1); see docs/https.md."
        )
    return lines


def initial_password_note(app: Flask) -> list[str]:
    """Where the first admin's password is, while it is unchanged (empty list otherwise)."""
    from opskit import users

    with app.app_context():
        user = users.initial_password_user()
        path = users.initial_password_path()
    if user is None:
        return []
    return [
        f"  First login: user {user}, password in {path}",
        "  (deleted when that password is changed, e.g. under My account)",
    ]


def run(
    app: Flask,
    host: str = "127.0.0.1",
    port: int = 5000,
    threads: int = 16,
    tls: bool = False,
    login_note: bool = True,
) -> None:
    """Serve until interrupted (Ctrl-C or SIGTERM stop it cleanly). It first says how tablets
    reach it and (``login_note``) where the unchanged first admin password is kept."""
    try:
        server = build_server(app, host, port, threads, tls)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    scheme = "https" if tls else "http"
    shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104 - display only
    print(f"opskit serving on {scheme}://{shown}:{port}/  (Ctrl-C to stop)")
    notes = tablet_notes(app.config.get("BASE_URL") or "", host, port, tls)
    if login_note:
        notes += initial_password_note(app)
    print("\n".join(notes), flush=True)

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        server.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
