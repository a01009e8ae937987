"""Assets: their fields checked (tag, kind, state, dates, management IP), their place in a
rack, saved one at a time (forms, the API) or many at once (the Excel importer)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from assets import specs as spec_vocabulary
from assets.models import (
    Asset,
    AssetKind,
    AssetStatus,
    Importance,
    Link,
    Rack,
    RackUnit,
)
from assets.services.addresses import parse_ip
from assets.services.placement import place, reserved_units, sync_units
from assets.services.rules import enum_value
from opskit import db
from opskit.validation import ValidationFailed

TAG_RE = re.compile(r"^[\w.\-/#]{1,64}$")


ASSET_FIELDS = (
    "asset_tag",
    "name",
    "kind",
    "vendor",
    "model",
    "serial",
    "status",
    "importance",
    "owner",
    "contact",
    "room",
    "rack",
    "u_position",
    "u_height",
    "mgmt_ip",
    "purchase_date",
    "warranty_end",
    "support_level",
    "specs",
    "notes",
)


TEXT_FIELDS = ("vendor", "model", "serial", "owner", "contact", "support_level", "notes")


def _clean_fields(
    values: Mapping[str, Any], asset: Asset, tag_taken: Callable[[str], bool]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Validate the non-location fields against ``asset``'s current values; (clean, errors)."""
    unknown = set(values) - set(ASSET_FIELDS)
    if unknown:
        raise ValueError(f"unknown asset fields: {sorted(unknown)}")
    errors: dict[str, list[str]] = {}
    tag = str(values.get("asset_tag", asset.asset_tag) or "").strip()
    if not tag:
        errors.setdefault("asset_tag", []).append(_("An asset tag is required."))
    elif not TAG_RE.match(tag):
        errors.setdefault("asset_tag", []).append(
            _("Use letters, digits and . _ - / # (up to 64).")
        )
    elif tag_taken(tag):
        errors.setdefault("asset_tag", []).append(
            _("Asset tag %(tag)s is already registered.", tag=tag)
        )
    name = str(values.get("name", asset.name) or "").strip()
    if not name:
        errors.setdefault("name", []).append(_("A name is required."))
    clean: dict[str, Any] = {
        "asset_tag": tag,
        "name": name,
        "kind": enum_value(AssetKind, values.get("kind", asset.kind), "kind", errors),
        "status": enum_value(
            AssetStatus,
            values.get("status", asset.status) or AssetStatus.IN_SERVICE,
            "status",
            errors,
        ),
        "importance": enum_value(
            Importance,
            values.get("importance", asset.importance) or Importance.GENERAL,
            "importance",
            errors,
        ),
    }
    mgmt_ip = values.get("mgmt_ip", asset.mgmt_ip) or None
    if mgmt_ip:
        try:
            mgmt_ip = str(parse_ip(str(mgmt_ip)))
        except ValueError as exc:
            errors.setdefault("mgmt_ip", []).append(str(exc))
    clean["mgmt_ip"] = mgmt_ip
    purchase = values.get("purchase_date", asset.purchase_date)
    warranty = values.get("warranty_end", asset.warranty_end)
    for field, value in (("purchase_date", purchase), ("warranty_end", warranty)):
        if value is not None and not isinstance(value, date):
            errors.setdefault(field, []).append(_("Expected a date."))
    if isinstance(purchase, date) and isinstance(warranty, date) and warranty < purchase:
        errors.setdefault("warranty_end", []).append(
            _("The warranty cannot end before the purchase date.")
        )
    clean["purchase_date"], clean["warranty_end"] = purchase, warranty
    specs = values.get("specs", asset.specs) or {}
    if not isinstance(specs, dict):
        errors.setdefault("specs", []).append(_("Expected key/value pairs."))
        specs = {}
    if "specs" in values:  # given: on the one vocabulary (CPU/内存/硬盘... under their keys)
        specs, problems = spec_vocabulary.normalise(specs)
        if problems:
            errors.setdefault("specs", []).extend(problems)
    clean["specs"] = dict(specs)
    for field in TEXT_FIELDS:
        if field in values or getattr(asset, field) is None:
            clean[field] = str(values.get(field) or "").strip()
    return clean, errors


def _set_position(asset: Asset, values: Mapping[str, Any]) -> None:
    if "room" in values or "rack" in values:
        asset.rack = values.get("rack", asset.rack)
        asset.room = values.get("room", asset.room if asset.rack is None else None)
        if asset.rack is not None and "room" not in values:
            asset.room = asset.rack.room
    if "u_position" in values:
        asset.u_position = values["u_position"]
    if "u_height" in values and values["u_height"] is not None:
        asset.u_height = int(values["u_height"])


