"""Checklist management: limit overrides stored in the database, and checklists added by admins.

**Overrides.** A ``LimitOverride`` row changes some limits of one reading item of one checklist
for one site, room or asset (``scope`` + ``target_id``); ``limits`` has the YAML shape of
``inspections.checklists`` (``{"warning": {"high": 29}}``, ``null`` removes a bound). When a round
judges a reading it asks ``limits_for(...)`` (or ``OverrideTable.limits``), which applies
site → room → asset with ``checklists.resolve_limits`` (most specific wins).

**Checklists added by admins.** ``save_checklist_yaml`` validates pasted/uploaded YAML with the
same loader as the shipped files and writes it to ``<instance>/checklists/<key>.yaml``; a file
dropped there by hand is picked up the same way (``site_checklists()``). A key equal to a
shipped checklist's replaces it; deleting the instance file brings the shipped one back.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, CheckConstraint, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from assets import queries as assets
from inspections.checklists import (
    KEY_RE,
    LIMIT_FIELDS,
    PACKAGE_DIR,
    SCOPES,
    Checklist,
    ChecklistError,
    Item,
    Limits,
    Loaded,
    evaluate,
    instance_checklists,
    load_checklist,
    resolve_limits,
)
from inspections.items import kind_of
from opskit import db
from opskit.db import Base, utcnow
from opskit.models import Audited
from opskit.validation import ValidationFailed

#: form field name ↔ (group, side) of a limit
FORM_FIELDS: dict[str, tuple[str, str]] = {
    f"{group}_{side}": (group, side) for group, side in LIMIT_FIELDS
}
NO_BOUND = ("none", "-", "无", "null")  # typed in a limit field: remove that bound


class LimitOverride(Audited, Base):
    """Limits of one checklist reading changed for one site, room or asset."""

    __tablename__ = "checklist_override"
    __table_args__ = (
        UniqueConstraint(
            "checklist", "item", "scope", "target_id", name="uq_checklist_override_target"
        ),
        CheckConstraint("scope IN ('site', 'room', 'asset')", name="scope_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checklist: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(64))
    scope: Mapped[str] = mapped_column(String(8))
    target_id: Mapped[int]
    limits: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def audit_label(self) -> str:
        return f"{self.checklist}.{self.item} {self.scope} {self.target_id}"


# --- reading the overrides --------------------------------------------------------------------


@dataclass
class OverrideTable:
    """Overrides for one place (a site, a room, some assets), loaded in one query."""

    site_id: int | None = None
    room_id: int | None = None
    rows: dict[tuple[str, str, str, int], dict[str, Any]] = field(default_factory=dict)

    def for_item(self, checklist: str, item: str, asset_id: int | None = None) -> dict[str, Any]:
        """The ``resolve_limits`` overrides mapping of one item (site, room, asset)."""
        found: dict[str, Any] = {}
        for scope, target in (("site", self.site_id), ("room", self.room_id), ("asset", asset_id)):
            if target is not None and (checklist, item, scope, target) in self.rows:
                found[scope] = self.rows[(checklist, item, scope, target)]
        return found

    def limits(self, checklist: str, item: Item, asset_id: int | None = None) -> Limits:
        """The item's limits at this place (raises ``ValidationFailed`` on a broken chain)."""
        return resolve_limits(item, self.for_item(checklist, item.key, asset_id))


def _override_rows(
    wanted: Iterable[tuple[str, int | None]],
) -> dict[tuple[str, str, str, int], dict[str, Any]]:
    """The stored overrides of the (scope, target id) pairs ``wanted``: one query per scope."""
    by_scope: dict[str, set[int]] = {}
    for scope, target in wanted:
        if target is not None:
            by_scope.setdefault(scope, set()).add(target)
    rows: dict[tuple[str, str, str, int], dict[str, Any]] = {}
    for scope, targets in by_scope.items():
        found = db.session().scalars(
            select(LimitOverride).where(
                LimitOverride.scope == scope, LimitOverride.target_id.in_(targets)
            )
        )
        for row in found:
            rows[(row.checklist, row.item, row.scope, row.target_id)] = row.limits
    return rows


