"""Readings in the API: one metric over a time range (raw, 5-minute or hourly), streamed; and
the metrics an asset reports.

``GET /readings`` answers one JSON object whose ``rows`` are written as the database hands them
over (``monitors.stream``, a chunk at a time): 90 days of a metric never sit in memory whole.
Everything is checked before the first byte goes out (a wrong filter is a 422 naming it). The
span a request may cover depends on the rollup (``MAX_DAYS``): raw readings 7 days, 5-minute
rollups their retention (``OPSKIT_RETENTION_5MIN_DAYS``, 180 by default), hourly rollups two
years. Times are ISO 8601 in UTC with their offset (``+00:00``); a rollup's time is its
bucket's start and its ``value`` the bucket's average (``stats=true``: its min, max and count
too). The database writes each row's JSON (``monitors.stream``); ``assets`` (the tag of each
asset met, by id) follows the rows.

``layout=columns`` answers the same values in the same order as ``chunks`` of columns instead
of ``rows`` of objects (one chunk per chunk read from the database, its ``asset_id``,
``instance``, ``at``, ``value`` … lists of equal length): Python's ``json`` parses it two to
four times faster (0.25-0.29 s against 0.58-0.77 s for 432,000 values; the whole call 1.6x a
plain SQL query's CPU against the rows' 2.0x, ``bench/api.py``) and pandas makes a frame of
each chunk directly. The answer names its
``layout``; the document describes both (``ReadingsAnswer``: one of ``Readings`` and
``ReadingColumns``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Annotated, Any, ClassVar, Literal

from flask import Response, stream_with_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import BaseModel, Field, RootModel, model_validator

from assets import queries as registry
from monitors import queries, rollups, stream
from monitors.api.common import READINGS, bp
from monitors.metrics import METRICS
from opskit.apischema import Id, Output, Text, TimeRange, one_of
from opskit.jsonapi import ApiError
from opskit.openapi import operation
from opskit.validation import ValidationFailed

ROLLUPS = {"raw": 0, "5min": 300, "hourly": 3600}
#: the longest span of one request, by rollup (5-minute: the configured retention instead)
MAX_DAYS = {"raw": 7, "5min": 180, "hourly": 731}

Rollup = Literal["auto", "raw", "5min", "hourly"]
Layout = Literal["rows", "columns"]


def max_days(rollup: str) -> int:
    if rollup == "5min":
        return rollups.retention().five_minute_days
    return MAX_DAYS[rollup]


class ReadingFilter(TimeRange):
    """Which values: one metric, of one asset (and instance) or of every asset that has it."""

    max_span: ClassVar[timedelta] = timedelta(days=MAX_DAYS["hourly"])

    metric: Annotated[
        str,
        one_of(queries.metric_names()),
        Field(description="A metric of the vocabulary", examples=["ups.output.load_percent"]),
    ]
    asset_id: Id | None = Field(None, description="Only this asset's values")
    instance: Annotated[Text, Field(max_length=128)] | None = Field(
        None, description="Only this instance (a UPS line, a sensor's probe, an interface)"
    )
    stats: bool = Field(
        False, description="A rollup's min, max and count of each bucket too (not raw readings)"
    )
    rollup: Rollup = Field(
        "auto",
        description="raw readings (7 days at most), 5min or hourly rollups (the bucket's "
        "average, min, max and count); auto: raw up to 2 days, 5min up to 31, hourly beyond",
    )
    layout: Layout = Field(
        "rows",
        description="rows: a list of objects, one per value; columns: chunks of lists, one "
        "list per field (the same values, in the same order; cheaper to parse)",
    )

    @model_validator(mode="after")
    def _rollup_span(self) -> ReadingFilter:
        since, until = self.bounds()
        days = max_days(self.chosen())
        if until - since > timedelta(days=days):
            raise ValidationFailed.one(
                "since",
                _(
                    "%(rollup)s values may be read at most %(n)d days at a time; choose a "
                    "coarser rollup or a shorter range.",
                    rollup=self.chosen(),
                    n=days,
                ),
            )
        return self

    def chosen(self) -> str:
        """The rollup read (``auto`` resolved by the span, as the charts do)."""
        if self.rollup != "auto":
            return self.rollup
        since, until = self.bounds()
        resolution = queries.resolution_for(until - since)
        return next(name for name, seconds in ROLLUPS.items() if seconds == resolution)


class ReadingRow(BaseModel):
    """One value; ``min``, ``max`` and ``count`` only in a rollup's rows asked with ``stats``."""

    asset_id: int = Field(description="The asset (its tag: ``assets``)")
    instance: str
    at: datetime = Field(description="ISO 8601 in UTC with its offset; a bucket's start")
    value: float | None = Field(description="The reading, or the bucket's average")
    min: float | None = None
    max: float | None = None
    count: int | None = Field(None, description="Readings in the bucket")


class _Head(Output):
    """What both layouts begin with."""

    metric: str
    label: str
    unit: str
    rollup: Literal["raw", "5min", "hourly"]
    since: datetime
    until: datetime


class Readings(_Head):
    """One metric's values over a time range, oldest first (streamed): ``layout=rows``."""

    layout: Literal["rows"]
    rows: list[ReadingRow]
    assets: dict[str, str] = Field(
        description="The tag of each asset in the rows, by id (after the rows: streamed)"
    )


