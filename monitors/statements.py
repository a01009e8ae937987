"""A database server's top statements per poll: the increases of the engine's cumulative
statement statistics between two polls, stored per hour (``StatementHour``).

PostgreSQL's ``pg_stat_statements`` and MySQL/MariaDB's
``performance_schema.events_statements_summary_by_digest`` count calls, execution time and rows
per normalised statement since their last reset. A kind reads them into a plain dict
(``Result.statements``)::

    {"reset": "2026-12-06T08:00:00+00:00",  # the whole table's last reset ("" when not kept)
     "at": "2026-12-06 16:00:00",            # the server's time of the read, where "since" is kept
     "complete": True,                       # every statement was read (not cut at the limit)
     "rows": [{"database", "id", "text", "calls", "total_ms", "rows", "since"}, ...]}

``id`` is PostgreSQL's ``queryid`` / MySQL's digest, ``database`` the database (schema) it ran
in, ``since`` when the engine started counting that statement (MySQL's ``FIRST_SEEN``, to the
second, in the server's time like ``at``; ``None`` where the engine does not say).
:func:`between` turns two reads into increases:

- the first read, or a reset of the whole table in between (``reset`` changed), gives nothing;
- a statement counted since before the previous read gives ``now − before``; a counter that
  went backwards (that statement alone was reset or evicted and re-entered) gives nothing for
  it — never a negative or a huge figure; one whose ``since`` changed was counted again from
  zero (``TRUNCATE`` of the digests, a restart) and gives its whole count;
- a statement the previous read did not have gives its whole count when it is new since then
  (``since`` not before the previous read's ``at``, or, where the engine keeps no ``since``,
  the previous read was complete: it would have been in it), else nothing (it was only outside
  the previous read's limit).

The :data:`TOP` statements of the poll by time are added to their hour's row (the poll's hour,
UTC); the report sums the hours of a period. Texts are capped at :data:`TEXT_CHARS`. The rows
are pruned with the hourly rollups' retention (``monitors.rollups.prune``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from monitors.models import Monitor, StatementHour, StatementState
from opskit import db

TOP = 20  # statements stored per poll (by total time)
READ_LIMIT = 500  # statements a check reads (by cumulative total time)
TEXT_CHARS = 1000  # a statement's text is cut here
ALL = "*"  # the statement_id of the row summing every statement's increase (not only the top)


def _key(row: dict[str, Any]) -> str:
    return f"{row['database']}|{row['id']}"


def between(
    previous: dict[str, Any] | None,
    current: dict[str, Any],
    top: int = TOP,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``top`` statements by time increase since ``previous`` (a state from this function,
    or None), then (when there is any increase) the sum of every statement's increase as a row
    of ``id`` :data:`ALL`; and the new state to keep."""
    rows = current.get("rows") or []
    state = {
        "reset": str(current.get("reset") or ""),
        "at": current.get("at"),
        "complete": bool(current.get("complete")),
        "counters": {_key(r): [r["calls"], r["total_ms"], r["rows"], r.get("since")] for r in rows},
    }
    if previous is None or previous.get("reset", "") != state["reset"]:
        return [], state
    before_all: dict[str, list[Any]] = previous.get("counters") or {}
    then = previous.get("at")
    increases = []
    for r in rows:
        now = (int(r["calls"]), float(r["total_ms"]), int(r["rows"]))
        since = r.get("since")
        before = before_all.get(_key(r))
        if before is not None and (since is None or (before[3:] or [None])[0] == since):
            delta = (now[0] - int(before[0]), now[1] - float(before[1]), now[2] - int(before[2]))
            if min(delta) < 0:
                continue  # this statement's counters were reset: no figure for it this poll
        elif before is not None:
            delta = now  # counted again from zero since the previous read
        elif since is not None:
            if then is None or since < then:
                continue  # it was there before, only outside the previous read's limit
            delta = now  # first seen since the previous read
        elif previous.get("complete"):
            delta = now  # the previous read had every statement: this one is new
        else:
            continue
        if delta[0] <= 0 and delta[1] <= 0:
            continue
        increases.append(
            {
                "database": r["database"],
                "id": r["id"],
                "text": str(r.get("text") or "").replace("\x00", "")[:TEXT_CHARS],
                "calls": delta[0],
                "total_ms": round(delta[1], 3),
                "rows": delta[2],
            }
        )
    increases.sort(key=lambda d: (-d["total_ms"], -d["calls"], d["database"], d["id"]))
    if not increases:
        return [], state
    everything = {
        "database": "",
        "id": ALL,
        "text": "",
        "calls": sum(d["calls"] for d in increases),
        "total_ms": round(sum(d["total_ms"] for d in increases), 3),
        "rows": sum(d["rows"] for d in increases),
    }
    return [*increases[:top], everything], state


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def store(
    session: Session,
    monitor_id: int,
    asset_id: int,
    statements: dict[str, Any],
    now: datetime,
) -> list[dict[str, Any]]:
    """Add this poll's top statement increases to their hour's rows and keep the counters as the
    monitor's new ``StatementState`` (in the caller's transaction); the increases stored."""
    state = session.get(StatementState, monitor_id)
    previous = None
    if state is not None:
        previous = {"reset": state.reset, **dict(state.counters)}
    increases, new = between(previous, statements)
    kept = {"at": new["at"], "complete": new["complete"], "counters": new["counters"]}
    if state is None:
        session.add(
            StatementState(monitor_id=monitor_id, at=now, reset=new["reset"], counters=kept)
        )
    else:
        state.at, state.reset, state.counters = now, new["reset"], kept
    if not increases:
        return increases
    hour = hour_of(now)
    rows = [
        {
            "monitor_id": monitor_id,
            "asset_id": asset_id,
            "hour": hour,
            "database": str(d["database"])[:64],
            "statement_id": str(d["id"])[:64],
            "text": d["text"],
            "calls": d["calls"],
            "total_ms": d["total_ms"],
            "rows": d["rows"],
        }
        for d in increases
    ]
    upsert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = upsert(StatementHour).values(rows)
    table = StatementHour.__table__
    statement = statement.on_conflict_do_update(
        index_elements=["monitor_id", "hour", "database", "statement_id"],
        set_={
            "text": statement.excluded.text,
            "calls": table.c.calls + statement.excluded.calls,
            "total_ms": table.c.total_ms + statement.excluded.total_ms,
            "rows": table.c.rows + statement.excluded.rows,
        },
    )
    session.execute(statement)
    return increases


