"""The satisfaction survey's pages.

- ``/survey/<token>`` (public, the only public page of the desk): the requester's page, opened
  from the link or its QR code without an account. It shows the request's number, title and
  date and the engineer's full name, nothing else of opskit: its own minimal layout
  (``servicedesk/survey/base.html``) has no navigation and no link into the app, and answering
  logs nobody in, so the browser's session stays anonymous. The form is protected by the
  app's CSRF token like every form (Flask-WTF keeps it in the session cookie, which an
  anonymous visitor has too). Answered: a thank-you page (this browser's session remembers
  which surveys it answered, so a reload shows the thanks again, not the refusal).
  Refused links answer a page saying why, in the user's language, and record nothing:
  **410 Gone** for an expired or used link, **404 Not Found** for a tampered or unknown one (a
  link opskit never made is "not found"; the page says it was changed or copied incompletely).
- ``/requests/<id>/survey``: the engineer's page (logged in): the link and its QR code to show
  or send, and the form the requester fills in on the engineer's tablet (现场填写).
- ``/requests/<id>/survey/new`` (POST): create the survey of a resolved or closed request that
  has none (a request closes with its survey; this is for one resolved and not yet closed).

``servicedesk/_survey_panel.html`` is the panel the request page includes (with ``sr``, the
request, in its context): it calls the template global ``survey_panel(sr)``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from opskit import db
from opskit.addresses import is_loopback_url
from opskit.auth import public
from opskit.clock import site_tz
from opskit.people import full_name
from opskit.servicedesk import services
from opskit.servicedesk.models import ServiceRequest, Survey
from opskit.servicedesk.services.common import WORKER_ROLES
from opskit.servicedesk.services.surveys import SURVEYED_STATUSES, Refusal, SurveyRefused, Via
from opskit.servicedesk.survey_queries import engineer_of
from opskit.validation import ValidationFailed

bp = Blueprint("surveys", __name__)

#: the session key listing the surveys this browser answered (for the thank-you page)
ANSWERED_KEY = "surveys_answered"
#: a normal QR code with 25 % error correction, as the asset labels
QR_ERROR = "q"


# --- what the pages show ---------------------------------------------------------------------


def score_labels() -> dict[int, str]:
    return {
        1: _("Very dissatisfied"),
        2: _("Dissatisfied"),
        3: _("Neutral"),
        4: _("Satisfied"),
        5: _("Very satisfied"),
    }


def via_labels() -> dict[str, str]:
    return {"link": _("By the link"), "tablet": _("On the engineer's tablet")}


def refusal_text(reason: Refusal) -> tuple[str, str]:
    """(heading, explanation) of a refused link."""
    return {
        Refusal.EXPIRED: (
            _("This survey link has expired"),
            _("The survey could be answered for a limited time only. Nothing was recorded."),
        ),
        Refusal.USED: (
            _("This survey has already been answered"),
            _("Each survey is answered once. Nothing more was recorded. Thank you."),
        ),
        Refusal.TAMPERED: (
            _("This survey link is not valid"),
            _(
                "The link was changed or copied incompletely. Open it again from the message "
                "or QR code you received. Nothing was recorded."
            ),
        ),
        Refusal.UNKNOWN: (
            _("This survey does not exist"),
            _("The survey of this link is no longer available. Nothing was recorded."),
        ),
    }[reason]


def refusal_status(reason: Refusal) -> int:
    """410 for a link that was real but is over, 404 for one opskit never made."""
    return 410 if reason in (Refusal.EXPIRED, Refusal.USED) else 404


def absolute_link(survey: Survey) -> str:
    """The survey's link as the requester opens it: ``OPSKIT_BASE_URL`` when set (the address
    the tablets and phones use), else the address of this request."""
    base = (current_app.config.get("BASE_URL") or "").strip() or request.host_url
    path = url_for("surveys.answer", token=services.token_for(survey))
    return base.rstrip("/") + path


def qr_svg(text: str) -> Markup:
    """The QR code of ``text`` as inline SVG (a viewBox only: the page sets its size)."""
    import segno  # lazy: segno is loaded by the survey pages only, not at every start

    out = io.BytesIO()
    segno.make_qr(text, error=QR_ERROR).save(
        out, kind="svg", xmldecl=False, svgns=True, omitsize=True, border=4, dark="#000"
    )
    return Markup(out.getvalue().decode("utf-8"))  # noqa: S704  segno's output, no user markup


@dataclass(frozen=True)
class Panel:
    """What the request page's survey panel shows."""

    request: ServiceRequest
    survey: Survey | None
    link: str = ""
    qr: Markup | None = None
    loopback: bool = False  # the link leads to this computer only (OPSKIT_BASE_URL unset)
    hand_over: bool = False  # the viewer of the page may hand the tablet over (a worker)

    @property
    def can_create(self) -> bool:
        return self.survey is None and self.request.status in SURVEYED_STATUSES

    @property
    def state(self) -> str:
        """none, open, answered or expired."""
        if self.survey is None:
            return "none"
        if self.survey.used_at is not None:
            return "answered"
        return "expired" if self.survey.expires_at <= db.utcnow() else "open"


def can_hand_over() -> bool:
    return bool(current_user.is_authenticated and current_user.role in WORKER_ROLES)


