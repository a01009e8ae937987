"""Patrol overview pages: today's rounds, history by date and room, reading trends, Excel export.

Read-only pages for every role, built on ``inspections.queries`` (rounds, slots, series) and
``inspections.limits`` (the limits in force, drawn on the trend chart).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from assets import queries as assets
from inspections import export as patrol_export
from inspections import limits, queries
from inspections.items import kind_of
from inspections.labels import LEVEL_LABELS as _LEVEL_LABELS
from inspections.labels import ROUND_STATUS_LABELS, SLOT_STATE_LABELS
from opskit import clock
from opskit.i18n import site_tz
from opskit.validation import ValidationFailed

bp = Blueprint("patrol_views", __name__, url_prefix="/patrol")

STATE_LABELS = SLOT_STATE_LABELS
STATUS_LABELS = ROUND_STATUS_LABELS
LEVEL_LABELS = {**_LEVEL_LABELS, "": ""}
#: the page of one round (inspections.round_views), linked from today and history
ROUND_ENDPOINT = "inspections.round_page"


def round_url(patrol: Any) -> str | None:
    """The page of a round in the round views (None while they are not installed)."""
    if ROUND_ENDPOINT not in current_app.view_functions:
        return None
    return url_for(ROUND_ENDPOINT, client_id=patrol.client_id)


def _date_arg(name: str, default: date | None) -> date | None:
    raw = request.args.get(name, "").strip()
    try:
        return date.fromisoformat(raw) if raw else default
    except ValueError:
        return default


def _room_arg() -> int | None:
    raw = request.args.get("room", "")
    return int(raw) if raw.isdigit() else None


def _local_day() -> date:
    return clock.site_today()


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = site_tz()
    low = datetime.combine(start, datetime.min.time(), tz)
    high = datetime.combine(end + timedelta(days=1), datetime.min.time(), tz)
    return low, high


def _room_names() -> dict[int, str]:
    return {r.id: f"{r.site.name} / {r.name}" for r in assets.all_rooms()}


# --- today ------------------------------------------------------------------------------------


@bp.route("/today")
def today() -> Any:
    day = _date_arg("day", None) or _local_day()
    slots = queries.rounds_for_day(day)
    room = _room_arg()
    if room:
        slots = [s for s in slots if s.room_id == room]
    counts = {state: sum(1 for s in slots if s.state == state) for state in STATE_LABELS}
    return render_template(
        "inspections/today.html",
        day=day,
        slots=slots,
        counts=counts,
        states=STATE_LABELS,
        rooms=_room_names(),
        room=room,
        round_url=round_url,
        start_url=url_for("inspections.new_round")
        if "inspections.new_round" in current_app.view_functions and current_user.can_write
        else None,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
    )


# --- history ----------------------------------------------------------------------------------


@bp.route("/history")
def history() -> Any:
    end = _date_arg("end", None) or _local_day()
    start = _date_arg("start", None) or end - timedelta(days=6)
    if start > end:
        start, end = end, start
    room = _room_arg()
    status = request.args.get("status", "")
    rounds = queries.rounds_between(
        *_bounds(start, end), room_id=room, status=status if status in STATUS_LABELS else None
    )
    rows: list[dict[str, Any]] = [
        {
            "round": r,
            "abnormal": sum(1 for a in r.answers if a.level in ("warning", "critical")),
            "answers": len(r.answers),
            "findings_open": sum(1 for f in r.findings if f.closed_at is None),
            "url": round_url(r),
        }
        for r in rounds
    ]
    by_day: dict[date, list[dict[str, Any]]] = {}
    tz = site_tz()
    for row in rows:
        by_day.setdefault(row["round"].started_at.astimezone(tz).date(), []).append(row)
    return render_template(
        "inspections/history.html",
        by_day=by_day,
        start=start,
        end=end,
        room=room,
        status=status,
        rooms=_room_names(),
        statuses=STATUS_LABELS,
        total=len(rows),
    )


# --- trends -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingChoice:
    value: str  # "checklist.item"
    label: str
    unit: str


def _reading_choices() -> list[ReadingChoice]:
    out = []
    for checklist in sorted(limits.site_checklists().checklists.values(), key=lambda c: c.key):
        for item in checklist.items:
            if kind_of(item).has_limits:
                out.append(
                    ReadingChoice(
                        f"{checklist.key}.{item.key}",
                        f"{limits.shown(checklist.title, checklist.title_en)} · "
                        f"{limits.shown(item.label, item.label_en)}",
                        item.unit,
                    )
                )
    return out


def trend_data(
    checklist_key: str,
    item_key: str,
    start: date,
    end: date,
    room_id: int | None,
    asset_id: int | None,
) -> dict[str, Any]:
    """The series and limits of one reading for the chart (also what the page's table shows)."""
    checklist = limits.site_checklists().checklists[checklist_key]
    item = checklist.item(item_key)
    points = queries.item_series(
        checklist_key, item_key, *_bounds(start, end), room_id=room_id, asset_id=asset_id
    )
    try:
        lim = limits.limits_for(checklist_key, item, room_id=room_id, asset_id=asset_id)
    except ValidationFailed:
        lim = item.limits
    tz = site_tz()
    lines = []
    for key, value in (
        ("normal_min", lim.normal_min),
        ("normal_max", lim.normal_max),
        ("warning_low", lim.warning_low),
        ("warning_high", lim.warning_high),
        ("critical_low", lim.critical_low),
        ("critical_high", lim.critical_high),
    ):
        if value is not None:
            lines.append({"kind": key.split("_")[0], "side": key.split("_")[1], "value": value})
    # one series per target (the room, or each asset)
    series: dict[str, list[list[Any]]] = {}
    for p in points:
        series.setdefault(p.target, []).append(
            [p.at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), p.value, p.level]
        )
    return {
        "title": f"{limits.shown(checklist.title, checklist.title_en)} · "
        f"{limits.shown(item.label, item.label_en)}",
        "unit": item.unit,
        "series": [{"name": name, "data": data} for name, data in series.items()],
        "limits": lines,
        "points": points,
    }