def load_overrides(
    site_id: int | None, room_id: int | None, asset_ids: Iterable[int] = ()
) -> OverrideTable:
    """Every override that can apply in the room ``room_id`` of ``site_id`` to ``asset_ids``."""
    wanted = [("site", site_id), ("room", room_id)] + [("asset", a) for a in asset_ids]
    return OverrideTable(site_id, room_id, _override_rows(wanted))


def load_overrides_at(
    rooms: Mapping[int, int | None], asset_ids: Iterable[int] = ()
) -> dict[int, OverrideTable]:
    """``load_overrides`` of several rooms at once (room id → its site's id), read together (a
    page of findings in many rooms: one query per scope, not per room)."""
    wanted = [("site", s) for s in set(rooms.values())] + [("room", r) for r in rooms]
    rows = _override_rows(wanted + [("asset", a) for a in asset_ids])
    return {room: OverrideTable(site, room, rows) for room, site in rooms.items()}


def limits_for(
    checklist: str,
    item: Item,
    *,
    site_id: int | None = None,
    room_id: int | None = None,
    asset_id: int | None = None,
) -> Limits:
    """The limits of one reading at one place, with the stored overrides applied.

    ``site_id``/``room_id`` are looked up from the asset (or the room) when not given.
    """
    if asset_id is not None and room_id is None:
        asset = assets.get_asset(asset_id)
        room_id = asset.room_id if asset else None
    if room_id is not None and site_id is None:
        site_id = assets.site_id_of_room(room_id)
    table = load_overrides(site_id, room_id, [asset_id] if asset_id is not None else [])
    return table.limits(checklist, item, asset_id)


def overrides_of(checklist: str) -> list[LimitOverride]:
    return list(
        db.session().scalars(
            select(LimitOverride)
            .where(LimitOverride.checklist == checklist)
            .order_by(LimitOverride.item, LimitOverride.scope, LimitOverride.target_id)
        )
    )


# --- showing the limits a reading is judged by (the patrol form) ----------------------------
#
# The round page shows, marks and (offline) re-judges a reading with the very ``Limits`` object
# ``services.limits_at`` hands to ``checklists.evaluate`` on save and submit: the text, the
# data attributes patrol.js judges with and the band marked on load all come from it here.

#: the band of a reading as the round page marks it; "" when there is no number to judge
BANDS = ("normal", "outside_normal", "warning", "critical")
#: the mark shown on an item whose (typed or monitored) reading is out of the normal band
BAND_LABELS = {
    "outside_normal": _l("Outside the normal range"),
    "warning": _l("Beyond the warning limits"),
    "critical": _l("Beyond the critical limits"),
}


def judged_bounds(limits: Limits) -> dict[str, tuple[float | None, float | None]]:
    """The bounds ``checklists.evaluate`` judges a reading by, per level, as (low, high).

    ``ok``: the closed normal range (ok without a remark inside it). ``warning``: a value
    strictly below low or above high is a warning or worse; these are the *effective* warning
    limits (a warning side not set is the normal edge), ``None`` on a side where no value is a
    warning (no bound there, or the critical limit is the same number, so critical comes first).
    ``critical``: strictly beyond → critical.
    """
    wlow, whigh = limits.effective_warning_low, limits.effective_warning_high
    clow, chigh = limits.critical_low, limits.critical_high
    if wlow is not None and clow is not None and clow >= wlow:
        wlow = None  # critical at the same limit: nothing below it is a mere warning
    if whigh is not None and chigh is not None and chigh <= whigh:
        whigh = None
    return {
        "ok": (limits.normal_min, limits.normal_max),
        "warning": (wlow, whigh),
        "critical": (clow, chigh),
    }


def _num(value: float) -> str:
    return f"{value:g}"


def shown_limits(item: Item, limits: Limits) -> list[tuple[str, str]]:
    """(level, text) of each band a reading is judged by, for the form: ``("ok", "214–226 V")``,
    ``("warning", "< 209 / > 231 V")``, ``("critical", "> 240 V")``; a level with no bound is
    left out. The level's name (``inspections.labels.LEVEL_LABELS``) goes before the text."""
    unit = f" {item.unit}" if item.unit else ""
    shown: list[tuple[str, str]] = []
    for level, (low, high) in judged_bounds(limits).items():
        if low is None and high is None:
            continue
        if level == "ok":
            if low is None:
                text = f"≤ {_num(high)}"  # type: ignore[arg-type]
            elif high is None:
                text = f"≥ {_num(low)}"
            else:
                text = f"{_num(low)}–{_num(high)}"
        else:
            sides = [f"< {_num(low)}"] if low is not None else []
            sides += [f"> {_num(high)}"] if high is not None else []
            text = " / ".join(sides)
        shown.append((level, text + unit))
    return shown


