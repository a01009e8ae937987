"""Reads of the monitoring tables: latest readings, chart series, monitors, poller heartbeat;
which asset sends from an address (``assets_by_source``, remembered by ``SourceAssets``: syslog,
traps); the LLDP-vs-registry
comparison (``compare_links``, from ``monitors.topology``); the availability and outages
computed from the state flips (``monitors.availability``); and database servers' top statements
over a period (``monitors.statements``)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, select, union_all
from sqlalchemy.orm import aliased

from assets import queries as assets
from monitors import load
from monitors.availability import Availability as Availability
from monitors.availability import Stretch as Stretch
from monitors.availability import availabilities as availabilities
from monitors.availability import availability as availability
from monitors.availability import recent_availability as recent_availability
from monitors.availability import recent_flips as recent_flips
from monitors.availability import timelines as timelines
from monitors.history import IN_CHUNK as IN_CHUNK
from monitors.history import RAW_COLUMNS as RAW_COLUMNS
from monitors.history import ROLLUP_COLUMNS as ROLLUP_COLUMNS
from monitors.history import arp_sightings_between as arp_sightings_between
from monitors.history import hourly_values as hourly_values
from monitors.history import lldp_neighbours_between as lldp_neighbours_between
from monitors.history import metric_rows as metric_rows
from monitors.history import volume_usage as volume_usage
from monitors.kinds import of as _kind_of
from monitors.metrics import METRICS as _METRICS
from monitors.metrics import label as _metric_label
from monitors.models import (
    LldpNeighbor,
    Monitor,
    MonitorState,
    PollerHeartbeat,
    Reading,
    Resolution,
    Rollup,
)
from monitors.report_stats import Percentile as Percentile
from monitors.report_stats import RangeStats as RangeStats
from monitors.report_stats import instances_of as instances_of
from monitors.report_stats import percentiles as percentiles
from monitors.report_stats import range_stats as range_stats
from monitors.report_stats import stats_by_asset as stats_by_asset
from monitors.statements import PeriodStatement as PeriodStatement
from monitors.statements import top_in_period as top_in_period
from monitors.statements import withheld_reasons as withheld_reasons
from monitors.topology import LINK_STATES as LINK_STATES
from monitors.topology import LinkComparison as LinkComparison
from monitors.topology import compare_links as compare_links
from monitors.topology import norm_port as norm_port
from opskit import db
from opskit.alerts import queries as alerts
from opskit.db import utcnow


def latest_readings(asset_id: int) -> list[Reading]:
    """The newest reading of each (metric, instance) of an asset, sorted by metric, instance."""
    newest = (
        select(Reading.metric, Reading.instance, func.max(Reading.at).label("at"))
        .where(Reading.asset_id == asset_id)
        .group_by(Reading.metric, Reading.instance)
        .subquery()
    )
    query = (
        select(Reading)
        .join(
            newest,
            (Reading.metric == newest.c.metric)
            & (Reading.instance == newest.c.instance)
            & (Reading.at == newest.c.at),
        )
        .where(Reading.asset_id == asset_id)
        .order_by(Reading.metric, Reading.instance, Reading.id.desc())
    )
    seen: set[tuple[str, str]] = set()
    out = []
    for r in db.session().scalars(query):
        if (r.metric, r.instance) not in seen:  # two monitors may report at the same second
            seen.add((r.metric, r.instance))
            out.append(r)
    return out


#: The longest span served from raw readings, then from 5-minute rollups; longer: hourly.
RAW_SPAN = timedelta(days=2)
FIVE_MINUTE_SPAN = timedelta(days=31)


def resolution_for(span: timedelta) -> int:
    """The resolution (0 raw, 300, 3600 seconds) a chart of ``span`` is drawn from."""
    if span <= RAW_SPAN:
        return 0
    return 300 if span <= FIVE_MINUTE_SPAN else 3600


def series(
    asset_id: int,
    metric: str,
    instance: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    resolution: int | None = None,
) -> list[tuple[datetime, float | None]]:
    """(time, value) points of one metric of an asset, oldest first, for charts.

    The resolution follows the span asked (``resolution_for``): raw readings up to 2 days,
    5-minute averages up to 31 days, hourly averages beyond (time = bucket start). Without
    ``since`` every raw reading is returned. When the rollups have nothing for the span (not
    run yet) the raw readings are used. ``resolution`` (0, 300, 3600) forces one.
    """
    if resolution is None:
        span = (until or utcnow()) - since if since is not None else timedelta(0)
        resolution = resolution_for(span)
    if resolution:
        query = select(Rollup.bucket, Rollup.avg).where(
            Rollup.asset_id == asset_id,
            Rollup.metric == metric,
            Rollup.instance == instance,
            Rollup.resolution == resolution,
        )
        if since is not None:
            query = query.where(Rollup.bucket >= since)
        if until is not None:
            query = query.where(Rollup.bucket < until)
        points: list[tuple[datetime, float | None]] = [
            (at, value) for at, value in db.session().execute(query.order_by(Rollup.bucket))
        ]
        if points:
            return points
    raw = select(Reading.at, Reading.value).where(
        Reading.asset_id == asset_id, Reading.metric == metric, Reading.instance == instance
    )
    if since is not None:
        raw = raw.where(Reading.at >= since)
    if until is not None:
        raw = raw.where(Reading.at < until)
    return [(at, value) for at, value in db.session().execute(raw.order_by(Reading.at))]


def monitors(asset_id: int | None = None) -> list[Monitor]:
    """Monitors (of one asset, or all), by asset then id. Never render ``secret``."""
    query = select(Monitor).order_by(Monitor.asset_id, Monitor.id)
    if asset_id is not None:
        query = query.where(Monitor.asset_id == asset_id)
    return list(db.session().scalars(query))


def snmp_hosts() -> dict[str, int]:
    """The SNMP monitors' ``host`` setting → their asset id (monitors sharing a host: the
    lowest id wins)."""
    out: dict[str, int] = {}
    query = select(Monitor).where(Monitor.kind == "snmp").order_by(Monitor.id)
    for monitor in db.session().scalars(query):
        host = str((monitor.settings or {}).get("host") or "")
        if host:
            out.setdefault(host, monitor.asset_id)
    return out


def assets_by_source(
    addresses: Iterable[str], hosts: Mapping[str, int] | None = None
) -> dict[str, int | None]:
    """Address → id of the asset sending from it (syslog, traps), ``None`` when none: an SNMP
    monitor's host first (``hosts``, read by :func:`snmp_hosts` when not given), then an
    asset's management IP or a registered address (``assets_by_identity``). Empty addresses
    are left out; the rest keep their order."""
    wanted = list(dict.fromkeys(a for a in addresses if a))
    if hosts is None:
        hosts = snmp_hosts() if wanted else {}
    found = assets.assets_by_identity(ips=[a for a in wanted if a not in hosts])
    return {a: hosts[a] if a in hosts else found.get(a) for a in wanted}


class SourceAssets:
    """Sender address → asset id (``None``: not registered) for a writer loop, looked up in
    the database once per address every ``refresh_s`` seconds (``queries.assets_by_source``:
    an SNMP monitor's host, else an asset's management IP or registered address): a batch of
    a thousand messages from the room's forty devices costs no query."""

    def __init__(self, refresh_s: float = 60.0) -> None:
        self.refresh_s = refresh_s
        self._known: dict[str, int | None] = {}
        self._at = 0.0

    def __call__(
        self, sources: Iterable[str], hosts: Mapping[str, int] | None = None
    ) -> dict[str, int | None]:
        now = time.monotonic()
        if now - self._at > self.refresh_s:
            self._known.clear()
            self._at = now
        wanted = sorted({s for s in sources if s and s not in self._known})
        if wanted:
            self._known.update(assets_by_source(wanted, hosts))
        return self._known


