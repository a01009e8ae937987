"""The request pages (服务台): log a phone request on the tablet in seconds, the queue by
deadline, and a request's page with its live clocks and the steps its status allows.

- ``/requests/new``: description, urgency (C unless chosen), category, channel (电话 unless
  chosen), the requester (people seen before suggested as the name is typed; picking one fills
  the department and phone), the asset by its label (camera or photo, ``static/js/scan.js``)
  or its typed tag, shown by name when known. A hidden client id makes a retried save one
  request. From an alert, an incident or a patrol finding (``?alert_id=`` …) the form comes
  prefilled and the request is linked to it. A refused form answers 400 with every wrong field
  named and everything typed kept. Photos are optional (at most ``MAX_PHOTOS``, checked and
  stored as JPEG; a form sent back asks for them again: a browser cannot refill a file input).
- ``/requests/``: the queue, nearest running deadline first (``queue``), filtered by status,
  urgency and mine/all; each request's next clock counts down live.
- ``/requests/<id>``: the request, its four clocks, its steps, spares lent, repairs, the
  survey and the history in words and full names.

Every write is a POST with the CSRF token. The services check the roles (``NotAllowed`` → 403
with the reason); engineers, supervisors and admins work requests; a viewer (the customer's
staff) may log a request and confirm or reopen their own (those three views are
``@viewers_too``; the others keep the writer check of the access hook too). A step the status
refuses answers the page again (409) saying why; a field error (400) keeps what was typed.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from assets import queries as registry
from opskit import db, photos
from opskit.alerts import queries as alert_queries
from opskit.auth import safe_next, viewers_too
from opskit.calendar import calendar_check
from opskit.photos import Jpeg
from opskit.servicedesk import queries, queue, request_pages, services, steps
from opskit.servicedesk.models import Channel, RequestPhoto, ServiceRequest, Status
from opskit.servicedesk.request_pages import Origin
from opskit.servicedesk.services import photos as request_photos
from opskit.validation import ValidationFailed

bp = Blueprint("requests", __name__, url_prefix="/requests")

#: what the new-request form sends (besides what it came from)
FORM_FIELDS = (
    "description",
    "category",
    "channel",
    "urgency",
    "requester_name",
    "requester_department",
    "requester_phone",
    "asset_tag",
    "client_id",
)
DEFAULTS = {"urgency": "C", "channel": Channel.PHONE.value}
#: the channels of requests made from an alert or a finding, not chosen on the form
LINKED_CHANNELS = (Channel.ALERT.value, Channel.PATROL.value)
ORIGIN_ARGS = {"alert": "alert_id", "incident": "incident_id", "finding": "finding_id"}
#: what a patrol page passes about a finding (the desk cannot read the patrol's tables)
FINDING_ARGS = ("description", "urgency", "room_id")
#: how many people seen before are suggested as a name is typed
SUGGESTIONS = 6
#: how many photos one request is logged with
MAX_PHOTOS = 6


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["requests_linked"] = _linked


def _linked(kind: str, object_id: int) -> list[dict[str, Any]]:
    """The requests of an alert, incident or patrol finding, for their pages
    (``servicedesk/_linked.html``): number, title, status in words, link."""
    found = {
        "alert": queries.requests_for_alert,
        "incident": queries.requests_for_incident,
        "finding": queries.requests_for_finding,
    }[kind]
    words = Status.labels()
    return [
        {
            "id": r.id,
            "number": r.number,
            "title": r.title,
            "status": words[r.status],
            "url": url_for("requests.detail", request_id=r.id),
        }
        for r in found(object_id)
    ]


def _request(request_id: int) -> ServiceRequest:
    return queries.get_request(request_id) or abort(404)


def _errors(exc: ValidationFailed) -> dict[str, str]:
    shown = {"asset_id": "asset_tag", "alert_id": "origin", "incident_id": "origin"}
    out: dict[str, str] = {}
    for key, messages in exc.errors.items():
        name = shown.get(key, key)
        out[name] = " ".join(filter(None, (out.get(name, ""), *messages)))
    return out


# --- the queue -------------------------------------------------------------------------------


@bp.route("/")
def index() -> str:
    viewer = not request_pages.is_worker()
    default = "mine" if current_user.role == "engineer" else "all"
    filters = queue.clean_filters(
        request.args.get("scope"), request.args.get("status"), request.args.get("urgency"), default
    )
    now = db.utcnow()
    views = queue.request_queue(filters, current_user.username, viewer, now)
    policy = alert_queries.current_policy()
    partial = bool(request.headers.get("HX-Request"))
    return render_template(
        "servicedesk/requests/_queue.html" if partial else "servicedesk/requests/index.html",
        views=views,
        next_clocks={
            v.request.id: request_pages.shown_clock(v.next_clock, policy, now)
            for v in views
            if v.next_clock is not None
        },
        assets=_assets(v.request.asset_id for v in views),
        filters=filters,
        status_filters=queue.STATUS_FILTERS,
        engineers=request_pages.engineers() if request_pages.is_assigner() else [],
        **request_pages.labels(),
    )


def _assets(ids: Any) -> dict[int, registry.Asset]:
    wanted = sorted({i for i in ids if i is not None})
    return {a.id: a for a in registry.assets_by_ids(wanted)} if wanted else {}


# --- logging a request -----------------------------------------------------------------------


def _origin(source: MultiDict[str, str]) -> Origin | None:
    """What the request is logged for (``alert_id``, ``incident_id`` or ``finding_id``)."""
    for kind, arg in ORIGIN_ARGS.items():
        value = (source.get(arg) or "").strip()
        if value.isdigit() and len(value) < 10:
            given = {k: source.get(k, "") for k in FINDING_ARGS}
            return request_pages.origin_of(kind, int(value), given) or abort(404)
    return None


def _new_page(
    form: dict[str, str], origin: Origin | None, errors: dict[str, str], status: int = 200
) -> Any:
    asset = None
    if origin is not None and origin.asset_id is not None:
        asset = registry.get_asset(origin.asset_id)
    return render_template(
        "servicedesk/requests/new.html",
        form=form,
        origin=origin,
        origin_asset=asset,
        typed_asset=_typed_asset(form.get("asset_tag", "")),
        errors=errors,
        channels={k: v for k, v in Channel.labels().items() if k not in LINKED_CHANNELS},
        **request_pages.labels(),
    ), status


def _typed_asset(text: str) -> tuple[str, registry.Asset | None]:
    tag = services.tag_of(text)
    return tag, registry.asset_by_tag(tag) if tag else None


@bp.route("/new", methods=["GET", "POST"])
@viewers_too  # the customer's staff report problems too (the service checks nothing more)
def new() -> Any:
    source = request.form if request.method == "POST" else request.args
    origin = _origin(source)
    form = {name: source.get(name, "") for name in FORM_FIELDS}
    for name, value in DEFAULTS.items():
        form[name] = form[name] or value
    if origin is not None:
        form["urgency"] = source.get("urgency") or origin.urgency or form["urgency"]
        form["description"] = form["description"] or origin.description
    if request.method == "GET":
        form["client_id"] = services.new_client_id()
        return _new_page(form, origin, {})
    jpegs, bad_photos = _photos()
    try:
        req = db.write(lambda: _log_with_photos(form, origin, jpegs, bad_photos))
    except services.NotAllowed as refused:
        abort(403, description=str(refused))
    except ValidationFailed as exc:
        errors = _errors(exc)
        if jpegs and "photos" not in errors:  # a browser cannot send a file back to the form
            errors["photos"] = _("Choose the photos again: the form cannot keep them.")
        return _new_page(form, origin, errors, 400)
    except IntegrityError:  # a finding that does not exist (its id is checked by the key)
        return _new_page(form, origin, {"origin": _("No such patrol finding.")}, 400)
    if form["client_id"] and req.client_id != form["client_id"]:
        flash(_("%(number)s was already open for this: it is shown.", number=req.number), "info")
    else:
        flash(_("Request %(number)s logged.", number=req.number), "success")
    return redirect(url_for("requests.detail", request_id=req.id), 303)


def _photos() -> tuple[list[Jpeg], dict[str, list[str]]]:
    """The photos sent with the form, checked and re-encoded (before the write transaction),
    and what is wrong with them."""
    uploads = [f for f in request.files.getlist("photos") if f and f.filename]
    if len(uploads) > MAX_PHOTOS:
        return [], {"photos": [_("At most %(n)d photos.", n=MAX_PHOTOS)]}
    jpegs, errors = [], []
    for upload in uploads:
        try:
            jpegs.append(photos.to_jpeg(upload.read(), upload.mimetype or ""))
        except ValidationFailed as exc:
            errors += [f"{upload.filename}: {m}" for m in exc.errors.get("photo", [])]
    return jpegs, ({"photos": errors} if errors else {})


def _log_with_photos(
    form: dict[str, str], origin: Origin | None, jpegs: list[Jpeg], bad: dict[str, list[str]]
) -> ServiceRequest:
    """Log the request and store its photos, or nothing when a field or a photo is wrong
    (every one named)."""
    try:
        req = _log(form, origin)
    except ValidationFailed as exc:
        raise ValidationFailed({**exc.errors, **bad}) from None
    if bad:
        raise ValidationFailed(bad)
    for number, jpeg in enumerate(jpegs, 1):
        request_photos.add_photo(req, f"{req.client_id[:48]}-p{number}", jpeg)
    return req


def _log(form: dict[str, str], origin: Origin | None) -> ServiceRequest:
    found = services.find_request(form["client_id"].strip()) if form["client_id"] else None
    if found is not None:  # a retried save: the request it made
        return found
    common: dict[str, Any] = {
        "description": form["description"],
        "category": form["category"],
        "urgency": form["urgency"],
        "requester_name": form["requester_name"],
        "requester_department": form["requester_department"],
        "requester_phone": form["requester_phone"],
        "client_id": form["client_id"],
    }
    tag = form["asset_tag"].strip() or None
    if origin is None:
        return services.open_request(channel=form["channel"], asset_tag=tag, **common)
    if origin.kind == "alert":
        return services.open_request_from_alert(origin.id, **common)
    if origin.kind == "incident":
        return services.open_request_from_incident(
            origin.id, channel=form["channel"], asset_tag=tag, **common
        )
    asset_id = origin.asset_id
    if tag is not None:
        asset = registry.asset_by_tag(services.tag_of(tag))
        if asset is None:
            raise ValidationFailed.one(
                "asset_tag", _("No asset has the tag %(tag)s.", tag=services.tag_of(tag))
            )
        asset_id = asset.id
    return services.open_request_from_finding(
        origin.id, asset_id=asset_id, room_id=origin.room_id, **common
    )


@bp.route("/photos/<int:photo_id>")
def photo(photo_id: int) -> Any:
    """A request's photo (JPEG)."""
    found = db.session().get(RequestPhoto, photo_id) or abort(404)
    path = request_photos.photo_file(found)
    if not path.is_file():
        abort(404)
    response = Response(path.read_bytes(), mimetype=found.content_type)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


