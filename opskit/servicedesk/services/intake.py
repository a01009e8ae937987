"""Logging a request: checked field by field, idempotent by ``client_id``, from an alert,
a patrol finding, a vulnerability finding or an incident."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries as registry
from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.servicedesk import categories
from opskit.servicedesk.models import (
    OPEN_STATUSES,
    Channel,
    EventKind,
    ServiceRequest,
    Status,
    Urgency,
)
from opskit.servicedesk.services import common
from opskit.validation import ValidationFailed

# --- logging a request -----------------------------------------------------------------------


#: a request logged "now" on a tablet whose clock runs a little ahead is not in the future
FUTURE_SLACK = timedelta(minutes=5)
MAX_LENGTHS = {
    "title": 200,
    "requester_name": 128,
    "requester_department": 128,
    "requester_phone": 64,
}


def open_request(
    *,
    description: str,
    category: str,
    channel: str,
    urgency: str,
    title: str = "",
    requester_name: str = "",
    requester_department: str = "",
    requester_phone: str = "",
    asset_tag: str | None = None,
    asset_id: int | None = None,
    room_id: int | None = None,
    client_id: str | None = None,
    raised_at: datetime | None = None,
) -> ServiceRequest:
    """Log a request (flushes). The same ``client_id`` again returns the request it made."""
    return _open(
        description=description,
        category=category,
        channel=channel,
        urgency=urgency,
        title=title,
        requester_name=requester_name,
        requester_department=requester_department,
        requester_phone=requester_phone,
        asset_tag=asset_tag,
        asset_id=asset_id,
        room_id=room_id,
        client_id=client_id,
        raised_at=raised_at,
    )


def _open(
    *,
    description: str,
    category: str,
    channel: str,
    urgency: str,
    title: str = "",
    requester_name: str = "",
    requester_department: str = "",
    requester_phone: str = "",
    asset_tag: str | None = None,
    asset_id: int | None = None,
    room_id: int | None = None,
    client_id: str | None = None,
    raised_at: datetime | None = None,
    alert_id: int | None = None,
    finding_id: int | None = None,
    incident_id: int | None = None,
    vuln_finding_id: int | None = None,
) -> ServiceRequest:
    errors: dict[str, list[str]] = {}
    cid = (client_id or "").strip() or common.new_client_id()
    if not common.CLIENT_ID_RE.match(cid):
        raise ValidationFailed.one(
            "client_id", _("Expected a request id of 8–64 letters, digits, - or _.")
        )
    existing = common.find_request(cid)
    if existing is not None:
        return existing

    description = (description or "").strip()
    if not description:
        errors["description"] = [_("Describe the problem.")]
    if category not in categories.categories():
        errors["category"] = [_("Choose a category.")]
    if channel not in Channel.labels():
        errors["channel"] = [_("Choose how the request came in.")]
    if urgency not in Urgency.labels():
        errors["urgency"] = [_("Choose the urgency: A, B or C.")]
    title = (title or "").strip()
    if not title and description:
        title = description.splitlines()[0].strip()[:200]
    texts = {
        "title": title,
        "requester_name": requester_name.strip(),
        "requester_department": requester_department.strip(),
        "requester_phone": requester_phone.strip(),
    }
    for field, value in texts.items():
        if len(value) > MAX_LENGTHS[field]:
            errors[field] = [_("At most %(n)s characters.", n=MAX_LENGTHS[field])]
    phone = texts["requester_phone"]
    if phone and "requester_phone" not in errors and not common.is_phone_number(phone):
        errors["requester_phone"] = [
            _(
                "%(phone)s is not a phone number: a mobile number (11 digits) or a landline "
                "with its area code, e.g. 010-12345678 (an extension after -).",
                phone=phone,
            )
        ]

    asset = None
    if asset_tag is not None and asset_tag.strip():
        tag = common.tag_of(asset_tag)
        asset = registry.asset_by_tag(tag)
        if asset is None:
            errors["asset_tag"] = [_("No asset has the tag %(tag)s.", tag=tag)]
    elif asset_id is not None:
        asset = registry.get_asset(asset_id)
        if asset is None:
            errors["asset_id"] = [_("No such asset.")]
    if room_id is not None and registry.site_id_of_room(room_id) is None:
        errors["room_id"] = [_("No such room.")]
    now = db.utcnow()
    raised = raised_at or now
    if raised > now + FUTURE_SLACK:
        errors["raised_at"] = [_("The request cannot be raised in the future.")]
    if errors:
        raise ValidationFailed(errors)

    if room_id is None and asset is not None:
        room_id = common.room_of_asset(asset)
    actor = common.actor()
    req = ServiceRequest(
        client_id=cid,
        requester_name=texts["requester_name"],
        requester_department=texts["requester_department"],
        requester_phone=phone,
        channel=channel,
        category=category,
        asset_id=asset.id if asset is not None else None,
        room_id=room_id,
        urgency=urgency,
        title=title,
        description=description,
        status=Status.NEW.value,
        raised_at=raised,
        created_by=actor,
        created_at=now,
        alert_id=alert_id,
        finding_id=finding_id,
        incident_id=incident_id,
        vuln_finding_id=vuln_finding_id,
    )
    db.session().add(req)
    common.event(req, EventKind.OPENED, raised, after=Status.NEW.value)
    db.session().flush()
    return req


def _open_linked(column: Any, linked_id: int) -> ServiceRequest | None:
    return db.session().scalar(
        select(ServiceRequest)
        .where(column == linked_id, ServiceRequest.status.in_(OPEN_STATUSES))
        .order_by(ServiceRequest.id)
        .limit(1)
    )


def _asked_before(column: Any, linked_id: int, client_id: str | None) -> ServiceRequest | None:
    """The request a retried form made (its ``client_id``), or the linked one still open."""
    if client_id and (found := common.find_request(client_id.strip())) is not None:
        return found
    return _open_linked(column, linked_id)


def open_request_from_alert(
    alert_id: int,
    *,
    category: str = "other",
    description: str = "",
    urgency: str | None = None,
    title: str = "",
    requester_name: str = "",
    requester_department: str = "",
    requester_phone: str = "",
    client_id: str | None = None,
    raised_at: datetime | None = None,
) -> ServiceRequest:
    """A request for an alert (channel 监控告警): its asset, room, urgency and message unless
    given. The alert's open request, if it has one, is returned instead of a second."""
    if client_id and (found := common.find_request(client_id.strip())) is not None:
        return found
    alert = alert_queries.get_alert(alert_id)
    if alert is None:
        raise ValidationFailed.one("alert_id", _("No such alert."))
    existing = _open_linked(ServiceRequest.alert_id, alert_id)
    if existing is not None:
        return existing
    return _open(
        description=description or alert.message,
        category=category,
        channel=Channel.ALERT.value,
        urgency=urgency or alert.urgency,
        title=title,
        requester_name=requester_name,
        requester_department=requester_department,
        requester_phone=requester_phone,
        asset_id=alert.asset_id,
        room_id=alert.room_id,
        client_id=client_id,
        raised_at=raised_at,
        alert_id=alert.id,
    )