def poller_health(now: datetime | None = None) -> dict[str, Any]:
    """For /healthz: when a poller last completed a cycle and how long ago (``None``: never)."""
    now = now or utcnow()
    row = (
        db.session()
        .execute(
            select(PollerHeartbeat.at, PollerHeartbeat.worker)
            .order_by(PollerHeartbeat.at.desc())
            .limit(1)
        )
        .first()
    )
    enabled = db.session().scalar(
        select(func.count()).select_from(Monitor).where(Monitor.enabled.is_(True))
    )
    if row is None:
        return {"last_cycle_at": None, "age_s": None, "worker": None, "monitors": enabled}
    return {
        "last_cycle_at": row.at.isoformat(timespec="seconds"),
        "age_s": round((now - row.at).total_seconds()),
        "worker": row.worker,
        "monitors": enabled,
    }


# --- dashboard and monitor screens (D1) -------------------------------------------------------
# Every read below is bounded by a time window or a limit, so the pages built on them do not
# grow with the history kept.

#: How far back "the latest value" looks; an older reading is stale and is not shown as current.
LATEST_WINDOW = timedelta(hours=1)


def latest_values(
    asset_ids: list[int] | None = None,
    metrics: list[str] | None = None,
    since: datetime | None = None,
    metric_prefix: str | None = None,
) -> dict[int, dict[tuple[str, str], Reading]]:
    """asset id → {(metric, instance): newest reading}: the readings of each monitor's latest
    poll that stored any, if that poll is within ``since`` (default ``LATEST_WINDOW``).

    Limited to ``asset_ids`` and/or ``metrics`` (or metrics starting with ``metric_prefix``).
    One query whose cost follows the number of monitors, not the history kept: each monitor's
    newest reading time is one probe of ``ix_reading_monitor_id_at``, and its readings at that
    time another. When two monitors of an asset report the same metric, the newer one wins.
    """
    since = since or utcnow() - LATEST_WINDOW
    if asset_ids is not None and not asset_ids:
        return {}
    newest_at = (
        select(func.max(Reading.at))
        .where(Reading.monitor_id == Monitor.id)
        .correlate(Monitor)
        .scalar_subquery()
    )
    polls = select(Monitor.id.label("monitor_id"), newest_at.label("at"))
    if asset_ids is not None:
        polls = polls.where(Monitor.asset_id.in_(asset_ids))
    # OFFSET 0 keeps the subquery whole (an optimisation fence on SQLite and PostgreSQL): each
    # monitor's newest time first, then its readings at that time. Flattened, SQLite would walk
    # the window's readings and probe per reading.
    newest = polls.offset(0).subquery("newest_poll")
    polled = (
        select(Reading)
        .join(newest, (Reading.monitor_id == newest.c.monitor_id) & (Reading.at == newest.c.at))
        .where(newest.c.at >= since)
    )
    # Readings of no (or a deleted) monitor: imported or seeded; the newest within the window.
    orphans = select(Reading).where(Reading.monitor_id.is_(None), Reading.at >= since)
    if asset_ids is not None:
        orphans = orphans.where(Reading.asset_id.in_(asset_ids))
    filters: list[ColumnElement[bool]] = []
    if metrics is not None:
        filters.append(Reading.metric.in_(metrics))
    if metric_prefix is not None:
        filters.append(Reading.metric.startswith(metric_prefix, autoescape=True))
    both = union_all(polled.where(*filters), orphans.where(*filters)).subquery()
    row = aliased(Reading, both)
    out: dict[int, dict[tuple[str, str], Reading]] = {}
    # Sorted here, not in SQL: an ORDER BY would make SQLite walk the readings in time order.
    found = sorted(db.session().scalars(select(row)), key=lambda r: (r.at, r.id))
    for r in found:
        out.setdefault(r.asset_id, {})[(r.metric, r.instance)] = r  # later rows win
    return out


