"""The planning page (设备规划, ``/assets/plan``): the plan typed as in ``opskit plan``'s file
(YAML), answered by ``assets.plan.fit`` on one screen: the candidates with their placements and
figures, and why the other racks do not take the devices. Any role may ask (nothing is
written); an engineer or admin may accept a candidate, which reserves it
(``assets.services.reservations``) and opens its install page (``assets.views.install``); the
page lists the plans reserved and installed. Any role may download a candidate's planning workbook
(``/assets/plan/report``: 设备配置现状及设备规划报告, ``assets.plan_workbook``). A rejected
plan keeps what was typed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import yaml
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assets import capacity, plan, plan_report, plan_scope, plan_workbook
from assets.excel_views import _download
from assets.models import ReservationStatus
from assets.services import install, reservations
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


def _read(text: str) -> tuple[plan.Request | None, list[str]]:
    """(request, errors) of the typed plan."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, [_("The plan is not YAML: %(error)s", error=exc)]
    try:
        return plan.read_request(data), []
    except plan.PlanInputError as exc:
        return None, exc.errors


def _answer(text: str) -> tuple[plan.Request | None, dict[str, Any] | None, list[str]]:
    """(request, answer, errors) of the typed plan."""
    request_, errors = _read(text)
    return request_, plan.fit(request_) if request_ is not None else None, errors


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
            return redirect(url_for("assets.reservation_page", reservation_id=held))
    return _page(text, answer, errors), 400


@bp.route("/plan/report", methods=["POST"])
@viewers_too  # a download: nothing is written
def plan_report_download() -> Any:
    text = request.form.get("plan", "")
    name = request.form.get("name", "").strip() or _("Planning")
    request_, errors = _read(text)
    if request_ is None:
        return _page(text, None, errors), 400
    # the model read once: the answer and the workbook show the same figures
    model, chosen = plan_scope.load(request_)
    answer = plan.fit(request_, model=model, chosen=chosen)
    try:
        rank = int(request.form.get("candidate", ""))
    except ValueError:
        rank = 0
    if not 1 <= rank <= max(len(answer["candidates"]), 1):
        asked = request.form.get("candidate", "")
        return _page(
            text, answer, [_("There is no candidate %(rank)s: ask again.", rank=asked)]
        ), 400
    found = plan_report.collect(request_, answer, model, name, rank)
    engineer = current_user.display_name or current_user.username
    return _download(
        f"plan-report-{rank}.xlsx", lambda path: plan_workbook.write(found, path, engineer)
    )


def _page(text: str, answer: dict[str, Any] | None, errors: list[str]) -> str:
    return render_template(
        "assets/plan.html",
        text=text,
        answer=answer,
        errors=errors,
        load_sources=capacity.LOAD_SOURCES,
        reservations=install.recent(),
        reservation_labels={s.value: s.label for s in ReservationStatus},
        now=clock.now(),
        site_tz=clock.site_tz(),
    )