@bp.route("/trends")
def trends() -> Any:
    choices = _reading_choices()
    chosen = request.args.get("item", "") or (choices[0].value if choices else "")
    end = _date_arg("end", None) or _local_day()
    start = _date_arg("start", None) or end - timedelta(days=29)
    room = _room_arg()
    tag = request.args.get("asset", "").strip()[:64]
    asset = assets.asset_by_tag(tag) if tag else None
    data = None
    error = ""
    if tag and asset is None:
        error = _("No asset has the tag “%(tag)s”.", tag=tag)
    elif chosen and "." in chosen:
        checklist_key, item_key = chosen.split(".", 1)
        try:
            data = trend_data(
                checklist_key, item_key, start, end, room, asset.id if asset else None
            )
        except KeyError:
            error = _("Unknown reading %(key)s.", key=chosen)
    names = {}
    if data:
        ids = [
            int(s["name"].split(":")[1]) for s in data["series"] if s["name"].startswith("asset:")
        ]
        names = {f"asset:{a.id}": f"{a.asset_tag} {a.name}" for a in assets.assets_by_ids(ids)}
        for s in data["series"]:
            s["label"] = names.get(s["name"], str(_("Room")))
    chart = None
    if data:
        chart = {
            "title": data["title"],
            "unit": data["unit"],
            "series": [{"name": s["label"], "data": s["data"]} for s in data["series"]],
            "limits": [
                {**line, "label": str(LIMIT_LABELS[(line["kind"], line["side"])])}
                for line in data["limits"]
            ],
            "empty": str(_("No readings in this period.")),
            "start": f"{start.isoformat()} 00:00",
            "end": f"{(end + timedelta(days=1)).isoformat()} 00:00",
        }
    return render_template(
        "inspections/trends.html",
        choices=choices,
        chosen=chosen,
        start=start,
        end=end,
        room=room,
        tag=tag,
        rooms=_room_names(),
        data=data,
        chart=chart,
        names=names,
        error=error,
        levels=LEVEL_LABELS,
    )


LIMIT_LABELS = {
    ("normal", "min"): _l("Normal low"),
    ("normal", "max"): _l("Normal high"),
    ("warning", "low"): _l("Warning low"),
    ("warning", "high"): _l("Warning high"),
    ("critical", "low"): _l("Critical low"),
    ("critical", "high"): _l("Critical high"),
}


# --- export -----------------------------------------------------------------------------------


def _period() -> tuple[date, date, str] | None:
    """``?day=YYYY-MM-DD`` or ``?month=YYYY-MM`` → (first day, last day, text)."""
    day = request.args.get("day", "").strip()
    month = request.args.get("month", "").strip()
    try:
        if day:
            d = date.fromisoformat(day)
            return d, d, d.isoformat()
        if month:
            first = date.fromisoformat(f"{month}-01")
            nxt = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
            return first, nxt - timedelta(days=1), first.strftime("%Y-%m")
    except ValueError:
        return None
    return None


@bp.route("/export.xlsx")
def export() -> Any:
    """Rounds of a day or a month: a sheet of rounds, one of answers, one of findings."""
    period = _period()
    if period is None:
        abort(400, _("Give ?day=YYYY-MM-DD or ?month=YYYY-MM."))
    start, end, text = period
    with tempfile.TemporaryDirectory(prefix="opskit-patrol-") as folder:
        path = Path(folder) / "patrol.xlsx"
        patrol_export.write_rounds(path, *_bounds(start, end), site_tz(), room_id=_room_arg())
        data = io.BytesIO(path.read_bytes())
    return send_file(
        data,
        as_attachment=True,
        download_name=_("patrol-%(period)s.xlsx", period=text),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
