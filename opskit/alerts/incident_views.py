"""Incident pages: list, open, timeline through the phases, arrival by QR scan, close, print."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from opskit import db
from opskit.alerts import incidents, wording
from opskit.alerts.models import Alert, Incident
from opskit.alerts.queries import incident_clocks
from opskit.alerts.views import CLOCK_LABELS, URGENCY_LABELS
from opskit.validation import ValidationFailed

bp = Blueprint("incidents", __name__, url_prefix="/incidents")


def _get(incident_id: int) -> Incident:
    return db.session().get(Incident, incident_id) or abort(404)


def _context(incident: Incident, **extra: Any) -> dict[str, Any]:
    clocks = incident_clocks(incident, db.utcnow())
    return {
        "incident": incident,
        # its alerts' messages and opskit's own notes in the reader's language
        "alert_messages": wording.alert_messages(incident.alerts),
        "note_words": wording.note_words,
        "clocks": clocks,
        "grades": incidents.GRADE_LABELS,
        "phases": incidents.PHASE_LABELS,
        "urgency_labels": URGENCY_LABELS,
        "clock_labels": CLOCK_LABELS,
        "errors": {},
        "form": {},
        "scanned_tag": "",
        # the timeline form's id, fresh per render: a resubmitted form writes its line once
        "client_id": incidents.new_client_id(),
        **extra,
    }


@bp.route("/")
def index() -> str:
    status = request.args.get("status", "open")
    stmt = select(Incident).order_by(Incident.opened_at.desc()).limit(200)
    if status in ("open", "closed"):
        stmt = stmt.where(Incident.status == status)
    rows = db.session().scalars(stmt).all()
    return render_template(
        "alerts/incidents.html",
        incidents=rows,
        status=status,
        grades=incidents.GRADE_LABELS,
        phases=incidents.PHASE_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
def create() -> Any:
    form = request.form if request.method == "POST" else {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            incident = incidents.open_incident(
                form.get("title", ""),
                grade=form.get("grade", ""),
                urgency=form.get("urgency", ""),
                description=form.get("description", ""),
                asset_tags=form.get("assets", "").replace("，", ",").split(","),
            )
            db.session().commit()
        except ValidationFailed as exc:
            db.session().rollback()
            errors = {k: " ".join(v) for k, v in exc.errors.items()}
        else:
            flash(_("Incident %(number)s opened.", number=incident.number), "success")
            return redirect(url_for("incidents.detail", incident_id=incident.id))
    return render_template(
        "alerts/incident_new.html",
        form=form,
        errors=errors,
        grades=incidents.GRADE_LABELS,
        urgency_labels=URGENCY_LABELS,
    ), (400 if errors else 200)


@bp.post("/from-alert/<int:alert_id>")
def from_alert(alert_id: int) -> Any:
    alert = db.session().get(Alert, alert_id) or abort(404)
    incident = incidents.open_from_alert(alert)
    db.session().commit()
    flash(_("Incident %(number)s opened.", number=incident.number), "success")
    return redirect(url_for("incidents.detail", incident_id=incident.id))


@bp.route("/<int:incident_id>")
def detail(incident_id: int) -> str:
    # back from the scan page with ?tag=...: pre-fill the arrival form (one tap to confirm)
    tag = request.args.get("tag", "").strip()[:64]
    return render_template(
        "alerts/incident.html",
        **_context(_get(incident_id), form={"tag": tag} if tag else {}, scanned_tag=tag),
    )


def _step(incident_id: int, action: str) -> Any:
    incident = _get(incident_id)
    form = request.form
    try:
        if action == "entry":
            # one write, retried on a unique-key race: a resent form finds the line it wrote
            db.write(
                lambda: incidents.add_entry(
                    incident,
                    form.get("phase", ""),
                    form.get("note", ""),
                    client_id=form.get("client_id"),
                )
            )
        elif action == "arrive":
            incidents.record_arrival(incident, form.get("tag", "") or request.args.get("tag", ""))
            flash(_("Arrival on site recorded."), "success")
        else:
            incidents.close_incident(incident, form.get("root_cause", ""), form.get("measures", ""))
            flash(_("Incident closed."), "success")
        db.session().commit()
    except ValidationFailed as exc:
        db.session().rollback()
        incident = _get(incident_id)
        errors = {k: " ".join(v) for k, v in exc.errors.items()}
        return render_template(
            "alerts/incident.html", **_context(incident, errors=errors, form=form)
        ), 400
    return redirect(url_for("incidents.detail", incident_id=incident_id)), 303


@bp.post("/<int:incident_id>/entries")
def add_entry(incident_id: int) -> Any:
    return _step(incident_id, "entry")


@bp.post("/<int:incident_id>/arrive")
def arrive(incident_id: int) -> Any:
    return _step(incident_id, "arrive")


@bp.post("/<int:incident_id>/close")
def close(incident_id: int) -> Any:
    return _step(incident_id, "close")


@bp.route("/<int:incident_id>/report")
def report(incident_id: int) -> str:
    return render_template(
        "alerts/incident_report.html", now=db.utcnow(), **_context(_get(incident_id))
    )