def survey_panel(sr: ServiceRequest) -> Panel:
    """The panel of a request's survey (the template global of ``_survey_panel.html``)."""
    survey = services.survey_of(sr.id)
    hand_over = can_hand_over()
    if survey is None or survey.used_at is not None or survey.expires_at <= db.utcnow():
        return Panel(sr, survey, hand_over=hand_over)
    link = absolute_link(survey)
    return Panel(sr, survey, link, qr_svg(link), is_loopback_url(link), hand_over)


def _public_page(template: str, status: int = 200, **context: Any) -> Any:
    response = current_app.make_response((render_template(template, **context), status))
    response.headers["Cache-Control"] = "no-store"  # a tablet shared by several requesters
    return response


def _refused(reason: Refusal) -> Any:
    heading, text = refusal_text(reason)
    return _public_page(
        "servicedesk/survey/refused.html",
        refusal_status(reason),
        heading=heading,
        text=text,
        reason=reason.value,
    )


def _about(survey: Survey) -> dict[str, Any]:
    """What the requester sees of the request: number, title, date, the engineer's name."""
    req = db.session().get(ServiceRequest, survey.request_id)
    assert req is not None
    return {
        "number": req.number,
        "title": req.title,
        "raised_on": format_date(req.raised_at.astimezone(site_tz()).date(), "long"),
        "engineer": full_name(engineer_of(req)),
    }


def _errors(exc: ValidationFailed) -> dict[str, str]:
    return {field: " ".join(messages) for field, messages in exc.errors.items()}


# --- the public page -------------------------------------------------------------------------


@bp.route("/survey/<token>", methods=["GET", "POST"])
@public  # the requester has no account: the signed, single-use, expiring token is the key
def answer(token: str) -> Any:
    if request.method == "GET":
        try:
            survey = services.check_link(token)
        except SurveyRefused as refused:
            answered = session.get(ANSWERED_KEY) or []
            mine = refused.survey is not None and refused.survey.id in answered
            if refused.reason == Refusal.USED and mine:  # this browser's answer: the thanks
                return _public_page("servicedesk/survey/thanks.html")
            return _refused(refused.reason)
        return _public_page(
            "servicedesk/survey/answer.html",
            about=_about(survey),
            scores=score_labels(),
            form={},
            errors={},
        )
    form = request.form
    try:
        survey = db.write(
            lambda: services.answer(token, form.get("score"), form.get("comment", ""), via=Via.LINK)
        )
    except SurveyRefused as refused:
        return _refused(refused.reason)
    except ValidationFailed as exc:
        try:
            survey = services.check_link(token)
        except SurveyRefused as refused:  # answered from elsewhere meanwhile
            return _refused(refused.reason)
        return _public_page(
            "servicedesk/survey/answer.html",
            400,
            about=_about(survey),
            scores=score_labels(),
            form=form,
            errors=_errors(exc),
        )
    session[ANSWERED_KEY] = [*(session.get(ANSWERED_KEY) or [])[-19:], survey.id]
    return redirect(url_for("surveys.answer", token=token), code=303)


# --- the engineer's pages --------------------------------------------------------------------


def _request(request_id: int) -> ServiceRequest:
    return db.session().get(ServiceRequest, request_id) or abort(404)


def _tablet_page(sr: ServiceRequest, status: int = 200, **extra: Any) -> Any:
    context: dict[str, Any] = {
        "sr": sr,
        "scores": score_labels(),
        "vias": via_labels(),
        "form": {},
        "errors": {},
        "refusal": None,
        "can_hand_over": can_hand_over(),
        **extra,
    }
    return render_template("servicedesk/survey_tablet.html", **context), status


@bp.route("/requests/<int:request_id>/survey", methods=["GET", "POST"])
def tablet(request_id: int) -> Any:
    """The survey of one request: its link and QR code, and the requester's form on the
    engineer's tablet (现场填写)."""
    sr = _request(request_id)
    if request.method == "GET":
        return _tablet_page(sr)
    form = request.form
    try:
        db.write(
            lambda: services.answer_on_tablet(
                request_id, form.get("score"), form.get("comment", "")
            )
        )
    except services.NotAllowed:
        abort(403)
    except SurveyRefused as refused:
        heading, text = refusal_text(refused.reason)
        return _tablet_page(_request(request_id), 409, refusal=f"{heading}. {text}")
    except ValidationFailed as exc:
        return _tablet_page(_request(request_id), 400, form=form, errors=_errors(exc))
    flash(_("Thank you: the answer was recorded."), "success")
    return redirect(url_for("surveys.tablet", request_id=request_id), code=303)


@bp.post("/requests/<int:request_id>/survey/new")
def create(request_id: int) -> Any:
    """The survey (and its link) of a resolved or closed request that has none."""
    sr = _request(request_id)
    if not can_hand_over():
        abort(403)
    try:
        db.write(lambda: services.open_survey(sr))
    except ValidationFailed as exc:
        return _tablet_page(_request(request_id), 400, errors=_errors(exc))
    return redirect(url_for("surveys.tablet", request_id=request_id), code=303)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals.update(
        survey_panel=survey_panel,
        survey_score_label=lambda n: score_labels().get(n, ""),
        survey_via_label=lambda via: via_labels().get(via or "", ""),
    )
