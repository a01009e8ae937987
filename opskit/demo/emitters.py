"""The simulated devices talk back: SNMP traps and syslog as the real ones send them.

What each device sends, and when, is a pure function of the time (:func:`schedule`), so the
living demo (:func:`run`, a thread of ``opskit demo``) and the seeded history
(:func:`seed_history`) tell the same story, and a test can replay any hour:

- **the battery-test UPS** (``devices.BATTERY_TEST_UPS``, RFC 1628): when its recording's
  ``upsOutputSource`` turns to battery (the one-hour sine of ``recordings``: about six minutes
  an hour), ``upsTrapOnBattery`` and ``upsAlarmEntryAdded`` (``upsAlarmOnBattery``) — the
  ``ups_mib`` profile raises "UPS on battery"; when it turns back, ``upsAlarmEntryRemoved``
  (``upsAlarmOnBattery``) clears it. The varbinds carry the recording's values at that second.
- **the core switches** (Huawei CloudEngine): now and then an access port (``10GE1/0/6``) goes
  down for a minute or a few: ``linkDown``/``linkUp`` (IF-MIB, ifIndex of the recording) and
  ``%%01IFNET/4/IF_STATE`` lines; an SSH login that fails, an engineer who logs in and saves
  the configuration (``SSH/5/SSH_USER_LOGIN``, ``CFM/4/SAVE``). RFC 3164 with Huawei's header
  over UDP, facility local7.
- **the Linux database servers**: RFC 5424 over TCP, octet-counted as rsyslog forwards it:
  ``CRON`` every hour (the incremental backup), ``sshd`` logins, now and then a failed password
  (one at a time: no burst for the ``auth_failure_burst`` rule).

Everything random is drawn from ``random.Random("<seed>:<tag>:<hour>")``: deterministic per
device and hour, whatever window is asked for. About six messages an hour in all.

Each device sends from its own loopback address (``devices.address``), the host of its SNMP
monitor, which is how ``opskit traps`` and ``opskit syslog receive`` tell the senders apart
(an SNMP monitor's host names the asset). Traps are SNMPv2c, encoded by pysnmp, with the
device's community.
"""

from __future__ import annotations

import logging
import math
import random
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from monitors.syslog import parsing
from monitors.syslog import store as syslog_store
from monitors.traps import receiver
from monitors.traps import store as trap_store
from opskit import clock
from opskit.demo import devices, recordings

log = logging.getLogger("opskit.demo.emitters")

SEED = 16  # issue #16
HOUR = 3600
SWITCHES = ("ZJ-SW-001", "ZJ-SW-002")
SERVERS = ("ZJ-SRV-003", "ZJ-SRV-004")
ACCESS_PORT = ("12", "10GE1/0/6")  # ifIndex and name in the switch recordings
ENGINEER_PC = "10.10.0.60"

# RFC 1628 UPS-MIB
UPS_TRAP_ON_BATTERY = "1.3.6.1.2.1.33.2.1"
UPS_ALARM_ADDED = "1.3.6.1.2.1.33.2.3"
UPS_ALARM_REMOVED = "1.3.6.1.2.1.33.2.4"
UPS_ALARM_ID = "1.3.6.1.2.1.33.1.6.2.1.1"
UPS_ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2"
UPS_ALARM_ON_BATTERY = "1.3.6.1.2.1.33.1.6.3.2"
UPS_OUTPUT_SOURCE = "1.3.6.1.2.1.33.1.4.1.0"  # battery(5)
UPS_SECONDS_ON_BATTERY = "1.3.6.1.2.1.33.1.2.2.0"  # RFC 1628 upsSecondsOnBattery
UPS_MINUTES_REMAINING = "1.3.6.1.2.1.33.1.2.3.0"
UPS_CONFIG_LOW_BATT_TIME = "1.3.6.1.2.1.33.1.9.7.0"
# IF-MIB / SNMPv2-MIB
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
IF_INDEX, IF_DESCR = "1.3.6.1.2.1.2.2.1.1", "1.3.6.1.2.1.2.2.1.2"
IF_ADMIN, IF_OPER = "1.3.6.1.2.1.2.2.1.7", "1.3.6.1.2.1.2.2.1.8"

LOCAL7, AUTHPRIV, CRON = 23, 10, 9
WARNING, NOTICE, INFO = 4, 5, 6