def limit_data(limits: Limits) -> dict[str, str]:
    """The limits as the round page's ``data-*`` attributes, for patrol.js to judge a reading
    the way ``inspections.items.reading`` does (in the same order), offline too. ``wlow`` and
    ``whigh`` are the effective warning limits; "" is no bound."""

    def text(value: float | None) -> str:
        return "" if value is None else repr(float(value))

    return {
        "nmin": text(limits.normal_min),
        "nmax": text(limits.normal_max),
        "wlow": text(limits.effective_warning_low),
        "whigh": text(limits.effective_warning_high),
        "clow": text(limits.critical_low),
        "chigh": text(limits.critical_high),
    }


def band_for(level: str, code: str) -> str:
    """The band of a judged reading (an outcome's or a stored answer's level and code)."""
    if level in ("warning", "critical"):
        return level
    if level == "ok":
        return "outside_normal" if code == "outside_normal" else "normal"
    return ""


def band_of(item: Item, limits: Limits, value: Any) -> str:
    """The band ``value`` (typed, or the monitored pre-fill) falls in: judged by
    ``checklists.evaluate`` with ``limits``; "" for no number or an item that is no reading."""
    if (
        not kind_of(item).has_limits
        or value is None
        or (isinstance(value, str) and not value.strip())
    ):
        return ""
    outcome = evaluate(item, value, limits)
    return band_for(outcome.status, outcome.code)


# --- writing overrides ------------------------------------------------------------------------


def parse_limit_fields(values: Mapping[str, Any]) -> dict[str, dict[str, float | None]]:
    """Form fields (``warning_high`` …) → override mapping; blank = inherit, "none" = no bound."""
    limits: dict[str, dict[str, float | None]] = {}
    errors: dict[str, list[str]] = {}
    for name, (group, side) in FORM_FIELDS.items():
        raw = str(values.get(name) or "").strip()
        if not raw:
            continue
        if raw.lower() in NO_BOUND:
            limits.setdefault(group, {})[side] = None
            continue
        try:
            number = float(raw.replace(",", "."))
        except ValueError:
            errors[name] = [
                _("Enter a number, or “none” for no bound (got “%(value)s”).", value=raw)
            ]
            continue
        if number != number or number in (float("inf"), float("-inf")):
            errors[name] = [_("Enter a finite number.")]
            continue
        limits.setdefault(group, {})[side] = number
    if errors:
        raise ValidationFailed(errors)
    return limits


def _context_of(scope: str, target_id: int) -> dict[str, int | None]:
    """The site/room of a target, to validate an override together with the broader ones."""
    if scope == "site":
        return {"site": target_id}
    if scope == "room":
        return {"site": assets.site_id_of_room(target_id), "room": target_id}
    asset = assets.get_asset(target_id)
    room_id = asset.room_id if asset else None
    return {"site": assets.site_id_of_room(room_id), "room": room_id, "asset": target_id}


def _target_exists(scope: str, target_id: int) -> bool:
    return assets.get_place(scope, target_id) is not None