def bucketed_series(
    keys: list[tuple[int, str]],
    metric: str,
    since: datetime,
    bucket_s: int = 3600,
    how: str = "max",
) -> list[tuple[datetime, float]]:
    """One metric of several (asset id, instance) series as (bucket start, max or mean) points.

    For sparklines: at most (window / bucket) points whatever the polling rate. Each series is
    read from its hourly rollups (one index range, 24 rows a day) when there are any in the
    window, else from its raw readings (one index range on asset, metric, instance, time).
    """
    buckets: dict[int, list[float]] = {}
    sess = db.session()
    for asset_id, instance in keys:
        column = Rollup.max if how == "max" else Rollup.avg
        rows: Sequence[Row[datetime, float | None]] = sess.execute(
            select(Rollup.bucket, column).where(
                Rollup.asset_id == asset_id,
                Rollup.metric == metric,
                Rollup.instance == instance,
                Rollup.resolution == int(Resolution.HOUR),
                Rollup.bucket >= since - timedelta(seconds=int(Resolution.HOUR)),
            )
        ).all()
        if not rows:
            rows = sess.execute(
                select(Reading.at, Reading.value).where(
                    Reading.asset_id == asset_id,
                    Reading.metric == metric,
                    Reading.instance == instance,
                    Reading.at >= since,
                )
            ).all()
        for at, value in rows:
            if value is not None:
                buckets.setdefault(int(at.timestamp()) // bucket_s, []).append(value)
    out = []
    for key in sorted(buckets):
        values = buckets[key]
        value = max(values) if how == "max" else sum(values) / len(values)
        out.append((datetime.fromtimestamp(key * bucket_s, UTC), round(value, 2)))
    return out


def _of_site(stmt: Any, site_id: int | None) -> Any:
    """``stmt`` limited to the monitors of assets in the rooms of site ``site_id`` (if given)."""
    if site_id is None:
        return stmt
    return stmt.where(Monitor.asset_id.in_(assets.site_assets_query(site_id)))


def database_asset_ids(site_id: int | None = None) -> list[int]:
    """The assets with a ``postgresql`` or ``mysql`` monitor (enabled or not: a paused one
    keeps its history), by id; only those in site ``site_id`` when given."""
    stmt = select(Monitor.asset_id).where(Monitor.kind.in_(("postgresql", "mysql"))).distinct()
    return sorted(db.session().scalars(_of_site(stmt, site_id)))


def state_counts(site_id: int | None = None) -> dict[str, int]:
    """Enabled monitors by state: {"up": n, "down": n, "unknown": n}; only the monitors of the
    assets in site ``site_id`` when given."""
    counts = {s.value: 0 for s in MonitorState}
    stmt = select(Monitor.state, func.count()).where(Monitor.enabled.is_(True))
    rows = db.session().execute(_of_site(stmt, site_id).group_by(Monitor.state))
    counts.update({state: n for state, n in rows})
    return counts


def down_monitors(limit: int = 10, site_id: int | None = None) -> list[Monitor]:
    """Enabled monitors that are down, longest down first; only the monitors of the assets in
    site ``site_id`` when given."""
    stmt = select(Monitor).where(
        Monitor.enabled.is_(True), Monitor.state == MonitorState.DOWN.value
    )
    return list(
        db.session().scalars(
            _of_site(stmt, site_id).order_by(Monitor.state_since, Monitor.id).limit(limit)
        )
    )


def asset_states(asset_ids: list[int]) -> dict[int, str]:
    """asset id → worst state of its enabled monitors (down > unknown > up); no monitor: absent."""
    if not asset_ids:
        return {}
    rank = {"down": 2, "unknown": 1, "up": 0}
    out: dict[int, str] = {}
    rows = db.session().execute(
        select(Monitor.asset_id, Monitor.state).where(
            Monitor.asset_id.in_(asset_ids), Monitor.enabled.is_(True)
        )
    )
    for asset_id, state in rows:
        if asset_id not in out or rank.get(state, 1) > rank.get(out[asset_id], 1):
            out[asset_id] = state
    return out


def monitor_page(
    page: int = 1, per_page: int = 50, state: str | None = None
) -> tuple[list[Monitor], int]:
    """One page of monitors (down first, then by asset) and the total count."""
    query = select(Monitor)
    if state:
        query = query.where(Monitor.state == state)
    total = db.session().scalar(select(func.count()).select_from(query.subquery())) or 0
    order = case({"down": 0, "unknown": 1, "up": 2}, value=Monitor.state, else_=3)
    items = db.session().scalars(
        query.order_by(order, Monitor.asset_id, Monitor.id)
        .offset((max(1, page) - 1) * per_page)
        .limit(per_page)
    )
    return list(items), total


def lldp_neighbors_of(
    asset_ids: list[int] | None = None, since: datetime | None = None, touching: Any = None
) -> list[LldpNeighbor]:
    """LLDP neighbours seen since ``since`` (default 1 day), of some assets or all; with
    ``touching`` (asset ids, a list or a subquery), only those whose reporting asset or
    recognised remote asset is among them (the topology filter)."""
    since = since or utcnow() - timedelta(days=1)
    query = select(LldpNeighbor).where(LldpNeighbor.last_seen >= since)
    if asset_ids is not None:
        query = query.where(LldpNeighbor.asset_id.in_(asset_ids))
    if touching is not None:
        query = query.where(
            LldpNeighbor.asset_id.in_(touching) | LldpNeighbor.remote_asset_id.in_(touching)
        )
    return list(
        db.session().scalars(query.order_by(LldpNeighbor.asset_id, LldpNeighbor.local_port))
    )


# --- reads for the report kinds: monitors/history.py, offered here -----------------------------


def node_state(monitor_state: str | None, urgency: str | None) -> str:
    """down (a monitor down or an open A alert) > alert (another open alert) > up > unknown >
    none (not monitored): how the topology graph and the rack elevation colour a device."""
    if monitor_state == "down" or urgency == "A":
        return "down"
    if urgency:
        return "alert"
    return monitor_state or "none"


def asset_colours(asset_ids: list[int]) -> dict[int, str]:
    """asset id → ``node_state`` from its monitors and its open alerts."""
    states = asset_states(asset_ids)
    urgency = alerts.open_urgency_by_asset(asset_ids)
    return {aid: node_state(states.get(aid), urgency.get(aid)) for aid in asset_ids}


def load_weeks(asset_ids: list[int], first: date, last: date) -> Iterator[tuple[Any, ...]]:
    """The weekly load rows (weeks cut at month ends) of ``asset_ids`` starting from ``first``
    to ``last`` (local days), ordered by asset, family and week, each with its hourly values
    (``monitors.load.weeks``)."""
    return load.weeks(asset_ids, first, last)


def load_daily_peaks(
    asset_ids: list[int], first: date, last: date
) -> Iterator[tuple[int, str, list[tuple[date, float]]]]:
    """(asset, family, [(local day, peak), ...]) of the days from ``first`` to ``last`` with a
    value, from the weekly load rows' hourly maxima (``monitors.load.daily_peaks``), a week
    piece at a time in asset, family and day order."""
    return load.daily_peaks(asset_ids, first, last)


def load_families() -> dict[str, tuple[tuple[str, ...], str]]:
    """Load family → (its metrics, how they combine within an hour: ``max`` or ``sum``)."""
    return load.FAMILIES


def monitor_kind_label(kind: str) -> str:
    """A monitor kind's word (SNMP, Ping, TCP port ...), translated."""
    return str(_kind_of(kind).label)


def metric_label(metric: str) -> str:
    """A metric's name for people (``db.cache_hit_percent``: 缓冲区命中率), translated."""
    return _metric_label(metric)


def metric_unit(metric: str) -> str | None:
    """A metric's unit as the vocabulary says (``%``, ``°C``, ``V``; ``""`` for states and
    counts); ``None`` for a name that is no metric of the vocabulary (``monitors.metrics``)."""
    entry = _METRICS.get(metric)
    return None if entry is None else str(entry["unit"])


def metric_names() -> list[str]:
    """Every metric of the vocabulary, sorted."""
    return sorted(_METRICS)
