"""Links between asset ports (one link per port end) and an asset's communication line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets.models import (
    Asset,
    AssetKind,
    CommunicationLine,
    Link,
    LinkSource,
)
from assets.services.rules import enum_value
from opskit import db
from opskit.validation import ValidationFailed


def save_link(
    a_asset: Asset,
    a_port: str,
    b_asset: Asset,
    b_port: str,
    medium: str = "",
    source: str = LinkSource.MANUAL.value,
    notes: str = "",
    link: Link | None = None,
) -> Link:
    errors: dict[str, list[str]] = {}
    a_port, b_port = a_port.strip(), b_port.strip()
    if not a_port:
        errors["a_port"] = [_("A port name is required.")]
    if not b_port:
        errors["b_port"] = [_("A port name is required.")]
    if a_asset is b_asset and a_port == b_port:
        errors["b_port"] = [_("A port cannot be linked to itself.")]
    source_value = enum_value(LinkSource, source, "source", errors)
    if errors:
        raise ValidationFailed(errors)
    sess = db.session()
    sess.flush()
    (a_asset, a_port), (b_asset, b_port) = sorted(
        [(a_asset, a_port), (b_asset, b_port)], key=lambda end: (end[0].id, end[1])
    )
    for field, asset, port in (("a_port", a_asset, a_port), ("b_port", b_asset, b_port)):
        existing = sess.scalar(
            select(Link).where(
                ((Link.a_asset_id == asset.id) & (Link.a_port == port))
                | ((Link.b_asset_id == asset.id) & (Link.b_port == port))
            )
        )
        if existing is not None and existing is not link:
            errors[field] = [
                _("Port %(port)s of %(tag)s is already linked.", port=port, tag=asset.asset_tag)
            ]
    if errors:
        raise ValidationFailed(errors)
    if link is None:
        link = Link()
        sess.add(link)
    link.a_asset, link.a_port, link.b_asset, link.b_port = a_asset, a_port, b_asset, b_port
    link.medium = medium.strip()
    link.source = source_value  # type: ignore[assignment]
    link.notes = notes.strip()
    return link


def save_line(asset: Asset, values: Mapping[str, Any]) -> CommunicationLine:
    if asset.kind != AssetKind.LINE.value:
        raise ValidationFailed.one("kind", _("Only assets of kind 'line' have line details."))
    circuit = str(values.get("circuit_id", "") or "").strip()
    if not circuit:
        raise ValidationFailed.one("circuit_id", _("A circuit ID is required."))
    sess = db.session()
    clash = sess.scalar(
        select(CommunicationLine.asset_id).where(CommunicationLine.circuit_id == circuit)
    )
    if clash is not None and clash != asset.id:
        raise ValidationFailed.one(
            "circuit_id", _("Circuit %(id)s is already registered.", id=circuit)
        )
    bandwidth = values.get("bandwidth_mbps")
    if bandwidth is not None and (not isinstance(bandwidth, int) or bandwidth <= 0):
        raise ValidationFailed.one("bandwidth_mbps", _("Bandwidth is a positive number of Mbit/s."))
    line = asset.line or CommunicationLine()
    line.circuit_id = circuit
    line.carrier = str(values.get("carrier", "") or "").strip()
    line.bandwidth_mbps = bandwidth
    line.a_end = str(values.get("a_end", "") or "").strip()
    line.z_end = str(values.get("z_end", "") or "").strip()
    asset.line = line
    return line
