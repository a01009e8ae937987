"""opskit's data as pandas DataFrames, for a notebook or a script: readings, alerts, rounds, assets.

A small public API over the same rows the dashboard and the reports read, through each domain's
``queries`` (this package is composition: it reads several domains and owns no table). Three
lines in a notebook::

    >>> from opskit import data
    >>> data.connect()  # OPSKIT_DATABASE_URL (else the instance's SQLite); or url="..."
    >>> ups = data.readings("ups.output.load_percent", since="90d")

    >>> ups.attrs["unit"], ups.attrs["rollup"], ups.attrs["tz"]
    ('%', 'hourly', 'Asia/Shanghai')
    >>> ups.index                      # aware, in the site's time zone
    DatetimeIndex(['2026-09-08 00:00:00+08:00', ...], dtype='datetime64[us, Asia/Shanghai]', ...)
    >>> ups.columns                    # one column per series: the asset's tag (/instance)
    Index(['UPS-01/1', 'UPS-02/1'], dtype='str', name='series')
    >>> ups.resample("1D").max().plot()
    >>> data.readings("env.temperature_c", since="2026-11-01", until="2026-11-08",
    ...               site="一号机房", rollup="5min", shape="long").groupby("asset")["max"].max()
    >>> data.alerts(since="30d", urgency="A", state="open")
    >>> data.rounds(since="2026-10-01")      # patrol rounds with their findings counted
    >>> data.assets(kind="ups")

Inside an app (``create_app().app_context()``, ``flask shell``, a test) no ``connect()`` is
needed; outside one, the first call connects from the environment.

- **Times** (``since``/``until``): an aware ``datetime`` (or ``pandas.Timestamp``); a naive one,
  a ``date`` or ISO text (``"2026-11-01"``, ``"2026-11-01 08:00"``) is the site's local time;
  ``"90d"``, ``"12h"``, ``"2w"``, ``"30m"`` count back from now (``opskit.clock``). ``until``
  defaults to now. Every frame's times are aware, in the site's time zone
  (``SITE_TIMEZONE``) unless ``tz`` names another (an IANA name such as ``"UTC"``).
- **readings(metric, ...)**: one metric of the vocabulary (``monitors.metrics``), from the raw
  readings or the rollups: ``rollup="raw"`` (kept 14 days), ``"5min"`` (180 days), ``"hourly"``
  (3 years), or ``"auto"`` (the default: what a chart of the span uses — raw up to 2 days,
  5-minute up to 31, hourly beyond — falling back to the raw readings when no rollup has been
  computed yet for a span of at most 31 days). A rollup's value is the bucket's average, its
  time the bucket's start. ``shape="wide"`` (the default): one column per series (the asset's
  tag, ``TAG/instance`` for a metric with instances such as a UPS's lines or a sensor's
  probes), a row per time:
  what ``plot()``, ``resample()`` and ``describe()`` want, and rollup buckets line up across
  assets. ``shape="long"``: a row per value with ``asset``, ``instance``, ``value``, ``unit`` (and
  ``min``, ``max``, ``count`` of a rollup bucket): for ``groupby``, and for raw readings, whose
  times differ from device to device by the poll's seconds (wide, they would be mostly empty).
  The unit is in ``frame.attrs["unit"]`` either way.
- **alerts(...)**, **rounds(...)**, **assets(...)**: one row per alert (first seen in the
  period), patrol round (started in it, with its answers, abnormal answers, findings and open
  findings counted) and registered asset, by id; assets, rooms and sites by tag and name.
- **Bad arguments** (an unknown metric, rollup, shape, site, tag, kind, urgency or state; a
  ``since`` after ``until``; a span longer than the rollup keeps, ``MAX_SPAN``) raise
  ``ValueError`` naming the argument first (``"rollup: ..."``), before anything is read.
- **Memory**: rows are read as plain Core rows in chunks and turned into numpy columns, never
  ORM objects; the span's bound keeps a frame to what the rollup holds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from flask import Flask, has_app_context

from assets import queries as registry
from inspections import queries as patrol
from monitors import queries as monitoring
from opskit import clock, memory
from opskit.alerts import queries as desk

__all__ = [
    "MAX_SPAN",
    "ROLLUPS",
    "alerts",
    "assets",
    "connect",
    "disconnect",
    "metrics",
    "readings",
    "rounds",
]

#: rollup name → resolution in seconds (0: the raw readings)
ROLLUPS = {"raw": 0, "5min": 300, "hourly": 3600}
#: the longest span read at once, by rollup: what each keeps by default (raw 14 days, 5-minute
#: 180, hourly 3 years) with room to spare; alerts and rounds: ten years
MAX_SPAN = {
    "raw": timedelta(days=31),
    "5min": timedelta(days=366),
    "hourly": timedelta(days=3660),
    "records": timedelta(days=3660),
}
SHAPES = ("wide", "long")
URGENCIES = ("A", "B", "C")
ALERT_STATES = ("open", "firing", "acknowledged", "resolved")
_RELATIVE = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}

_context: Any = None  # the application context connect() pushed


def connect(url: str | None = None) -> Flask:
    """Open opskit's database for this process: ``url`` (an SQLAlchemy URL such as
    ``sqlite:////srv/opskit/opskit.db`` or ``postgresql+psycopg://...``), else the
    ``OPSKIT_*`` settings the server reads (``OPSKIT_DATABASE_URL``, else the instance's SQLite).
    Pushes an application context that stays for the process (a notebook's kernel) until
    :func:`disconnect`; returns the app. Calling it again switches to the new database."""
    global _context
    from opskit import create_app  # lazy: a real cycle (create_app's package holds this one)

    disconnect()
    app = create_app({"DATABASE_URL": url} if url else None)
    _context = app.app_context()
    _context.push()
    return app


def disconnect() -> None:
    """Close what :func:`connect` opened (its context and connections); nothing otherwise."""
    global _context
    if _context is None:
        return
    context, _context = _context, None
    engine = context.app.extensions.get("opskit.engine")
    context.pop()
    if engine is not None:
        engine.dispose()


def _ready() -> None:
    """An application context to read in: the caller's, or one from the environment."""
    if not has_app_context():
        connect()


def _zone(tz: str | None) -> ZoneInfo:
    if tz is None:
        return clock.site_tz()
    try:
        return ZoneInfo(str(tz))
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"tz: {tz!r} is no time zone; expected an IANA name such as 'Asia/Shanghai' or 'UTC'"
        ) from None


def _when(value: Any, name: str, zone: ZoneInfo, now: datetime) -> datetime:
    """An aware datetime from what a caller may give for ``since``/``until``."""
    if isinstance(value, datetime):  # pandas.Timestamp too
        at = value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
        return at.replace(tzinfo=zone) if at.tzinfo is None else at
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    if isinstance(value, str):
        relative = _RELATIVE.match(value)
        if relative:
            amount, unit = relative.groups()
            return now - timedelta(**{_UNITS[unit]: int(amount)})
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
        else:
            return at.replace(tzinfo=zone) if at.tzinfo is None else at
    raise ValueError(
        f"{name}: {value!r} is no time; expected a datetime, a date, ISO text such as "
        "'2026-11-01' or '2026-11-01 08:00', or a span back from now such as '90d', '12h', '2w'"
    )


def _period(
    since: Any, until: Any, zone: ZoneInfo, bound: timedelta, what: str
) -> tuple[datetime, datetime]:
    now = clock.now()
    if since is None:
        raise ValueError("since: required; e.g. since='30d' or since='2026-11-01'")
    start = _when(since, "since", zone, now)
    end = now if until is None else _when(until, "until", zone, now)
    if start >= end:
        raise ValueError(
            f"since: {start.isoformat()} is not before until ({end.isoformat()}); "
            "expected since earlier than until"
        )
    if end - start > bound:
        raise ValueError(
            f"since: the period is {(end - start).days} days; at most {bound.days} days of "
            f"{what} are read at once (a shorter period"
            + (", or a coarser rollup)" if what != "records" else ")")
        )
    return start, end


def _choice(value: Any, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{name}: {value!r} is not one of {', '.join(map(repr, allowed))}")
    return str(value)


def _site_id(site: Any) -> int | None:
    """A site named by its name or id, checked."""
    if site is None:
        return None
    sites = registry.all_sites()
    for known in sites:
        if site in (known.name, known.id) or str(site) == str(known.id):
            return int(known.id)
    names = ", ".join(repr(s.name) for s in sites) or "none registered"
    raise ValueError(f"site: no site {site!r}; the sites are {names}")


def _asset_ids(tags: Any) -> list[int] | None:
    """The ids of the assets tagged ``tags`` (one tag or several), every tag checked."""
    if tags is None:
        return None
    wanted = [tags] if isinstance(tags, str) else [str(t) for t in tags]
    if not wanted:
        raise ValueError("assets: an empty list; give asset tags, or None for every asset")
    rows = registry.asset_rows(tags=wanted)
    unknown = sorted(set(wanted) - {row.asset_tag for row in rows})
    if unknown:
        raise ValueError(f"assets: no asset tagged {', '.join(map(repr, unknown))}")
    return [int(row.id) for row in rows]


def _times(values: Any, zone: ZoneInfo) -> pd.DatetimeIndex:
    """Times as the queries hand them (UTC text on SQLite, aware datetimes on PostgreSQL) as an
    aware index in ``zone``: one vectorised parse."""
    if len(values) and isinstance(values[0], str):
        index = pd.to_datetime(values, format="ISO8601", utc=True)
    else:
        index = pd.to_datetime(values, utc=True)
    return pd.DatetimeIndex(index).tz_convert(zone)


def _columns(chunks: Iterable[list[Any]], width: int) -> list[np.ndarray[Any, Any]]:
    """Chunks of rows as ``width`` numpy columns (each chunk turned into columns as it comes,
    in C: ``DataFrame.from_records``)."""
    with memory.collector_paused():
        parts = [pd.DataFrame.from_records(rows, columns=range(width)) for rows in chunks if rows]
    if not parts:
        return [np.array([], dtype=object) for _ in range(width)]
    frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return [frame[i].to_numpy() for i in range(width)]


def readings(
    metric: str,
    *,
    since: Any,
    until: Any = None,
    assets: Any = None,
    site: Any = None,
    rollup: str = "auto",
    tz: str | None = None,
    shape: str = "wide",
) -> pd.DataFrame:
    """One metric's values over [since, until) as a DataFrame (see the module's docstring).

    ``assets``: a tag or tags (default every asset); ``site``: a site's name or id (its rooms'
    assets); ``rollup``: ``"auto"``, ``"raw"``, ``"5min"`` or ``"hourly"``; ``tz``: the index's
    time zone (default the site's); ``shape``: ``"wide"`` or ``"long"``. ``attrs``: metric,
    unit, rollup (the one read), tz, since and until (ISO text, in ``tz``)."""
    _ready()
    unit = monitoring.metric_unit(metric) if isinstance(metric, str) else None
    if unit is None:
        raise ValueError(
            f"metric: {metric!r} is no metric of opskit's vocabulary; e.g. "
            "'ups.output.load_percent', 'env.temperature_c' (all: opskit.data.metrics())"
        )
    _choice(rollup, "rollup", ("auto", *ROLLUPS))
    _choice(shape, "shape", SHAPES)
    zone = _zone(tz)
    widest = "hourly" if rollup == "auto" else rollup
    start, end = _period(since, until, zone, MAX_SPAN[widest], f"{widest} values")
    auto = rollup == "auto"
    if auto:
        resolution = monitoring.resolution_for(end - start)
        rollup = next(name for name, seconds in ROLLUPS.items() if seconds == resolution)
    site_id = _site_id(site)
    ids: Any = _asset_ids(assets)
    if site_id is not None:
        if ids is None:
            ids = registry.site_assets_query(site_id)
        else:
            chosen = set(ids)
            ids = [row.id for row in registry.asset_rows(site_id=site_id) if row.id in chosen]
    spread = shape == "long"  # wide: the averages only
    columns = _read(metric, start, end, rollup, ids, spread)
    if auto and not len(columns[0]) and ROLLUPS[rollup] and end - start <= MAX_SPAN["raw"]:
        columns, rollup = _read(metric, start, end, "raw", ids, spread), "raw"  # no rollups yet
    attrs = {
        "metric": metric,
        "unit": unit,
        "rollup": rollup,
        "tz": str(zone.key),
        "since": start.astimezone(zone).isoformat(),  # text: kept in a Parquet file's metadata
        "until": end.astimezone(zone).isoformat(),
    }
    frame = _wide(columns, zone) if shape == "wide" else _long(columns, zone, unit, rollup)
    frame.attrs.update(attrs)
    return frame


def _read(
    metric: str, start: datetime, end: datetime, rollup: str, ids: Any, spread: bool
) -> list[np.ndarray[Any, Any]]:
    """The columns of the values read (a rollup's min, max and count too when ``spread``)."""
    resolution = ROLLUPS[rollup]
    width = len(monitoring.ROLLUP_COLUMNS if resolution and spread else monitoring.RAW_COLUMNS)
    if isinstance(ids, list) and not ids:
        return _columns([], width)
    rows = monitoring.metric_rows(metric, start, end, resolution, ids, spread=spread)
    return _columns(rows, width)


def _series(
    asset_ids: np.ndarray[Any, Any], instances: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], list[str]]:
    """Each value's series (asset and instance) as codes into sorted names (``TAG``, or
    ``TAG/instance`` for a metric with instances)."""
    inst_codes, inst_names = pd.factorize(pd.Index(instances, dtype=object))
    pair = asset_ids.astype(np.int64) * max(len(inst_names), 1) + inst_codes
    pairs, codes = np.unique(pair, return_inverse=True)
    tags = _tags(sorted({int(a) for a in np.unique(asset_ids)}))
    names = []
    for key in pairs:
        asset_id, inst = divmod(int(key), max(len(inst_names), 1))
        instance = str(inst_names[inst]) if len(inst_names) else ""
        tag = tags.get(asset_id, f"#{asset_id}")
        names.append(f"{tag}/{instance}" if instance else tag)
    order = np.argsort(np.array(names, dtype=object), kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], [names[i] for i in order]


def _tags(asset_ids: list[int]) -> dict[int, str]:
    return {int(row.id): str(row.asset_tag) for row in registry.asset_labels(asset_ids)}


def _wide(columns: list[np.ndarray[Any, Any]], zone: ZoneInfo) -> pd.DataFrame:
    asset_ids, instances, at, values = columns[0], columns[1], columns[2], columns[3]
    if not len(at):
        frame = pd.DataFrame(index=pd.DatetimeIndex([], tz=zone, name="at"), dtype=float)
        frame.columns.name = "series"
        return frame
    time_codes, stamps = pd.factorize(_times(at, zone), sort=True)
    codes, names = _series(np.asarray(asset_ids, dtype=np.int64), instances)
    grid = np.full((len(stamps), len(names)), np.nan)
    grid[time_codes, codes] = np.asarray(values, dtype=float)  # a repeated reading: one wins
    index = pd.DatetimeIndex(stamps, name="at")
    return pd.DataFrame(grid, index=index, columns=pd.Index(names, name="series"))


def _long(
    columns: list[np.ndarray[Any, Any]], zone: ZoneInfo, unit: str, rollup: str
) -> pd.DataFrame:
    asset_ids = pd.Series(columns[0], dtype=np.int64)
    tags = _tags(sorted(int(a) for a in asset_ids.unique()))
    data: dict[str, Any] = {
        "asset": pd.Index(asset_ids.map(tags).to_numpy(), dtype="str"),
        "instance": pd.Index(columns[1], dtype="str"),
        "value": np.asarray(columns[3], dtype=float),
    }
    if ROLLUPS[rollup]:
        data["min"] = np.asarray(columns[4], dtype=float)
        data["max"] = np.asarray(columns[5], dtype=float)
        data["count"] = np.asarray(columns[6], dtype=np.int64)
    index = _times(columns[2], zone) if len(columns[2]) else pd.DatetimeIndex([], tz=zone)
    frame = pd.DataFrame(data, index=pd.DatetimeIndex(index, name="at"))
    frame["unit"] = unit
    frame = frame.reset_index().sort_values(["at", "asset", "instance"], kind="stable")
    return frame.set_index("at")


def metrics() -> list[str]:
    """The metric names ``readings`` knows (the vocabulary of ``monitors.metrics``)."""
    return monitoring.metric_names()


def _place_names() -> tuple[dict[int, str], dict[int, str]]:
    """room id → room name, room id → its site's name."""
    rooms = registry.all_rooms()
    return {r.id: r.name for r in rooms}, {r.id: r.site.name for r in rooms}


def _frame(
    rows: list[Any], names: Sequence[str], zone: ZoneInfo, times: Sequence[str]
) -> pd.DataFrame:
    """Plain rows as a frame indexed by ``id``, the ``times`` columns aware in ``zone``."""
    frame = pd.DataFrame.from_records(rows, columns=list(names))
    for name in times:
        frame[name] = pd.to_datetime(frame[name], utc=True).dt.tz_convert(zone)
    return frame.set_index("id")


def _insert_before(frame: pd.DataFrame, before: str, name: str, values: Any) -> None:
    frame.insert(list(frame.columns).index(before), name, values)


def alerts(
    since: Any,
    until: Any = None,
    site: Any = None,
    urgency: str | None = None,
    state: str | None = None,
    tz: str | None = None,
) -> pd.DataFrame:
    """Alerts first seen in [since, until), oldest first, one row per alert (index ``id``):
    times, urgency (A/B/C), state (``status``: firing, acknowledged, resolved), source, rule,
    message, count, who acknowledged and resolved it, and its asset (tag) and room (name).
    ``state="open"``: firing or acknowledged."""
    _ready()
    if urgency is not None:
        _choice(urgency, "urgency", URGENCIES)
    if state is not None:
        _choice(state, "state", ALERT_STATES)
    zone = _zone(tz)
    start, end = _period(since, until, zone, MAX_SPAN["records"], "records")
    rows = desk.alert_rows(start, end, site_id=_site_id(site), urgency=urgency, status=state)
    frame = _frame(
        rows,
        desk.ALERT_COLUMNS,
        zone,
        ("first_seen", "last_seen", "acknowledged_at", "onsite_at", "resolved_at"),
    )
    ids = sorted({int(a) for a in frame["asset_id"].dropna()})
    tags = _tags(ids) if ids else {}
    rooms, _sites = _place_names()
    _insert_before(frame, "asset_id", "asset", frame["asset_id"].map(tags))
    _insert_before(frame, "room_id", "room", frame["room_id"].map(rooms))
    return frame


def rounds(since: Any, until: Any = None, site: Any = None, tz: str | None = None) -> pd.DataFrame:
    """Patrol rounds started in [since, until), oldest first, one row per round (index
    ``id``): started, submitted, status, room and site (names), plan (name; empty for an ad
    hoc round), engineer, and counts: answers, abnormal answers (warning or critical), findings
    and findings still open."""
    _ready()
    zone = _zone(tz)
    start, end = _period(since, until, zone, MAX_SPAN["records"], "records")
    rows = patrol.round_rows(start, end, site_id=_site_id(site))
    frame = _frame(rows, patrol.ROUND_COLUMNS, zone, ("started_at", "submitted_at"))
    rooms, sites = _place_names()
    _insert_before(frame, "room_id", "site", frame["room_id"].map(sites))
    _insert_before(frame, "room_id", "room", frame["room_id"].map(rooms))
    return frame


def assets(site: Any = None, kind: str | None = None) -> pd.DataFrame:
    """Registered assets by tag, one row per asset (index ``id``): tag, name, kind, status,
    importance, vendor, model, serial, site, room and rack (names), U position, management
    IP, warranty end (a date)."""
    _ready()
    if kind is not None:
        _choice(kind, "kind", registry.asset_kinds())
    rows = registry.asset_rows(site_id=_site_id(site), kind=kind)
    frame = pd.DataFrame.from_records(rows, columns=list(registry.ASSET_COLUMNS))
    frame["u_position"] = frame["u_position"].astype("Int64")
    return frame.set_index("id")
