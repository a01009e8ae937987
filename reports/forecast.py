"""Capacity forecasts: when will a resource's daily peaks reach its limit, and how sure is that.

Pure functions on a series of (day, peak) pairs; no database. The method, as the load sheet
states it:

- **Points**: the daily peaks (the highest reading of each site-calendar day) of the
  :data:`WINDOW_DAYS` days ending on the *last day that has a peak* — not the report period's
  end. The answer depends only on the data, so the December pack and the fourth quarter's pack
  (both ending on 31 December) give the same forecast, and a month with a gap at its end does not
  shift the line.
- **Minimum**: at least :data:`MIN_POINTS` daily peaks spanning at least :data:`MIN_SPAN_DAYS`
  days; with fewer the result is "not enough data" and says how many days there are (five days
  of data once gave +20 % a month).
- **Line**: ordinary least squares ``peak = a + b·x`` (x in days), growth per 30 days ``30·b``
  with its :data:`LEVEL` confidence band ``30·(b ± t·s/√Sxx)``.
- **Band**: the :data:`LEVEL` prediction interval of one day's peak at x,
  ``ŷ(x) ± t·s·√(1 + 1/n + (x − x̄)²/Sxx)``, t the two-sided Student t quantile with n − 2
  degrees of freedom, s the residuals' standard error. The *likeliest* crossing day is the first
  day the line reaches the limit, the *earliest* the first day the band's upper edge does, the
  *latest* the first day its lower edge does (none when the lower edge never gets there: the
  rise is not sure enough).
- **Horizon**: :data:`HORIZON_DAYS` after the last day. A flat or falling line, or a line that
  reaches the limit only beyond the horizon, is "not reached" rather than a date centuries away;
  a line already at the limit on the last day is "above".

:func:`forecast` returns a :class:`Forecast`, the one result the load sheet, its charts and a
recommendation engine read.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from statistics import NormalDist

WINDOW_DAYS = 91  # 13 weeks of daily peaks
MIN_POINTS = 28  # daily peaks needed for a date
MIN_SPAN_DAYS = 28  # from the first to the last of them, both counted
HORIZON_DAYS = 730  # two years after the last day
LEVEL = 0.90  # of the prediction interval and of the growth band

#: Forecast.state values (the kinds put them in words)
INSUFFICIENT, NO_LIMIT, ABOVE, NOT_REACHED, CROSSES = (
    "insufficient",
    "no_limit",
    "above",
    "not_reached",
    "crosses",
)


def t_quantile(p: float, df: int) -> float:
    """Student t quantile (the value with probability ``p`` below it) for ``df`` degrees of
    freedom: the Cornish-Fisher expansion around the normal quantile (Abramowitz & Stegun
    26.7.5), within 1e-4 of the exact value from 10 degrees of freedom (forecasts have at least
    ``MIN_POINTS - 2``); exact for 1 and 2."""
    if df < 1:
        raise ValueError("t_quantile needs at least one degree of freedom")
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        q = 2 * p - 1
        return q * math.sqrt(2 / (1 - q * q))
    z = NormalDist().inv_cdf(p)
    z2 = z * z
    g1 = (z2 + 1) * z / 4
    g2 = ((5 * z2 + 16) * z2 + 3) * z / 96
    g3 = (((3 * z2 + 19) * z2 + 17) * z2 - 15) * z / 384
    g4 = ((((79 * z2 + 776) * z2 + 1482) * z2 - 1920) * z2 - 945) * z / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


@dataclass(frozen=True)
class Forecast:
    """One resource's forecast. ``state`` is one of INSUFFICIENT, NO_LIMIT, ABOVE, NOT_REACHED,
    CROSSES; the line's fields are None when there is not enough data; crossing days are None
    when not reached within the horizon."""

    state: str
    days: int  # daily peaks present in the window
    first: date | None  # the window's first and last day with a peak
    last: date | None
    limit: float | None
    intercept: float | None = None  # the line's value on ``last``
    slope: float | None = None  # per day
    slope_low: float | None = None  # the LEVEL band of the slope
    slope_high: float | None = None
    earliest: date | None = None
    likeliest: date | None = None
    latest: date | None = None
    # what the band needs: the residuals' standard error times t, n, x̄ (days before ``last``,
    # negative) and Sxx
    spread: float = 0.0
    n: int = 0
    mean_x: float = 0.0
    sxx: float = 0.0

    def value(self, day: date) -> float | None:
        """The line's value on ``day``."""
        if self.intercept is None or self.slope is None or self.last is None:
            return None
        return self.intercept + self.slope * (day - self.last).days

    def band(self, day: date) -> tuple[float, float] | None:
        """The LEVEL prediction interval of the peak on ``day`` (low, high)."""
        mid = self.value(day)
        if mid is None:
            return None
        x = (day - self.last).days if self.last else 0
        half = self.spread * math.sqrt(1 + 1 / self.n + (x - self.mean_x) ** 2 / self.sxx)
        return mid - half, mid + half

    def growth(self, per: int = 30) -> tuple[float, float, float] | None:
        """Growth per ``per`` days (the line's, the band's low and high end)."""
        if self.slope is None or self.slope_low is None or self.slope_high is None:
            return None
        return self.slope * per, self.slope_low * per, self.slope_high * per