def withheld(
    session: Session, monitor_id: int, missing: list[dict[str, str]], now: datetime
) -> None:
    """A check that could not read the statements (``missing`` names ``db.top_statements``):
    keep the reason as the monitor's state (the report says it), and forget the counters (the
    next read after it is enabled compares with nothing)."""
    why = next((m["reason"] for m in missing if m.get("metric") == "db.top_statements"), None)
    if why is None:
        return
    state = session.get(StatementState, monitor_id)
    kept = {"missing": why}
    if state is None:
        session.add(StatementState(monitor_id=monitor_id, at=now, reset="", counters=kept))
    else:
        state.at, state.reset, state.counters = now, "", kept


def prune(session: Session, before: datetime) -> int:
    """Delete the hours before ``before`` (the hourly rollups' cut); rows deleted."""
    return db.rowcount(
        session.execute(delete(StatementHour.__table__).where(StatementHour.hour < before))
    )


# --- reads for the reports -----------------------------------------------------------------


@dataclass
class PeriodStatement:
    """One statement of one server summed over a period's hours."""

    database: str
    statement_id: str
    text: str
    calls: int
    total_ms: float
    rows: int

    @property
    def mean_ms(self) -> float | None:
        return self.total_ms / self.calls if self.calls else None


def top_in_period(
    asset_ids: list[int], start: datetime, end: datetime, top: int = 10
) -> dict[int, tuple[list[PeriodStatement], PeriodStatement | None]]:
    """Per asset with stored statements in [start, end): its ``top`` statements by total time
    and the sum of every statement's time (the :data:`ALL` rows; None where absent)."""
    if not asset_ids:
        return {}
    h = StatementHour
    rows = db.session().execute(
        select(
            h.asset_id,
            h.database,
            h.statement_id,
            func.max(h.text),
            func.sum(h.calls),
            func.sum(h.total_ms),
            func.sum(h.rows),
        )
        .where(h.asset_id.in_(asset_ids), h.hour >= start, h.hour < end)
        .group_by(h.asset_id, h.database, h.statement_id)
    )
    found: dict[int, list[PeriodStatement]] = {}
    totals: dict[int, PeriodStatement] = {}
    for asset_id, database, sid, text, calls, total, count in rows:
        one = PeriodStatement(database, sid, text or "", int(calls), float(total), int(count))
        if sid == ALL and database == "":
            totals[asset_id] = one
        else:
            found.setdefault(asset_id, []).append(one)
    out = {}
    for asset_id in sorted(set(found) | set(totals)):
        ranked = sorted(
            found.get(asset_id, []), key=lambda p: (-p.total_ms, -p.calls, p.database, p.text)
        )
        out[asset_id] = (ranked[:top], totals.get(asset_id))
    return out


def withheld_reasons(asset_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Per asset, its database monitors whose last check could not read the statements:
    (kind, the reason the check gave)."""
    if not asset_ids:
        return {}
    out: dict[int, list[tuple[str, str]]] = {}
    rows = db.session().execute(
        select(Monitor.asset_id, Monitor.kind, StatementState.counters)
        .join(StatementState, StatementState.monitor_id == Monitor.id)
        .where(Monitor.asset_id.in_(asset_ids))
        .order_by(Monitor.asset_id, Monitor.id)
    )
    for asset_id, kind, counters in rows:
        why = (counters or {}).get("missing")
        if why:
            out.setdefault(asset_id, []).append((kind, str(why)))
    return out
