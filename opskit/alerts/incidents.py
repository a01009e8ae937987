"""Incidents: open from an alert or by hand, grade, work through the phases, record the
engineer's arrival (by scanning an asset's QR label), close with root cause and measures."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from assets import queries as registry
from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, Incident, IncidentEntry, IncidentGrade, Phase
from opskit.audit import current_actor
from opskit.validation import ValidationFailed

GRADE_LABELS = {
    IncidentGrade.GENERAL.value: _l("General (grade IV)"),
    IncidentGrade.MAJOR.value: _l("Major (grade III)"),
    IncidentGrade.SERIOUS.value: _l("Serious (grade II)"),
    IncidentGrade.CRITICAL.value: _l("Critical (grade I)"),
}
PHASE_LABELS = {
    Phase.PREPARE.value: _l("Prepare"),
    Phase.DETECT.value: _l("Detect"),
    Phase.CONTAIN.value: _l("Contain"),
    Phase.ERADICATE.value: _l("Eradicate"),
    Phase.RECOVER.value: _l("Recover"),
}


def _assets_by_tags(tags: Sequence[str]) -> list[registry.Asset]:
    found: list[registry.Asset] = []
    missing: list[str] = []
    for tag in (t.strip() for t in tags):
        if not tag:
            continue
        asset = registry.asset_by_tag(tag)
        if asset is None:
            missing.append(tag)
        else:
            found.append(asset)
    if missing:
        raise ValidationFailed.one(
            "assets", _("Unknown asset tags: %(tags)s", tags=", ".join(missing))
        )
    return found


def _entry(
    incident: Incident, phase: str, note: str, at: datetime, client_id: str | None = None
) -> None:
    incident.entries.append(
        IncidentEntry(at=at, phase=phase, note=note, actor=current_actor()[1], client_id=client_id)
    )


def open_incident(
    title: str,
    *,
    grade: str = IncidentGrade.GENERAL.value,
    urgency: str = "C",
    description: str = "",
    asset_tags: Sequence[str] = (),
    alerts: Sequence[Alert] = (),
    at: datetime | None = None,
) -> Incident:
    errors: dict[str, list[str]] = {}
    if not title.strip():
        errors["title"] = [_("A title is required.")]
    if grade not in GRADE_LABELS:
        errors["grade"] = [_("Choose a grade.")]
    if urgency not in ("A", "B", "C"):
        errors["urgency"] = [_("Choose an urgency.")]
    try:
        assets = _assets_by_tags(asset_tags)
    except ValidationFailed as exc:
        errors.update(exc.errors)
        assets = []
    if errors:
        raise ValidationFailed(errors)
    now = at or db.utcnow()
    start = min([now, *(a.first_seen for a in alerts)])
    incident = Incident(
        title=title.strip(),
        grade=grade,
        urgency=urgency,
        phase=Phase.DETECT.value,
        status="open",
        description=description.strip(),
        opened_at=start,
        opened_by=current_actor()[1],
    )
    incident.assets.extend(assets)
    for alert in alerts:
        incident.alerts.append(alert)
        if alert.asset_id and all(a.id != alert.asset_id for a in incident.assets):
            asset = registry.get_asset(alert.asset_id)
            if asset is not None:
                incident.assets.append(asset)
    db.session().add(incident)
    _entry(incident, Phase.DETECT.value, _("Incident opened."), now)
    return incident


def open_from_alert(alert: Alert) -> Incident:
    return open_incident(alert.message, urgency=alert.urgency, alerts=[alert])


#: a timeline line's client-made id (the form's, one per render, or an API caller's)
CLIENT_ID_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def new_client_id() -> str:
    """A fresh id for one render of the timeline form."""
    return uuid.uuid4().hex


def find_entry(incident: Incident, client_id: str) -> IncidentEntry | None:
    """The line of ``incident`` a submission with ``client_id`` wrote, if any."""
    return db.session().scalar(
        select(IncidentEntry).where(
            IncidentEntry.incident_id == incident.id, IncidentEntry.client_id == client_id
        )
    )


def add_entry(
    incident: Incident,
    phase: str,
    note: str,
    at: datetime | None = None,
    *,
    client_id: str | None = None,
) -> bool:
    """A line of the timeline, the incident moving to ``phase``; whether it was written.

    With ``client_id``, a retry of one submission (a double tap, a client resending after a
    lost answer) finds the line the first wrote and writes nothing (False), even after the
    incident closed. Two retries at the same moment: the unique key lets one in; run it under
    ``db.write``, whose retry then finds the winner's line.
    """
    cid = (client_id or "").strip() or None
    if cid is not None:
        if not CLIENT_ID_RE.match(cid):
            raise ValidationFailed.one(
                "client_id", _("Expected a form id of 8–64 letters, digits, - or _.")
            )
        if find_entry(incident, cid) is not None:
            return False
    if incident.status == "closed":
        raise ValidationFailed.one("note", _("The incident is closed."))
    errors = {}
    if phase not in PHASE_LABELS:
        errors["phase"] = [_("Choose a phase.")]
    if not note.strip():
        errors["note"] = [_("Write what happened.")]
    if errors:
        raise ValidationFailed(errors)
    incident.phase = phase
    _entry(incident, phase, note.strip(), at or db.utcnow(), client_id=cid)
    return True


def record_arrival(incident: Incident, tag: str, at: datetime | None = None) -> None:
    """The engineer scanned a label on site: an asset of the incident or one in its rooms."""
    asset = registry.asset_by_tag(tag.strip())
    if asset is None:
        raise ValidationFailed.one("tag", _("No asset has the tag %(tag)s.", tag=tag.strip()))
    rooms = {a.room_id for a in incident.assets if a.room_id}
    if incident.assets and asset not in incident.assets and asset.room_id not in rooms:
        raise ValidationFailed.one(
            "tag", _("%(tag)s is not in the rooms of this incident.", tag=asset.asset_tag)
        )
    if incident.onsite_at is not None:
        return
    now = at or db.utcnow()
    incident.onsite_at = now
    incident.onsite_by = current_actor()[1]
    incident.onsite_tag = asset.asset_tag
    note = _("Engineer on site (scanned %(tag)s).", tag=asset.asset_tag)
    _entry(incident, incident.phase, note, now)
    for alert in incident.alerts:
        if alert.is_open:
            services.record_onsite(alert, note, at=now)


def close_incident(
    incident: Incident, root_cause: str, measures: str, at: datetime | None = None
) -> None:
    errors = {}
    if not root_cause.strip():
        errors["root_cause"] = [_("Describe the root cause.")]
    if not measures.strip():
        errors["measures"] = [_("Describe the measures taken.")]
    if incident.status == "closed":
        errors["status"] = [_("The incident is closed.")]
    if errors:
        raise ValidationFailed(errors)
    now = at or db.utcnow()
    incident.root_cause = root_cause.strip()
    incident.measures = measures.strip()
    incident.status = "closed"
    incident.phase = Phase.RECOVER.value
    incident.closed_at = now
    _entry(incident, Phase.RECOVER.value, _("Incident closed."), now)
