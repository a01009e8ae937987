"""Patrol writes: plans, starting a round, saving answers, submitting, review, findings, photos.

The tablet generates a round's ``client_id`` when the round starts; every call here that
writes to a round finds it by that id, so a retried request never makes a second round:

- ``start_round`` returns the existing round for a known ``client_id``;
- ``save_answer`` upserts the (target, checklist, item) answer; an older answer never
  overwrites a newer one (queued offline saves may arrive late);
- ``submit_round`` creates the round if the tablet started it while the server was away, saves
  every answer it carries, then signs and submits it; submitting a submitted round again is a
  no-op that returns it. Abnormal answers become findings, each raising an alert (source
  ``patrol``) with the urgency of its item.

Nothing here commits (the rule of every domain's services): these functions flush, and the
caller — a view, a CLI command, a worker — commits once, usually through ``opskit.db.write``,
which runs them in a ``BEGIN IMMEDIATE`` transaction on SQLite (writers queue instead of failing
with "database is locked") and retries a unique-key race between two retries of one submission
(PostgreSQL): the retry finds the stored round by its ``client_id``.
"""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from inspections import checklists as cl
from inspections import labels
from inspections.models import (
    ROOM_TARGET,
    PatrolAnswer,
    PatrolFinding,
    PatrolPhoto,
    PatrolPlan,
    PatrolRound,
    RoundStatus,
    asset_target,
)
from opskit import db
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

T = TypeVar("T")

#: Checklists answered once per asset of these kinds in the room; any other checklist is
#: answered once for the room itself (environment, fire and security, rack lamps).
CHECKLIST_KINDS: dict[str, tuple[str, ...]] = {
    "ups": ("ups",),
    "precision_ac": ("precision_ac",),
    "power_distribution": ("pdu",),
}
#: Room-level items with a metric are pre-filled from assets of these kinds in the room.
ROOM_SENSOR_KINDS = ("sensor", "precision_ac")

PHOTO_TYPES = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
PHOTO_MAX_BYTES = 10 * 1024 * 1024  # before resizing; OPSKIT config PATROL_PHOTO_MAX_BYTES
PHOTO_MAX_SIDE = 1600  # pixels; larger photos are scaled down and stored as JPEG
SIGNATURE_MAX_CHARS = 200_000  # a drawn signature is a PNG data URL
SIGNATURE_RE = re.compile(r"^data:image/png;base64,[A-Za-z0-9+/=]+$")
TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


# --- checklists -----------------------------------------------------------------------------


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


def site_tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["SITE_TIMEZONE"])


def _actor() -> str:
    return current_actor()[1]


# --- plans ----------------------------------------------------------------------------------


def _keys(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v).strip() for v in value if str(v).strip()]


def save_plan(data: Mapping[str, Any], plan: PatrolPlan | None = None) -> PatrolPlan:
    """Create or update a plan from form/API data (flushes, does not commit).

    ``data``: name, room_id or site_id, checklist_keys (list or "a, b"), asset_kinds (optional),
    schedule_times (list or "09:00, 15:00"), grace_minutes, enabled, notes.
    """
    from assets import queries as assets

    errors: dict[str, list[str]] = {}
    name = str(data.get("name") or "").strip()
    if not name:
        errors["name"] = [_("A plan name is required.")]
    room_id = _int_or_none(data.get("room_id"))
    site_id = _int_or_none(data.get("site_id"))
    if room_id is not None:
        site_id = assets.site_id_of_room(room_id)
        if site_id is None:
            errors["room_id"] = [_("Unknown room.")]
    elif site_id is None:
        errors["room_id"] = [_("Choose a room or a site.")]
    keys = _keys(data.get("checklist_keys"))
    known = checklists()
    unknown = [k for k in keys if k not in known]
    if not keys:
        errors["checklist_keys"] = [_("Choose at least one checklist.")]
    elif unknown:
        errors["checklist_keys"] = [_("Unknown checklist %(key)s.", key=unknown[0])]
    from assets.models import AssetKind

    kinds = _keys(data.get("asset_kinds"))
    bad_kinds = [k for k in kinds if k not in {m.value for m in AssetKind}]
    if bad_kinds:
        errors["asset_kinds"] = [_("Unknown asset kind %(kind)s.", kind=bad_kinds[0])]
    times = _keys(data.get("schedule_times"))
    bad_times = [t for t in times if not TIME_RE.match(t)]
    if bad_times:
        errors["schedule_times"] = [_("“%(value)s” is not a time like 09:00.", value=bad_times[0])]
    grace = _int_or_none(data.get("grace_minutes"))
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
    plan.grace_minutes = 120 if grace is None else grace
    enabled = data.get("enabled", True)
    plan.enabled = enabled not in (False, "0", "false", "off", "", None)
    plan.notes = str(data.get("notes") or "").strip()
    sess.flush()
    return plan