def window(points: Iterable[tuple[date, float]]) -> list[tuple[date, float]]:
    """The points a forecast uses: those of the WINDOW_DAYS days ending on the last day with
    a point, in day order (one point a day: a repeated day keeps its highest)."""
    peaks: dict[date, float] = {}
    for day, value in points:
        if value is None or math.isnan(value):
            continue
        old = peaks.get(day)
        peaks[day] = value if old is None else max(old, value)
    if not peaks:
        return []
    last = max(peaks)
    start = last - timedelta(days=WINDOW_DAYS - 1)
    return sorted((d, v) for d, v in peaks.items() if d >= start)


def forecast(points: Iterable[tuple[date, float]], limit: float | None) -> Forecast:
    """The forecast of when the daily peaks ``points`` reach ``limit`` (see the module's
    docstring for the method)."""
    used = window(points)
    n = len(used)
    first = used[0][0] if used else None
    last = used[-1][0] if used else None
    if n < MIN_POINTS or first is None or last is None or (last - first).days + 1 < MIN_SPAN_DAYS:
        return Forecast(INSUFFICIENT, n, first, last, limit)
    xs = [float((d - last).days) for d, _v in used]  # ≤ 0: the last day is x = 0
    ys = [v for _d, v in used]
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / sxx
    intercept = mean_y - slope * mean_x  # the line's value on the last day
    sse = sum((y - intercept - slope * x) ** 2 for x, y in zip(xs, ys, strict=True))
    s = math.sqrt(sse / (n - 2))
    t = t_quantile(0.5 + LEVEL / 2, n - 2)
    half = t * s / math.sqrt(sxx)
    base = Forecast(
        NO_LIMIT,
        n,
        first,
        last,
        limit,
        intercept,
        slope,
        slope - half,
        slope + half,
        spread=t * s,
        n=n,
        mean_x=mean_x,
        sxx=sxx,
    )
    if limit is None:
        return base
    if intercept >= limit:
        return _with(base, ABOVE, last, last, last)

    def line(x: float) -> float:
        return intercept + slope * x

    def edge(x: float, sign: int) -> float:
        return line(x) + sign * t * s * math.sqrt(1 + 1 / n + (x - mean_x) ** 2 / sxx)

    earliest = likeliest = latest = None
    if slope > 0:
        earliest = (
            0 if edge(0, 1) >= limit else _first_day(lambda x: edge(x, 1), limit, HORIZON_DAYS)
        )
    likeliest = _first_day(line, limit, HORIZON_DAYS) if slope > 0 else None
    if likeliest is not None:
        # the lower edge is concave: rising up to x* (where its slope is 0), falling after
        k2 = (t * s) ** 2
        top = float(HORIZON_DAYS)
        if k2 > slope * slope * sxx:
            top = min(top, mean_x + slope * sxx * math.sqrt((1 + 1 / n) / (k2 - slope**2 * sxx)))
        latest = _first_day(lambda x: edge(x, -1), limit, math.floor(top))

    def day(x: int | None) -> date | None:
        return None if x is None else last + timedelta(days=x)

    state = CROSSES if likeliest is not None else NOT_REACHED
    return _with(base, state, day(earliest), day(likeliest), day(latest))


def _with(
    base: Forecast, state: str, earliest: date | None, likeliest: date | None, latest: date | None
) -> Forecast:
    return Forecast(
        state,
        base.days,
        base.first,
        base.last,
        base.limit,
        base.intercept,
        base.slope,
        base.slope_low,
        base.slope_high,
        earliest,
        likeliest,
        latest,
        base.spread,
        base.n,
        base.mean_x,
        base.sxx,
    )


def _first_day(f: Callable[[float], float], limit: float, upto: int) -> int | None:
    """The first whole day x in [1, upto] with ``f(x) >= limit``, ``f`` rising on it; None
    when ``f(upto)`` is still below."""
    if upto < 1 or f(upto) < limit:
        return None
    lo, hi = 0, upto  # f(lo) < limit (x = 0 is the last day, below) ≤ f(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if f(mid) >= limit:
            hi = mid
        else:
            lo = mid
    return hi
