"""Report kind 维修记录: the repairs of the period by the importance of the asset, as the contract
asks (设备运行及维修记录按重要性级别定期书面报告).

A repair belongs to the period it happened in: its downtime start, else when it was recorded.

- 维修按重要性: per importance level (核心 / 重要 / 一般) and in total, the assets repaired,
  the repairs, the downtime in hours (a downtime still open counts up to the period's end, or
  now in a period still running), the parts replaced (their quantities), the vendor cases (a
  repair with a case number or an RMA), the RMAs and the cost.
- 厂商工单: every repair with a vendor case: vendor, case number, RMA, the vendor's engineer,
  opened and closed.
- 维修记录明细: every repair with its asset, fault, cause, work done, parts (serial out → in),
  downtime, vendor case, cost and result, and the engineer who recorded it by full name.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit.people import full_name
from opskit.servicedesk import queries as desk
from opskit.xlsx.writer import DATETIME, INT, NUMBER, Col, Sheet
from reports.kinds.base import Context, Kind, labeller, local_time


def downtime(repair: Any, until: datetime) -> timedelta | None:
    """The repair's downtime; one still open up to ``until``; None without a start."""
    if repair.downtime_start is None:
        return None
    end = repair.downtime_end or max(until, repair.downtime_start)
    return end - repair.downtime_start


def has_vendor_case(repair: Any) -> bool:
    return bool(repair.vendor_case_number.strip() or repair.rma_number.strip())


def hours(value: timedelta | None) -> float | None:
    return None if value is None else round(value.total_seconds() / 3600, 2)


def repairs(ctx: Context) -> list[Sheet]:
    period = ctx.period
    judged_at = ctx.as_of
    found = desk.repairs_between(period.start, period.end)
    assets = {a.id: a for a in registry.assets_by_ids(sorted({r.asset_id for r in found}))}
    importance_word = labeller(registry.importance_labels())
    numbers = desk.request_numbers(r.request_id for r in found)

    def importance_of(repair: Any) -> str:
        asset = assets.get(repair.asset_id)
        return asset.importance if asset is not None else ""

    # by importance, every level listed (the registry's order), then the total
    levels = list(registry.importance_labels())
    groups: dict[str, list[Any]] = defaultdict(list)
    for repair in found:
        groups[importance_of(repair)].append(repair)

    def figures(name: str, rows: list[Any]) -> dict[str, Any]:
        down = [d for d in (downtime(r, judged_at) for r in rows) if d is not None]
        costs = [r.cost for r in rows if r.cost is not None]
        return {
            "importance": name,
            "assets": len({r.asset_id for r in rows}),
            "repairs": len(rows),
            "downtime": hours(sum(down, timedelta(0))),
            "parts": sum(p.quantity for r in rows for p in r.parts),
            "cases": sum(1 for r in rows if has_vendor_case(r)),
            "rmas": sum(1 for r in rows if r.rma_number.strip()),
            "cost": float(sum(costs)) if costs else 0.0,
        }

    summary = [figures(importance_word(level), groups.get(level, [])) for level in levels]
    summary += [
        figures(importance_word(level), groups[level]) for level in groups if level not in levels
    ]
    total = figures(_("Total"), found)
    summary.append(total)
    ctx.headline[_("Repairs")] = total["repairs"]
    ctx.headline[_("Repair downtime (hours)")] = total["downtime"]
    ctx.headline[_("Repair cost (yuan)")] = total["cost"]

    def asset_fields(repair: Any) -> dict[str, Any]:
        asset = assets.get(repair.asset_id)
        return {
            "tag": asset.asset_tag if asset is not None else "",
            "asset": asset.name if asset is not None else "",
            "importance": importance_word(importance_of(repair)),
        }

    cases = [
        {
            "number": desk.repair_number(r),
            **asset_fields(r),
            "vendor": r.vendor,
            "case": r.vendor_case_number,
            "rma": r.rma_number,
            "engineer": r.vendor_engineer,
            "opened": local_time(r.vendor_opened_at, ctx),
            "closed": local_time(r.vendor_closed_at, ctx),
        }
        for r in found
        if has_vendor_case(r)
    ]
    details = [
        {
            "number": desk.repair_number(r),
            "request": numbers.get(r.request_id, "") if r.request_id is not None else "",
            **asset_fields(r),
            "fault": r.fault,
            "diagnosis": r.diagnosis,
            "work": r.work_done,
            "parts": "；".join(
                f"{p.part} ×{p.quantity}"
                + (
                    f"（{p.serial_out or '—'} → {p.serial_in or '—'}）"
                    if p.serial_out or p.serial_in
                    else ""
                )
                for p in r.parts
            ),
            "start": local_time(r.downtime_start, ctx),
            "end": local_time(r.downtime_end, ctx),
            "downtime": hours(downtime(r, judged_at)),
            "vendor": r.vendor,
            "case": r.vendor_case_number,
            "rma": r.rma_number,
            "cost": float(r.cost) if r.cost is not None else None,
            "result": r.result,
            "engineer": full_name(r.created_by),
        }
        for r in found
    ]
    return [
        Sheet(
            _("Repairs by importance"),
            [
                Col("importance", _("Importance")),
                Col("assets", _("Assets repaired"), INT),
                Col("repairs", _("Repairs"), INT),
                Col("downtime", _("Downtime (hours)"), NUMBER),
                Col("parts", _("Parts replaced"), INT),
                Col("cases", _("Vendor cases"), INT),
                Col("rmas", _("RMAs"), INT),
                Col("cost", _("Cost (yuan)"), NUMBER),
            ],
            summary,
            note=_(
                "Repairs that happened in the period (downtime start, else when recorded) by "
                "the importance of the asset; a downtime still open counts up to the period's "
                "end."
            ),
        ),
        Sheet(
            _("Vendor cases"),
            [
                Col("number", _("Repair")),
                Col("tag", _("Asset tag")),
                Col("asset", _("Name")),
                Col("importance", _("Importance")),
                Col("vendor", _("Vendor")),
                Col("case", _("Vendor case number")),
                Col("rma", _("RMA number")),
                Col("engineer", _("Vendor engineer")),
                Col("opened", _("Case opened"), DATETIME),
                Col("closed", _("Case closed"), DATETIME),
            ],
            cases,
            highlight=lambda row: row["closed"] is None,
        ),
        Sheet(
            _("Repair list"),
            [
                Col("number", _("Repair")),
                Col("request", _("Request")),
                Col("tag", _("Asset tag")),
                Col("asset", _("Name")),
                Col("importance", _("Importance")),
                Col("fault", _("Fault"), width=30),
                Col("diagnosis", _("Cause / diagnosis"), width=30),
                Col("work", _("Work done"), width=30),
                Col("parts", _("Parts replaced"), width=40),
                Col("start", _("Downtime start"), DATETIME),
                Col("end", _("Downtime end"), DATETIME),
                Col("downtime", _("Downtime (hours)"), NUMBER),
                Col("vendor", _("Vendor")),
                Col("case", _("Vendor case number")),
                Col("rma", _("RMA number")),
                Col("cost", _("Cost (yuan)"), NUMBER),
                Col("result", _("Result"), width=30),
                Col("engineer", _("Engineer")),
            ],
            details,
            note=_("Times in site time."),
        ),
    ]


KIND = Kind(_l("Repair records"), repairs)
