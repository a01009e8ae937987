"""The database side of ``opskit syslog receive``: messages stored, rules applied, old rows pruned.

- :func:`store`: a batch of parsed messages in one transaction: each matched to its asset by
  the sender's address (an SNMP monitor's host, else an asset's management IP or a registered
  address, as the traps are; remembered for ``ASSET_CACHE_S``), inserted in one
  ``INSERT`` of many rows, and the rules' alerts raised or cleared through the desk
  (``opskit.alerts.services.apply_changes``, one list a batch; one alert per asset, rule and
  instance).
- :func:`prune`: deletes messages older than the retention (``OPSKIT_SYSLOG_RETENTION_DAYS``)
  in batches of ``PRUNE_BATCH`` rows, one short transaction each, so a first prune of months
  of messages never holds the database for long.
- :func:`run`: the writer loop draining the receiver's queue until stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app, has_app_context
from sqlalchemy import delete, select

from monitors import queries, receivers, relay
from monitors.syslog import rules
from monitors.syslog.models import SyslogMessage
from monitors.syslog.parsing import Message
from monitors.syslog.receiver import Receiver
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.audit import acting_as

log = logging.getLogger(__name__)

BATCH = 1000  # messages written in one transaction at most
PRUNE_BATCH = 5000
ASSET_CACHE_S = 60.0
DEFAULT_RETENTION_DAYS = 180


def retention_days() -> int:
    settings = current_app.config.get("OPSKIT_SETTINGS") if has_app_context() else None
    return int(getattr(settings, "syslog_retention_days", DEFAULT_RETENTION_DAYS))


def instance_rules_file() -> Path | None:
    return Path(current_app.instance_path) / rules.INSTANCE_FILE if has_app_context() else None


def load_rules() -> list[rules.Rule]:
    """The shipped rules with the instance's file (:class:`rules.RuleError` when wrong)."""
    return rules.load(instance_rules_file())


class Writer:
    """Stores batches; remembers which asset each address is and the rules' bursts."""

    def __init__(self, engine: rules.Engine | None = None) -> None:
        self.engine = engine or rules.Engine(load_rules())
        self._assets = queries.SourceAssets(ASSET_CACHE_S)

    def store(self, messages: list[Message]) -> int:
        """Store a batch in one transaction (committed here); how many rows. The rules run
        first, once, outside the transaction (a retried transaction counts no burst twice);
        the alerts they raise or clear go to the desk as one list, in order
        (``opskit.alerts.conditions``: a few queries a batch)."""
        if not messages:
            return 0
        assets = self._assets(m.source for m in messages)
        changes: list[alerts.Change] = []
        rows = []
        for m in messages:
            asset_id = assets.get(m.source)
            rows.append(
                {
                    "received_at": m.received_at,
                    "source": m.source[:45],
                    "asset_id": asset_id,
                    "facility": m.facility,
                    "severity": m.severity,
                    "hostname": m.hostname,
                    "program": m.program,
                    "text": m.text,
                    "structured_data": m.structured_data,
                }
            )
            owner = f"asset{asset_id}" if asset_id is not None else f"ip{m.source}"
            for action in self.engine.actions(owner, m.severity, m.program, m.text, m.received_at):
                changes.append(_change(m, asset_id, owner, action))

        def work() -> int:
            db.insert_rows(SyslogMessage.__table__, rows)
            alerts.apply_changes(changes)
            db.session().flush()
            return len(rows)

        with acting_as("syslog"):
            return db.write(work)


def _change(m: Message, asset_id: int | None, owner: str, action: rules.Action) -> alerts.Change:
    """What one rule's action does to its condition (one per asset, rule and instance)."""
    key = f"syslog:{owner}:{action.rule.name}"
    key = f"{key}:{action.instance}" if action.instance else key
    if action.action == "raise":
        where = f" [{action.instance}]" if action.instance else ""
        said = f"{m.program}: {m.text}" if m.program else m.text
        return alerts.Raise(
            key,
            source="monitor",
            rule=f"{rules.RULE_PREFIX}{action.rule.name}",
            urgency=action.rule.urgency,
            message=f"{action.rule.title}{where} (syslog from {m.source}: {said})"[:1000],
            asset_id=asset_id,
            at=m.received_at,
        )
    return alerts.Clear(key, at=m.received_at, note=f"syslog: {m.text}"[:200])


def prune(now: datetime | None = None, days: int | None = None, batch: int = PRUNE_BATCH) -> int:
    """Delete messages older than the retention, ``batch`` rows a transaction; how many."""
    before = (now or clock.now()) - timedelta(days=days or retention_days())
    total = 0
    while True:

        def work() -> int:
            ids = select(SyslogMessage.id).where(SyslogMessage.received_at < before).limit(batch)
            chosen = list(db.session().scalars(ids))
            if not chosen:
                return 0
            result = db.session().execute(delete(SyslogMessage).where(SyslogMessage.id.in_(chosen)))
            return db.rowcount(result)

        gone = db.write(work)
        total += gone
        if gone < batch:
            return total


def prune_job() -> list[str]:
    """The notifier's periodic step (``opskit.jobs``): one line when something went."""
    gone = prune()
    return [f"{gone} syslog messages older than {retention_days()} days"] if gone else []


def drain(receiver: Receiver | relay.Relay, writer: Writer, timeout: float = 0.2) -> int:
    """Store one batch of what the receiver queued (waiting up to ``timeout`` for the first)."""
    batch: list[Message] = receivers.take(receiver.queue, BATCH, timeout, receivers.WRITER_LINGER_S)
    if not batch:
        return 0
    try:
        stored = writer.store(batch)
    except Exception:  # the next batch may be fine; never stop receiving
        log.exception("%d syslog messages could not be stored", len(batch))
        receiver.counts["store_failed"] += len(batch)
        db.session().rollback()
        return 0
    receiver.counts["stored"] += stored
    return stored


def run(
    receiver: Receiver | relay.Relay,
    stop: threading.Event,
    *,
    writer: Writer | None = None,
    report: Callable[[dict[str, int]], None] | None = None,
    report_s: float = 60.0,
    prune_s: float = 3600.0,
) -> None:
    """Write the receiver's messages until ``stop`` is set (inside an app context)."""
    writer = writer or Writer()
    reporter = receivers.Reporter(receiver.stats, report, report_s)
    next_prune = time.monotonic()
    while not stop.is_set():
        drain(receiver, writer)
        now = time.monotonic()
        if now >= next_prune:
            try:
                prune()
            except Exception:
                log.exception("old syslog messages not pruned")
                db.session().rollback()
            next_prune = now + prune_s
        reporter.tick(now)
    while drain(receiver, writer, timeout=0):  # what arrived before the stop
        pass