def open_request_from_finding(
    finding_id: int,
    *,
    description: str,
    urgency: str,
    asset_id: int | None = None,
    room_id: int | None = None,
    category: str = "other",
    title: str = "",
    requester_name: str = "",
    requester_department: str = "",
    requester_phone: str = "",
    client_id: str | None = None,
    raised_at: datetime | None = None,
) -> ServiceRequest:
    """A request for a patrol finding (channel 巡检发现). The desk may not read the patrol's
    tables, so the caller (``inspections``) passes what the finding says; the foreign key
    refuses an id that names no finding. The finding's open request, if any, is returned."""
    existing = _asked_before(ServiceRequest.finding_id, finding_id, client_id)
    if existing is not None:
        return existing
    return _open(
        description=description,
        category=category,
        channel=Channel.PATROL.value,
        urgency=urgency,
        title=title,
        requester_name=requester_name,
        requester_department=requester_department,
        requester_phone=requester_phone,
        asset_id=asset_id,
        room_id=room_id,
        client_id=client_id,
        raised_at=raised_at,
        finding_id=finding_id,
    )


def open_request_from_vuln_finding(
    vuln_finding_id: int,
    *,
    description: str,
    urgency: str,
    title: str,
    asset_id: int | None = None,
    category: str = "other",
    client_id: str | None = None,
    raised_at: datetime | None = None,
) -> ServiceRequest:
    """A request to fix a vulnerability finding (channel 巡检发现: the scan is the security
    inspection the contract asks for). As for a patrol finding the caller
    (``inspections.vulns``) passes what the finding says; the finding's open request, if any,
    is returned instead of a second."""
    existing = _asked_before(ServiceRequest.vuln_finding_id, vuln_finding_id, client_id)
    if existing is not None:
        return existing
    return _open(
        description=description,
        category=category,
        channel=Channel.PATROL.value,
        urgency=urgency,
        title=title,
        asset_id=asset_id,
        client_id=client_id,
        raised_at=raised_at,
        vuln_finding_id=vuln_finding_id,
    )


def open_request_from_incident(
    incident_id: int,
    *,
    channel: str,
    category: str = "other",
    description: str = "",
    urgency: str | None = None,
    title: str = "",
    requester_name: str = "",
    requester_department: str = "",
    requester_phone: str = "",
    asset_tag: str | None = None,
    client_id: str | None = None,
    raised_at: datetime | None = None,
) -> ServiceRequest:
    """A request of an incident (one incident may bring many requests): the incident's
    urgency and title unless given."""
    incident = alert_queries.get_incident(incident_id)
    if incident is None:
        raise ValidationFailed.one("incident_id", _("No such incident."))
    return _open(
        description=description or incident.description or incident.title,
        category=category,
        channel=channel,
        urgency=urgency or incident.urgency,
        title=title or incident.title,
        requester_name=requester_name,
        requester_department=requester_department,
        requester_phone=requester_phone,
        asset_tag=asset_tag,
        client_id=client_id,
        raised_at=raised_at,
        incident_id=incident.id,
    )
