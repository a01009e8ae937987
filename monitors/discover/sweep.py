"""Sweep a range of addresses: who answers ICMP echo and SNMP, and what each SNMP agent is.

:func:`parse_range` reads ``10.1.1.0/24``, ``10.1.1.10-10.1.1.50`` or ``10.1.1.10-50`` (IPv4 or
IPv6); more than :data:`MAX_ADDRESSES` addresses or a malformed range is a ``ValidationFailed``
on the field ``range`` saying what was expected.

:func:`sweep` asks every address, at most ``concurrency`` at a time, on the SNMP event loop:

- an ICMP echo (two requests) through the ping monitor kind (``monitors.kinds.ping``), when this
  process may open an ICMP socket; otherwise the result says why ICMP was not used;
- an SNMP GET of sysObjectID and sysName with the given credentials; an agent that answers is
  then probed with the device profiles (``monitors.probe.probe_async``).

The whole sweep is bounded by ``timeout`` seconds: what has not finished by then is cancelled and
counted (``unfinished``), so a range where nobody answers ends in time and says so. Each request
waits ``min(1, timeout / 4)`` seconds and is sent twice. Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from monitors import kinds, probe, snmp
from monitors.kinds.ping import icmp_unavailable
from opskit.validation import ValidationFailed

MAX_ADDRESSES = 1024
DEFAULT_TIMEOUT = 60.0
DEFAULT_CONCURRENCY = 64

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _range_error(message: str) -> ValidationFailed:
    return ValidationFailed.one("range", message)


def _too_many(text: str, count: int) -> ValidationFailed:
    return _range_error(
        _(
            "%(range)s has %(count)s addresses; at most %(max)s (a /22) are swept at once.",
            range=text,
            count=format(count, ","),
            max=MAX_ADDRESSES,
        )
    )


def parse_range(text: str) -> list[IPAddress]:
    """The addresses of a CIDR network (its hosts: not the network and broadcast addresses of an
    IPv4 network larger than /31) or of a start-end range, in order."""
    text = (text or "").strip()
    expected = _("Expected a network such as 10.1.1.0/24 or a range such as 10.1.1.10-10.1.1.50.")
    if not text:
        raise _range_error(_("Enter the addresses to sweep.") + " " + expected)
    if "-" in text:
        first, _sep, last = (part.strip() for part in text.partition("-"))
        try:
            start = ipaddress.ip_address(first)
            if last.isdigit() and start.version == 4:  # 10.1.1.10-50: the last octet
                last = first.rsplit(".", 1)[0] + "." + last
            end = ipaddress.ip_address(last)
        except ValueError:
            wrong = _("%(value)s is not a range.", value=text)
            raise _range_error(wrong + " " + expected) from None
        if start.version != end.version or int(end) < int(start):
            raise _range_error(
                _("%(value)s: the range must run from a lower to a higher address.", value=text)
            )
        count = int(end) - int(start) + 1
        if count > MAX_ADDRESSES:
            raise _too_many(text, count)
        return [ipaddress.ip_address(int(start) + i) for i in range(count)]
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise _range_error(_("%(value)s is not a network.", value=text) + " " + expected) from None
    if network.num_addresses > MAX_ADDRESSES:
        raise _too_many(str(network), network.num_addresses)
    if network.version == 4 and network.prefixlen < 31:
        return list(network.hosts())
    return list(network)


@dataclass
class Responder:
    """One address that answered: by ICMP, by SNMP or both; ``probe`` is the probe's result
    (``monitors.probe``), ``error`` why the probe failed after the agent first answered."""

    address: str
    icmp: bool = False
    snmp: bool = False
    sys_name: str = ""
    probe: dict[str, Any] | None = None
    error: str = ""

    @property
    def answered_by(self) -> list[str]:
        return [how for how, yes in (("icmp", self.icmp), ("snmp", self.snmp)) if yes]


@dataclass
class Sweep:
    """What a sweep of ``range`` found. ICMP was used unless switched off (``icmp_off``) or this
    process may not open an ICMP socket (``icmp_error`` says why)."""

    range: str
    addresses: int
    port: int
    credentials: snmp.Credentials
    icmp_off: bool = False
    icmp_error: str = ""
    responders: list[Responder] = field(default_factory=list)
    unfinished: int = 0
    seconds: float = 0.0
    timeout: float = DEFAULT_TIMEOUT

    @property
    def icmp(self) -> bool:
        return not self.icmp_off and not self.icmp_error

    @property
    def snmp_count(self) -> int:
        return sum(1 for r in self.responders if r.snmp)

    def icmp_note(self) -> str:
        """Why ICMP was not used, in the user's language ("" when it was)."""
        if self.icmp_off:
            return _("ICMP was switched off for this sweep.")
        if self.icmp_error:
            return _(
                "ICMP could not be used: this process may not open an ICMP socket (%(why)s); run "
                "it as root or allow it in net.ipv4.ping_group_range.",
                why=self.icmp_error,
            )
        return ""

    def summary(self) -> str:
        """One line in the user's language: how many answered, or that nobody did (call it in
        the request or command, not on the SNMP loop)."""
        if not self.responders:
            parts = [_("No answer in range %(range)s.", range=self.range)]
        elif not self.snmp_count:
            parts = [
                _(
                    "No SNMP agent answered in range %(range)s; %(n)s address(es) answered ping "
                    "only.",
                    range=self.range,
                    n=len(self.responders),
                )
            ]
        else:
            parts = [
                _(
                    "%(snmp)s SNMP agent(s) and %(ping)s address(es) answering ping only in range "
                    "%(range)s.",
                    snmp=self.snmp_count,
                    ping=len(self.responders) - self.snmp_count,
                    range=self.range,
                )
            ]
        if self.unfinished:
            parts.append(
                _(
                    "%(n)s address(es) were not finished within the %(s)s s timeout.",
                    n=self.unfinished,
                    s=format(self.timeout, "g"),
                )
            )
        if not self.icmp:
            parts.append(self.icmp_note())
        return " ".join(parts)


