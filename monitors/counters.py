"""Rates from counters: ``if.in_bps`` / ``if.out_bps`` from the octet counters of two polls,
``db.transactions_per_s`` and the other database rates, ``db.cache_hit_percent`` from two.

A kind reports counters as readings of a ``counter`` metric (``if.in_octets``, ``db.queries``)
with ``bits`` (32 or 64: how wide the agent's counter is; 64 when absent) and optionally ``age_s``
(how long this counter has been counting: since the server started or its statistics were last
reset, e.g. PostgreSQL's ``stats_reset``, MySQL's ``Uptime_since_flush_status``). The poller keeps
each monitor's last counters in ``counter_state`` (so any poller, or a restarted one, continues)
and turns each pair of polls into a rate with :func:`rate` (:data:`RATES`), or a share of two
counters' increases (:data:`SHARES`); ``opskit sql probe`` does the same between its two samples
(:func:`between`):

- the first poll of a counter gives no rate (nothing to compare with);
- a 32-bit counter that went backwards wrapped once if the wrapped difference is plausible (less
  than half the counter's range): the difference is taken modulo 2^32;
- a 64-bit counter never wraps in practice (10 years at 400 Gbit/s): going backwards means the
  agent restarted or the counter was reset, and gives no rate;
- the agent's uptime went down, or is shorter than the time between the polls: the agent restarted
  in between, its counters started again from zero, and there is no rate (never a spike). A
  reading's ``age_s`` stands for the uptime of that counter alone: a statistics reset between the
  polls (``pg_stat_reset()``, ``FLUSH STATUS``) gives no rate even when the counter has already
  climbed past its old value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitors.metrics import METRICS
from monitors.models import CounterState

#: counter metric → (rate metric, factor from units per second to the rate's unit)
RATES: dict[str, tuple[str, float]] = {
    "if.in_octets": ("if.in_bps", 8.0),
    "if.out_octets": ("if.out_bps", 8.0),
    "db.transactions": ("db.transactions_per_s", 1.0),
    "db.queries": ("db.queries_per_s", 1.0),
    "db.slow_queries": ("db.slow_queries_per_min", 60.0),
    "db.deadlocks": ("db.deadlocks_per_h", 3600.0),
    "db.temp_bytes": ("db.temp_bytes_per_s", 1.0),
    "db.temp_disk_tables": ("db.temp_disk_tables_per_min", 60.0),
    "db.checkpoints": ("db.checkpoints_per_h", 3600.0),
    "db.checkpoints_requested": ("db.checkpoints_requested_per_h", 3600.0),
}

#: percent metric → (part counter, whole counter): 100 × the part's increase / the whole's
#: between two polls (no reading when the whole did not increase)
SHARES: dict[str, tuple[str, str]] = {
    "db.cache_hit_percent": ("db.cache.hits", "db.cache.lookups"),
}

#: the counter metrics the poller consumes (they become rates and shares, not readings)
CONSUMED = set(RATES) | {name for pair in SHARES.values() for name in pair}


def rate(
    previous: int,
    current: int,
    seconds: float,
    bits: int = 64,
    previous_uptime: float | None = None,
    uptime: float | None = None,
) -> float | None:
    """Units per second between two readings of one counter, or ``None`` when there is no
    trustworthy rate (see the module docstring)."""
    if seconds <= 0 or previous < 0 or current < 0:
        return None
    if uptime is not None:
        if previous_uptime is not None and uptime < previous_uptime:
            return None  # restarted
        if uptime < seconds:
            return None  # restarted since the last poll, even if the counter looks fine
    delta = current - previous
    if delta < 0:
        if bits != 32:
            return None  # a 64-bit counter went backwards: reset, not a wrap
        delta += 2**32
        if delta >= 2**31:
            return None  # too far for one wrap: a reset
    return delta / seconds


def _key(metric: str, instance: str) -> str:
    return f"{metric}|{instance}"


def _clean(value: float) -> int | float:
    value = round(value, 3)
    return int(value) if value.is_integer() else value


@dataclass
class Snapshot:
    """One monitor's counters at one poll: ``counters`` by ``metric|instance`` as
    ``[value, bits]`` or ``[value, bits, age_s]`` (the ``counter_state`` row's JSON)."""

    at: datetime
    uptime_s: float | None = None
    counters: dict[str, list[Any]] = field(default_factory=dict)


def between(
    previous: Snapshot | None,
    readings: list[dict[str, Any]],
    now: datetime,
    uptime: float | None,
) -> tuple[list[dict[str, Any]], Snapshot]:
    """The readings with the consumed counters replaced by their rates and shares since
    ``previous`` (none on the first poll or across a restart/reset), and the new snapshot."""
    counters = [r for r in readings if r.get("metric") in CONSUMED]
    out = [r for r in readings if r.get("metric") not in CONSUMED]
    seconds = (now - previous.at).total_seconds() if previous is not None else 0.0
    before_all = previous.counters if previous is not None else {}
    previous_uptime = previous.uptime_s if previous is not None else None
    stored: dict[str, list[Any]] = {}
    per_second: dict[tuple[str, str], float] = {}
    for r in counters:
        value, bits = r.get("value"), int(r.get("bits") or 64)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            continue
        instance = r.get("instance") or ""
        key = _key(r["metric"], instance)
        age = r.get("age_s")
        stored[key] = [value, bits] if age is None else [value, bits, float(age)]
        before = before_all.get(key)
        if previous is None or before is None:
            continue
        if age is not None:  # the counter's own age stands for the device's uptime
            before_age = float(before[2]) if len(before) > 2 else None
            got = rate(int(before[0]), value, seconds, bits, before_age, float(age))
        else:
            got = rate(int(before[0]), value, seconds, bits, previous_uptime, uptime)
        if got is not None:
            per_second[(r["metric"], instance)] = got
    for (metric, instance), value in per_second.items():
        if metric not in RATES:
            continue
        name, factor = RATES[metric]
        out.append(
            {
                "metric": name,
                "instance": instance,
                "value": _clean(value * factor),
                "unit": METRICS[name]["unit"],
            }
        )
    for name, (part, whole) in SHARES.items():
        for (metric, instance), total in per_second.items():
            share = per_second.get((part, instance))
            if metric != whole or share is None or total <= 0 or not 0 <= share <= total:
                continue
            out.append(
                {
                    "metric": name,
                    "instance": instance,
                    "value": _clean(100.0 * share / total),
                    "unit": METRICS[name]["unit"],
                }
            )
    return out, Snapshot(now, uptime, stored)


def derive(
    session: Session,
    monitor_id: int,
    readings: list[dict[str, Any]],
    now: datetime,
    uptime: float | None,
) -> list[dict[str, Any]]:
    """Replace the counter readings by rate readings (when there is a rate) and store the
    counters as the monitor's new ``counter_state``. Other readings pass through unchanged."""
    if not any(r.get("metric") in CONSUMED for r in readings):
        return readings
    state = session.get(CounterState, monitor_id)
    previous = (
        Snapshot(state.at, state.uptime_s, dict(state.counters)) if state is not None else None
    )
    out, snapshot = between(previous, readings, now, uptime)
    if state is None:
        session.add(
            CounterState(monitor_id=monitor_id, at=now, uptime_s=uptime, counters=snapshot.counters)
        )
    else:
        state.at, state.uptime_s, state.counters = now, uptime, snapshot.counters
    return out
