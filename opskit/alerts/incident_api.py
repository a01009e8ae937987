"""An incident's steps in the JSON API: what the incident's page offers, one route each.

- ``POST /incidents/{id}/entries`` (``phase``, ``note``, optional ``client_id``): a line of the
  timeline, the incident moving to that phase (the page's timeline form). A retry with the same
  ``client_id`` writes nothing and answers the incident as it is (the one line included);
- ``POST /incidents/{id}/arrive`` (``tag``): the engineer on site, named by the asset label
  scanned (an asset of the incident or one in its rooms); its open alerts get their arrival too.
  Recorded once: a retry (or a colleague after the first) changes nothing and answers the
  incident as it is, with who arrived first in ``onsite_by``;
- ``POST /incidents/{id}/close`` (``root_cause``, ``measures``): closed in the recover phase.

Each calls the service the page calls (``opskit.alerts.incidents``), as the token's user, and
answers the incident with its alerts and timeline. The roles are the page's: any writer role
(admin, engineer, supervisor; viewers get 403 from the access hook). A wrong field is a 422 by
its name with nothing written; a step on a closed incident (a retried close included) is a 409
saying so, nothing written.

One route per step, not one route with the action in the body: each step has its own required
fields, which the document then states (a body whose fields depend on another field's value is
a ``oneOf`` clients and schemathesis handle poorly), and they are the page's own routes under
``/api/v1`` as the alerts' steps are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field

from opskit import db, jsonapi
from opskit.alerts import incidents
from opskit.alerts.api import INCIDENTS, IncidentDetail, LongText, incident_rows
from opskit.alerts.models import Incident
from opskit.apischema import Input, Text, one_of
from opskit.jsonapi import ApiError
from opskit.openapi import operation
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("incidents_api", __name__)


class EntryBody(Input):
    phase: Annotated[str, one_of(incidents.PHASE_LABELS)] = Field(
        description="The phase the incident is in now"
    )
    note: LongText = Field(description="What happened (required)")
    client_id: (
        Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{8,64}$", examples=["entry-7f3a9c21"])] | None
    ) = Field(
        None,
        description="The caller's id of this line (8–64 letters, digits, - or _): a retry with "
        "the same id writes nothing and answers the incident as the first call left it",
    )


class ArriveBody(Input):
    tag: Annotated[Text, Field(max_length=64)] = Field(
        description="The asset label scanned on site: one of the incident's assets or in its rooms"
    )


class CloseBody(Input):
    root_cause: LongText = Field(description="The root cause (required)")
    measures: LongText = Field(description="The measures taken (required)")


def _step(incident_id: int, take: Callable[[Incident], None]) -> Any:
    """``take(incident)`` as the page's step; the service refusing a closed incident is a 409,
    any other refusal a 422 by field; nothing written either way."""
    incident: Incident = jsonapi.get_or_404(Incident, incident_id)
    try:
        take(incident)
    except ValidationFailed as exc:
        db.session().rollback()
        closed = _("The incident is closed.")
        if any(closed in messages for messages in exc.errors.values()):
            # the service's refusal of a closed incident (a retried close too): its state
            raise ApiError(409, "conflict", closed, {"status": [closed]}) from None
        raise
    db.session().commit()
    return incident_rows([incident])[0]


def _add_entry(incident: Incident, body: EntryBody) -> None:
    """The line, in one write retried on a unique-key race: a retry with the same
    ``client_id`` (or the loser of two at the same moment) finds the line and writes nothing."""
    db.write(lambda: incidents.add_entry(incident, body.phase, body.note, client_id=body.client_id))


#: each step: its route's last part, body, summary, description, and the service call it makes
STEPS: tuple[tuple[str, type[Input], Any, str, Callable[[Incident, Any], None]], ...] = (
    (
        "entries",
        EntryBody,
        _l("Add a line to an incident's timeline"),
        "The timeline form's line: the incident moves to ``phase``. A retry with the same "
        "``client_id`` writes nothing and answers the incident as it is.",
        _add_entry,
    ),
    (
        "arrive",
        ArriveBody,
        _l("Record the arrival on site for an incident"),
        "By the asset label scanned; recorded once (a retry answers the incident unchanged).",
        lambda incident, body: incidents.record_arrival(incident, body.tag),
    ),
    (
        "close",
        CloseBody,
        _l("Close an incident"),
        "With its root cause and measures; an incident already closed is a 409.",
        lambda incident, body: incidents.close_incident(incident, body.root_cause, body.measures),
    ),
)


def _step_view(name: str, take: Callable[[Incident, Any], None]) -> Any:
    def view(incident_id: int, body: Any) -> Any:
        return _step(incident_id, lambda incident: take(incident, body))

    view.__name__ = f"incident_{name}"
    return view


for _name, _body, _summary, _description, _take in STEPS:
    operation(
        bp,
        "POST",
        f"/incidents/<int:incident_id>/{_name}",
        body=_body,
        response=IncidentDetail,
        errors=(404, 409),
        tag=INCIDENTS,
        summary=_summary,
        description=_description,
    )(_step_view(_name, _take))
