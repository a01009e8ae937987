"""Rates from counters: ``if.in_bps`` / ``if.out_bps`` from the octet counters of two polls.

A kind reports counters as readings of a ``counter`` metric (``if.in_octets``, ``if.out_octets``)
with ``bits`` (32 or 64: how wide the agent's counter is). The poller keeps each monitor's last
counters in ``counter_state`` (so any poller, or a restarted one, continues) and turns each pair of
polls into a rate with :func:`rate`:

- the first poll of a counter gives no rate (nothing to compare with);
- a 32-bit counter that went backwards wrapped once if the wrapped difference is plausible (less
  than half the counter's range): the difference is taken modulo 2^32;
- a 64-bit counter never wraps in practice (10 years at 400 Gbit/s): going backwards means the
  agent restarted or the counter was reset, and gives no rate;
- the agent's uptime went down, or is shorter than the time between the polls: the agent restarted
  in between, its counters started again from zero, and there is no rate (never a spike).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitors.models import CounterState

#: counter metric → (rate metric, factor from units per second to the rate's unit)
RATES: dict[str, tuple[str, float]] = {
    "if.in_octets": ("if.in_bps", 8.0),
    "if.out_octets": ("if.out_bps", 8.0),
}


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


def derive(
    session: Session,
    monitor_id: int,
    readings: list[dict[str, Any]],
    now: datetime,
    uptime: float | None,
) -> list[dict[str, Any]]:
    """Replace the counter readings by rate readings (when there is a rate) and store the
    counters as the monitor's new ``counter_state``. Other readings pass through unchanged."""
    counters = [r for r in readings if r.get("metric") in RATES]
    if not counters:
        return readings
    state = session.get(CounterState, monitor_id)
    previous: dict[str, Any] = dict(state.counters) if state is not None else {}
    seconds = (now - state.at).total_seconds() if state is not None else 0.0
    previous_uptime = state.uptime_s if state is not None else None
    out = [r for r in readings if r.get("metric") not in RATES]
    stored: dict[str, list[int]] = {}
    for r in counters:
        value, bits = r.get("value"), int(r.get("bits") or 64)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            continue
        instance = r.get("instance") or ""
        key = _key(r["metric"], instance)
        stored[key] = [value, bits]
        before = previous.get(key)
        if state is None or before is None:
            continue
        per_second = rate(int(before[0]), value, seconds, bits, previous_uptime, uptime)
        if per_second is None:
            continue
        metric, factor = RATES[r["metric"]]
        out.append(
            {
                "metric": metric,
                "instance": instance,
                "value": _clean(per_second * factor),
                "unit": "bit/s",
            }
        )
    if state is None:
        session.add(CounterState(monitor_id=monitor_id, at=now, uptime_s=uptime, counters=stored))
    else:
        state.at, state.uptime_s, state.counters = now, uptime, stored
    return out
