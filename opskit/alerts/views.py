"""Alert review for the tablet: filters, big acknowledge / on-site / resolve buttons (on the list
and on the alert's own page), live SLA clocks, the service-level policy as a table."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit import db
from opskit.alerts import queries, services, wording
from opskit.alerts.models import Alert
from opskit.alerts.queries import POLICY_KEY
from opskit.auth import require_roles
from opskit.calendar import CalendarCheck, calendar_check
from opskit.clock import site_tz
from opskit.models import Role, SiteSetting
from opskit.sla import HOURS, ClockState, PolicyError, default_policy_text, load_policy
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
CLOCK_LABELS = wording.CLOCK_NAMES


@bp.app_template_global("sla_clock")
def _sla_clock(c: ClockState) -> dict[str, Any]:
    """For the clock macro (alert pages, incidents, the dashboard tile): see ``wording``."""
    return wording.clock_view(c)


@bp.app_template_global("alert_event")
def _alert_event(kind: str, note: str = "") -> str:
    """An alert event kind as a phrase (history, notification channels)."""
    return wording.event_text(kind, note)


#: the service desk's page of one request, linked from its notices when the desk serves it
REQUEST_PAGE_RULE = "/requests/<int:request_id>"


def _request_endpoint() -> str | None:
    """The endpoint of a request's page, or None while no view serves ``REQUEST_PAGE_RULE``
    (the alerts do not import the desk: the rule is looked up in the app's URL map)."""
    for rule in current_app.url_map.iter_rules():
        if rule.rule == REQUEST_PAGE_RULE and "GET" in (rule.methods or ()):
            return rule.endpoint
    return None


def _page_words(alerts: list[Alert]) -> dict[str, Any]:
    """Source and rule titles, and the assets, of the alerts on a page (each read once); their
    messages in the reader's language (``wording.alert_messages``: one call for the page); the
    service desk's notices (服务台通知) link to their request."""
    titles = wording.rule_titles(a.rule for a in alerts)
    notices = {a.id: wording.notice_request(a.source, a.dedup_key) for a in alerts}
    endpoint = _request_endpoint() if any(notices.values()) else None
    links = {
        alert_id: url_for(endpoint, request_id=request_id)
        for alert_id, request_id in notices.items()
        if endpoint and request_id is not None
    }
    return {
        "messages": wording.alert_messages(alerts),
        "sources": {a.id: wording.source_text(a.source, a.rule, titles) for a in alerts},
        "assets": wording.assets_of(a.asset_id for a in alerts),
        "notice_links": links,
    }


def _calendar(views: list[queries.AlertView]) -> CalendarCheck:
    """The working calendar's warning for a page of alerts: this year (and next year when near)
    not loaded, or a year one of their 5x8 clocks touches, from the raise to the deadline."""
    spans = [
        (view.alert.first_seen, c.deadline)
        for view in views
        for c in view.clocks
        if c.hours == "working"
    ]
    return calendar_check(*spans)


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
    alerts = queries.list_alerts(**filters)
    views = queries.with_clocks(alerts, db.utcnow())
    partial = bool(request.headers.get("HX-Request"))
    return render_template(
        "alerts/_list.html" if partial else "alerts/index.html",
        calendar=None if partial else _calendar(views),
        rooms=registry.all_rooms(),
        views=views,
        filters=filters,
        counts=queries.open_counts(),
        urgency_labels=URGENCY_LABELS,
        status_labels=STATUS_LABELS,
        clock_labels=CLOCK_LABELS,
        source_labels=services.SOURCE_LABELS,
        **_page_words(alerts),
    )


@bp.route("/<int:alert_id>")
def detail(alert_id: int) -> str:
    alert = db.session().get(Alert, alert_id) or abort(404)
    (view,) = queries.with_clocks([alert], db.utcnow())
    room = None
    if alert.room_id is not None:
        room = registry.get_place("room", alert.room_id)
    return render_template(
        "alerts/detail.html",
        view=view,
        calendar=_calendar([view]),
        events=queries.history(alert_id),
        room=room,
        urgency_labels=URGENCY_LABELS,
        status_labels=STATUS_LABELS,
        clock_labels=CLOCK_LABELS,
        source_labels=services.SOURCE_LABELS,
        event_note=wording.event_note,
        **_page_words([alert]),
    )


def _act(alert_id: int, action: str) -> Any:
    sess = db.session()
    alert = sess.get(Alert, alert_id) or abort(404)
    note = request.form.get("note", "")
    target = request.form.get("next") or url_for("alerts.index")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("alerts.index")
    done_before = wording.already_done(alert, action)
    if done_before:  # nothing to do: no second event
        flash(done_before, "info")
        return redirect(target), 303
    try:
        if action == "ack":
            services.acknowledge(alert, note)
            flash(_("Alert acknowledged."), "success")
        elif action == "onsite":
            services.record_onsite(alert, note)
            flash(_("Arrival on site recorded."), "success")
        elif action == "comment":
            added = services.comment(alert, note)
            flash(_("Comment added.") if added else _("This comment is already there."), "info")
        else:
            services.resolve(alert, note)
            flash(_("Alert resolved."), "success")
        sess.commit()
    except ValidationFailed as exc:
        sess.rollback()
        again = sess.get(Alert, alert_id)
        done_before = wording.already_done(again, action) if again is not None else None
        if done_before:  # a request at the same moment took the step first
            flash(done_before, "info")
            return redirect(target), 303
        flash(" ".join(m for msgs in exc.errors.values() for m in msgs), "error")
        return redirect(url_for("alerts.detail", alert_id=alert_id)), 303
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


@bp.post("/<int:alert_id>/comment")
def comment(alert_id: int) -> Any:
    return _act(alert_id, "comment")


def _policy_page(text: str, error: str | None, status: int = 200) -> Any:
    return render_template(
        "alerts/policy.html",
        text=text,
        error=error,
        policy=queries.current_policy(),
        problems=queries.policy_problems(),
        clock_labels=CLOCK_LABELS,
        urgency_labels=URGENCY_LABELS,
        hours_labels=dict(zip(HOURS, (_("7x24"), _("working hours")), strict=True)),
        duration=wording.human_duration,
    ), status


def _saved_policy() -> Any:
    return db.session().get(SiteSetting, POLICY_KEY)


@bp.get("/policy")
def policy() -> Any:
    """The service levels in force as a table, for everyone; admins also get the editor."""
    saved = _saved_policy()
    return _policy_page(saved.value if saved is not None else default_policy_text(), None)


@bp.post("/policy")
@require_roles(Role.ADMIN)
def policy_save() -> Any:
    """Admins edit the SLA policy (YAML); it is validated before it is saved, and audited."""
    sess = db.session()
    saved = _saved_policy()
    text = request.form.get("policy", "").replace("\r\n", "\n")
    try:
        load_policy(text, site_tz(), "sla_policy")
    except PolicyError as exc:
        return _policy_page(text, str(exc), 400)
    if saved is None:
        sess.add(SiteSetting(key=POLICY_KEY, value=text))
    else:
        saved.value = text
    sess.commit()
    flash(_("The service-level policy was saved."), "success")
    return redirect(url_for("alerts.policy")), 303