@dataclass(frozen=True)
class Emission:
    """One thing a device sends at Unix time ``at``: a trap (``trap_oid`` and its varbinds as
    ``(oid, kind, value)``, kind ``i`` integer, ``s`` text, ``o`` OID, ``t`` timeticks) or a
    syslog message (``message``: the bytes on the wire, over TCP when ``tcp``)."""

    at: float
    tag: str
    trap_oid: str = ""
    varbinds: tuple[tuple[str, str, Any], ...] = ()
    message: bytes = b""
    tcp: bool = False

    @property
    def is_trap(self) -> bool:
        return bool(self.trap_oid)


# --- what the devices send, hour by hour ------------------------------------------------------


@cache
def _ups_records() -> dict[str, recordings.Record]:
    text = devices.recording(devices.by_tag(devices.BATTERY_TEST_UPS))
    return {r.oid: r for r in recordings.parse(text)}


def _ups_value(oid: str, at: float) -> int:
    value = recordings.value_at(_ups_records()[oid], at, at)
    return int(value) if isinstance(value, int) else 0


def on_battery(at: float) -> bool:
    """Whether the battery-test UPS's recording says battery (upsOutputSource 5) at ``at``."""
    return _ups_value(UPS_OUTPUT_SOURCE, at) == 5


def battery_changes(start: float, end: float) -> list[tuple[float, bool]]:
    """The whole seconds in ``[start, end)`` at which the UPS goes on battery (True) or back
    (False): scanned every 10 s, then narrowed to the second."""
    out: list[tuple[float, bool]] = []
    step = 10.0
    t = math.floor(start) - step
    state = on_battery(t)
    while t < end:
        nxt = t + step
        now_state = on_battery(nxt)
        if now_state != state:
            lo, hi = t, nxt  # state at lo differs from hi: find the first second of hi's state
            while hi - lo > 1:
                mid = math.floor((lo + hi) / 2)
                if on_battery(mid) == now_state:
                    hi = mid
                else:
                    lo = mid
            if start <= hi < end:
                out.append((hi, now_state))
            state = now_state
        t = nxt
    return out


def _uptime(at: float) -> int:
    """sysUpTime in hundredths: the recordings count from a fixed boot; any steady value does."""
    return int((at % (400 * 86400)) * 100)


def _ups_traps(at: float, going: bool) -> list[Emission]:
    tag = devices.BATTERY_TEST_UPS
    alarm = (
        (f"{UPS_ALARM_ID}.1", "i", 1),
        (f"{UPS_ALARM_DESCR}.1", "o", UPS_ALARM_ON_BATTERY),
    )
    if not going:
        return [Emission(at, tag, UPS_ALARM_REMOVED, alarm)]
    details = (
        (UPS_MINUTES_REMAINING, "i", _ups_value(UPS_MINUTES_REMAINING, at)),
        (UPS_SECONDS_ON_BATTERY, "i", 0),  # the trap is sent as the UPS goes on battery
        (UPS_CONFIG_LOW_BATT_TIME, "i", 2),
    )
    return [
        Emission(at, tag, UPS_TRAP_ON_BATTERY, details),
        Emission(at + 1, tag, UPS_ALARM_ADDED, alarm),
    ]


def _stamp_3164(at: float, tz: ZoneInfo) -> str:
    """Huawei's header time: ``Jul  6 2026 10:00:00`` (RFC 3164's day, space-padded, and the
    year) in the site's time zone."""
    local = datetime.fromtimestamp(at, UTC).astimezone(tz)
    return f"{local:%b} {local.day:2d} {local:%Y %H:%M:%S}"


def _huawei(at: float, tag: str, severity: int, tag_text: str, text: str, tz: ZoneInfo) -> Emission:
    host = devices.by_tag(tag).sys_name
    line = f"<{LOCAL7 * 8 + severity}>{_stamp_3164(at, tz)} {host} {tag_text}:{text}"
    return Emission(at, tag, message=line.encode())


def _linux(
    at: float, tag: str, facility: int, severity: int, app: str, pid: int, text: str, tz: ZoneInfo
) -> Emission:
    host = devices.by_tag(tag).sys_name
    local = datetime.fromtimestamp(at, UTC).astimezone(tz)
    stamp = local.isoformat(timespec="milliseconds")
    line = f"<{facility * 8 + severity}>1 {stamp} {host} {app} {pid} - - {text}"
    return Emission(at, tag, message=line.encode(), tcp=True)


