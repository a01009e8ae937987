"""The UDP side of ``opskit traps``: pysnmp 7's notification receiver on its own asyncio loop.

One ``SnmpEngine`` with one UDP socket (bound by us, so a refused privileged port says so)
accepts SNMPv1/v2c traps whose community is one of :class:`Credentials` ``communities`` and
SNMPv3 traps (and informs) of the USM users in ``users``. A v3 trap is authenticated with
the keys localised to its sender's engine ID, which nobody knows in advance: each datagram's
header is read first (engine ID and user name) and the user is registered for that engine ID
with the keys of the monitor at the sender's address (else of the first monitor with that
user name), so devices sharing a user name with different keys are told apart by address.

Each accepted trap becomes a :class:`Trap` put without waiting on a bounded queue; a full
queue sheds the trap and counts it (``shed``): a storm never blocks the socket or grows
memory beyond the queue. SNMPv1 and v2c traps are decoded on a fast path (:func:`decode_trap`,
the project's own BER reading, some 30x cheaper than pysnmp's) into the same :class:`Trap`
records as pysnmp's path; whatever that path does not read cleanly (informs, v3, odd encodings,
junk) goes to pysnmp, which judges it as before. Datagrams pysnmp refuses (truncated BER, wrong
community, unknown v3 user, a bad digest, 64 KiB of junk) are counted from the engine's own
counters and dropped (a clean v1/v2c trap with a wrong community is counted by the fast path
under the same name); the receiver carries on. The database is never touched here (see ``store``).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from typing import Any

from monitors import receivers, snmp
from monitors.traps.ber import SNMP_TRAP_ADDRESS, SNMP_TRAP_OID, NotFast, decode_trap
from opskit import clock

log = logging.getLogger(__name__)

DEFAULT_PORT = 162
DEFAULT_QUEUE = 10_000  # traps waiting for the database writer; beyond, traps are shed
HELD = 1000  # datagrams kept until the credentials are first known; beyond, shed
SNMP_TRAP_COMMUNITY = "1.3.6.1.6.3.18.1.4.0"  # never stored nor shown
_VERSIONS = {1: "1", 2: "2c", 3: "3"}  # pysnmp's security model -> SNMP version

#: the engine's counters of refused datagrams, by what we call them
_DROP_COUNTERS = {
    "malformed": ("__SNMPv2-MIB", ("snmpInASNParseErrs", "snmpInBadVersions")),
    "bad_community": ("__SNMPv2-MIB", ("snmpInBadCommunityNames", "snmpInBadCommunityUses")),
    "unknown_user": ("__SNMP-USER-BASED-SM-MIB", ("usmStatsUnknownUserNames",)),
    "auth_failed": (
        "__SNMP-USER-BASED-SM-MIB",
        (
            "usmStatsWrongDigests",
            "usmStatsDecryptionErrors",
            "usmStatsUnknownEngineIDs",
            "usmStatsNotInTimeWindows",
            "usmStatsUnsupportedSecLevels",
        ),
    ),
}


class BindError(OSError):
    """The UDP port cannot be opened; the message says what to do."""


@dataclass(frozen=True)
class V3User:
    """One SNMPv3 user's keys as a monitor stores them, and the address of that monitor."""

    host: str
    user: str
    auth_proto: str | None = None
    auth_key: str | None = None
    priv_proto: str | None = None
    priv_key: str | None = None


@dataclass(frozen=True)
class Credentials:
    """What the receiver accepts: v1/v2c communities and v3 users."""

    communities: frozenset[str] = frozenset()
    users: tuple[V3User, ...] = ()


@dataclass
class Trap:
    """One accepted notification, as the receiver hands it to the database writer."""

    received_at: datetime
    source: str
    version: str
    trap_oid: str
    agent_addr: str = ""
    varbinds: list[tuple[str, Any]] = field(default_factory=list)