class ReadingChunk(BaseModel):
    """A chunk of values as columns: the i-th value is ``asset_id[i]``, ``instance[i]``,
    ``at[i]``, ``value[i]`` (and with ``stats`` ``min[i]``, ``max[i]``, ``count[i]``); every
    list of a chunk has the same length."""

    asset_id: list[int] = Field(description="The asset (its tag: ``assets``)")
    instance: list[str]
    at: list[datetime] = Field(description="ISO 8601 in UTC with its offset; a bucket's start")
    value: list[float | None] = Field(description="The reading, or the bucket's average")
    min: list[float | None] | None = None
    max: list[float | None] | None = None
    count: list[int] | None = Field(None, description="Readings in each bucket")


class ReadingColumns(_Head):
    """One metric's values over a time range, oldest first, in chunks of columns (streamed):
    ``layout=columns``."""

    layout: Literal["columns"]
    chunks: list[ReadingChunk] = Field(description="The values, a chunk at a time, in order")
    assets: dict[str, str] = Field(
        description="The tag of each asset in the chunks, by id (after them: streamed)"
    )


class ReadingsAnswer(
    RootModel[Annotated[Readings | ReadingColumns, Field(discriminator="layout")]]
):
    """The answer of ``GET /readings``: ``Readings`` (``layout=rows``, the default) or
    ``ReadingColumns`` (``layout=columns``), told apart by ``layout``."""


def _values(query: ReadingFilter, rollup: str, since: datetime, until: datetime) -> Iterator[str]:
    """The rows' JSON as the database writes it (or the chunks of columns), a chunk at a time;
    then the tags of the assets met."""
    seen: set[int] = set()
    first = True
    args = (query.metric, since, until, ROLLUPS[rollup], query.asset_id, query.instance)
    if query.layout == "columns":
        for met, piece in stream.columns(*args, stats=query.stats):
            seen.update(met)
            yield piece if first else "," + piece
            first = False
    else:
        for chunk in stream.rows(*args, stats=query.stats):
            seen.update({asset_id for asset_id, _text in chunk})
            piece = ",".join([text for _asset_id, text in chunk])
            if piece:
                yield piece if first else "," + piece
                first = False
    tags = {str(a.id): a.asset_tag for a in registry.assets_by_ids(sorted(seen))} if seen else {}
    yield '],"assets":' + json.dumps(tags, ensure_ascii=False)


@operation(
    bp,
    "GET",
    "/readings",
    query=ReadingFilter,
    response=ReadingsAnswer,
    tag=READINGS,
    summary=_l("Read one metric over a time range"),
)
def list_readings(query: ReadingFilter) -> Any:
    """One metric's values over ``since`` … ``until``, oldest first, streamed: raw readings or
    rollups (``rollup``), of one asset or of all. The span is bounded by the rollup: raw 7
    days, 5min the 5-minute retention (180 days by default), hourly 731 days. ``layout=rows``
    (the default) answers ``rows`` of objects; ``layout=columns`` the same values as
    ``chunks`` of columns (lists of equal length), cheaper to parse."""
    rollup = query.chosen()
    since, until = query.bounds()
    if query.asset_id is not None and registry.get_asset(query.asset_id) is None:
        raise ValidationFailed.one("asset_id", _("No object with id %(id)d.", id=query.asset_id))
    head = {
        "metric": query.metric,
        "label": queries.metric_label(query.metric),
        "unit": METRICS[query.metric]["unit"],
        "rollup": rollup,
        "since": stream.stamp(since),
        "until": stream.stamp(until),
        "layout": query.layout,
    }
    values = "rows" if query.layout == "rows" else "chunks"

    def body() -> Iterator[str]:
        yield json.dumps(head, ensure_ascii=False)[:-1] + f',"{values}":['
        yield from _values(query, rollup, since, until)
        yield "}"

    return Response(stream_with_context(body()), mimetype="application/json")


# --- what an asset reports ---------------------------------------------------------------------


class MetricOut(Output):
    """A metric (and instance) the asset reports, with its newest reading."""

    metric: str
    label: str
    unit: str
    kind: str = Field(description="gauge, state or counter")
    instance: str
    at: datetime = Field(description="The newest reading's time")
    value: float | None
    text: str | None = Field(description="A state metric's state")


class AssetMetrics(Output):
    asset_id: int
    asset_tag: str
    items: list[MetricOut]


@operation(
    bp,
    "GET",
    "/assets/<int:asset_id>/metrics",
    response=AssetMetrics,
    errors=(404,),
    tag=READINGS,
    summary=_l("List the metrics an asset reports"),
)
def asset_metrics(asset_id: int) -> Any:
    """Each metric and instance the asset has readings of (within the raw readings' retention,
    14 days by default), with the newest value; by metric, then instance."""
    asset = registry.get_asset(asset_id)
    if asset is None:
        raise ApiError(404, "not_found", _("No such object."))
    items = []
    for r in queries.latest_readings(asset_id):
        entry = METRICS.get(r.metric, {})
        items.append(
            {
                "metric": r.metric,
                "label": queries.metric_label(r.metric),
                "unit": str(entry.get("unit", "")),
                "kind": str(entry.get("kind", "gauge")),
                "instance": r.instance,
                "at": r.at,
                "value": r.value if r.value is None or math.isfinite(r.value) else None,
                "text": r.text,
            }
        )
    return {"asset_id": asset.id, "asset_tag": asset.asset_tag, "items": items}
