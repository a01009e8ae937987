"""The addresses tablets reach this machine by, and what to tell the engineer about them at start.

``lan_ipv4_addresses()`` reads the network interfaces (no internet needed); ``tablet_notes()``
are the start notes of ``opskit serve`` and ``opskit demo``; the label page refuses a
``OPSKIT_BASE_URL`` that ``is_loopback_url()``.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

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
