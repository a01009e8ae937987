"""The planning page (设备规划, ``/assets/plan``): the plan typed as in ``opskit plan``'s file
(YAML), answered by ``assets.plan.fit`` on one screen: the candidates with their placements and
figures, and why the other racks do not take the devices. Any role may ask (nothing is
written); an engineer or admin may accept a candidate, which reserves it
(``assets.services.reservations``). A rejected plan keeps what was typed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assets import capacity, plan
from assets.services import reservations
from assets.views.common import bp
from opskit import clock, db
from opskit.auth import viewers_too
from opskit.validation import ValidationFailed

EXAMPLE = """\
room: 一号机房
devices:
  - {name: OA-01, u: 2, watts: 600, feeds: 2, ports: {10G: 2}}
  - {name: OA-02, u: 2, watts: 600, feeds: 2, ports: {10G: 2}}
"""
HOLD_DAYS = 14


def _answer(text: str) -> tuple[plan.Request | None, dict[str, Any] | None, list[str]]:
    """(request, answer, errors) of the typed plan."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, None, [_("The plan is not YAML: %(error)s", error=exc)]
    try:
        request_ = plan.read_request(data)
    except plan.PlanInputError as exc:
        return None, None, exc.errors
    return request_, plan.fit(request_), []


@bp.route("/plan", methods=["GET"])
def plan_page() -> Any:
    return _page(EXAMPLE, None, [])


@bp.route("/plan", methods=["POST"])
@viewers_too  # answers only: nothing is written
def plan_answer() -> Any:
    text = request.form.get("plan", "")
    _request, answer, errors = _answer(text)
    status = 400 if errors else 200
    return _page(text, answer, errors), status


@bp.route("/plan/accept", methods=["POST"])
def plan_accept() -> Any:
    text = request.form.get("plan", "")
    name = request.form.get("name", "").strip()
    request_, answer, errors = _answer(text)
    try:
        rank = int(request.form.get("candidate", ""))
    except ValueError:
        rank = 0
    if not errors and answer is not None and not 1 <= rank <= len(answer["candidates"]):
        asked = request.form.get("candidate", "")
        errors = [_("There is no candidate %(rank)s: ask again.", rank=asked)]
    if not errors and request_ is not None and answer is not None:
        candidate = answer["candidates"][rank - 1]
        expires = clock.now() + timedelta(days=HOLD_DAYS)
        owner = current_user.display_name or current_user.username
        try:
            held = db.write(
                lambda: reservations.accept(candidate, name, owner, expires, request_.site_id).id
            )
        except ValidationFailed as exc:
            errors = [m for messages in exc.errors.values() for m in messages]
        else:
            flash(
                _(
                    "Candidate %(rank)d reserved for plan %(plan)s (reservation #%(id)d).",
                    rank=rank,
                    plan=name,
                    id=held,
                ),
                "success",
            )
            return redirect(url_for("assets.plan_page"))
    return _page(text, answer, errors), 400


def _page(text: str, answer: dict[str, Any] | None, errors: list[str]) -> str:
    return render_template(
        "assets/plan.html",
        text=text,
        answer=answer,
        errors=errors,
        load_sources=capacity.LOAD_SOURCES,
    )