def _int_or_none(value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def plan_rooms(plan: PatrolPlan) -> list[int]:
    """The rooms a plan covers: its room, or every room of its site."""
    if plan.room_id is not None:
        return [plan.room_id]
    from assets import queries as assets

    return [r.id for r in assets.all_rooms() if r.site_id == plan.site_id]


def round_targets(
    room_id: int, checklist_keys: Iterable[str], asset_kinds: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """What a round answers: one entry per (checklist, asset) or (checklist, room).

    Asset checklists (``CHECKLIST_KINDS``) take the room's in-service assets of the checklist's
    kinds (narrowed to ``asset_kinds`` when given); a room with none of them gets one room-level
    entry so the checklist is not silently dropped.
    """
    from assets import queries as assets

    wanted = set(asset_kinds)
    targets: list[dict[str, Any]] = []
    for key in checklist_keys:
        kinds = [k for k in CHECKLIST_KINDS.get(key, ()) if not wanted or k in wanted]
        found = []
        for kind in kinds:
            found += assets.list_assets(
                kind=kind, room_id=room_id, status="in_service", per_page=500
            ).items
        for asset in sorted(found, key=lambda a: a.asset_tag):
            targets.append(
                {
                    "key": asset_target(asset.id),
                    "checklist": key,
                    "asset_id": asset.id,
                    "label": f"{asset.name} ({asset.asset_tag})"
                    if asset.name != asset.asset_tag
                    else asset.asset_tag,
                }
            )
        if not found:
            targets.append({"key": ROOM_TARGET, "checklist": key, "asset_id": None, "label": ""})
    return targets


# --- rounds ---------------------------------------------------------------------------------


def new_client_id() -> str:
    return uuid.uuid4().hex


def _client_id(value: Any) -> str:
    text = str(value or "").strip()
    if not CLIENT_ID_RE.match(text):
        raise ValidationFailed.one(
            "client_id", _("Expected a round id of 8–64 letters, digits, - or _.")
        )
    return text


def _when(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed.one(
                field, _("Expected a date and time, got “%(value)s”.", value=value)
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=site_tz())
    return moment


def find_round(client_id: str, lock: bool = False) -> PatrolRound | None:
    """The round of a client id; ``lock``: row-locked until commit (PostgreSQL; SQLite's
    writers are serialised anyway)."""
    query = select(PatrolRound).where(PatrolRound.client_id == client_id)
    if lock:
        query = query.with_for_update()
    return db.session().scalar(query)


def _create_round(
    client_id: str,
    *,
    room_id: int | None,
    checklist_keys: Iterable[str] | None,
    plan_id: int | None,
    scheduled_for: datetime | None,
    started_at: datetime | None,
) -> PatrolRound:
    patrol = unsaved_round(
        client_id,
        room_id=room_id,
        checklist_keys=checklist_keys,
        plan_id=plan_id,
        scheduled_for=scheduled_for,
        started_at=started_at,
    )
    sess = db.session()
    sess.add(patrol)
    sess.flush()
    return patrol


def unsaved_round(
    client_id: str,
    *,
    room_id: int | None,
    checklist_keys: Iterable[str] | None = None,
    plan_id: int | None = None,
    scheduled_for: datetime | None = None,
    started_at: datetime | None = None,
) -> PatrolRound:
    """A draft round as starting it would create, not added to the session (validated the
    same way). The offline start page renders one so a tablet can begin a round while the
    server is out of reach; the round is created when its queued start reaches the server."""
    from assets import queries as assets

    sess = db.session()
    plan = sess.get(PatrolPlan, plan_id) if plan_id is not None else None
    if plan_id is not None and plan is None:
        raise ValidationFailed.one("plan_id", _("Unknown patrol plan."))
    keys = list(checklist_keys or (plan.checklist_keys if plan else []))
    if room_id is None and plan is not None and plan.room_id is not None:
        room_id = plan.room_id
    errors: dict[str, list[str]] = {}
    if room_id is None or assets.site_id_of_room(room_id) is None:
        errors["room_id"] = [_("Choose the room of the round.")]
    elif plan is not None and room_id not in plan_rooms(plan):
        errors["room_id"] = [_("The plan does not cover this room.")]
    if not keys:
        errors["checklist_keys"] = [_("Choose at least one checklist.")]
    else:
        known = checklists()
        unknown = [k for k in keys if k not in known]
        if unknown:
            errors["checklist_keys"] = [_("Unknown checklist %(key)s.", key=unknown[0])]
    if errors:
        raise ValidationFailed(errors)
    assert room_id is not None
    actor_id, actor = current_actor()
    patrol = PatrolRound(
        client_id=client_id,
        plan=plan,
        plan_id=plan.id if plan else None,  # set now: an unsaved round is never flushed
        room_id=room_id,
        checklist_keys=keys,
        targets=round_targets(room_id, keys, plan.asset_kinds if plan else ()),
        scheduled_for=scheduled_for,
        started_at=started_at or db.utcnow(),
        engineer_id=actor_id,
        engineer=actor,
        status=RoundStatus.DRAFT.value,
    )
    return patrol


def start_round(
    client_id: str | None = None,
    *,
    room_id: int | None = None,
    checklist_keys: Iterable[str] | None = None,
    plan_id: int | None = None,
    scheduled_for: datetime | str | None = None,
    started_at: datetime | str | None = None,
) -> PatrolRound:
    """Start a round from a plan (``plan_id`` + room + slot) or ad hoc (room + checklists).

    Starting with a ``client_id`` that exists returns that round (a retried start).
    """
    cid = _client_id(client_id or new_client_id())
    slot = _when(scheduled_for, "scheduled_for")
    began = _when(started_at, "started_at")

    existing = find_round(cid)
    if existing is not None:
        return existing
    return _create_round(
        cid,
        room_id=room_id,
        checklist_keys=checklist_keys,
        plan_id=plan_id,
        scheduled_for=slot,
        started_at=began,
    )


def _target_of(patrol: PatrolRound, target: str, checklist: str) -> dict[str, Any]:
    for entry in patrol.targets:
        if entry["key"] == target and entry["checklist"] == checklist:
            return entry
    raise ValidationFailed.one(
        "target",
        _(
            "%(target)s / %(checklist)s is not part of this round.",
            target=target,
            checklist=checklist,
        ),
    )


def _editable(patrol: PatrolRound) -> None:
    if patrol.status == RoundStatus.APPROVED.value:
        raise ValidationFailed.one("status", _("The round is approved and read-only."))
    if patrol.status != RoundStatus.DRAFT.value:
        raise ValidationFailed.one("status", _("The round has been submitted."))


def limits_at(
    checklist_key: str, item: cl.Item, patrol: PatrolRound, asset_id: int | None
) -> cl.Limits:
    """The item's limits with the stored site/room/asset overrides applied."""
    if item.kind != "reading":
        return item.limits
    try:
        from inspections.limits import limits_for
    except ImportError:  # an installation without the override tables
        return item.limits
    try:
        return limits_for(
            checklist_key,
            item,
            room_id=patrol.room_id,
            asset_id=asset_id,
        )
    except ValidationFailed:
        return item.limits  # a broken override must not stop a round; the admin page shows it


def _value_text(value: Any) -> str:
    if value is True:
        return "pass"
    if value is False:
        return "fail"
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value).strip()


class _Memo:
    """Lookups shared by the answers of one request: stored answers, limits, monitored values."""

    def __init__(self, patrol: PatrolRound) -> None:
        sess = db.session()
        with sess.no_autoflush:
            rows = sess.scalars(select(PatrolAnswer).where(PatrolAnswer.round_id == patrol.id))
            self.answers = {(a.target, a.checklist_key, a.item_key): a for a in rows}
        self.limits: dict[tuple[str, str, int | None], cl.Limits] = {}
        self.monitored: dict[int | None, dict[str, tuple[float, datetime]]] = {}

    def limits_at(
        self, checklist_key: str, item: cl.Item, patrol: PatrolRound, asset_id: int | None
    ) -> cl.Limits:
        key = (checklist_key, item.key, asset_id)
        if key not in self.limits:
            self.limits[key] = limits_at(checklist_key, item, patrol, asset_id)
        return self.limits[key]

    def monitored_value(
        self, metric: str, room_id: int, asset_id: int | None
    ) -> tuple[float, datetime] | None:
        if asset_id not in self.monitored:
            self.monitored[asset_id] = monitored_values(room_id, asset_id)
        return self.monitored[asset_id].get(metric)


def _store_answer(
    patrol: PatrolRound, data: Mapping[str, Any], memo: _Memo | None = None
) -> PatrolAnswer:
    """Upsert one answer of a draft round (no commit)."""
    memo = memo or _Memo(patrol)
    checklist_key = str(data.get("checklist") or "")
    item_key = str(data.get("item") or "")
    target = str(data.get("target") or ROOM_TARGET)
    entry = _target_of(patrol, target, checklist_key)
    checklist = get_checklist(checklist_key)
    try:
        item = checklist.item(item_key)
    except KeyError:
        raise ValidationFailed.one(
            "item",
            _("Unknown item %(item)s in %(checklist)s.", item=item_key, checklist=checklist_key),
        ) from None
    answered_at = _when(data.get("answered_at"), "answered_at") or db.utcnow()
    sess = db.session()
    answer = memo.answers.get((target, checklist_key, item_key))
    if answer is not None and answer.answered_at > answered_at and answer.value != "":
        return answer  # a late (queued) save never overwrites a newer answer
    if answer is None:
        answer = PatrolAnswer(
            round=patrol,
            target=target,
            asset_id=entry["asset_id"],
            checklist_key=checklist_key,
            item_key=item_key,
        )
        sess.add(answer)
        memo.answers[(target, checklist_key, item_key)] = answer
    value = _value_text(data.get("value"))
    limits = memo.limits_at(checklist_key, item, patrol, entry["asset_id"])
    outcome = cl.evaluate(item, value, limits)
    level = outcome.status if value else ""
    answer.value = value
    answer.level = level
    answer.code = outcome.code if value else ""
    answer.number = cl._number(value) if item.kind == "reading" and value else None
    answer.note = str(data.get("note") or "").strip()
    answer.answered_at = answered_at
    answer.answered_by = _actor()
    monitored = data.get("monitored_value")
    if monitored not in (None, ""):
        try:
            answer.monitored_value = float(monitored)
        except (TypeError, ValueError):
            raise ValidationFailed.one("monitored_value", _("Enter a number.")) from None
        answer.monitored_at = _when(data.get("monitored_at"), "monitored_at")
    elif item.metric and answer.monitored_value is None:
        shown = memo.monitored_value(item.metric, patrol.room_id, entry["asset_id"])
        if shown is not None:
            answer.monitored_value, answer.monitored_at = shown
    answer.disagrees = bool(
        answer.number is not None
        and answer.monitored_value is not None
        and not item.within_tolerance(answer.number, answer.monitored_value)
    )
    return answer


def save_answer(client_id: str, data: Mapping[str, Any]) -> PatrolAnswer:
    """Save one answer as it is entered (upsert; flushes). Raises ``ValidationFailed``."""
    cid = _client_id(client_id)
    patrol = find_round(cid, lock=True)
    if patrol is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    _editable(patrol)
    return _store_answer(patrol, data)


def monitored_values(
    room_id: int | None, asset_id: int | None
) -> dict[str, tuple[float, datetime]]:
    """The current polled value of each metric of the asset (or of the room's sensors).

    Only values of the monitors' latest polls within ``monitors.queries.LATEST_WINDOW`` (an
    hour): a stale number is not offered to the engineer as the current reading.
    """
    from monitors import queries as monitoring

    asset_ids: list[int] = []
    if asset_id is not None:
        asset_ids = [asset_id]
    elif room_id is not None:
        from assets import queries as assets

        for kind in ROOM_SENSOR_KINDS:
            found = db.session().scalars(assets.asset_query(kind=kind, room_id=room_id).limit(200))
            asset_ids += [a.id for a in found]
    if not asset_ids:
        return {}
    best: dict[str, tuple[float, datetime]] = {}
    for readings in monitoring.latest_values(asset_ids=asset_ids).values():
        for (metric, _instance), reading in sorted(readings.items()):
            if reading.value is None:
                continue
            known = best.get(metric)
            if known is None or reading.at > known[1]:
                best[metric] = (float(reading.value), reading.at)
    return best


def monitored_value(
    metric: str, room_id: int | None, asset_id: int | None
) -> tuple[float, datetime] | None:
    """The newest polled value of ``metric`` for the asset (or any sensor of the room)."""
    return monitored_values(room_id, asset_id).get(metric)


def missing_answers(patrol: PatrolRound) -> dict[str, list[str]]:
    """What keeps a round from being submitted: required items unanswered, notes missing.

    Keys are ``<target>/<checklist>/<item>`` (the ids of the inputs on the round page).
    """
    answers = {(a.target, a.checklist_key, a.item_key): a for a in patrol.answers}
    known = checklists()
    errors: dict[str, list[str]] = {}
    for entry in patrol.targets:
        checklist = known.get(entry["checklist"])
        if checklist is None:
            continue
        for item in checklist.items:
            if item.kind == "signature":
                continue  # the round's signature signs every checklist
            where = f"{entry['key']}/{checklist.key}/{item.key}"
            answer = answers.get((entry["key"], checklist.key, item.key))
            if item.kind == "photo":
                if item.required and (answer is None or not answer.photos):
                    errors[where] = [_("Take a photo.")]
                continue
            if answer is None or answer.value == "":
                if item.required:
                    errors[where] = [_("This item is required.")]
                continue
            if answer.level == "invalid":
                outcome = cl.evaluate(item, answer.value)
                errors[where] = [str(outcome.message)]
            elif answer.abnormal and item.requires_note_when_abnormal and not answer.note:
                errors[where] = [_("Abnormal: say what you saw in a note.")]
    return errors


def _finding_message(patrol: PatrolRound, entry: dict[str, Any], answer: PatrolAnswer) -> str:
    from assets import queries as assets

    checklist = get_checklist(answer.checklist_key)
    item = checklist.item(answer.item_key)
    room = next((r for r in assets.all_rooms() if r.id == patrol.room_id), None)
    where = entry.get("label") or (room.name if room else "")
    value = labels.answer_text(item, answer.value)  # 不合格, a choice's label
    if item.kind == "reading":
        value = f"{answer.value}{item.unit}"
    outcome = cl.evaluate(
        item, answer.value, limits_at(answer.checklist_key, item, patrol, answer.asset_id)
    )
    text = f"{where} {checklist.title} · {item.label}: {value}（{outcome.message}）"
    if answer.note:
        text += f" — {answer.note}"
    return text


def _raise_findings(patrol: PatrolRound) -> None:
    from opskit.alerts import services as alerts

    sess = db.session()
    entries = {(e["key"], e["checklist"]): e for e in patrol.targets}
    locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_Hans_CN")
    for answer in patrol.answers:
        if not answer.abnormal:
            continue
        item = get_checklist(answer.checklist_key).item(answer.item_key)
        urgency = item.urgency_for(answer.level)
        with force_locale(locale):
            message = _finding_message(
                patrol, entries.get((answer.target, answer.checklist_key), {}), answer
            )
        scope = f"asset={answer.asset_id}" if answer.asset_id else f"room={patrol.room_id}"
        alert = alerts.raise_alert(
            f"patrol:{answer.checklist_key}.{answer.item_key}:{scope}",
            source="patrol",
            rule=f"patrol.{answer.checklist_key}.{answer.item_key}",
            urgency=urgency,
            message=message,
            asset_id=answer.asset_id,
            room_id=patrol.room_id,
            at=patrol.submitted_at,
        )
        sess.flush()
        finding = PatrolFinding(
            round=patrol,
            answer=answer,
            alert_id=alert.id,
            level=answer.level,
            urgency=urgency,
            message=message,
            opened_at=patrol.submitted_at or db.utcnow(),
        )
        sess.add(finding)
        sess.flush()
        for photo in answer.photos:
            photo.finding_id = finding.id


def _signature(data: Mapping[str, Any]) -> tuple[str, str]:
    """The submission's signer's name and drawn signature (checked)."""
    signature_name = str(data.get("signature_name") or "").strip()
    signature_image = str(data.get("signature_image") or "").strip()
    if signature_image and (
        len(signature_image) > SIGNATURE_MAX_CHARS or not SIGNATURE_RE.match(signature_image)
    ):
        raise ValidationFailed.one("signature_image", _("The drawn signature is not a PNG image."))
    return signature_name, signature_image


def save_submission(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """The first half of ``submit_round``: create the round if the tablet started it while the
    server was away and store every answer the submission carries (flushes). A round already
    submitted is returned unchanged (a retry of a submission that went through).

    A caller that must keep the answers when the submission is then refused (the round page:
    nothing typed is lost) commits this before ``sign_round``."""
    cid = _client_id(client_id)
    _signature(data)
    answers = data.get("answers") or []
    if not isinstance(answers, list):
        raise ValidationFailed.one("answers", _("Expected a list of answers."))
    patrol = find_round(cid, lock=True)
    if patrol is None:
        patrol = _create_round(
            cid,
            room_id=_int_or_none(data.get("room_id")),
            checklist_keys=_keys(data.get("checklist_keys")) or None,
            plan_id=_int_or_none(data.get("plan_id")),
            scheduled_for=_when(data.get("scheduled_for"), "scheduled_for"),
            started_at=_when(data.get("started_at"), "started_at"),
        )
    if patrol.status != RoundStatus.DRAFT.value:
        return patrol
    memo = _Memo(patrol)
    with db.session().no_autoflush:
        for answer in answers:
            if isinstance(answer, Mapping):
                _store_answer(patrol, answer, memo)
    db.session().flush()
    return patrol


def sign_round(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """The second half of ``submit_round``: check that nothing required is missing, sign and
    submit the stored round, raise its findings (flushes). Submitting a submitted round again
    returns it unchanged. Raises ``ValidationFailed`` naming each missing item."""
    cid = _client_id(client_id)
    signature_name, signature_image = _signature(data)
    signed_at = _when(data.get("signed_at"), "signed_at")
    current = find_round(cid, lock=True)
    if current is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    if current.status != RoundStatus.DRAFT.value:
        return current
    db.session().refresh(current)
    errors = missing_answers(current)
    if not signature_name and not signature_image:
        errors["signature"] = [_("Sign the round: your name or a drawn signature.")]
    if errors:
        raise ValidationFailed(errors)
    now = db.utcnow()
    current.signature_name = signature_name or current.engineer
    current.signature_image = signature_image
    current.signed_at = signed_at or now
    current.submitted_at = now
    current.status = RoundStatus.SUBMITTED.value
    db.session().flush()
    _raise_findings(current)
    return current


def submit_round(client_id: str, data: Mapping[str, Any]) -> PatrolRound:
    """Save the round's answers, sign and submit it (idempotent by ``client_id``; flushes):
    ``save_submission`` then ``sign_round`` in the caller's one transaction.

    ``data``: ``answers`` (list of answer mappings as for ``save_answer``), ``signature_name``,
    ``signature_image`` (PNG data URL, optional), ``signed_at``; and, for a round the server
    has not seen yet (started offline), ``room_id``, ``checklist_keys``, ``plan_id``,
    ``scheduled_for``, ``started_at``. A refusal (``ValidationFailed`` naming each missing
    item) comes after the answers are stored; the round page commits them first (see
    ``save_submission``) so nothing typed is lost.
    """
    patrol = save_submission(client_id, data)
    if patrol.status != RoundStatus.DRAFT.value:
        return patrol
    return sign_round(client_id, data)


def _current(obj: T) -> T:
    """The row as this session sees it (callers may hold an object of another session)."""
    found = db.session().get(type(obj), obj.id)  # type: ignore[attr-defined]
    if found is None:
        raise ValidationFailed.one("id", _("Not found."))
    return found


def approve_round(patrol: PatrolRound, comment: str = "") -> PatrolRound:
    """A supervisor approves a submitted round; it becomes read-only (flushes)."""
    patrol = _current(patrol)
    if patrol.status == RoundStatus.APPROVED.value:
        raise ValidationFailed.one("status", _("The round is already approved."))
    if patrol.status != RoundStatus.SUBMITTED.value:
        raise ValidationFailed.one("status", _("Only a submitted round can be approved."))
    patrol.status = RoundStatus.APPROVED.value
    patrol.reviewer = _actor()
    patrol.review_comment = comment.strip()
    patrol.approved_at = db.utcnow()
    db.session().flush()
    return patrol


def comment_round(patrol: PatrolRound, comment: str) -> PatrolRound:
    """A supervisor's comment on a submitted round without approving it (flushes)."""
    patrol = _current(patrol)
    if patrol.read_only:
        raise ValidationFailed.one("status", _("The round is approved and read-only."))
    if not comment.strip():
        raise ValidationFailed.one("comment", _("Write a comment."))
    patrol.reviewer = _actor()
    patrol.review_comment = comment.strip()
    db.session().flush()
    return patrol


def close_finding(finding: PatrolFinding, note: str) -> PatrolFinding:
    """Close a finding with what was done; its alert is resolved when no other open finding
    shares it (flushes)."""
    from opskit.alerts import services as alerts
    from opskit.alerts.models import Alert

    finding = _current(finding)
    if not finding.is_open:
        raise ValidationFailed.one("status", _("The finding is already closed."))
    if not note.strip():
        raise ValidationFailed.one("note", _("Say what was done."))
    sess = db.session()
    finding.closed_at = db.utcnow()
    finding.closing_note = note.strip()
    finding.closed_by = _actor()
    if finding.alert_id is not None:
        others = sess.scalar(
            select(PatrolFinding.id).where(
                PatrolFinding.alert_id == finding.alert_id,
                PatrolFinding.id != finding.id,
                PatrolFinding.closed_at.is_(None),
            )
        )
        alert = sess.get(Alert, finding.alert_id)
        if others is None and alert is not None and alert.is_open:
            alerts.resolve(alert, note)
    sess.flush()
    return finding


# --- photos ---------------------------------------------------------------------------------


def photo_root() -> Path:
    return Path(current_app.instance_path) / "patrol-photos"


@dataclass(frozen=True)
class Jpeg:
    """An uploaded photo, checked and re-encoded (``prepare_photo``)."""

    data: bytes
    width: int
    height: int


def prepare_photo(content: bytes | Jpeg, content_type: str = "") -> Jpeg:
    """``content`` checked and re-encoded (``_photo_jpeg``); a caller does this before its write
    transaction so the image work never holds the database's write lock."""
    if isinstance(content, Jpeg):
        return content
    return Jpeg(*_photo_jpeg(content, content_type))


def _photo_jpeg(content: bytes, content_type: str) -> tuple[bytes, int, int]:
    """Check an uploaded photo and return it as a JPEG at most ``PHOTO_MAX_SIDE`` wide/high.

    Checked: type (JPEG, PNG, WebP, by content, not by name), size, that it decodes. Re-encoding
    also drops the EXIF data (GPS position of the phone).
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    limit = current_app.config.get("PATROL_PHOTO_MAX_BYTES", PHOTO_MAX_BYTES)
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in PHOTO_TYPES:
        raise ValidationFailed.one(
            "photo", _("A photo must be JPEG, PNG or WebP, got %(type)s.", type=kind or "?")
        )
    if not content:
        raise ValidationFailed.one("photo", _("The photo is empty."))
    if len(content) > limit:
        raise ValidationFailed.one(
            "photo",
            _(
                "The photo is %(size)s MB; the limit is %(limit)s MB.",
                size=f"{len(content) / 1048576:.1f}",
                limit=f"{limit / 1048576:.1f}",
            ),
        )
    try:
        with Image.open(io.BytesIO(content)) as probe:
            actual = probe.format
            probe.verify()
        with Image.open(io.BytesIO(content)) as image:
            image = ImageOps.exif_transpose(image).convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85, optimize=True)
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise ValidationFailed.one("photo", _("The file is not a readable image.")) from None
    if actual not in PHOTO_TYPES.values():
        raise ValidationFailed.one(
            "photo", _("A photo must be JPEG, PNG or WebP, got %(type)s.", type=actual or "?")
        )
    return out.getvalue(), width, height


def save_photo(
    client_id: str,
    photo_id: str,
    content: bytes | Jpeg,
    content_type: str = "",
    *,
    target: str,
    checklist: str,
    item: str,
) -> PatrolPhoto:
    """Store a photo of an answer (idempotent by ``photo_id``; flushes).

    Checked: type (JPEG, PNG, WebP, by content, not by name), size, that it decodes. Photos
    larger than ``PHOTO_MAX_SIDE`` are scaled down; everything is stored as JPEG under
    ``<instance>/patrol-photos/<round>/``. ``content``: the upload, or what ``prepare_photo``
    made of it outside the caller's transaction.
    """
    cid = _client_id(client_id)
    pid = _client_id(photo_id)
    jpeg = prepare_photo(content, content_type)

    sess = db.session()
    existing = sess.scalar(select(PatrolPhoto).where(PatrolPhoto.client_id == pid))
    if existing is not None:
        return existing
    patrol = find_round(cid)
    if patrol is None:
        raise ValidationFailed.one("client_id", _("Unknown round."))
    _editable(patrol)
    answer = sess.scalar(
        select(PatrolAnswer).where(
            PatrolAnswer.round_id == patrol.id,
            PatrolAnswer.target == target,
            PatrolAnswer.checklist_key == checklist,
            PatrolAnswer.item_key == item,
        )
    )
    if answer is None:  # the photo came before the answer: keep it on an empty answer
        answer = _store_answer(
            patrol,
            {
                "target": target,
                "checklist": checklist,
                "item": item,
                "value": "",
                "answered_at": datetime(2000, 1, 1, tzinfo=site_tz()),
            },
        )
        sess.flush()
    return _store_photo(pid, patrol, jpeg, answer=answer)


def _store_photo(pid: str, patrol: PatrolRound, jpeg: Jpeg, **owner: Any) -> PatrolPhoto:
    """Write the JPEG under the round's folder and its row (``owner``: answer= or finding_id=)."""
    data, width, height = jpeg.data, jpeg.width, jpeg.height
    relative = f"{patrol.client_id}/{pid}.jpg"
    path = photo_root() / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    photo = PatrolPhoto(
        client_id=pid,
        round_id=patrol.id,
        path=relative,
        content_type="image/jpeg",
        size=len(data),
        width=width,
        height=height,
        uploaded_by=_actor(),
        **owner,
    )
    db.session().add(photo)
    db.session().flush()
    return photo


def save_finding_photo(
    finding: PatrolFinding, photo_id: str, content: bytes | Jpeg, content_type: str = ""
) -> PatrolPhoto:
    """A photo of a finding (e.g. after the repair), idempotent by ``photo_id``; flushes."""
    pid = _client_id(photo_id)
    jpeg = prepare_photo(content, content_type)
    sess = db.session()
    existing = sess.scalar(select(PatrolPhoto).where(PatrolPhoto.client_id == pid))
    if existing is not None:
        return existing
    current = _current(finding)
    patrol = sess.get(PatrolRound, current.round_id)
    assert patrol is not None
    return _store_photo(pid, patrol, jpeg, finding_id=current.id)


def photo_file(photo: PatrolPhoto) -> Path:
    path = (photo_root() / photo.path).resolve()
    if photo_root().resolve() not in path.parents:
        raise ValidationFailed.one("photo", "bad photo path")
    return path


# --- schedule helpers (used by queries) -----------------------------------------------------


def slot_times(plan: PatrolPlan, day: date) -> list[datetime]:
    """The plan's scheduled moments on ``day`` (site time), as aware datetimes."""
    tz = site_tz()
    out = []
    for text in plan.schedule_times:
        if TIME_RE.match(text):
            hour, minute = (int(x) for x in text.split(":"))
            out.append(datetime.combine(day, time(hour, minute), tzinfo=tz))
    return out


def day_bounds(day: date) -> tuple[datetime, datetime]:
    tz = site_tz()
    start = datetime.combine(day, time(0, 0), tzinfo=tz)
    return start, start + timedelta(days=1)
