"""Database load in the JSON API: each database server's top statements over a period
(``GET /database-load/statements``), what the database load report (数据库负载) shows — per
asset with a ``postgresql`` or ``mysql`` monitor, its ``top`` statements by total time summed
over the period's hours, the sum of every statement's time, and why a monitor could not read
them (``monitors.statements``). Filters ``asset_id``, ``since``/``until`` (default the last
day, at most 400 days); paged by server."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, ClassVar

from flask_babel import lazy_gettext as _l
from pydantic import Field

from assets import queries as registry
from monitors import queries
from monitors.api.common import bp
from opskit import openapi
from opskit.apischema import Id, Output, Page, Paging, TimeRange
from opskit.openapi import operation

TAG = "database_load"
openapi.tag(TAG, _l("Database load"))


class StatementOut(Output):
    """One statement summed over the period."""

    database: str
    statement_id: str = Field(description="PostgreSQL's queryid, MySQL's digest")
    text: str = Field(description="The normalised statement (capped)")
    calls: int
    total_ms: float
    rows: int
    mean_ms: float | None


class TotalOut(Output):
    calls: int
    total_ms: float
    rows: int


class WithheldOut(Output):
    kind: str
    reason: str


class ServerStatements(Output):
    """One database server's top statements in the period."""

    asset_id: int
    asset_tag: str
    statements: list[StatementOut] = Field(description="Most total time first")
    total: TotalOut | None = Field(description="Every statement's sum; null when not stored")
    withheld: list[WithheldOut] = Field(description="Monitors that could not read statements")


class StatementFilter(Paging, TimeRange):
    max_span: ClassVar[timedelta] = timedelta(days=400)
    asset_id: Id | None = None
    top: Annotated[int, Field(ge=1, le=100)] = Field(10, description="Statements per server")


@operation(
    bp,
    "GET",
    "/database-load/statements",
    query=StatementFilter,
    response=Page[ServerStatements],
    tag=TAG,
    summary=_l("Top statements of the database servers"),
)
def top_statements(query: StatementFilter) -> Any:
    since, until = query.bounds()
    ids = queries.database_asset_ids()
    if query.asset_id is not None:
        ids = [i for i in ids if i == query.asset_id]
    first = (query.page - 1) * query.per_page
    shown = ids[first : first + query.per_page]
    tops = queries.top_in_period(shown, since, until, query.top)
    withheld = queries.withheld_reasons(shown)
    tags = {a.id: a.asset_tag for a in registry.assets_by_ids(shown)}
    items = []
    for asset_id in shown:
        top, every = tops.get(asset_id, ([], None))
        items.append(
            {
                "asset_id": asset_id,
                "asset_tag": tags.get(asset_id, ""),
                "statements": top,
                "total": every,
                "withheld": [
                    {"kind": kind, "reason": why} for kind, why in withheld.get(asset_id, [])
                ],
            }
        )
    return {"items": items, "total": len(ids), "page": query.page, "per_page": query.per_page}