def _discard(asset: Asset) -> None:
    """Leave no half-made new asset behind (e.g. in its rack's collection)."""
    asset.rack = None
    asset.room = None
    sess = db.session()
    if asset in sess:
        sess.expunge(asset)


def save_asset(values: Mapping[str, Any], asset: Asset | None = None) -> Asset:
    """Create or update an asset from typed ``values`` (keys: ``ASSET_FIELDS``)."""
    sess = db.session()
    creating = asset is None
    current = asset if asset is not None else Asset(specs={}, u_height=1)

    def tag_taken(tag: str) -> bool:
        clash = sess.scalar(select(Asset.id).where(Asset.asset_tag == tag))
        return clash is not None and clash != current.id

    clean, errors = _clean_fields(values, current, tag_taken)
    if errors:
        raise ValidationFailed(errors)
    for field, value in clean.items():
        setattr(current, field, value)
    # No autoflush while the position is half-changed: a lazy load of asset.room or rack.room
    # would flush it (e.g. rack cleared, U position kept) and trip a CHECK before _place speaks.
    with sess.no_autoflush:
        _set_position(current, values)
        place(current, errors)
    if errors:
        if creating:
            _discard(current)
        raise ValidationFailed(errors)
    if creating:
        sess.add(current)
    sync_units(current)
    return current


def delete_asset(asset: Asset) -> None:
    sess = db.session()
    sess.execute(delete(Link).where((Link.a_asset_id == asset.id) | (Link.b_asset_id == asset.id)))
    sess.delete(asset)


def count_assets() -> int:
    return db.session().scalar(select(func.count()).select_from(Asset)) or 0


def add_assets(items: Sequence[Mapping[str, Any]]) -> list[Asset | ValidationFailed]:
    """Create many new assets in one flush; per item, the new Asset or why it was refused.

    The same checks as ``save_asset`` (the same functions), but tags are looked up with one
    query per 500, units taken (and held by reservations) are read once per rack and tracked in
    memory for the batch, and
    everything is flushed once, so 50,000 rows take a minute rather than many. Refused items
    leave nothing behind. Racks and rooms in ``values`` may be new (pending).
    """
    sess = db.session()
    sess.flush()  # ids for new racks, so units can be recorded
    tags = [str(v.get("asset_tag") or "").strip() for v in items]
    registered: set[str] = set()
    for start in range(0, len(tags), 500):
        chunk = [t for t in tags[start : start + 500] if t]
        registered.update(sess.scalars(select(Asset.asset_tag).where(Asset.asset_tag.in_(chunk))))
    taken_units: dict[int, dict[int, str]] = {}  # rack id → unit → tag (database + this batch)
    rack_ids = sorted({v["rack"].id for v in items if v.get("rack") is not None})
    for start in range(0, len(rack_ids), 500):
        for rack_id, unit, tag in sess.execute(
            select(RackUnit.rack_id, RackUnit.unit, Asset.asset_tag)
            .join(Asset, RackUnit.asset_id == Asset.id)
            .where(RackUnit.rack_id.in_(rack_ids[start : start + 500]))
        ):
            taken_units.setdefault(rack_id, {})[unit] = tag

    held_units: dict[int, dict[int, tuple[str, str]]] = {}  # rack id → unit → (plan, until)
    for start in range(0, len(rack_ids), 500):
        held_units.update(reserved_units(rack_ids[start : start + 500]))

    def occupied(rack: Rack, wanted: set[int], _asset: Asset) -> dict[int, str]:
        held = taken_units.get(rack.id, {})
        return {u: held[u] for u in wanted if u in held}

    def reserved(rack: Rack, wanted: set[int]) -> dict[int, tuple[str, str]]:
        held = held_units.get(rack.id, {})
        return {u: held[u] for u in wanted if u in held}

    out: list[Asset | ValidationFailed] = []
    with sess.no_autoflush:
        for values in items:
            asset = Asset(specs={}, u_height=1)
            clean, errors = _clean_fields(values, asset, registered.__contains__)
            if errors:
                out.append(ValidationFailed(errors))
                continue
            for field, value in clean.items():
                setattr(asset, field, value)
            _set_position(asset, values)
            units = place(asset, errors, occupied, reserved)
            if errors:
                _discard(asset)
                out.append(ValidationFailed(errors))
                continue
            sess.add(asset)
            for unit in units:
                taken_units.setdefault(asset.rack.id, {})[unit] = asset.asset_tag  # type: ignore[union-attr]
                asset.units.append(RackUnit(rack_id=asset.rack.id, unit=unit))  # type: ignore[union-attr]
            registered.add(asset.asset_tag)
            out.append(asset)
    sess.flush()
    return out
