"""The home dashboard's tiles: each one a small, bounded read through the domains' queries.

Every tile has its own partial endpoint (``/tiles/<name>``) that htmx polls to refresh the tile in
place; the home page renders all of them once inline. No tile reads more than a time window or a
fixed number of rows, so the page does not grow with the history kept.

One site at a time: when more than one site exists, the page offers a site selector and every
tile reads only that site (its rooms, the assets in them, their monitors, alerts and logbook);
:func:`choose_site` says which site a request is for (``?site=<id>`` / ``all``, else the choice
remembered in the session). With a single site there is no selector and no filter.

Twenty wall screens refresh the same tiles: a built tile is reused for
``OPSKIT_DASHBOARD_CACHE_S`` seconds (5) for the same site and language (tiles do not differ by
role), so they cost one set of queries per tile, not twenty. The cache lives in the app, so
each server process (``opskit serve --workers``) keeps its own; a tile may be that many seconds
older than the database, and says when it was built.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from assets import queries as assets
from inspections import queries as patrol
from monitors import queries as monitors
from opskit import clock
from opskit.alerts import queries as alerts
from opskit.alerts import wording
from opskit.db import utcnow
from opskit.servicedesk import queue as request_queue
from opskit.servicedesk import request_pages

#: Assets whose env.temperature_c / env.humidity_percent readings count for their room:
#: environment sensors, and UPSes and air conditioners carrying a probe. (Rack PDUs' probes are
#: not counted: there are many, and they sit in the racks, not in the room's cold aisle.)
ENV_KINDS = ["sensor", "ups", "precision_ac"]
UPS_METRICS = [
    "ups.output.source",
    "ups.output.load_percent",
    "ups.battery.charge_percent",
    "ups.battery.runtime_minutes",
    "ups.battery.status",
]
#: Shown when no threshold rule watches the storage metric (the shipped `storage.full` warning).
STORAGE_LIMIT_PERCENT = 85.0
WARRANTY_DAYS = 90
SPARK_HOURS = 24
SPARK_BUCKET_S = 3600


#: The session key holding the site the user chose on the dashboard (its id; absent: all).
SESSION_SITE = "dashboard_site"

Builder = Callable[[int | None], dict[str, Any]]


@dataclass
class Tile:
    name: str
    title: Any
    build: Builder


TILES: dict[str, Tile] = {}


def tile(name: str, title: Any) -> Callable[[Builder], Builder]:
    def register(fn: Builder) -> Builder:
        TILES[name] = Tile(name, title, fn)
        return fn

    return register


def refresh_seconds() -> int:
    """``OPSKIT_DASHBOARD_REFRESH_S`` (app config ``DASHBOARD_REFRESH_S`` overrides it)."""
    if "DASHBOARD_REFRESH_S" in current_app.config:
        return int(current_app.config["DASHBOARD_REFRESH_S"])
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "dashboard_refresh_s", 30))


@dataclass
class SiteChoice:
    """Which site the dashboard shows: ``site`` None means all of them.

    ``unknown`` holds an asked-for site id that names no site (the page says so instead of
    showing tiles). ``selector``: more than one site exists, so the page offers the choice.
    """

    sites: list[Any]
    site: Any | None = None
    unknown: str | None = None

    @property
    def selector(self) -> bool:
        return len(self.sites) > 1

    @property
    def site_id(self) -> int | None:
        return self.site.id if self.site is not None else None

    @property
    def param(self) -> str | None:
        """The ``site`` URL parameter that keeps this choice (tile refreshes, the wall-screen
        link); None with a single site, where there is nothing to keep."""
        if not self.selector:
            return None
        return str(self.site.id) if self.site is not None else "all"


def choose_site(asked: str | None) -> SiteChoice:
    """The site of this request: ``asked`` (the ``site`` URL parameter: an id, or ``all`` /
    empty for all sites), else the one remembered in the session. An asked id that names no
    site is ``unknown``; a remembered one that no longer does is forgotten. With one site (or
    none) there is no filter: every tile shows everything, as before sites could be chosen."""
    sites = assets.all_sites()
    by_id = {str(s.id): s for s in sites}
    if asked is not None:
        asked = asked.strip()
        if asked in ("", "all"):
            return SiteChoice(sites)
        if asked not in by_id:
            return SiteChoice(sites, unknown=asked[:20])
        return SiteChoice(sites, by_id[asked] if len(sites) > 1 else None)
    remembered = session.get(SESSION_SITE)
    if remembered is not None and str(remembered) not in by_id:
        session.pop(SESSION_SITE, None)
        remembered = None
    if remembered is None or len(sites) < 2:
        return SiteChoice(sites)
    return SiteChoice(sites, by_id[str(remembered)])


def remember_site(choice: SiteChoice) -> None:
    """Keep the choice in the user's session (login and logout start a new one)."""
    if choice.site is None:
        session.pop(SESSION_SITE, None)
    else:
        session[SESSION_SITE] = choice.site.id