def _value(value: Any) -> Any:
    """A varbind value as JSON: int, or text (OIDs and addresses dotted, bytes as text/hex)."""
    from pysnmp.proto import rfc1155

    if isinstance(value, rfc1155.IpAddress):  # a v1 agent-addr (RFC 1155's own IpAddress type)
        return ".".join(str(b) for b in value.asOctets())
    decoded = snmp.decode(value)
    if isinstance(decoded, bytes):
        return snmp.text(decoded)
    return decoded


def open_socket(host: str, port: int) -> socket.socket:
    """The bound UDP socket, or :class:`BindError` saying why and what to do."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except PermissionError:
        sock.close()
        raise BindError(
            f"cannot listen on UDP port {port}: ports below 1024 need root or "
            "CAP_NET_BIND_SERVICE. Run `opskit traps --port 10162` and redirect 162 to it, e.g. "
            "`iptables -t nat -A PREROUTING -p udp --dport 162 -j REDIRECT --to-ports 10162`, "
            "or `setcap cap_net_bind_service=+ep` on the Python interpreter"
        ) from None
    except OSError as exc:
        sock.close()
        raise BindError(f"cannot listen on UDP {host}:{port}: {exc.strerror}") from None
    receivers.widen(sock)
    sock.setblocking(False)
    return sock


def make_trap(source: str, version: str, varbinds: list[tuple[str, Any]]) -> Trap:
    """The :class:`Trap` of a notification's varbinds (values already plain)."""
    trap_oid, agent_addr, kept = "", "", []
    for name, value in varbinds:
        if name == SNMP_TRAP_OID:
            trap_oid = str(value)
        elif name == SNMP_TRAP_COMMUNITY:
            continue
        else:
            if name == SNMP_TRAP_ADDRESS and version == "1":
                agent_addr = str(value)
            kept.append((name, value))
    return Trap(clock.now(), source, version, trap_oid, agent_addr, kept)