async def _ping(address: str, wait: float) -> bool:
    settings = {"host": address, "count": 2, "interval": 0.1, "timeout": wait}
    result = await kinds.of("ping").check(None, settings, None)
    return result.ok


async def _ask(
    address: str,
    port: int,
    credentials: snmp.Credentials,
    wait: float,
    use_icmp: bool,
) -> Responder:
    found = Responder(address)
    pinging = asyncio.ensure_future(_ping(address, wait)) if use_icmp else None
    client = snmp.SnmpClient(address, port, credentials, timeout=wait, retries=1)
    try:
        first = await client.get([probe.SYS_OBJECT_ID, probe.SYS_NAME])
    except snmp.SnmpError:
        first = None
    if first is not None:
        found.snmp = True
        found.sys_name = snmp.text(first.get(probe.SYS_NAME))
        try:
            found.probe = await probe.probe_async(client)
        except snmp.SnmpError as exc:
            found.error = str(exc)
    if pinging is not None:
        found.icmp = await pinging
    return found


async def sweep_async(
    addresses: list[IPAddress],
    credentials: snmp.Credentials,
    port: int = 161,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    icmp: bool = True,
    label: str = "",
) -> Sweep:
    """Sweep ``addresses`` (run it on the SNMP loop: :func:`sweep` does)."""
    started = time.monotonic()
    result = Sweep(
        label or _label(addresses), len(addresses), port, credentials, not icmp, timeout=timeout
    )
    if icmp:
        families = {socket.AF_INET6 if a.version == 6 else socket.AF_INET for a in addresses}
        result.icmp_error = next((why for f in families if (why := icmp_unavailable(f))), "")
    wait = max(0.1, min(1.0, timeout / 4))
    gate = asyncio.Semaphore(concurrency)

    async def one(address: IPAddress) -> Responder:
        async with gate:
            return await _ask(str(address), port, credentials, wait, result.icmp)

    tasks = [asyncio.create_task(one(a)) for a in addresses]
    done: set[asyncio.Task[Responder]] = set()
    if tasks:
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        result.unfinished = len(pending)
    for task in tasks:  # in address order
        if task in done and task.exception() is None:
            found = task.result()
            if found.icmp or found.snmp:
                result.responders.append(found)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def _label(addresses: list[IPAddress]) -> str:
    if not addresses:
        return ""
    return f"{addresses[0]}-{addresses[-1]}" if len(addresses) > 1 else str(addresses[0])


def sweep(
    text: str,
    credentials: snmp.Credentials,
    port: int = 161,
    timeout: float = DEFAULT_TIMEOUT,
    concurrency: int = DEFAULT_CONCURRENCY,
    icmp: bool = True,
) -> Sweep:
    """Parse ``text`` (:func:`parse_range`) and sweep it; blocks at most about ``timeout`` s."""
    addresses = parse_range(text)
    label = text.strip().replace(" ", "")
    coro = sweep_async(addresses, credentials, port, timeout, concurrency, icmp, label)
    return snmp.run(coro, timeout=timeout + 30)
