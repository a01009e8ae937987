"""The logbook as a workbook: the filtered access and power books, two sheets (written with
``opskit.xlsx.writer``: streaming, formula-safe; ID numbers masked)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from inspections.logbook.queries import Filters, access_entries, power_events
from opskit.people import full_name
from opskit.xlsx.writer import DATETIME, Col, ReportWriter, Sheet


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value else None


def export_workbook(
    path: Path,
    filters: Filters,
    tz: ZoneInfo,
    labels: Mapping[str, str],
    actions: Mapping[str, Any],
) -> tuple[int, int]:
    """Write the filtered access and power books to ``path`` (two sheets); returns row counts.

    ``labels`` are the column headers by key (translated by the caller), ``actions`` the
    action labels. Text is written as text (formula-safe, see ``opskit.xlsx.writer``); ID numbers
    appear masked only.
    """

    def h(key: str) -> str:
        return str(labels.get(key, key))

    access_rows = (
        {
            "room": f"{e.room.site.name} / {e.room.name}",
            "name": e.name,
            "organisation": e.organisation,
            "purpose": e.purpose,
            "escort": e.escort,
            "id_number": e.id_masked,
            "in_at": _local(e.in_at, tz),
            "out_at": _local(e.out_at, tz),
            "recorded_by": full_name(e.recorded_by.username) if e.recorded_by else "",
        }
        for e in access_entries(filters, tz, limit=None)
    )
    power_rows = (
        {
            "occurred_at": _local(p.occurred_at, tz),
            "asset_tag": p.asset.asset_tag,
            "asset_name": p.asset.name,
            "room": p.asset.room.name if p.asset.room else "",
            "action": str(actions.get(p.action, p.action)),
            "reason": p.reason,
            "change_ref": p.change_ref,
            "performed_by": full_name(p.performed_by),
            "recorded_by": full_name(p.recorded_by.username) if p.recorded_by else "",
        }
        for p in power_events(filters, tz, limit=None)
    )
    access_cols = [
        Col("room", h("room")),
        Col("name", h("name")),
        Col("organisation", h("organisation")),
        Col("purpose", h("purpose")),
        Col("escort", h("escort")),
        Col("id_number", h("id_number")),
        Col("in_at", h("in_at"), DATETIME),
        Col("out_at", h("out_at"), DATETIME),
        Col("recorded_by", h("recorded_by")),
    ]
    power_cols = [
        Col("occurred_at", h("occurred_at"), DATETIME),
        Col("asset_tag", h("asset_tag")),
        Col("asset_name", h("asset_name")),
        Col("room", h("room")),
        Col("action", h("action")),
        Col("reason", h("reason")),
        Col("change_ref", h("change_ref")),
        Col("performed_by", h("performed_by")),
        Col("recorded_by", h("recorded_by")),
    ]
    with ReportWriter(path) as writer:
        n_access = writer.sheet(Sheet(h("sheet_access"), access_cols, access_rows))
        n_power = writer.sheet(Sheet(h("sheet_power"), power_cols, power_rows))
    return n_access, n_power
