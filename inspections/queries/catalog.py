"""The checklists in force and the limits a reading is judged by (shipped files, the instance's
own files, the stored overrides); what a checklist item is called."""

from __future__ import annotations

import random

from flask import current_app, has_app_context
from flask_babel import gettext as _

from inspections import checklists as cl
from inspections import limits as overrides
from inspections.items import kind_of
from inspections.models import (
    PatrolRound,
)
from opskit.validation import ValidationFailed


def checklists() -> dict[str, cl.Checklist]:
    """Shipped checklists plus the instance's own (``<instance>/checklists/*.yaml``).

    Parsed once and kept until a file in either folder changes (``cl.cached_checklists``, the
    one cache every caller shares). Read the dict, never change it.
    """
    if has_app_context():
        return cl.instance_checklists(current_app.instance_path).checklists
    return cl.cached_checklists().checklists


def get_checklist(key: str) -> cl.Checklist:
    found = checklists().get(key)
    if found is None:
        raise ValidationFailed.one("checklists", _("Unknown checklist %(key)s.", key=key))
    return found


def limits_at(
    checklist_key: str,
    item: cl.Item,
    patrol: PatrolRound,
    asset_id: int | None,
    table: overrides.OverrideTable | None = None,
) -> cl.Limits:
    """The item's limits with the stored site/room/asset overrides applied (``table``: those of
    the round's room, read already; else read here)."""
    if not kind_of(item).has_limits:
        return item.limits
    try:
        if table is not None:
            return table.limits(checklist_key, item, asset_id)
        return overrides.limits_for(
            checklist_key,
            item,
            room_id=patrol.room_id,
            asset_id=asset_id,
        )
    except ValidationFailed:
        return item.limits  # a broken override must not stop a round; the admin page shows it


def _reading_item(checklist: str, metric: str) -> cl.Item | None:
    """The checklist's first reading of ``metric`` (the checklists are parsed once and kept
    until a file changes, ``cl.cached_checklists``; a dashboard refresh cannot re-parse them)."""
    found = overrides.site_checklists().checklists.get(checklist)
    if found is None:
        return None
    return next((i for i in found.items if kind_of(i).has_limits and i.metric == metric), None)


def room_reading_limits(
    checklist: str, metric: str, room_ids: list[int]
) -> dict[int, cl.Limits] | None:
    """room id → limits of the checklist's reading of ``metric`` in that room, with the stored
    site and room overrides applied (dashboard colours). ``None``: no such reading item."""
    item = _reading_item(checklist, metric)
    if item is None:
        return None
    out: dict[int, cl.Limits] = {}
    for room_id in room_ids:
        try:
            out[room_id] = overrides.limits_for(checklist, item, room_id=room_id)
        except ValidationFailed:  # a broken override: the checklist's own limits
            out[room_id] = item.limits
    return out


def item_title(checklist: str, item: str) -> str | None:
    """What a patrol item is called, checklist and item in the user's language (e.g.
    机房环境 · 热通道温度), for pages that name a finding by its item (the alert pages);
    ``None`` when the checklist or the item is not (or no longer) defined here."""
    found = overrides.site_checklists().checklists.get(checklist)
    if found is None:
        return None
    try:
        entry = found.item(item)
    except KeyError:
        return None
    return (
        f"{overrides.shown(found.title, found.title_en)} · "
        f"{overrides.shown(entry.label, entry.label_en)}"
    )


def sample_answer(
    item: cl.Item, rng: random.Random, abnormal: bool = False, remark: str = ""
) -> str | None:
    """A plausible answer to ``item`` by its kind (the demo's rounds), judged by the checklist's
    own limits: a reading in its normal range (beyond its warning limit when ``abnormal``), a
    passed (failed) check, the first ok (abnormal) option, ``remark`` for a required text;
    ``None`` for what the kind leaves unanswered (a photo, the signature, an optional text)."""
    return kind_of(item).sample(item, item.limits, rng, abnormal, remark)


def samples_abnormal(item: cl.Item) -> bool:
    """Whether ``sample_answer`` makes any item of this one's kind abnormal when asked (a
    reading, a check)."""
    return kind_of(item).samples_abnormal
