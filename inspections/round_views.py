"""The tablet round: start, answer (saved as entered), photos, sign and submit, review, findings.

JSON endpoints under ``/patrol/rounds/<client_id>/`` are called by ``static/js/patrol.js``
with the page's CSRF token; each is idempotent by the round's (and photo's) client id so the
offline queue may resend them. The service worker is served at ``/sw.js`` (root scope).

A round is changed only by the engineer who started it: an answer, photo, start or submission
for someone else's round is refused (403 ``not_owner``), and so is a queued request whose
``X-Opskit-Queued-By`` header names another user than the one logged in (403
``queued_by_other``): a shared tablet never sends one engineer's queued work as another's.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from assets import queries as assets
from inspections import checklists as cl
from inspections import forms, limits, queries, services
from inspections.items import kind_of
from inspections.labels import LEVEL_LABELS, ROUND_STATUS_LABELS, SLOT_STATE_LABELS, answer_text
from inspections.models import PatrolRound
from opskit import db
from opskit.auth import require_roles
from opskit.i18n import site_tz
from opskit.models import User
from opskit.validation import ValidationFailed

bp = Blueprint("inspections", __name__, url_prefix="/patrol")

STATE_LABELS = SLOT_STATE_LABELS
STATUS_LABELS = ROUND_STATUS_LABELS
STATIC_DIR = Path(__file__).resolve().parents[1] / "opskit" / "static"


@bp.route("/")
def index() -> Any:
    """The patrol entry of the main navigation: today's overview (or the round start page)."""
    if "patrol_views.today" in current_app.view_functions:
        return redirect(url_for("patrol_views.today"))
    return redirect(url_for("inspections.new_round"))


def _round_or_404(client_id: str) -> PatrolRound:
    patrol = queries.find_round(client_id) if forms.CLIENT_ID_RE.match(client_id) else None
    if patrol is None:
        abort(404)
    return patrol


#: Sent by patrol.js with every (queued) request: the id of the user who made the entry.
QUEUED_BY_HEADER = "X-Opskit-Queued-By"


def started_by(patrol: PatrolRound, user: Any) -> bool:
    """True if ``user`` started the round (rounds from before user ids: by user name)."""
    if patrol.engineer_id is not None:
        return bool(patrol.engineer_id == user.id)
    return bool(patrol.engineer) and patrol.engineer == user.username


def _owner_name(patrol: PatrolRound) -> str:
    user = db.session().get(User, patrol.engineer_id) if patrol.engineer_id else None
    if user is not None:
        return user.display_name or user.username
    return patrol.engineer


def _refused_writer(client_id: str) -> tuple[Response, int] | None:
    """Why this request may not change the round ``client_id``, as a 403 JSON answer, or None.

    Checked before anything is stored: the user the tablet queued the entry for must be the
    one logged in, and an existing round must have been started by that user.
    """
    queued_by = request.headers.get(QUEUED_BY_HEADER)
    if queued_by is not None and queued_by != str(current_user.id):
        message = _(
            "This entry was made on this tablet by another user and was not sent: "
            "it is sent when that user logs in."
        )
        return jsonify(error="queued_by_other", message=message), 403
    if not forms.CLIENT_ID_RE.match(client_id):
        return None  # the service answers the bad id
    patrol = queries.find_round(client_id)
    if patrol is None or started_by(patrol, current_user):
        return None
    name = _owner_name(patrol)
    message = _("This round was started by %(name)s: only %(name)s can change it.", name=name)
    return jsonify(
        error="not_owner",
        message=message,
        owner={"id": patrol.engineer_id, "name": name},
    ), 403


def _writer_json(client_id: str) -> tuple[dict[str, Any], tuple[Response, int] | None]:
    """The JSON object a write to round ``client_id`` sent, or the answer refusing it (a
    writer other than the round's, see ``_refused_writer``, or a body that is no object)."""
    refused = _refused_writer(client_id)
    if refused is not None:
        return {}, refused
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return {}, (jsonify(error="invalid", message="expected a JSON object"), 400)
    return data, None


def _errors(exc: ValidationFailed, status: int = 400) -> tuple[Response, int]:
    return jsonify(error="invalid", errors=exc.errors, message=str(exc)), status


def _today() -> date:
    return db.utcnow().astimezone(site_tz()).date()


def _label(obj: Any, attr: str = "title") -> str:
    """The English text of a checklist/item/option when the UI is English."""
    english = getattr(obj, f"{attr}_en", "")
    if english and str(get_locale() or "").startswith("en"):
        return english
    return getattr(obj, attr)


@bp.app_context_processor
def _patrol_helpers() -> dict[str, Any]:
    return {"patrol_label": _label, "kind_of": kind_of, "answer_text": answer_text}


@bp.route("/rounds/new")
def new_round() -> str:
    day = _today()
    slots = queries.rounds_for_day(day)
    return render_template(
        "inspections/round_start.html",
        slots=slots,
        day=day,
        rooms=assets.all_rooms(),
        checklists=queries.checklists(),
        state_labels=STATE_LABELS,
        client_id=services.new_client_id(),
    )


