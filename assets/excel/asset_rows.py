"""Applying the 资产 (assets) sheet: a batch of rows, upserted by asset tag."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from assets import services
from assets.excel.columns import SPEC_KEYS, name_key
from assets.excel.context import ImportContext
from assets.excel.keys import Keys
from assets.excel.sheets import ImportSheet, Row
from assets.models import Asset
from opskit.validation import ValidationFailed


def _asset_state(asset: Asset) -> tuple[object, ...]:
    return (
        asset.asset_tag,
        asset.name,
        asset.kind,
        asset.vendor,
        asset.model,
        asset.serial,
        asset.status,
        asset.importance,
        asset.owner,
        asset.contact,
        id(asset.room),
        id(asset.rack),
        asset.u_position,
        asset.u_height,
        asset.mgmt_ip,
        asset.purchase_date,
        asset.warranty_end,
        asset.support_level,
        dict(asset.specs or {}),
        asset.notes,
    )


def _file_overlaps(
    ctx: ImportContext, sheet: ImportSheet, rows: list[Row], existing: dict[str, Asset]
) -> None:
    """Two rows of the file in the same rack units: report the later row."""
    if not (sheet.has("rack") and sheet.has("u_position")):
        return
    wanted_by_row: list[tuple[Row, str, range]] = []
    for row in rows:
        v = row.values
        if row.failed or not v.get("rack") or v.get("u_position") is None:
            continue
        asset = existing.get(v.get("asset_tag") or "")
        height = v.get("u_height")
        if height is None:
            height = asset.u_height if asset is not None else 1
        wanted = range(v["u_position"], v["u_position"] + max(height, 0))
        if not wanted or wanted.start < 1 or wanted.stop > 61:
            continue  # outside any rack: the services say so
        rack = "\x1f".join(
            (name_key(v.get("site", "")), name_key(v.get("room", "")), name_key(v["rack"]))
        )
        wanted_by_row.append((row, rack, wanted))
    taken = ctx.keys.find(
        "unit", {f"{rack}\x1f{u}" for _row, rack, wanted in wanted_by_row for u in wanted}
    )
    fresh: list[tuple[str, int, str, int]] = []
    for row, rack, wanted in wanted_by_row:
        clash = next((u for u in wanted if f"{rack}\x1f{u}" in taken), None)
        if clash is not None:
            other_row, other_tag, _flag = taken[f"{rack}\x1f{clash}"]
            ctx.problem(
                sheet,
                row,
                "u_position",
                _(
                    "U%(unit)d of rack %(rack)s is also taken by %(tag)s on row %(row)d",
                    unit=clash,
                    rack=row.values["rack"],
                    tag=other_tag,
                    row=other_row,
                ),
            )
            continue
        tag = row.values.get("asset_tag") or ""
        for u in wanted:
            taken[f"{rack}\x1f{u}"] = [row.number, tag, 0]
            fresh.append((f"{rack}\x1f{u}", row.number, tag, 0))
    ctx.keys.add("unit", fresh)


def apply_assets(ctx: ImportContext, sheet: ImportSheet, rows: list[Row]) -> None:
    text_fields = ("vendor", "model", "serial", "owner", "contact", "support_level", "notes")
    location_given = any(sheet.has(k) for k in ("site", "room", "rack"))
    spec_columns = [k for k in SPEC_KEYS if sheet.has(k)]
    ctx.unique(sheet, rows, "asset_tag", lambda v: [v.get("asset_tag")])
    existing = ctx.assets_by_tag(
        (r.values.get("asset_tag") for r in rows if not r.failed),
        selectinload(Asset.units),
        selectinload(Asset.line),
    )
    _file_overlaps(ctx, sheet, rows, existing)
    pending: list[tuple[Row, dict[str, Any]]] = []
    for row in rows:
        v = row.values
        tag = v.get("asset_tag") or ""
        if row.failed:
            continue
        asset = existing.get(tag)
        before = _asset_state(asset) if asset is not None else None
        values: dict[str, Any] = {"asset_tag": tag, "name": v["name"], "kind": v["kind"]}
        for key in ("status", "importance"):
            if v.get(key):
                values[key] = v[key]
        for key in text_fields:
            if sheet.has(key):
                values[key] = v[key]
        for key in ("mgmt_ip", "purchase_date", "warranty_end", "u_position"):
            if sheet.has(key):
                values[key] = v[key] or None
        if sheet.has("u_height") and v.get("u_height") is not None:
            values["u_height"] = v["u_height"]
        if spec_columns or sheet.has("specs"):
            specs = dict(asset.specs or {}) if asset is not None else {}
            if sheet.has("specs"):
                specs = {k: val for k, val in specs.items() if k in SPEC_KEYS}
                specs.update(v.get("specs") or {})
            for key in spec_columns:
                if v.get(key) in (None, ""):
                    specs.pop(key, None)
                else:
                    specs[key] = v[key]
            values["specs"] = specs
        if location_given:
            location = ctx.location(sheet, row)
            if location is None:
                continue
            values["room"], values["rack"] = location
        if asset is None:  # new assets go in one flush per batch
            pending.append((row, values))
            continue
        try:
            # Every asset is flushed by the service itself; in-file overlaps were found
            # above, so the queries need not flush the previous row's units first.
            with ctx.sess.no_autoflush:
                saved = services.save_asset(values, asset)
        except ValidationFailed as exc:
            ctx.failed(sheet, row, exc, "asset_tag")
            ctx.sess.expire(asset)
            continue
        ctx.count(sheet, "updated" if _asset_state(saved) != before else "unchanged")
    if pending:
        results = services.add_assets([values for _row, values in pending])
        for (row, _values), outcome in zip(pending, results, strict=True):
            if isinstance(outcome, ValidationFailed):
                ctx.failed(sheet, row, outcome, "asset_tag")
            else:
                ctx.count(sheet, "created")
    failed = [t for r in rows if r.failed and (t := r.values.get("asset_tag"))]
    if failed:
        ctx.keys.flag("assets.asset_tag", failed, Keys.BAD)
