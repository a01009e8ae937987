"""Report kind 设备配置和存储应用情况: each device's configuration and its volumes' use.

Per device (every asset not retired): tag, name, kind, vendor/model, serial, firmware, CPU
model and cores, memory and disks as registered (``Asset.specs``, on the registry's spec
vocabulary: ``cpu_model``, ``cpu_cores``, ``memory_gb``, ``disks``, ``firmware``) and as
discovered by monitoring (volumes seen and their total size).

Per volume (``host.storage.*`` readings of the period up to its "as of" instant,
``Context.as_of``: the build time while the period is running): size, used then (the last
value), peak and growth (last minus first, in percent points). Volumes at or
above ``NEAR_FULL`` percent at the end or at their peak are highlighted, and so are their
devices. Findings: each volume's use then (``storage.volume_use``) and the counts for the
summary (``storage.summary``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets.queries import (
    asset_configs_for_report,
    asset_ids_for_report,
    asset_kind_labels,
    asset_status_labels,
    assets_by_ids,
)
from monitors.queries import volume_usage
from opskit.xlsx.writer import INT, NUMBER, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, as_of_note, labeller, period_as_of, phrase

NEAR_FULL = 85.0  # percent, like the storage.full alert rule's warning
GB = 1024**3


def _volumes(ctx: Context) -> tuple[list[int], dict[tuple[int, str], dict[str, Any]]]:
    """The devices of the report and their volumes' use (``volume_usage``), once per pack."""

    def compute() -> tuple[list[int], dict[tuple[int, str], dict[str, Any]]]:
        ids = asset_ids_for_report()
        return ids, volume_usage(ctx.period.start, ctx.as_of, ids)

    return ctx.once("config_storage", compute)


def config_storage(ctx: Context) -> list[Sheet]:
    period = ctx.period
    ids, volumes = _volumes(ctx)
    by_asset: dict[int, list[tuple[str, dict[str, Any]]]] = {}
    for (asset_id, volume), use in sorted(volumes.items()):
        by_asset.setdefault(asset_id, []).append((volume, use))

    def near_full(use: dict[str, Any]) -> bool:
        return max(use["last"] or 0, use["peak"] or 0) >= NEAR_FULL

    def device_rows() -> Iterator[dict[str, Any]]:
        kind_label = labeller(asset_kind_labels())
        status_label = labeller(asset_status_labels())
        for row in asset_configs_for_report():  # streamed: one row at a time
            asset_id, tag, name, kind, vendor, model, serial, specs, status = row
            specs = specs or {}
            vols = by_asset.get(asset_id, [])
            sizes = [u["size"] for _v, u in vols if u["size"] is not None]
            yield {
                "tag": tag,
                "name": name,
                "kind": kind_label(kind),
                "vendor": vendor,
                "model": model,
                "serial": serial,
                "firmware": specs.get("firmware", ""),
                "cpu": cpu_words(specs.get("cpu_model"), specs.get("cpu_cores")),
                "memory": specs.get("memory_gb"),
                "disks": specs.get("disks", ""),
                "volumes": len(vols) or None,
                "capacity": round(sum(sizes) / GB, 1) if sizes else None,
                "status": status_label(status),
                "hot": any(near_full(u) for _v, u in vols),
            }

    volume_rows = []
    for a in sorted(
        assets_by_ids(sorted(by_asset)),
        key=lambda a: a.asset_tag,
    ):
        for volume, use in by_asset[a.id]:
            size = use["size"]
            used_gb = size * use["last"] / 100 / GB if size and use["last"] is not None else None
            growth = (
                use["last"] - use["first"]
                if use["last"] is not None and use["first"] is not None
                else None
            )
            volume_rows.append(
                {
                    "tag": a.asset_tag,
                    "name": a.name,
                    "volume": volume,
                    "size": round(size / GB, 1) if size else None,
                    "used_pct": _r(use["last"]),
                    "used_gb": _r(used_gb),
                    "peak": _r(use["peak"]),
                    "growth": _r(growth),
                    "hot": near_full(use),
                }
            )
    running = ctx.running
    ctx.headline[_("Devices (not retired)")] = len(ids)
    ctx.headline[_("Volumes near full")] = sum(1 for v in volume_rows if v["hot"])
    return [
        Sheet(
            _("Device configuration"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("kind", _("Kind")),
                Col("vendor", _("Vendor")),
                Col("model", _("Model")),
                Col("serial", _("Serial number")),
                Col("firmware", _("Firmware / OS")),
                Col("cpu", _("CPU (registered)")),
                Col("memory", _("Memory GB (registered)"), NUMBER),
                Col("disks", _("Disks (registered)")),
                Col("volumes", _("Volumes (discovered)"), INT),
                Col("capacity", _("Capacity GB (discovered)"), NUMBER),
                Col("status", _("Status")),
            ],
            device_rows(),
            highlight=lambda r: r["hot"],
            note=_("Devices with a volume at or above %(limit)s %% are highlighted.", limit=85),
        ),
        Sheet(
            _("Storage"),
            [
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("volume", _("Volume")),
                Col("size", _("Size GB"), NUMBER),
                Col("used_pct", _("Used % now") if running else _("Used % at period end"), NUMBER),
                Col("used_gb", _("Used GB now") if running else _("Used GB at period end"), NUMBER),
                Col("peak", _("Peak used %"), NUMBER),
                Col("growth", _("Growth in the period (points)"), NUMBER),
            ],
            volume_rows,
            highlight=lambda r: r["hot"],
            note=_(
                "Volumes of %(period)s; at or above %(limit)s %% highlighted.",
                period=period.text,
                limit=85,
            )
            + as_of_note(ctx),
        ),
    ]


