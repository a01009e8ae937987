"""Reads of the stored syslog messages: the search page, newest first, keyset-paged; and the
period's figures of the 日志分析 report (``reports/kinds/syslog.py``).

A page is the ``per_page`` newest messages matching the filters *before* a cursor (the
``(received_at, id)`` of the last row of the previous page), so page 1000 costs what page 1
costs and a message arriving meanwhile never shifts the pages (no ``OFFSET``). The indexes
serving it are described in :mod:`monitors.syslog.models`.

The report's figures (:func:`severity_counts`, :func:`top_sources`, :func:`top_programs`,
:func:`hourly_counts`) are each one ``GROUP BY`` over the period's rows, read along the
``received_at`` index; :func:`configured_rules` names the rules whose alerts it counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import Integer, case, cast, func, literal, select, tuple_

from assets import queries as registry
from monitors.syslog import rules
from monitors.syslog.models import SyslogMessage
from opskit import db

PER_PAGE = 50
PROBE = 5000  # newest messages a text search looks at first (see search)
RULE_PREFIX = rules.RULE_PREFIX  # an alert a syslog rule raised: rule "syslog.<name>"
SEVERE = 4  # warning: "warning or worse" is severity 0..4

#: the eight severities (0 emergency ... 7 debug) in words, for the page and the report
SEVERITY_WORDS = (
    _l("Emergency"),
    _l("Alert"),
    _l("Critical"),
    _l("Error"),
    _l("Warning"),
    _l("Notice"),
    _l("Informational"),
    _l("Debug"),
)


@dataclass
class Found:
    items: list[SyslogMessage]
    next_cursor: tuple[datetime, int] | None  # where the next (older) page starts


def search(
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    asset_id: int | None = None,
    max_severity: int | None = None,
    text: str = "",
    before: tuple[datetime, int] | None = None,
    per_page: int = PER_PAGE,
    probe: int = PROBE,
) -> Found:
    """Messages received in ``[start, end)`` of one asset, at least as severe as
    ``max_severity`` (0 emergency ... 7 debug), whose text, program or host name contains
    ``text``; the newest first, older than ``before``.

    A text search first looks among the ``probe`` newest messages the other filters keep (read
    backwards along the time index): when a page's worth match there, they are the newest
    matches of all, and a common text is found without the trigram indexes, through which
    PostgreSQL may otherwise choose to read every row holding its trigrams (1 s at 10 million
    rows instead of 5 ms). Otherwise (a rare text) the whole search runs, where those indexes
    serve it."""
    filters = []
    if start is not None:
        filters.append(SyslogMessage.received_at >= start)
    if end is not None:
        filters.append(SyslogMessage.received_at < end)
    if asset_id is not None:
        filters.append(SyslogMessage.asset_id == asset_id)
    if max_severity is not None and max_severity < 7:
        filters.append(SyslogMessage.severity <= max_severity)
    if before is not None:
        at, last_id = before
        filters.append(
            tuple_(SyslogMessage.received_at, SyslogMessage.id)
            < tuple_(literal(at, SyslogMessage.received_at.type), literal(last_id))
        )
    newest = (SyslogMessage.received_at.desc(), SyslogMessage.id.desc())
    rows: list[SyslogMessage] = []
    if text.strip():
        matching = db.text_search(
            text, SyslogMessage.text, SyslogMessage.program, SyslogMessage.hostname
        )
        if probe > per_page:
            window = select(SyslogMessage.id).where(*filters).order_by(*newest).limit(probe)
            rows = list(
                db.session().scalars(
                    select(SyslogMessage)
                    .where(SyslogMessage.id.in_(window.scalar_subquery()), matching)
                    .order_by(*newest)
                    .limit(per_page + 1)
                )
            )
        filters.append(matching)
    if len(rows) <= per_page:
        rows = list(
            db.session().scalars(
                select(SyslogMessage).where(*filters).order_by(*newest).limit(per_page + 1)
            )
        )
    more = len(rows) > per_page
    items = rows[:per_page]
    cursor = (items[-1].received_at, items[-1].id) if more and items else None
    return Found(items, cursor)


def assets_of(messages: list[SyslogMessage]) -> dict[int, Any]:
    ids = sorted({m.asset_id for m in messages if m.asset_id is not None})
    return {a.id: a for a in registry.assets_by_ids(ids)} if ids else {}


def asset_by_tag(tag: str) -> Any:
    return registry.asset_by_tag(tag.strip()) if tag.strip() else None


# --- the period's figures (the 日志分析 report) -------------------------------------------------


@dataclass(frozen=True)
class SourceCount:
    """One sender's messages in a period: an asset (all its addresses together) or, for an
    unknown sender, one address."""

    asset_id: int | None
    addresses: tuple[str, ...]
    messages: int
    severe: int  # warning or worse


@dataclass(frozen=True)
class ProgramCount:
    program: str
    messages: int
    worst: int  # the most severe severity seen (0 emergency ... 7 debug)
    senders: int  # distinct addresses
    latest_id: int  # its newest message (the highest id)


def _in(start: datetime, end: datetime) -> Any:
    return (SyslogMessage.received_at >= start) & (SyslogMessage.received_at < end)


def _severe() -> Any:
    return func.sum(case((SyslogMessage.severity <= SEVERE, 1), else_=0))


def severity_counts(start: datetime, end: datetime) -> dict[int, int]:
    """Messages received in ``[start, end)`` per severity (only those that occur)."""
    rows = db.session().execute(
        select(SyslogMessage.severity, func.count())
        .where(_in(start, end))
        .group_by(SyslogMessage.severity)
    )
    return {int(severity): int(n) for severity, n in rows}


def top_sources(start: datetime, end: datetime, limit: int = 10) -> list[SourceCount]:
    """The ``limit`` senders of most messages in ``[start, end)``, most first: an asset with
    every address it sent from, or an unknown address on its own."""
    rows = db.session().execute(
        select(SyslogMessage.asset_id, SyslogMessage.source, func.count(), _severe())
        .where(_in(start, end))
        .group_by(SyslogMessage.asset_id, SyslogMessage.source)
    )
    merged: dict[tuple[int | None, str], list[Any]] = {}
    for asset_id, source, n, severe in rows:
        key = (asset_id, "") if asset_id is not None else (None, source)
        entry = merged.setdefault(key, [set(), 0, 0])
        entry[0].add(source)
        entry[1] += int(n)
        entry[2] += int(severe or 0)
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1][1], kv[0][1], kv[0][0] or 0))
    return [
        SourceCount(key[0], tuple(sorted(entry[0])), entry[1], entry[2])
        for key, entry in ranked[:limit]
    ]


def top_programs(start: datetime, end: datetime, limit: int = 10) -> list[ProgramCount]:
    """The ``limit`` programs/tags (``sshd``, Cisco ``LINK-3-UPDOWN``, Huawei
    ``IFNET/4/LINK_STATE``) of most messages in ``[start, end)``, most first."""
    rows = db.session().execute(
        select(
            SyslogMessage.program,
            func.count().label("n"),
            func.min(SyslogMessage.severity),
            func.count(SyslogMessage.source.distinct()),
            func.max(SyslogMessage.id),
        )
        .where(_in(start, end))
        .group_by(SyslogMessage.program)
        .order_by(func.count().desc(), SyslogMessage.program)
        .limit(limit)
    )
    return [
        ProgramCount(program, int(n), int(worst), int(senders), int(latest))
        for program, n, worst, senders, latest in rows
    ]


def messages_by_ids(ids: list[int]) -> dict[int, SyslogMessage]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    found = db.session().scalars(select(SyslogMessage).where(SyslogMessage.id.in_(wanted)))
    return {m.id: m for m in found}


def _hour(column: Any) -> Any:
    """SQL for the whole hours from the epoch to ``column`` (UTC)."""
    if db.session().get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / 3600), Integer)
    # SQLite stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' text
    return cast(func.strftime("%s", column), Integer) // 3600


def hourly_counts(start: datetime, end: datetime) -> list[tuple[datetime, int, int]]:
    """(hour start in UTC, messages, warning or worse) of each hour of ``[start, end)`` that
    received any, in time order."""
    hour = _hour(SyslogMessage.received_at).label("hour")
    rows = db.session().execute(
        select(hour, func.count(), _severe()).where(_in(start, end)).group_by(hour).order_by(hour)
    )
    return [
        (datetime.fromtimestamp(int(h) * 3600, UTC), int(n), int(severe or 0))
        for h, n, severe in rows
    ]


def configured_rules() -> list[rules.Rule]:
    """The syslog rules in force (shipped and the instance's ``syslog_rules.yaml``); an empty
    list when a rule file is wrong (``opskit syslog rules`` says why)."""
    try:
        return rules.load(Path(current_app.instance_path) / rules.INSTANCE_FILE)
    except rules.RuleError:
        return []
