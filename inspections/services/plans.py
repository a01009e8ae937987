"""Patrol plans: which checklists run in which room (or every room of a site), on which asset
kinds, on which days (``inspections.recurrence``) at which local times (flushes; the caller
commits)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries as assets
from inspections import forms, recurrence
from inspections.models import (
    PatrolPlan,
)
from inspections.queries import catalog
from opskit import db
from opskit.validation import ValidationFailed


def save_plan(data: Mapping[str, Any], plan: PatrolPlan | None = None) -> PatrolPlan:
    """Create or update a plan from form/API data (flushes, does not commit).

    ``data``: name, room_id or site_id, checklist_keys (list or "a, b"), asset_kinds (optional),
    schedule_times (list or "09:00, 15:00"), the recurrence (``recurrence``: its JSON, or the
    form's ``frequency``, ``weekdays``, ``month_day``, ``quarter_month``; none: daily),
    grace_minutes, enabled, notes.
    """
    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("A plan name is required.")]
    room_id = forms.int_or_none(data.get("room_id"))
    site_id = forms.int_or_none(data.get("site_id"))
    if room_id is not None:
        site_id = assets.site_id_of_room(room_id)
        if site_id is None:
            errors["room_id"] = [_("Unknown room.")]
    elif site_id is None:
        errors["room_id"] = [_("Choose a room or a site.")]
    keys = forms.keys(data.get("checklist_keys"))
    known = catalog.checklists()
    unknown = [k for k in keys if k not in known]
    if not keys:
        errors["checklist_keys"] = [_("Choose at least one checklist.")]
    elif unknown:
        errors["checklist_keys"] = [_("Unknown checklist %(key)s.", key=unknown[0])]
    kinds = forms.keys(data.get("asset_kinds"))
    known_kinds = set(assets.asset_kinds())
    bad_kinds = [k for k in kinds if k not in known_kinds]
    if bad_kinds:
        errors["asset_kinds"] = [_("Unknown asset kind %(kind)s.", kind=bad_kinds[0])]
    times = forms.keys(data.get("schedule_times"))
    bad_times = [t for t in times if not forms.TIME_RE.match(t)]
    if bad_times:
        errors["schedule_times"] = [_("“%(value)s” is not a time like 09:00.", value=bad_times[0])]
    if not times:
        errors["schedule_times"] = [_("Enter at least one time of day, like 09:00.")]
    stored = data.get("recurrence")
    try:
        recurs = recurrence.parse(stored if isinstance(stored, Mapping) else data)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    grace = forms.int_or_none(data.get("grace_minutes"))
    if grace is not None and not 0 <= grace <= 24 * 60:
        errors["grace_minutes"] = [_("Enter minutes between 0 and 1440.")]
    sess = db.session()
    clash = sess.scalar(select(PatrolPlan).where(PatrolPlan.name == name))
    if name and clash is not None and clash is not plan:
        errors["name"] = [_("A plan with this name exists.")]
    if errors:
        raise ValidationFailed(errors)
    if plan is None:
        plan = PatrolPlan(name=name)
        sess.add(plan)
    plan.name = name
    plan.site_id = site_id
    plan.room_id = room_id
    plan.checklist_keys = keys
    plan.asset_kinds = kinds
    plan.schedule_times = sorted(set(times))
    plan.recurrence = recurs.as_data()
    plan.grace_minutes = 120 if grace is None else grace
    enabled = data.get("enabled", True)
    plan.enabled = enabled not in (False, "0", "false", "off", "", None)
    plan.notes = str(data.get("notes") or "").strip()
    sess.flush()
    return plan