@bp.route("/requesters")
def requesters() -> str:
    """People seen before whose name, department or phone holds what was typed (htmx)."""
    text = request.args.get("requester_name", "")[:128]
    found = queries.requesters(text, SUGGESTIONS) if text.strip() else []
    return render_template("servicedesk/requests/_requesters.html", people=found)


@bp.route("/asset")
def asset() -> str:
    """The asset a typed or scanned tag names, or that none does (htmx)."""
    tag, found = _typed_asset(request.args.get("asset_tag", "")[:256])
    return render_template("servicedesk/requests/_asset.html", tag=tag, asset=found)


# --- a request's page ------------------------------------------------------------------------


def _detail_page(
    req: ServiceRequest,
    errors: dict[str, str] | None = None,
    form: MultiDict[str, str] | None = None,
    status: int = 200,
) -> Any:
    now = db.utcnow()
    (view,) = queries.with_clocks([req], now)
    clocks = request_pages.shown_clocks(view, now)
    room = registry.get_place("room", req.room_id) if req.room_id is not None else None
    loans = [(loan, registry.get_asset(loan.asset_id)) for loan in req.loans]
    steps = request_pages.steps_for(req)
    return render_template(
        "servicedesk/requests/detail.html",
        req=req,
        view=view,
        clocks=clocks,
        calendar=calendar_check((req.raised_at, view.clock("fix_by").deadline)),
        asset=registry.get_asset(req.asset_id) if req.asset_id is not None else None,
        room=room,
        origins=request_pages.origins_of(req),
        events=queries.events(req.id),
        status_change=request_pages.status_change,
        loans=loans,
        repairs=queries.repairs_of_request(req.id),
        photos=request_photos.photos_of(req.id),
        repair_number=queries.repair_number,
        steps=steps,
        engineers=request_pages.engineers() if steps.assign else [],
        spares=request_pages.spares_available() if steps.measure else [],
        errors=errors or {},
        form=form or MultiDict(),
        **request_pages.labels(),
    ), status


