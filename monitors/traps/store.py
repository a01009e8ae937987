"""The database side of ``opskit traps``: credentials in, traps and alerts out.

- :func:`load_credentials`: the communities and v3 users of the stored SNMP monitors (their
  secrets decrypted here, handed to the receiver, never logged), and which asset each
  monitor's host belongs to.
- :func:`store`: each trap matched to its asset (the source address, then a v1 trap's
  agent-addr: a monitor's host, an asset's management IP or a registered address), stored
  in ``snmp_trap`` with what the profiles' rules did, and the alerts raised or cleared through
  the desk (``opskit.alerts.services.apply_changes``, one list a batch; one alert per asset,
  condition and instance).
- :func:`run`: the writer loop, draining the receiver's queue in batches until stopped,
  refreshing the credentials and pruning old traps now and then.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, select

from monitors import queries, receivers, relay
from monitors.models import Monitor, SnmpTrap
from monitors.traps import rules
from monitors.traps.receiver import Credentials, Receiver, Trap, V3User
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.audit import acting_as
from opskit.crypto import SecretError

log = logging.getLogger(__name__)

RETENTION = timedelta(days=30)
BATCH = 1000  # traps written in one transaction at most
REFRESH_S = 60.0  # seconds between reloads of the monitors' credentials


def load_credentials(extra_communities: tuple[str, ...] = ()) -> tuple[Credentials, dict[str, int]]:
    """The SNMP monitors' communities and v3 users, and host → asset id."""
    communities = {c for c in extra_communities if c}
    users: list[V3User] = []
    sess = db.session()
    for monitor in sess.scalars(select(Monitor).where(Monitor.kind == "snmp").order_by(Monitor.id)):
        settings = monitor.settings or {}
        host = str(settings.get("host") or "")
        try:
            secret = json.loads(monitor.secret) if monitor.secret else {}
        except (SecretError, ValueError):
            log.warning("monitor %s: its secret cannot be read; its traps are refused", monitor.id)
            continue
        if settings.get("version") == "3":
            if settings.get("user"):
                users.append(
                    V3User(
                        host=host,
                        user=str(settings["user"]),
                        auth_proto=settings.get("auth_proto"),
                        auth_key=secret.get("auth_key"),
                        priv_proto=settings.get("priv_proto"),
                        priv_key=secret.get("priv_key"),
                    )
                )
        elif secret.get("community"):
            communities.add(str(secret["community"]))
    return Credentials(frozenset(communities), tuple(users)), queries.snmp_hosts()


def _is_ip(text: str) -> bool:
    """An address to look up (a v1 agent-addr can arrive as four raw bytes: not one)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _assets_of(
    traps: list[Trap], hosts: dict[str, int], known: queries.SourceAssets | None = None
) -> list[int | None]:
    """Each trap's asset: the source's, else the agent-addr's; a monitor's host (of either)
    comes first. One lookup for the whole batch (none for addresses ``known`` already)."""
    seen = {a for t in traps for a in (t.source, t.agent_addr) if a}
    found = (known or queries.SourceAssets())([a for a in seen if _is_ip(a)], hosts)
    out: list[int | None] = []
    for trap in traps:
        pair = [a for a in (trap.source, trap.agent_addr) if a]
        monitored = [a for a in pair if a in hosts]
        if monitored:
            out.append(hosts[monitored[0]])
        else:
            out.append(next((found[a] for a in pair if found.get(a) is not None), None))
    return out


def _dedup_key(asset_id: int | None, source: str, action: rules.Action) -> str:
    owner = f"asset{asset_id}" if asset_id is not None else f"ip{source}"
    key = f"trap:{owner}:{action.condition}"
    return f"{key}:{action.instance}" if action.instance else key


def store(
    traps: list[Trap], hosts: dict[str, int], known: queries.SourceAssets | None = None
) -> None:
    """Store a batch in one transaction (committed here): the senders' assets looked up once,
    the rows inserted in one statement, then the alerts its traps raise or clear handed to the
    desk as one list, in order (``opskit.alerts.conditions``: a few queries a batch)."""
    assets = _assets_of(traps, hosts, known)
    done_by = rules.actions_of((t.trap_oid, t.varbinds) for t in traps)
    acting = list(zip(traps, assets, done_by, strict=True))
    rows = [
        {
            "received_at": t.received_at,
            "source": t.source[:45],
            "agent_addr": t.agent_addr[:45],
            "version": t.version,
            "asset_id": asset_id,
            "trap_oid": t.trap_oid[:255],
            "varbinds": {oid: value for oid, value in t.varbinds},
            "actions": ", ".join(str(a) for a in done)[:255],
        }
        for t, asset_id, done in acting
    ]
    changes: list[alerts.Change] = []
    for trap, asset_id, done in acting:
        for action in done:
            key = _dedup_key(asset_id, trap.source, action)
            if action.action == "raise":
                where = f" [{action.instance}]" if action.instance else ""
                changes.append(
                    alerts.Raise(
                        key,
                        source="monitor",
                        rule=f"{rules.RULE_PREFIX}{action.profile}.{action.condition}",
                        urgency=action.urgency,
                        message=(
                            f"{action.title}{where} (SNMP trap {trap.trap_oid} from {trap.source})"
                        ),
                        asset_id=asset_id,
                        at=trap.received_at,
                    )
                )
            else:
                changes.append(
                    alerts.Clear(key, at=trap.received_at, note=f"SNMP trap {trap.trap_oid}")
                )

    def work() -> None:
        db.insert_rows(SnmpTrap.__table__, rows)
        alerts.apply_changes(changes)
        db.session().flush()

    with acting_as("traps"):
        db.write(work)


def prune(now: Any = None) -> int:
    """Delete traps older than ``RETENTION``; how many went."""
    before = (now or clock.now()) - RETENTION

    def work() -> int:
        result = db.session().execute(delete(SnmpTrap).where(SnmpTrap.received_at < before))
        return db.rowcount(result)

    return db.write(work)


def run(
    receiver: Receiver | relay.Relay,
    stop: threading.Event,
    extra_communities: tuple[str, ...] = (),
    *,
    refresh_s: float = REFRESH_S,
    report: Callable[[dict[str, int]], None] | None = None,
    report_s: float = 60.0,
) -> None:
    """Write the receiver's traps until ``stop`` is set (inside an app context)."""
    creds, hosts = load_credentials(extra_communities)
    known = queries.SourceAssets(refresh_s)  # the senders' assets, as of the credentials
    receiver.configure(creds)
    db.session().commit()
    next_refresh = time.monotonic() + refresh_s
    reporter = receivers.Reporter(receiver.stats, report, report_s)
    next_prune = time.monotonic()
    while not stop.is_set():
        batch: list[Trap] = receivers.take(receiver.queue, BATCH, 0.2, receivers.WRITER_LINGER_S)
        if batch:
            try:
                store(batch, hosts, known)
            except Exception:  # the next batch may be fine; never stop receiving
                log.exception("%d traps could not be stored", len(batch))
                receiver.counts["store_failed"] += len(batch)
                db.session().rollback()
            else:
                receiver.counts["stored"] += len(batch)
        now = time.monotonic()
        if now >= next_refresh:
            creds, hosts = load_credentials(extra_communities)
            known = queries.SourceAssets(refresh_s)
            receiver.configure(creds)
            db.session().commit()
            next_refresh = now + refresh_s
        if now >= next_prune:
            prune()
            next_prune = now + 3600
        reporter.tick(now)
