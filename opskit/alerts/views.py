"""Alert review for the tablet: filters, big acknowledge/resolve buttons, live SLA clocks."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit import db
from opskit.alerts import queries, services
from opskit.alerts.models import Alert
from opskit.auth import require_roles
from opskit.i18n import site_tz
from opskit.models import Role
from opskit.validation import ValidationFailed

bp = Blueprint("alerts", __name__, url_prefix="/alerts")

URGENCY_LABELS = {
    "A": _l("A · system unusable"),
    "B": _l("B · seriously damaged"),
    "C": _l("C · minor"),
}
STATUS_LABELS = {
    "open": _l("Open"),
    "firing": _l("Firing"),
    "acknowledged": _l("Acknowledged"),
    "resolved": _l("Resolved"),
}
CLOCK_LABELS = {
    "acknowledge": _l("Acknowledge"),
    "onsite": _l("On site"),
    "resolve": _l("Resolve"),
}


def _filters() -> dict[str, Any]:
    urgency = request.args.get("urgency") or None
    status = request.args.get("status", "open") or None
    source = request.args.get("source") or None
    room = request.args.get("room", type=int)
    return {
        "urgency": urgency if urgency in URGENCY_LABELS else None,
        "status": status if status in STATUS_LABELS else None,
        "source": source if source in services.SOURCE_LABELS else None,
        "room_id": room,
    }


@bp.route("/")
def index() -> str:
    filters = _filters()
    views = queries.with_clocks(queries.list_alerts(**filters), db.utcnow())
    template = "alerts/_list.html" if request.headers.get("HX-Request") else "alerts/index.html"
    from assets import queries as registry  # rooms for the filter, via the registry's queries

    return render_template(
        template,
        rooms=registry.all_rooms(),
        views=views,
        filters=filters,
        counts=queries.open_counts(),
        urgency_labels=URGENCY_LABELS,
        status_labels=STATUS_LABELS,
        clock_labels=CLOCK_LABELS,
        source_labels=services.SOURCE_LABELS,
    )


@bp.route("/<int:alert_id>")
def detail(alert_id: int) -> str:
    alert = db.session().get(Alert, alert_id) or abort(404)
    (view,) = queries.with_clocks([alert], db.utcnow())
    return render_template(
        "alerts/detail.html",
        view=view,
        events=queries.history(alert_id),
        urgency_labels=URGENCY_LABELS,
        status_labels=STATUS_LABELS,
        clock_labels=CLOCK_LABELS,
        source_labels=services.SOURCE_LABELS,
    )


def _act(alert_id: int, action: str) -> Any:
    sess = db.session()
    alert = sess.get(Alert, alert_id) or abort(404)
    note = request.form.get("note", "")
    try:
        if action == "ack":
            services.acknowledge(alert, note)
            flash(_("Alert acknowledged."), "success")
        elif action == "onsite":
            services.record_onsite(alert, note)
            flash(_("Arrival on site recorded."), "success")
        else:
            services.resolve(alert, note)
            flash(_("Alert resolved."), "success")
        sess.commit()
    except ValidationFailed as exc:
        sess.rollback()
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "error")
        return redirect(url_for("alerts.detail", alert_id=alert_id)), 303
    target = request.form.get("next") or url_for("alerts.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("alerts.index")
    return redirect(target), 303


@bp.post("/<int:alert_id>/acknowledge")
def acknowledge(alert_id: int) -> Any:
    return _act(alert_id, "ack")


@bp.post("/<int:alert_id>/onsite")
def onsite(alert_id: int) -> Any:
    return _act(alert_id, "onsite")


@bp.post("/<int:alert_id>/resolve")
def resolve(alert_id: int) -> Any:
    return _act(alert_id, "resolve")


@bp.route("/policy", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def policy() -> Any:
    """Admins edit the SLA policy (YAML); it is validated before it is saved, and audited."""
    from opskit.alerts.queries import POLICY_KEY
    from opskit.alerts.sla import PolicyError, default_policy_text, load_policy
    from opskit.models import SiteSetting

    sess = db.session()
    saved = sess.get(SiteSetting, POLICY_KEY)
    text = saved.value if saved is not None else default_policy_text()
    error = None
    if request.method == "POST":
        text = request.form.get("policy", "").replace("\r\n", "\n")
        try:
            load_policy(text, site_tz(), "sla_policy")
        except PolicyError as exc:
            error = str(exc)
        else:
            if saved is None:
                sess.add(SiteSetting(key=POLICY_KEY, value=text))
            else:
                saved.value = text
            sess.commit()
            flash(_("The service-level policy was saved."), "success")
            return redirect(url_for("alerts.policy")), 303
    current = queries.current_policy() if error is None else None
    return render_template(
        "alerts/policy.html", text=text, error=error, policy=current, clock_labels=CLOCK_LABELS
    ), (400 if error else 200)