class Receiver:
    """The trap receiver: :meth:`start` binds and runs it on a daemon thread's event loop."""

    def __init__(
        self,
        host: str = "0.0.0.0",  # noqa: S104 - traps come from every device of the room
        port: int = DEFAULT_PORT,
        *,
        queue_size: int = DEFAULT_QUEUE,
    ) -> None:
        self.host, self.port = host, port
        self.queue: queue.Queue[Trap] = queue.Queue(maxsize=queue_size)
        self.counts: Counter[str] = Counter()
        self._creds = Credentials()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._engine: Any = None
        self._communities: dict[str, str] = {}  # community -> its index in the engine
        self._learned: dict[tuple[bytes, bytes], V3User] = {}  # (engine id, user) -> keys used
        self._ready = threading.Event()
        self.fast = True  # v1/v2c traps through decode_trap (tests compare both paths)
        self._fast_communities: frozenset[bytes] = frozenset()
        self._odd_communities = False  # a non-ASCII community: pysnmp compares those
        # datagrams that arrive before the first configure() (the writer loading the monitors'
        # credentials) wait for it rather than being refused as a wrong community
        self._wanted = self._configured = False
        self._held: list[tuple[bytes, Any]] = []
        self._transport: Any = None

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Bind the port (:class:`BindError` when refused) and start receiving."""
        sock = open_socket(self.host, self.port)
        self.port = sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._run, args=(sock,), name="opskit-traps", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the trap receiver did not start")

    def _run(self, sock: socket.socket) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._open(sock))
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._loop.shutdown_asyncgens())
        self._loop.close()

    async def _open(self, sock: socket.socket) -> None:
        from pysnmp.carrier.asyncio.dgram import udp, udp6
        from pysnmp.entity import config, engine
        from pysnmp.entity.rfc3413 import ntfrcv

        receiver = self

        base: Any = (
            udp6.Udp6AsyncioTransport if sock.family == socket.AF_INET6 else udp.UdpAsyncioTransport
        )

        class Transport(base):
            def datagram_received(self, datagram: bytes, address: Any) -> None:
                self.one(datagram, address)
                receivers.drain_socket(sock, self.one)  # what else is waiting

            def one(self, datagram: bytes, address: Any) -> None:
                receiver.counts["received"] += 1
                if not receiver._configured:  # held until the credentials are known
                    if len(receiver._held) < HELD:
                        receiver._held.append((datagram, address))
                    else:
                        receiver.counts["shed"] += 1
                    return
                self.judge(datagram, address)

            def judge(self, datagram: bytes, address: Any) -> None:
                if receiver.fast and receiver._fast(datagram, address):
                    return
                try:
                    receiver._before_v3(datagram, address)
                except Exception:  # pysnmp judges the datagram next
                    log.debug("v3 header unreadable", exc_info=True)
                super().datagram_received(datagram, address)

        self._engine = engine.SnmpEngine()
        transport = self._transport = Transport()
        transport.open_server_mode(sock=sock)
        domain = udp6.DOMAIN_NAME if sock.family == socket.AF_INET6 else udp.DOMAIN_NAME
        config.add_transport(self._engine, domain, transport)
        ntfrcv.NotificationReceiver(self._engine, self._received)
        # the execution context of the message being processed (its transport address)
        self._engine.observer.register_observer(lambda *_: None, "rfc3412.receiveMessage:request")
        self._apply(self._creds)
        await asyncio.sleep(0)

    def stop(self) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return

        def close() -> None:
            if self._engine is not None and self._engine.transport_dispatcher is not None:
                self._engine.transport_dispatcher.close_dispatcher()
            loop.stop()

        loop.call_soon_threadsafe(close)
        if self._thread is not None:
            self._thread.join(10)

    # --- what is accepted ---------------------------------------------------------------

    def configure(self, creds: Credentials) -> None:
        """Accept these communities and v3 users from now on (thread-safe)."""
        self._creds = creds
        self._wanted = True
        if self._loop is not None and self._ready.is_set():
            self._loop.call_soon_threadsafe(self._apply, creds)

    def _apply(self, creds: Credentials) -> None:
        from pysnmp.entity import config

        for community in set(self._communities) - creds.communities:
            config.delete_v1_system(self._engine, self._communities.pop(community))
        for community in sorted(creds.communities - set(self._communities)):
            index = "c" + sha256(community.encode()).hexdigest()[:16]
            config.add_v1_system(self._engine, index, community)
            self._communities[community] = index
        self._learned.clear()  # v3 keys are registered again from the next datagram
        self._fast_communities = frozenset(c.encode() for c in creds.communities if c.isascii())
        self._odd_communities = any(not c.isascii() for c in creds.communities)
        if self._wanted and not self._configured:
            self._configured = True
            held, self._held = self._held, []
            for datagram, address in held:
                self._transport.judge(datagram, address)

    def _before_v3(self, datagram: bytes, address: Any) -> None:
        """An SNMPv3 datagram: register its user for its sender's engine ID with the keys of
        the monitor at that address (else the first monitor of that user name)."""
        if not self._creds.users or len(datagram) < 16:
            return
        from pyasn1.codec.ber import decoder
        from pysnmp.proto import api
        from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message
        from pysnmp.proto.secmod.rfc3414.service import UsmSecurityParameters

        if api.decodeMessageVersion(datagram) != 3:
            return
        message, _ = decoder.decode(datagram, asn1Spec=SNMPv3Message())
        params, _ = decoder.decode(
            message.getComponentByPosition(2), asn1Spec=UsmSecurityParameters()
        )
        engine_id = bytes(params.getComponentByPosition(0))
        user = bytes(params.getComponentByPosition(3))
        candidates = [u for u in self._creds.users if u.user.encode() == user]
        if not engine_id or not candidates:
            return
        source = str(address[0])
        chosen = next((u for u in candidates if u.host == source), candidates[0])
        if self._learned.get((engine_id, user)) == chosen:
            return
        self._add_user(engine_id, chosen)
        self._learned[(engine_id, user)] = chosen

    def _add_user(self, engine_id: bytes, user: V3User) -> None:
        from pysnmp.entity import config
        from pysnmp.proto.api import v2c

        auth = {
            None: config.USM_AUTH_NONE,
            "MD5": config.USM_AUTH_HMAC96_MD5,
            "SHA": config.USM_AUTH_HMAC96_SHA,
            "SHA224": config.USM_AUTH_HMAC128_SHA224,
            "SHA256": config.USM_AUTH_HMAC192_SHA256,
            "SHA384": config.USM_AUTH_HMAC256_SHA384,
            "SHA512": config.USM_AUTH_HMAC384_SHA512,
        }[user.auth_proto.upper() if user.auth_proto else None]
        priv = {
            None: config.USM_PRIV_NONE,
            "DES": config.USM_PRIV_CBC56_DES,
            "3DES": config.USM_PRIV_CBC168_3DES,
            "AES": config.USM_PRIV_CFB128_AES,
            "AES192": config.USM_PRIV_CFB192_AES,
            "AES256": config.USM_PRIV_CFB256_AES,
        }[user.priv_proto.upper() if user.priv_proto else None]
        config.add_v3_user(
            self._engine,
            user.user,
            auth,
            user.auth_key if user.auth_proto else None,
            priv,
            user.priv_key if user.priv_proto else None,
            securityEngineId=v2c.OctetString(engine_id),
        )

    # --- each trap ----------------------------------------------------------------------

    def _fast(self, datagram: bytes, address: Any) -> bool:
        """A v1/v2c trap read by :func:`decode_trap`: queued, or counted as pysnmp would count
        it (a wrong community); False leaves the datagram to pysnmp."""
        try:
            version, community, varbinds = decode_trap(datagram)
        except (NotFast, IndexError):
            return False
        if community not in self._fast_communities:
            if self._odd_communities:
                return False
            self.counts["bad_community"] += 1
            return True
        self._put(make_trap(str(address[0]), version, varbinds))
        return True

    def _received(
        self, engine: Any, ref: Any, _engine_id: Any, _context: Any, varbinds: Any, _ctx: Any
    ) -> None:
        try:
            _domain, address = engine.message_dispatcher.get_transport_info(ref)
            context = engine.observer.get_execution_context("rfc3412.receiveMessage:request")
            version = _VERSIONS.get(int(context.get("securityModel", 0)), "?")
            plain = [
                (str(oid), str(value) if str(oid) == SNMP_TRAP_OID else _value(value))
                for oid, value in varbinds
                if str(oid) != SNMP_TRAP_COMMUNITY
            ]
            trap = make_trap(str(address[0]), version, plain)
        except Exception:  # one odd trap must not stop the receiver
            log.exception("trap not understood")
            self.counts["malformed"] += 1
            return
        self._put(trap)

    def _put(self, trap: Trap) -> None:
        try:
            self.queue.put_nowait(trap)
        except queue.Full:
            self.counts["shed"] += 1
            return
        self.counts["accepted"] += 1

    def stats(self) -> dict[str, int]:
        """Datagrams received, traps accepted and shed, and the refused ones by reason."""
        out = {
            "received": self.counts["received"],
            "accepted": self.counts["accepted"],
            "shed": self.counts["shed"],
            "queued": self.queue.qsize(),
            "stored": self.counts["stored"],
            "store_failed": self.counts["store_failed"],
        }
        for name in _DROP_COUNTERS:
            out[name] = self.counts[name]
        if self._engine is not None:
            builder = self._engine.get_mib_builder()
            for name, (module, symbols) in _DROP_COUNTERS.items():
                for symbol in symbols:
                    try:
                        (node,) = builder.import_symbols(module, symbol)
                    except Exception:  # a counter this pysnmp lacks
                        log.debug("no counter %s", symbol)
                    else:
                        out[name] += int(node.syntax)
        return out