@bp.route("/rounds/start", methods=["POST"])
def start_round() -> Any:
    """Start a round from the start page's forms. patrol.js posts the ad hoc form with
    ``Accept: application/json`` first (so it knows whether the server answered at all): it is
    answered with the round's URL, or its errors (400) without flashing them."""
    form = request.form
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        patrol = db.write(
            lambda: services.start_round(
                form.get("client_id") or None,
                room_id=forms.int_or_none(form.get("room_id")),
                checklist_keys=form.getlist("checklist_keys") or None,
                plan_id=forms.int_or_none(form.get("plan_id")),
                scheduled_for=form.get("scheduled_for") or None,
            )
        )
    except ValidationFailed as exc:
        if wants_json:
            return _errors(exc)
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
        return redirect(url_for(".new_round"))
    url = url_for(".round_page", client_id=patrol.client_id)
    return jsonify(id=patrol.id, url=url) if wants_json else redirect(url)


#: The client id in the offline start page's URLs; the tablet puts the one it made in its place.
OFFLINE_CLIENT_ID = "CLIENTID"


@bp.route("/rounds/new/offline")
@require_roles("engineer", "supervisor", "admin")
def offline_round() -> Any:
    """A planned slot's round page before the round exists (``plan_id``, ``room_id``,
    ``scheduled_for``). The start page has the service worker keep one per slot of the day, so
    a tablet out of Wi-Fi still starts the round: it makes the client id (``#<id>`` in the URL),
    queues the start and its answers, and the server creates the round when it answers.

    With ``adhoc=1`` (and ``room_id``) it is an ad hoc round of the room holding every
    checklist: the start page keeps one per room, and the tablet shows only the checklists the
    engineer chose (named after the client id in the URL's ``#``) and queues the start with
    them."""
    adhoc = request.args.get("adhoc") == "1"
    try:
        patrol = services.unsaved_round(
            OFFLINE_CLIENT_ID,
            room_id=forms.int_or_none(request.args.get("room_id")),
            checklist_keys=list(queries.checklists()) if adhoc else None,
            plan_id=None if adhoc else forms.int_or_none(request.args.get("plan_id")),
            scheduled_for=forms.when(request.args.get("scheduled_for"), "scheduled_for"),
        )
    except ValidationFailed as exc:
        # the error page escapes it: the message may quote what was in the URL
        abort(400, description=" ".join(m for ms in exc.errors.values() for m in ms))
    return _round_template(patrol, offline_start=True)


@bp.route("/rounds/<client_id>/start", methods=["POST"])
def start_round_json(client_id: str) -> Any:
    """The queued start of a round begun offline (idempotent by the client id)."""
    data, refused = _writer_json(client_id)
    if refused is not None:
        return refused
    try:
        patrol = db.write(
            lambda: services.start_round(
                client_id,
                room_id=forms.int_or_none(data.get("room_id")),
                checklist_keys=data.get("checklist_keys") or None,
                plan_id=forms.int_or_none(data.get("plan_id")),
                scheduled_for=data.get("scheduled_for") or None,
                started_at=data.get("started_at") or None,
            )
        )
    except ValidationFailed as exc:
        return _errors(exc)
    return jsonify(
        id=patrol.id, status=patrol.status, url=url_for(".round_page", client_id=patrol.client_id)
    )


@bp.route("/rounds/<client_id>")
def round_page(client_id: str) -> str:
    return _round_template(_round_or_404(client_id))


def _round_template(patrol: PatrolRound, offline_start: bool = False) -> str:
    # someone else's round is shown read-only: its writes would be refused
    editable = patrol.editable and current_user.can_write and started_by(patrol, current_user)
    detail = queries.round_detail(patrol, with_monitoring=editable)
    template = "inspections/round.html" if editable else "inspections/round_view.html"
    return render_template(
        template,
        detail=detail,
        patrol=patrol,
        offline_start=offline_start,
        status_labels=STATUS_LABELS,
        level_labels=LEVEL_LABELS,
        can_review=current_user.role in ("supervisor", "admin"),
        new_id=services.new_client_id,
        # the limits each reading is judged by here (queries.limits_at, as on save and
        # submit), shown, sent to patrol.js and marked from the same object (inspections.limits)
        limits_of=lambda t, item: queries.limits_at(t.checklist.key, item, patrol, t.asset_id),
        shown_limits=limits.shown_limits,
        limit_data=limits.limit_data,
        band_of=limits.band_of,
        band_labels=limits.BAND_LABELS,
    )


def _outcome_json(patrol: PatrolRound, answer: Any) -> dict[str, Any]:
    item = queries.get_checklist(answer.checklist_key).item(answer.item_key)
    outcome = cl.evaluate(
        item, answer.value, queries.limits_at(answer.checklist_key, item, patrol, answer.asset_id)
    )
    return {
        "field": f"{answer.target}/{answer.checklist_key}/{answer.item_key}",
        "value": answer.value,
        "level": answer.level,
        "code": answer.code,
        "band": limits.band_for(answer.level, answer.code) if kind_of(item).has_limits else "",
        "message": str(outcome.message) if answer.value else "",
        "needs_note": bool(answer.abnormal and item.requires_note_when_abnormal),
        "disagrees": answer.disagrees,
        "monitored_value": answer.monitored_value,
    }