def _switch_hour(tag: str, hour: int, rng: random.Random, tz: ZoneInfo) -> list[Emission]:
    out: list[Emission] = []
    base = hour * HOUR
    seq = rng.randint(1, 4000)
    if rng.random() < 0.08:  # an access port flaps: a cable, a server rebooting
        down = base + rng.uniform(0, HOUR - 400)
        up = down + rng.uniform(20, 300)
        index, name = ACCESS_PORT
        for at, trap, word, oper in ((down, LINK_DOWN, "DOWN", 2), (up, LINK_UP, "UP", 1)):
            varbinds = (
                (f"{IF_INDEX}.{index}", "i", int(index)),
                (f"{IF_ADMIN}.{index}", "i", 1),
                (f"{IF_OPER}.{index}", "i", oper),
                (f"{IF_DESCR}.{index}", "s", name),
            )
            out.append(Emission(at, tag, trap, varbinds))
            seq += 1
            out.append(
                _huawei(
                    at + 0.2,
                    tag,
                    WARNING if word == "DOWN" else INFO,
                    f"%%01IFNET/{WARNING if word == 'DOWN' else INFO}/IF_STATE(l)[{seq}]",
                    f"Interface {name} has turned into {word} state.",
                    tz,
                )
            )
    if rng.random() < 0.15:  # a mistyped password
        at = base + rng.uniform(0, HOUR)
        seq += 1
        out.append(
            _huawei(
                at,
                tag,
                NOTICE,
                f"%%01SSH/5/SSH_USER_LOGIN_FAIL(s)[{seq}]",
                "The SSH user failed to login. (ServiceType=stelnet, FailedReason=Password "
                f"authentication failed, UserName=netops, UserAddress={ENGINEER_PC}, "
                "VpnInstanceName=_public_)",
                tz,
            )
        )
    if rng.random() < 0.05:  # an engineer changes something and saves it
        at = base + rng.uniform(0, HOUR - 300)
        for offset, sev, tag_text, text in (
            (
                0.0,
                NOTICE,
                "%%01SSH/5/SSH_USER_LOGIN(s)",
                f"The SSH user succeeded in logging in. (ServiceType=stelnet, UserName=netops, "
                f"UserAddress={ENGINEER_PC}, VpnInstanceName=_public_)",
            ),
            (
                rng.uniform(60, 240),
                WARNING,
                "%%01CFM/4/SAVE(s)",
                "The user chose Y when deciding whether to save the configuration to the device.",
            ),
        ):
            seq += 1
            out.append(_huawei(at + offset, tag, sev, f"{tag_text}[{seq}]", text, tz))
    return out


def _server_hour(tag: str, hour: int, rng: random.Random, tz: ZoneInfo) -> list[Emission]:
    base, pid = hour * HOUR, rng.randint(2000, 60000)

    def port() -> int:
        return rng.randint(40000, 60000)

    cron = "(postgres) CMD (/usr/local/bin/pgbackup --incremental)"
    lines = [(base + 60 + rng.uniform(0, 2), CRON, "CRON", pid, cron)]
    if rng.random() < 0.3:
        lines.append(
            (
                base + rng.uniform(0, HOUR),
                AUTHPRIV,
                "sshd",
                pid + 7,
                f"Accepted publickey for deploy from {ENGINEER_PC} port {port()} ssh2: ED25519 "
                "SHA256:Vq3q5m1hDemoKeyOnly",
            )
        )
    if rng.random() < 0.2:
        failed = f"Failed password for root from {ENGINEER_PC} port {port()} ssh2"
        lines.append((base + rng.uniform(0, HOUR), AUTHPRIV, "sshd", pid + 11, failed))
    return [_linux(at, tag, fac, INFO, app, p, text, tz) for at, fac, app, p, text in lines]


@lru_cache(maxsize=512)
def _hour(hour: int, seed: int, tz_name: str) -> tuple[Emission, ...]:
    tz = ZoneInfo(tz_name)
    out: list[Emission] = []
    for at, going in battery_changes(hour * HOUR, (hour + 1) * HOUR):
        out.extend(_ups_traps(at, going))
    for tag in SWITCHES:
        out.extend(_switch_hour(tag, hour, random.Random(f"{seed}:{tag}:{hour}"), tz))
    for tag in SERVERS:
        out.extend(_server_hour(tag, hour, random.Random(f"{seed}:{tag}:{hour}"), tz))
    return tuple(sorted(out, key=lambda e: (e.at, e.tag)))


def schedule(start: float, end: float, seed: int = SEED, tz: str | None = None) -> list[Emission]:
    """Everything the devices send in ``[start, end)`` (Unix times), in time order."""
    tz_name = tz or str(clock.site_tz())
    out: list[Emission] = []
    for hour in range(math.floor(start / HOUR), math.ceil(end / HOUR)):
        out.extend(e for e in _hour(hour, seed, tz_name) if start <= e.at < end)
    return out