def save_override(
    checklist: Checklist, item_key: str, scope: str, target_id: int, values: Mapping[str, Any]
) -> LimitOverride | None:
    """Create, change or (all fields blank) remove the override of one item at one place.

    Validated with the broader overrides of the same place applied first (a room's warning
    limit must still fit the site's normal range). Errors are keyed by the form field
    (``warning_high``), or ``item``/``scope``/``target_id``.
    """
    try:
        item = checklist.item(item_key)
    except KeyError:
        raise ValidationFailed.one("item", _("Unknown item %(key)s.", key=item_key)) from None
    if not kind_of(item).has_limits:
        raise ValidationFailed.one("item", _("Only readings have limits."))
    if scope not in SCOPES:
        raise ValidationFailed.one("scope", _("Choose site, room or asset."))
    if not _target_exists(scope, target_id):
        raise ValidationFailed.one("target_id", _("Choose where the limits apply."))
    limits = parse_limit_fields(values)
    sess = db.session()
    row = sess.scalar(
        select(LimitOverride).where(
            LimitOverride.checklist == checklist.key,
            LimitOverride.item == item.key,
            LimitOverride.scope == scope,
            LimitOverride.target_id == target_id,
        )
    )
    if not limits:
        if row is not None:
            sess.delete(row)
            sess.flush()
        return None
    context = _context_of(scope, target_id)
    table = load_overrides(context.get("site"), context.get("room"))
    chain = table.for_item(checklist.key, item.key)
    chain = {s: v for s, v in chain.items() if SCOPES.index(s) < SCOPES.index(scope)}
    chain[scope] = limits
    try:
        resolve_limits(item, chain)
    except ValidationFailed as exc:
        errors: dict[str, list[str]] = {}
        for key, messages in exc.errors.items():
            where, _sep, rest = key.partition(".")
            name = rest.replace(".", "_")
            if where == scope and name in FORM_FIELDS:
                errors[name] = messages
            else:  # the clash is with a broader override or the checklist itself
                errors.setdefault("limits", []).extend(f"{key}: {m}" for m in messages)
        raise ValidationFailed(errors) from None
    note = str(values.get("note") or "").strip()[:500]
    if row is None:
        row = LimitOverride(
            checklist=checklist.key,
            item=item.key,
            scope=scope,
            target_id=target_id,
            limits=limits,
            note=note,
        )
        sess.add(row)
    else:
        row.limits = limits
        row.note = note
    sess.flush()
    return row


def limit_fields_of(limits: Mapping[str, Any]) -> dict[str, str]:
    """An override's limits as form field values (for editing)."""
    fields: dict[str, str] = {}
    for name, (group, side) in FORM_FIELDS.items():
        sides = limits.get(group) or {}
        if side in sides:
            value = sides[side]
            fields[name] = "none" if value is None else f"{value:g}"
    return fields


# --- checklists added by admins ---------------------------------------------------------------


def shown(text: str, text_en: str) -> str:
    """A checklist's or item's text in the user's language (``title_en``/``label_en`` if any)."""
    return text_en if text_en and str(get_locale() or "").startswith("en") else text


def checklist_dir() -> Path:
    return Path(current_app.instance_path) / "checklists"


def site_checklists() -> Loaded:
    """The checklists of this installation: shipped plus ``<instance>/checklists/*.yaml``."""
    return instance_checklists(current_app.instance_path)


def shipped_keys() -> set[str]:
    return {p.stem for p in PACKAGE_DIR.iterdir() if p.suffix in (".yaml", ".yml")}


def save_checklist_yaml(key: str, text: str) -> Checklist:
    """Validate ``text`` as checklist ``key`` and write ``<instance>/checklists/<key>.yaml``.

    Errors: ``key`` (not a key), ``yaml`` (the loader's message, which names the field).
    """
    key = key.strip()
    if not KEY_RE.match(key) or len(key) > 64:
        raise ValidationFailed.one(
            "key", _("Expected a key of lower-case letters, digits and _ (e.g. battery_room).")
        )
    if not text.strip():
        raise ValidationFailed.one("yaml", _("Paste the checklist or choose a YAML file."))
    try:
        checklist = load_checklist(text, f"{key}.yaml")
    except ChecklistError as exc:
        raise ValidationFailed.one("yaml", str(exc)) from None
    folder = checklist_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for other in (folder / f"{key}.yml",):
        other.unlink(missing_ok=True)  # one file per key
    fd, tmp = tempfile.mkstemp(prefix=f".{key}-", suffix=".tmp", dir=folder)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text if text.endswith("\n") else text + "\n")
    os.replace(tmp, folder / f"{key}.yaml")
    return checklist


def delete_checklist_file(key: str) -> bool:
    """Remove the instance file of ``key`` (a shipped checklist of that key comes back)."""
    if not KEY_RE.match(key):
        return False
    removed = False
    for suffix in (".yaml", ".yml"):
        path = checklist_dir() / f"{key}{suffix}"
        if path.is_file():
            path.unlink()
            removed = True
    return removed
