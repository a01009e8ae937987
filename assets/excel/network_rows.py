"""Applying the network sheets: 网段 (prefixes, by CIDR), IP地址 (addresses, by address),
链路 (links, by their ends) and 通信线路 (lines, by the asset's tag)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import services
from assets.excel.context import ImportContext
from assets.excel.keys import chunks
from assets.excel.sheets import ImportSheet, Row
from assets.models import Asset, IPAddress, Link, Prefix
from opskit.validation import ValidationFailed


def _canonical(parse: Any, text: str) -> str:
    try:
        return str(parse(text)) if text else ""
    except ValueError:
        return ""


def apply_prefixes(ctx: ImportContext, sheet: ImportSheet, rows: list[Row]) -> None:
    ctx.unique(
        sheet, rows, "cidr", lambda v: [_canonical(services.parse_network, v.get("cidr", ""))]
    )
    cidrs: dict[int, str] = {}
    for row in rows:
        if row.failed:
            continue
        try:
            cidrs[row.number] = str(services.parse_network(row.values["cidr"]))
        except ValueError as exc:
            ctx.problem(sheet, row, "cidr", str(exc))
    prefixes = ctx.prefixes_by_cidr(cidrs.values())
    for row in rows:
        if row.failed:
            continue
        v = row.values
        cidr = cidrs[row.number]
        prefix = prefixes.get(cidr)
        before = _prefix_state(prefix) if prefix is not None else None
        values: dict[str, Any] = {"cidr": cidr}
        for key in ("purpose", "notes"):
            if sheet.has(key):
                values[key] = v[key]
        for key in ("vlan", "gateway"):
            if sheet.has(key):
                values[key] = v[key] or None
        if sheet.has("site"):
            values["site"] = ctx.places.site(v["site"]) if v["site"] else None
        try:
            with ctx.sess.no_autoflush:
                saved = services.save_prefix(values, prefix)
        except ValidationFailed as exc:
            ctx.failed(sheet, row, exc, "cidr")
            continue
        prefixes[saved.cidr] = saved
        if before is None:
            ctx.count(sheet, "created")
        else:
            ctx.count(sheet, "updated" if _prefix_state(saved) != before else "unchanged")


def _prefix_state(prefix: Prefix) -> tuple[object, ...]:
    return (
        prefix.cidr,
        prefix.vlan,
        prefix.purpose,
        prefix.gateway,
        id(prefix.site),
        prefix.notes,
    )


def _address_state(address: IPAddress) -> tuple[object, ...]:
    return (
        address.address,
        id(address.prefix),
        address.status,
        id(address.asset),
        address.interface,
        address.hostname,
        address.mac,
        address.notes,
    )


def apply_addresses(ctx: ImportContext, sheet: ImportSheet, rows: list[Row]) -> None:
    ctx.unique(
        sheet, rows, "address", lambda v: [_canonical(services.parse_ip, v.get("address", ""))]
    )
    wanted: dict[str, Row] = {}
    for row in rows:
        if row.failed:
            continue
        try:
            ip = str(services.parse_ip(row.values["address"]))
        except ValueError as exc:
            ctx.problem(sheet, row, "address", str(exc))
            continue
        wanted[ip] = row
    existing: dict[str, IPAddress] = {}
    for chunk in chunks(list(wanted)):
        for stored in ctx.sess.scalars(select(IPAddress).where(IPAddress.address.in_(chunk))):
            existing[stored.address] = stored
    prefixes = ctx.prefixes_by_cidr(
        _canonical(services.parse_network, r.values.get("prefix") or "") for r in wanted.values()
    )
    assets, bad = ctx.refs(list(wanted.values()), "asset_tag")
    for ip, row in wanted.items():
        v = row.values
        address = existing.get(ip)
        before = _address_state(address) if address is not None else None
        values: dict[str, Any] = {"address": ip}
        if v.get("prefix"):
            try:
                cidr = str(services.parse_network(v["prefix"]))
            except ValueError as exc:
                ctx.problem(sheet, row, "prefix", str(exc))
                continue
            prefix = prefixes.get(cidr)
            if prefix is None:
                ctx.problem(
                    sheet,
                    row,
                    "prefix",
                    _("this prefix is not registered (add it on the 网段 sheet)"),
                )
                continue
            values["prefix"] = prefix
        if v.get("status"):
            values["status"] = v["status"]
        for key in ("interface", "hostname", "notes"):
            if sheet.has(key):
                values[key] = v[key]
        if sheet.has("mac"):
            values["mac"] = v["mac"] or None
        if sheet.has("asset_tag"):
            asset = ctx.asset_ref(sheet, row, "asset_tag", assets, bad)
            if asset is False:
                continue
            values["asset"] = asset
        try:
            with ctx.sess.no_autoflush:
                saved = services.save_address(values, address)
        except ValidationFailed as exc:
            ctx.failed(sheet, row, exc, "address")
            continue
        if before is None:
            ctx.count(sheet, "created")
        else:
            ctx.count(sheet, "updated" if _address_state(saved) != before else "unchanged")


def apply_links(ctx: ImportContext, sheet: ImportSheet, rows: list[Row]) -> None:
    def ends_of(v: dict[str, Any]) -> list[str | None]:
        return [
            f"{v.get('a_asset_tag')}\x1f{v['a_port']}" if v.get("a_port") else None,
            f"{v.get('b_asset_tag')}\x1f{v['b_port']}" if v.get("b_port") else None,
        ]

    ctx.unique(sheet, rows, "a_port", ends_of)
    assets, bad = ctx.refs(rows, "a_asset_tag", "b_asset_tag")
    ids = sorted({a.id for a in assets.values()})
    ends: dict[tuple[int, str], Link] = {}
    for chunk in chunks(ids):
        for stored_link in ctx.sess.scalars(
            select(Link).where(Link.a_asset_id.in_(chunk) | Link.b_asset_id.in_(chunk))
        ):
            ends[(stored_link.a_asset_id, stored_link.a_port)] = stored_link
            ends[(stored_link.b_asset_id, stored_link.b_port)] = stored_link
    for row in rows:
        if row.failed:
            continue
        v = row.values
        a = ctx.asset_ref(sheet, row, "a_asset_tag", assets, bad)
        b = ctx.asset_ref(sheet, row, "b_asset_tag", assets, bad)
        if not isinstance(a, Asset) or not isinstance(b, Asset):
            continue
        a_port, b_port = v["a_port"], v["b_port"]
        link = ends.get((a.id, a_port))
        if link is not None and {
            (link.a_asset_id, link.a_port),
            (link.b_asset_id, link.b_port),
        } != {
            (a.id, a_port),
            (b.id, b_port),
        }:
            link = None  # the port is linked elsewhere: the service says so
        before = _link_state(link) if link is not None else None
        kwargs: dict[str, Any] = {}
        for key in ("medium", "notes"):
            kwargs[key] = v[key] if sheet.has(key) else (getattr(link, key) if link else "")
        if v.get("source"):
            kwargs["source"] = v["source"]
        elif link is not None:
            kwargs["source"] = link.source
        try:
            saved = services.save_link(a, a_port, b, b_port, link=link, **kwargs)
        except ValidationFailed as exc:
            ctx.failed(sheet, row, exc, "a_port")
            continue
        ctx.sess.flush()
        ends[(saved.a_asset_id, saved.a_port)] = saved
        ends[(saved.b_asset_id, saved.b_port)] = saved
        if before is None:
            ctx.count(sheet, "created")
        else:
            ctx.count(sheet, "updated" if _link_state(saved) != before else "unchanged")


def _link_state(link: Link) -> tuple[object, ...]:
    return (
        link.a_asset_id,
        link.a_port,
        link.b_asset_id,
        link.b_port,
        link.medium,
        link.source,
        link.notes,
    )


def apply_lines(ctx: ImportContext, sheet: ImportSheet, rows: list[Row]) -> None:
    ctx.unique(sheet, rows, "asset_tag", lambda v: [v.get("asset_tag")])
    ctx.unique(sheet, rows, "circuit_id", lambda v: [v.get("circuit_id")])
    fields = ("circuit_id", "carrier", "bandwidth_mbps", "a_end", "z_end")
    assets, bad = ctx.refs(rows, "asset_tag", line=True)
    for row in rows:
        if row.failed:
            continue
        asset = ctx.asset_ref(sheet, row, "asset_tag", assets, bad)
        if not isinstance(asset, Asset):
            continue
        line = asset.line
        before = tuple(getattr(line, f) for f in fields) if line is not None else None
        values = {f: getattr(line, f) for f in fields} if line is not None else {}
        for key in fields:
            if sheet.has(key):
                values[key] = row.values[key]
        try:
            with ctx.sess.no_autoflush:
                saved = services.save_line(asset, values)
        except ValidationFailed as exc:
            ctx.failed(sheet, row, exc, "asset_tag")
            continue
        if before is None:
            ctx.count(sheet, "created")
        else:
            after = tuple(getattr(saved, f) for f in fields)
            ctx.count(sheet, "updated" if after != before else "unchanged")
        ctx.sess.flush()
