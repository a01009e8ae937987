"""A room's temperature trend: the cooling headroom as the room feels it, beside the watts.

The air conditioners' stated capacity against the IT load (``assets.capacity``) says nothing
of a blocked floor grille or a unit that no longer delivers its rating; the room's probes do.
Per room, over the capacity model's window (``capacity.yaml``'s ``window_days``, 14 days):

- **hourly temperature**: each hour the hottest of the room's probes' hourly mean
  ``env.temperature_c`` (``assets.extensions.room_temperatures``, from ``monitors``);
- **p95**: the 95th percentile (nearest rank: the ``ceil(0.95 n)``-th smallest) of those hours;
- **limit**: the room's upper normal temperature, the patrol checklist's (``room_environment``,
  27 °C by GB 50174-2017) with the site's and the room's overrides
  (``assets.extensions.room_temperature_limits``, from ``inspections``); **headroom** = limit − p95;
- **slope**: the least-squares line through the daily maxima (site days) of the hourly
  temperature, in °C a day (shown per 30 days); none with fewer than
  ``temperature_min_days`` (7) days of readings;
- **reaches the limit**: with a rising slope, the day the p95 plus the slope's rise reaches the
  limit, counted from the window's end (``today`` when the p95 is already there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from assets import extensions


@dataclass(frozen=True)
class TemperatureTrend:
    p95: float  # °C
    limit: float | None  # °C; None: no limit known for the room
    days: int  # site days with readings in the window
    slope: float | None  # °C a day; None: fewer than the minimum days

    @property
    def headroom(self) -> float | None:
        """°C left between the p95 and the limit (negative: over it)."""
        return None if self.limit is None else round(self.limit - self.p95, 2)

    @property
    def per_30_days(self) -> float | None:
        return None if self.slope is None else round(30 * self.slope, 2)

    def reaches(self, today: date) -> date | None:
        """The day the rising trend takes the p95 to the limit (``today``: already there);
        None when no limit, no slope, or a flat or falling one."""
        headroom = self.headroom
        if headroom is None:
            return None
        if headroom <= 0:
            return today
        if self.slope is None or self.slope <= 0:
            return None
        return today + timedelta(days=math.ceil(headroom / self.slope))


def p95(values: list[float]) -> float:
    """The nearest-rank 95th percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def slope(points: list[tuple[date, float]]) -> float | None:
    """The least-squares slope (per day) of (day, value) points; None with fewer than two days."""
    if len(points) < 2:
        return None
    first = points[0][0]
    xs = [float((d - first).days) for d, _v in points]
    ys = [v for _d, v in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx


def trend(
    hours: list[tuple[datetime, float]], limit: float | None, tz: ZoneInfo, min_days: int
) -> TemperatureTrend | None:
    """One room's trend from its hourly temperatures; None without any."""
    if not hours:
        return None
    daily: dict[date, float] = {}
    for hour, value in hours:
        day = (hour if hour.tzinfo else hour.replace(tzinfo=UTC)).astimezone(tz).date()
        daily[day] = max(daily.get(day, value), value)
    points = sorted(daily.items())
    return TemperatureTrend(
        p95=round(p95([v for _h, v in hours]), 2),
        limit=limit,
        days=len(points),
        slope=slope(points) if len(points) >= min_days else None,
    )


def trends(
    room_ids: list[int], start: datetime, end: datetime, tz: ZoneInfo, min_days: int
) -> dict[int, TemperatureTrend]:
    """Room id → its temperature trend over [start, end), for the rooms with readings."""
    if not room_ids:
        return {}
    hours = extensions.room_temperatures(room_ids, start, end)
    limits = extensions.room_temperature_limits(room_ids)
    out: dict[int, TemperatureTrend] = {}
    for room_id in room_ids:
        found = trend(hours.get(room_id, []), limits.get(room_id), tz, min_days)
        if found is not None:
            out[room_id] = found
    return out