@bp.route("/rounds/<client_id>/answers", methods=["POST"])
def save_answer(client_id: str) -> Any:
    data, refused = _writer_json(client_id)
    if refused is not None:
        return refused
    try:
        answer = db.write(lambda: services.save_answer(client_id, data))
    except ValidationFailed as exc:
        return _errors(exc, 409 if "status" in exc.errors else 400)
    return jsonify(_outcome_json(answer.round, answer))


@bp.route("/rounds/<client_id>/photos", methods=["POST"])
def upload_photo(client_id: str) -> Any:
    refused = _refused_writer(client_id)
    if refused is not None:
        return refused
    upload = request.files.get("photo")
    if upload is None:
        return _errors(ValidationFailed.one("photo", _("Choose a photo.")))
    try:
        jpeg = services.prepare_photo(upload.read(), upload.mimetype or "")
        photo = db.write(
            lambda: services.save_photo(
                client_id,
                request.form.get("photo_id", ""),
                jpeg,
                target=request.form.get("target", ""),
                checklist=request.form.get("checklist", ""),
                item=request.form.get("item", ""),
            )
        )
    except ValidationFailed as exc:
        return _errors(exc, 409 if "status" in exc.errors else 400)
    return jsonify(id=photo.id, url=url_for(".photo", photo_id=photo.id), size=photo.size)


@bp.route("/rounds/<client_id>/submit", methods=["POST"])
def submit(client_id: str) -> Any:
    data, refused = _writer_json(client_id)
    if refused is not None:
        return refused
    try:
        # the answers first, in their own transaction: a refused submission loses nothing typed
        db.write(lambda: services.save_submission(client_id, data))
        patrol = db.write(lambda: services.sign_round(client_id, data))
    except ValidationFailed as exc:
        return _errors(exc)
    return jsonify(
        status=patrol.status,
        id=patrol.id,
        findings=len(patrol.findings),
        url=url_for(".round_page", client_id=patrol.client_id),
    )


@bp.route("/rounds/<client_id>/review", methods=["POST"])
@require_roles("supervisor", "admin")
def review(client_id: str) -> Any:
    patrol = _round_or_404(client_id)
    comment = request.form.get("comment", "")
    try:
        if request.form.get("action") == "approve":
            db.write(lambda: services.approve_round(patrol, comment))
            flash(_("Round approved."), "success")
        else:
            db.write(lambda: services.comment_round(patrol, comment))
            flash(_("Comment saved."), "success")
    except ValidationFailed as exc:
        db.session().rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
    return redirect(url_for(".round_page", client_id=client_id))


@bp.route("/findings/<int:finding_id>/close", methods=["POST"])
def close_finding(finding_id: int) -> Any:
    finding = queries.get_finding(finding_id)
    if finding is None:
        abort(404)
    client_id = finding.round.client_id
    note = request.form.get("note", "")
    upload = request.files.get("photo")
    try:
        if note.strip() and finding.is_open and upload is not None and upload.filename:
            jpeg = services.prepare_photo(upload.read(), upload.mimetype or "")
            db.write(
                lambda: services.save_finding_photo(finding, request.form.get("photo_id", ""), jpeg)
            )
        db.write(lambda: services.close_finding(finding, note))
        flash(_("Finding closed."), "success")
    except ValidationFailed as exc:
        db.session().rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
    return redirect(url_for(".round_page", client_id=client_id) + f"#finding-{finding_id}")


@bp.route("/findings/<int:finding_id>")
def finding(finding_id: int) -> Any:
    """A finding where it is shown: on its round's page (the service desk links here)."""
    found = queries.get_finding(finding_id)
    if found is None:
        abort(404)
    target = url_for(".round_page", client_id=found.round.client_id) + f"#finding-{finding_id}"
    return redirect(target)


@bp.route("/findings")
def findings() -> str:
    return render_template(
        "inspections/findings.html", findings=queries.open_findings(), level_labels=LEVEL_LABELS
    )


@bp.route("/photos/<int:photo_id>")
def photo(photo_id: int) -> Any:
    found = queries.get_photo(photo_id)
    if found is None:
        abort(404)
    path = queries.photo_file(found)
    if not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


def service_worker() -> Any:
    """The service worker, from the site root so it may control every page it caches.

    Behind the login like every page (no new public endpoint): the tablet registers it from a
    round page, logged in; a logged-out update check fails and the installed worker stays.
    """
    script = (STATIC_DIR / "js" / "patrol-sw.js").read_bytes()
    response = Response(script, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.record_once
def _register_worker(state: Any) -> None:
    state.app.add_url_rule("/sw.js", "patrol_service_worker", service_worker)