@bp.route("/<int:request_id>")
def detail(request_id: int) -> Any:
    return _detail_page(_request(request_id))


def _step(request_id: int, take: Any, done: str) -> Any:
    """Take a step on the request (``take(req, form)``, services that flush), commit, and go
    back to its page (or the form's ``next``); a refusal answers the page saying why, with what
    was typed."""
    req = _request(request_id)
    form = request.form
    try:
        db.write(lambda: take(req, form))
    except services.NotAllowed as refused:
        abort(403, description=str(refused))
    except ValidationFailed as exc:
        errors = _errors(exc)
        return _detail_page(_request(request_id), errors, form, 409 if "status" in errors else 400)
    flash(done % {"number": req.number}, "success")
    back = url_for("requests.detail", request_id=request_id)
    return redirect(safe_next(form.get("next"), back), 303)


def _step_view(step: str) -> Any:
    def view(request_id: int) -> Any:
        return _step(request_id, steps.STEPS[step], str(steps.DONE[step]))

    view.__name__ = steps.endpoint(step)
    view.__doc__ = f"The step {step} of the request."
    # the requester confirms the fix or says it is back: a viewer too, on their own request
    # (the service checks whose it is); the other steps keep the access hook's writer check
    return viewers_too(view) if step in steps.REQUESTER_STEPS else view


for _step_name in steps.STEPS:
    bp.add_url_rule(
        f"/<int:request_id>/{_step_name}",
        steps.endpoint(_step_name),
        _step_view(_step_name),
        methods=["POST"],
    )


@bp.post("/<int:request_id>/loans/<int:loan_id>/return")
def return_loan(request_id: int, loan_id: int) -> Any:
    def back(req: ServiceRequest, form: MultiDict[str, str]) -> Any:
        loan = next((x for x in req.loans if x.id == loan_id), None)
        if loan is None:
            abort(404)
        return services.return_loan(loan, form.get("note", ""))

    return _step(request_id, back, _("%(number)s: the spare machine is back."))