def cache_seconds() -> int:
    """``OPSKIT_DASHBOARD_CACHE_S`` (app config ``DASHBOARD_CACHE_S`` overrides it). Off in
    tests unless they set it: they change rows and look again at one frozen instant."""
    if "DASHBOARD_CACHE_S" in current_app.config:
        return int(current_app.config["DASHBOARD_CACHE_S"])
    if current_app.testing:
        return 0
    settings = current_app.config.get("OPSKIT_SETTINGS")
    return int(getattr(settings, "dashboard_cache_s", 5))


#: A kept tile nobody asked for in this many TTLs is dropped.
FORGET_AFTER_TTLS = 10


class TileCache:
    """Built tiles by key, each fresh for ``ttl`` seconds of :func:`opskit.clock.now`.

    A missing tile is built by one request while the others asking for it wait for it (no
    stampede when the wall screens refresh together). An expired one is rebuilt by the first
    request that finds it so; the requests arriving meanwhile get the kept one, a moment older,
    instead of queueing behind the rebuild.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[datetime, dict[str, Any]]] = {}
        self._building: dict[Hashable, threading.Lock] = {}

    @staticmethod
    def _fresh(entry: tuple[datetime, dict[str, Any]] | None, ttl: int) -> bool:
        if entry is None:
            return False
        age = (clock.now() - entry[0]).total_seconds()
        return 0 <= age < ttl

    def get(self, key: Hashable, ttl: int, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        with self._lock:
            kept = self._entries.get(key)
            if self._fresh(kept, ttl):
                return kept[1]  # type: ignore[index]
            building = self._building.setdefault(key, threading.Lock())
        if kept is not None:
            if not building.acquire(blocking=False):
                return kept[1]  # being rebuilt by another request
        else:
            building.acquire()
        try:
            with self._lock:
                kept = self._entries.get(key)
                if self._fresh(kept, ttl):
                    return kept[1]  # type: ignore[index]
            value = build()
            with self._lock:
                now = clock.now()
                # forget what nobody asked for in a while (removed sites, other languages)
                for old in [
                    k
                    for k, (at, _v) in self._entries.items()
                    if (now - at).total_seconds() >= FORGET_AFTER_TTLS * ttl
                ]:
                    del self._entries[old]
                self._entries[key] = (now, value)
            return value
        finally:
            building.release()


def context(name: str, site_id: int | None = None) -> dict[str, Any]:
    """What the tile ``name`` shows for ``site_id`` (None: all sites), built or reused."""
    t = TILES[name]

    def build() -> dict[str, Any]:
        return {"tile": t, "now": utcnow(), **t.build(site_id)}

    ttl = cache_seconds()
    if ttl <= 0:
        return build()
    cache = current_app.extensions.setdefault("opskit.tile_cache", TileCache())
    # rows and objects the tile read, detached from their request's session: the templates use
    # only their loaded columns (the session does not expire them: expire_on_commit=False)
    return cache.get((name, site_id, str(get_locale())), ttl, build)


# --- alerts ----------------------------------------------------------------------------------


@tile("alerts", _l("Open alerts"))
def _alerts(site_id: int | None) -> dict[str, Any]:
    """Open alerts; of one site: those of its assets, and of its rooms when they name no asset
    (an alert of neither shows only with all sites). Their messages in the reader's language
    (the tile is kept per language)."""
    now = utcnow()
    shown = alerts.list_alerts(status="open", site_id=site_id, limit=8)
    views = alerts.with_clocks(shown, now)
    # the nearest deadline still ahead; clocks already past theirs are counted apart
    ahead, breached = [], 0
    for v in views:
        running = [c for c in v.clocks if c.done_at is None]
        if any(c.state == "breached" for c in running):
            breached += 1
        upcoming = [c for c in running if c.state != "breached"]
        if upcoming:
            ahead.append((min(upcoming, key=lambda c: c.deadline), v))
    nearest = min(ahead, key=lambda pair: pair[0].deadline) if ahead else None
    return {
        "counts": alerts.open_counts(site_id),
        "alerts": views[:5],
        "messages": wording.alert_messages(shown),
        "nearest": nearest,
        "breached": breached,
    }


# --- service requests ------------------------------------------------------------------------


@tile("requests", _l("Open service requests"))
def _requests(site_id: int | None) -> dict[str, Any]:
    """Open requests by urgency and the nearest running deadline (of one site: the requests in
    its rooms), those past a deadline and those needing a temporary measure."""
    now = utcnow()
    figures = request_queue.tile_figures(site_id, now)
    nearest = figures.nearest
    clock = None
    if nearest is not None and nearest.next_clock is not None:
        clock = request_pages.shown_clock(nearest.next_clock, alerts.current_policy(), now)
    return {"figures": figures, "nearest_clock": clock}


# --- patrol rounds ---------------------------------------------------------------------------


ROUND_STATES = ("due", "in_progress", "done", "overdue")


@tile("patrol", _l("Today's patrol rounds"))
def _patrol(site_id: int | None) -> dict[str, Any]:
    """Today's slots; of one site: its rooms' plan slots and ad hoc rounds."""
    today = clock.site_today()
    rounds = patrol.rounds_today(today, site_id)
    counts = dict.fromkeys(ROUND_STATES, 0)
    for r in rounds:
        if r["state"] in counts:
            counts[r["state"]] += 1
    return {"rounds": rounds[:6], "counts": counts, "total": len(rounds)}


# --- room environment ------------------------------------------------------------------------


@dataclass
class EnvLimits:
    normal: tuple[float | None, float | None]
    critical: tuple[float | None, float | None]

    def level(self, value: float | None) -> str:
        if value is None:
            return "none"
        clo, chi = self.critical
        if (clo is not None and value < clo) or (chi is not None and value > chi):
            return "critical"
        nlo, nhi = self.normal
        if (nlo is not None and value < nlo) or (nhi is not None and value > nhi):
            return "warning"
        return "ok"

    def as_json(self) -> dict[str, Any]:
        return {"normal": list(self.normal), "critical": list(self.critical)}


#: Used when the patrol checklist has no such reading (GB 50174 class A/B machine room).
FALLBACK_LIMITS = {
    "env.temperature_c": EnvLimits((18, 27), (15, 32)),
    "env.humidity_percent": EnvLimits((40, 60), (20, 80)),
}


def room_limits(room_ids: list[int]) -> dict[str, dict[int, EnvLimits]]:
    """metric → room id → limits: the patrol checklist ``room_environment`` (cold aisle) with
    the site's and the room's stored overrides, as a patrol round in that room judges them."""
    out: dict[str, dict[int, EnvLimits]] = {}
    for metric, fallback in FALLBACK_LIMITS.items():
        found = patrol.room_reading_limits("room_environment", metric, room_ids) or {}
        out[metric] = {
            room_id: EnvLimits(
                (lim.effective_warning_low, lim.effective_warning_high),
                (lim.critical_low, lim.critical_high),
            )
            if (lim := found.get(room_id)) is not None
            else fallback
            for room_id in room_ids
        }
    return out


@dataclass
class RoomEnv:
    room_id: int
    name: str
    values: dict[str, float | None] = field(default_factory=dict)
    levels: dict[str, str] = field(default_factory=dict)
    sparks: dict[str, list[list[Any]]] = field(default_factory=dict)
    limits: dict[str, dict[str, Any]] = field(default_factory=dict)
    asset_ids: list[int] = field(default_factory=list)
    at: datetime | None = None


@tile("environment", _l("Room temperature and humidity"))
def _environment(site_id: int | None) -> dict[str, Any]:
    """Rooms with a probe reading; of one site: its rooms."""
    metrics = ["env.temperature_c", "env.humidity_percent"]
    probes = assets.assets_of_kinds(ENV_KINDS, site_id=site_id)
    latest = monitors.latest_values([a.id for a in probes], metrics)
    probes = [a for a in probes if a.id in latest]
    room_names = {r.id: r.name for r in assets.all_rooms()}
    room_ids = sorted({a.room_id for a in probes if a.room_id is not None})
    limits = room_limits(room_ids)
    rooms: dict[int, RoomEnv] = {}
    series: dict[int, dict[str, list[tuple[int, str]]]] = {}
    for a in sorted(probes, key=lambda a: a.asset_tag):
        if a.room_id is None:
            continue
        room = rooms.setdefault(a.room_id, RoomEnv(a.room_id, room_names.get(a.room_id, "")))
        room.asset_ids.append(a.id)
        for (metric, instance), r in latest[a.id].items():
            if r.value is None:
                continue
            series.setdefault(a.room_id, {}).setdefault(metric, []).append((a.id, instance))
            current = room.values.get(metric)
            # temperature: the hottest probe; humidity: the one furthest from the middle
            if metric == "env.temperature_c":
                room.values[metric] = r.value if current is None else max(current, r.value)
            else:
                normal = [x for x in limits[metric][a.room_id].normal if x is not None]
                mid = sum(normal) / len(normal) if normal else r.value
                if current is None or abs(r.value - mid) > abs(current - mid):
                    room.values[metric] = r.value
            room.at = max(room.at, r.at) if room.at else r.at
    since = utcnow() - timedelta(hours=SPARK_HOURS)
    for room in rooms.values():
        for metric in metrics:
            room.levels[metric] = limits[metric][room.room_id].level(room.values.get(metric))
            room.limits[metric] = limits[metric][room.room_id].as_json()
            how = "max" if metric == "env.temperature_c" else "mean"
            keys = series.get(room.room_id, {}).get(metric, [])
            points = monitors.bucketed_series(keys, metric, since, SPARK_BUCKET_S, how)
            room.sparks[metric] = [[at.isoformat(), v] for at, v in points]
    ordered = sorted(rooms.values(), key=lambda r: r.name)
    return {"rooms": ordered}


# --- UPS -------------------------------------------------------------------------------------


@tile("ups", _l("UPS"))
def _ups(site_id: int | None) -> dict[str, Any]:
    """UPSes in service; of one site: those in its rooms."""
    upses = assets.assets_of_kinds(["ups"], limit=12, site_id=site_id)
    latest = monitors.latest_values([a.id for a in upses], UPS_METRICS)
    states = monitors.asset_states([a.id for a in upses])
    rows = []
    for a in upses:
        values: dict[str, Any] = {}
        for (metric, _instance), r in sorted(latest.get(a.id, {}).items()):
            value = r.text if r.text is not None else r.value
            # several phases/outputs: the highest load, the first of everything else
            if metric == "ups.output.load_percent" and values.get(metric) is not None:
                values[metric] = max(values[metric], value or 0)
            else:
                values.setdefault(metric, value)
        rows.append({"asset": a, "values": values, "state": states.get(a.id)})
    return {"upses": rows}


# --- databases -------------------------------------------------------------------------------

#: the database tile's server-wide values; marked: connections above 85 %, cache hit below 95 %
DB_METRICS = ["db.connections.used_percent", "db.transactions_per_s", "db.cache_hit_percent"]


@tile("databases", _l("Database load"))
def _databases(site_id: int | None) -> dict[str, Any]:
    """Database servers (a ``postgresql`` or ``mysql`` monitor, up to 12) with their latest
    ``DB_METRICS`` read within the last day; of one site: those in its rooms."""
    ids = monitors.database_asset_ids(site_id)
    servers = sorted(assets.assets_by_ids(ids[:12]), key=lambda a: a.asset_tag)
    since = utcnow() - timedelta(days=1)
    latest = monitors.latest_values([a.id for a in servers], DB_METRICS, since=since)
    rows = []
    for a in servers:
        got = {m: r.value for (m, instance), r in latest.get(a.id, {}).items() if not instance}
        conn, hit = got.get(DB_METRICS[0]), got.get(DB_METRICS[2])
        marks = {"high": conn is not None and conn > 85, "low": hit is not None and hit < 95}
        rows.append({"asset": a, "values": got, **marks})
    return {"servers": rows, "total": len(ids)}


# --- devices ---------------------------------------------------------------------------------


@tile("devices", _l("Devices"))
def _devices(site_id: int | None) -> dict[str, Any]:
    """Monitor states; of one site: the monitors of the assets in its rooms."""
    down = monitors.down_monitors(limit=8, site_id=site_id)
    by_id = {a.id: a for a in assets.assets_by_ids(sorted({m.asset_id for m in down}))}
    return {
        "counts": monitors.state_counts(site_id),
        "down": [(m, by_id.get(m.asset_id)) for m in down],
    }


# --- storage ---------------------------------------------------------------------------------


@tile("storage", _l("Storage volumes above the limit"))
def _storage(site_id: int | None) -> dict[str, Any]:
    """Volumes the site's threshold rules on ``host.storage.used_percent`` (``storage.full``:
    warning 85 %, critical 95 %) hold above their limit now: read from the rule states, so the
    tile costs the same whatever the number of servers or the history kept. Of one site: the
    volumes of the assets in its rooms."""
    total, over = alerts.over_limit("host.storage.used_percent", limit=8, site_id=site_id)
    by_id = {a.id: a for a in assets.assets_by_ids(sorted({o.asset_id for o in over}))}
    volumes = [(by_id[o.asset_id], o) for o in over if o.asset_id in by_id]
    limit = next((o.limit for o in over if o.limit is not None), STORAGE_LIMIT_PERCENT)
    return {"volumes": volumes, "total": total, "limit": limit}


# --- warranties ------------------------------------------------------------------------------


@tile("warranty", _l("Warranties expiring"))
def _warranty(site_id: int | None) -> dict[str, Any]:
    """Warranties ending soon; of one site: of the assets in its rooms."""
    today = clock.site_today()
    total, items = assets.warranty_summary(today, WARRANTY_DAYS, limit=6, site_id=site_id)
    return {"total": total, "reminders": items, "days": WARRANTY_DAYS}


# --- logbook ---------------------------------------------------------------------------------


@tile("logbook", _l("Latest logbook entries"))
def _logbook(site_id: int | None) -> dict[str, Any]:
    """Latest visits and power events; of one site: visits to its rooms and power events of
    the assets in them."""
    return {"entries": patrol.latest_logbook_entries(limit=5, site_id=site_id)}