# --- on the wire ---------------------------------------------------------------------------


def encode_trap(emission: Emission, community: str) -> bytes:
    """An SNMPv2c trap PDU of the emission, encoded by pysnmp."""
    from pyasn1.codec.ber import encoder
    from pysnmp.proto import api, rfc1902

    proto = api.PROTOCOL_MODULES[api.SNMP_VERSION_2C]
    kinds: dict[str, Callable[[Any], Any]] = {
        "i": rfc1902.Integer32,
        "s": lambda v: rfc1902.OctetString(str(v).encode()),
        "o": rfc1902.ObjectName,
        "t": rfc1902.TimeTicks,
    }
    pdu = proto.SNMPv2TrapPDU()
    proto.apiTrapPDU.set_defaults(pdu)
    varbinds = [
        (rfc1902.ObjectName("1.3.6.1.2.1.1.3.0"), rfc1902.TimeTicks(_uptime(emission.at))),
        (rfc1902.ObjectName("1.3.6.1.6.3.1.1.4.1.0"), rfc1902.ObjectName(emission.trap_oid)),
        *((rfc1902.ObjectName(oid), kinds[kind](value)) for oid, kind, value in emission.varbinds),
    ]
    proto.apiTrapPDU.set_varbinds(pdu, varbinds)
    message = proto.Message()
    proto.apiMessage.set_defaults(message)
    proto.apiMessage.set_community(message, community)
    proto.apiMessage.set_pdu(message, pdu)
    return bytes(encoder.encode(message))


@dataclass(frozen=True)
class Targets:
    """Where the demo's receivers listen (127.0.0.1) and where each device sends from."""

    trap_port: int
    syslog_port: int
    addresses: dict[str, str]  # asset tag -> the device's loopback address
    host: str = "127.0.0.1"


def send(emission: Emission, targets: Targets) -> None:
    """Send one emission from its device's address (errors are logged, never raised)."""
    source = targets.addresses.get(emission.tag, "127.0.0.1")
    try:
        if emission.is_trap:
            data = encode_trap(emission, devices.by_tag(emission.tag).community)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((source, 0))
                s.sendto(data, (targets.host, targets.trap_port))
        elif emission.tcp:
            frame = str(len(emission.message)).encode() + b" " + emission.message
            with socket.create_connection(
                (targets.host, targets.syslog_port), timeout=5, source_address=(source, 0)
            ) as s:
                s.sendall(frame)
        else:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((source, 0))
                s.sendto(emission.message, (targets.host, targets.syslog_port))
    except OSError as exc:
        log.warning("%s could not send %s: %s", emission.tag, emission.trap_oid or "syslog", exc)


def run(
    stop: threading.Event,
    targets: Targets,
    *,
    now: Callable[[], float] | None = None,
    tick_s: float = 1.0,
) -> None:
    """Send what falls due, every ``tick_s``, until ``stop`` is set (a thread of the demo)."""
    now = now or (lambda: clock.now().timestamp())
    sent_until = now()
    while not stop.is_set():
        until = now()
        for emission in schedule(sent_until, until):
            send(emission, targets)
        sent_until = max(sent_until, until)
        stop.wait(tick_s)


# --- the seeded history ----------------------------------------------------------------------


def seed_history(now: datetime, days: int, addresses: dict[str, str]) -> dict[str, int]:
    """The past ``days`` of what the devices sent, stored through the receivers' own writers
    (``monitors.traps.store`` and ``monitors.syslog.store``: asset matching, rules, alerts
    raised and cleared), as if ``opskit traps`` and ``opskit syslog receive`` had run."""
    start = (now - timedelta(days=days)).timestamp()
    emissions = schedule(start, now.timestamp())
    traps, messages = [], []
    for e in emissions:
        when = datetime.fromtimestamp(e.at, UTC)
        source = addresses.get(e.tag, "127.0.0.1")
        if e.is_trap:
            varbinds = [("1.3.6.1.2.1.1.3.0", _uptime(e.at))]
            varbinds += [(oid, value) for oid, _kind, value in e.varbinds]
            traps.append(receiver.Trap(when, source, "2c", e.trap_oid, "", varbinds))
        else:
            messages.append(parsing.parse(e.message, source, when))
    _creds, hosts = trap_store.load_credentials()
    for chunk in _chunks(traps, trap_store.BATCH):
        trap_store.store(chunk, hosts)
    writer = syslog_store.Writer()
    for chunk in _chunks(messages, syslog_store.BATCH):
        writer.store(chunk)
    return {"traps": len(traps), "syslog": len(messages)}


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