def cpu_words(model: Any, cores: Any) -> str:
    """The CPU cell: the model and its cores (``2x Xeon 6338, 56 cores``), or either alone."""
    model = str(model or "").strip()
    if cores in (None, ""):
        return model
    if not model:
        return _("%(cores)s cores", cores=cores)
    return _("%(model)s, %(cores)s cores", model=model, cores=cores)


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def findings(ctx: Context) -> list[Finding]:
    """``storage.volume_use`` per volume with a use (figures: volume, used_pct then, peak_pct,
    growth in points, size_gb) and ``storage.summary`` (volumes, near_full at or above 85 %,
    limit)."""
    _ids, volumes = _volumes(ctx)
    assets = {a.id: a for a in assets_by_ids(sorted({asset_id for asset_id, _v in volumes}))}
    period = period_as_of(ctx)
    volume_used = phrase(_("Volume %(volume)s used %%"))  # per volume: translated once
    out = []
    near = 0
    for (asset_id, volume), use in sorted(volumes.items()):
        if use["last"] is None:
            continue
        a = assets.get(asset_id)
        used = round(use["last"], 1)
        near += max(use["last"] or 0, use["peak"] or 0) >= NEAR_FULL
        out.append(
            Finding(
                key="storage.volume_use",
                subject=f"{a.name} ({a.asset_tag})" if a else "",
                metric=volume_used(volume=volume),
                value=used,
                period=period,
                figures={
                    "volume": volume,
                    "used_pct": used,
                    "peak_pct": _r(use["peak"]),
                    "growth": _r(use["last"] - use["first"] if use["first"] is not None else None),
                    "size_gb": round(use["size"] / GB, 1) if use["size"] else None,
                    "value_unit": "%",
                },
                severity=int(used),
            )
        )
    out.append(
        Finding(
            key="storage.summary",
            subject="",
            metric=_("Volumes"),
            value=len(out),
            period=period,
            figures={"volumes": len(out), "near_full": near, "limit": NEAR_FULL},
        )
    )
    return out


KIND = Kind(_l("Configuration and storage"), config_storage, findings=findings)
