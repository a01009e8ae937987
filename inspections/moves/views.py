"""Move pages (搬迁, ``/moves``): the plans with their progress, a new plan, a plan's steps,
pause and resume, and the tablet page that carries the steps out one asset at a time:

1. scan the asset's label (a wrong asset is refused naming what was scanned and expected);
2. 关机: the step powered off (logbook, alerts in maintenance);
3. scan the new rack's label (its name, or ``room/rack``);
4. 上架并开机: placed, powered on, maintenance ended; a unit taken meanwhile is refused naming
   who holds it, and another U can be chosen on the spot.

A pending step can be skipped (跳过) from the plan's page or the tablet, with a reason, by an
engineer or an admin; the asset stays where it is.

Every role reads; writer roles (admin, engineer, supervisor) write (``opskit.auth``'s hook);
skipping a step is for engineers and admins (``inspections.moves.services.SKIP_ROLES``).
Each write is one transaction (``opskit.db.write``); a retried one does nothing twice.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assets import queries as assets
from assets.moves import queries, services
from inspections.moves import services as onsite
from opskit import clock, db
from opskit.auth import require_roles, safe_next
from opskit.validation import ValidationFailed

bp = Blueprint("moves", __name__, url_prefix="/moves")

NEW_ROWS = 4
MAX_ROWS = 40
PORT_RE = re.compile(r"^\s*([^>]+?)\s*>\s*([^:]+?)\s*:\s*(\S+)\s*$")


def _back(move_id: int) -> str:
    """Where a form goes back to (its ``back`` field, a path of this site), else the plan."""
    return safe_next(request.form.get("back"), url_for("moves.detail", move_id=move_id))


_tag = onsite.scanned_tag


def _messages(exc: ValidationFailed) -> list[str]:
    return [m for messages in exc.errors.values() for m in messages]


def _plan(move_id: int) -> Any:
    plan = queries.plan(move_id)
    if plan is None:
        abort(404)
    return plan


@bp.route("/")
def index() -> Any:
    return render_template(
        "inspections/moves/index.html", plans=queries.plans(), states=queries.state_labels()
    )


def _read_ports(text: str, errors: list[str], number: int) -> list[dict[str, str]]:
    """``eth0>SW-02:Gi1/0/5; eth1>SW-03:Gi1/0/5``."""
    out = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        found = PORT_RE.match(part)
        if found is None:
            errors.append(
                _(
                    "Step %(step)d: write a port move as port>switch:port "
                    "(e.g. eth0>SW-02:Gi1/0/5), got “%(value)s”.",
                    step=number,
                    value=part[:60],
                )
            )
            continue
        out.append(dict(zip(services.PORT_KEYS, found.groups(), strict=True)))
    return out


def _rows() -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """(form rows as typed, steps to create, errors) from the new-plan form."""
    form: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    errors: list[str] = []
    count = min(request.form.get("rows", type=int) or NEW_ROWS, MAX_ROWS)
    for i in range(count):
        row = {
            key: request.form.get(f"{key}-{i}", "").strip()
            for key in ("asset", "to_rack", "to_u", "ports", "address")
        }
        form.append(row)
        if not any(row.values()):
            continue
        number = len(steps) + 1
        steps.append(
            {
                "asset": _tag(row["asset"]),
                "to_rack": row["to_rack"],
                "to_u": row["to_u"],
                "ports": _read_ports(row["ports"], errors, number),
                "address": row["address"],
            }
        )
    return form, steps, errors


def _new_page(values: dict[str, Any], rows: list[dict[str, Any]], errors: list[str]) -> str:
    racks = [f"{rack.room.name}/{rack.name}" for rack in assets.all_racks()]
    return render_template(
        "inspections/moves/new.html", values=values, rows=rows, errors=errors, racks=racks
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> Any:
    if request.method == "GET":
        count = request.args.get("rows", type=int) or NEW_ROWS
        blank: list[dict[str, Any]] = [{} for _i in range(min(max(count, 1), MAX_ROWS))]
        return _new_page({"client_token": secrets.token_urlsafe(16)}, blank, [])
    values = {k: request.form.get(k, "") for k in ("name", "notes", "client_token")}
    rows, steps, errors = _rows()
    if not errors:
        owner = current_user.display_name or current_user.username
        try:
            move_id = db.write(
                lambda: (
                    services.create_plan(
                        values["name"],
                        steps,
                        owner,
                        notes=values["notes"],
                        client_token=values["client_token"] or None,
                    ).id
                )
            )
        except ValidationFailed as exc:
            errors = _messages(exc)
        else:
            flash(_("Move plan %(name)s saved.", name=values["name"].strip()), "success")
            return redirect(url_for("moves.detail", move_id=move_id))
    return _new_page(values, rows, errors), 400


@bp.route("/<int:move_id>")
def detail(move_id: int) -> Any:
    plan = _plan(move_id)
    return render_template(
        "inspections/moves/detail.html",
        plan=plan,
        states=queries.state_labels(),
        step_states=queries.step_state_labels(),
        where=queries.where,
    )


def _act(move_id: int, work: Any, done: str) -> Any:
    try:
        db.write(work)
    except ValidationFailed as exc:
        for message in _messages(exc):
            flash(message, "danger")
    else:
        flash(done, "success")
    return redirect(request.form.get("back") or url_for("moves.detail", move_id=move_id))


@bp.route("/<int:move_id>/pause", methods=["POST"])
def pause(move_id: int) -> Any:
    return _act(move_id, lambda: services.pause(move_id), _("Move plan paused."))


@bp.route("/<int:move_id>/resume", methods=["POST"])
def resume(move_id: int) -> Any:
    return _act(move_id, lambda: services.resume(move_id), _("Move plan resumed."))


@bp.route("/<int:move_id>/cancel", methods=["POST"])
def cancel(move_id: int) -> Any:
    return _act(move_id, lambda: services.cancel(move_id), _("Move plan cancelled."))


@bp.route("/<int:move_id>/steps/<int:step_id>/u", methods=["POST"])
def change_u(move_id: int, step_id: int) -> Any:
    raw = request.form.get("to_u", "").strip()
    if not raw.isdigit():
        flash(_("The new U must be a whole number, got “%(value)s”.", value=raw[:20]), "danger")
        return redirect(request.form.get("back") or url_for("moves.detail", move_id=move_id))
    return _act(
        move_id,
        lambda: services.set_step_to_u(move_id, step_id, int(raw)),
        _("The step now goes to U%(unit)s.", unit=raw),
    )


# --- the tablet ----------------------------------------------------------------------------


@bp.route("/<int:move_id>/carry")
def carry(move_id: int) -> Any:
    plan = _plan(move_id)
    busy = services.powered_off_step(plan)
    step, refusal = busy, ""
    scanned = _tag(request.args.get("tag", ""))
    if scanned:  # while a step is powered off, any other asset is refused naming it
        try:
            found = services.check_scan(plan, scanned)
        except ValidationFailed as exc:
            refusal = " ".join(_messages(exc))
        else:
            step = busy or found
    return render_template(
        "inspections/moves/carry.html",
        plan=plan,
        step=step,
        scanned=scanned,
        refusal=refusal,
        states=queries.state_labels(),
        step_states=queries.step_state_labels(),
        where=queries.where,
    )


def _carry_url(move_id: int, **args: Any) -> str:
    return url_for("moves.carry", move_id=move_id, **args)


def _step_write(move_id: int, work: Any, said: Any) -> Any:
    """Run one step's transition; flash what happened (nothing on a retry) or why not."""
    try:
        outcome = db.write(work)
    except ValidationFailed as exc:
        for message in _messages(exc):
            flash(message, "danger")
    else:
        if not outcome.already:
            flash(said(outcome.step), "success")
    return redirect(_carry_url(move_id))


@bp.route("/<int:move_id>/steps/<int:step_id>/off", methods=["POST"])
def power_off(move_id: int, step_id: int) -> Any:
    scanned = request.form.get("asset_tag", "")
    tz = clock.site_tz()
    return _step_write(
        move_id,
        lambda: onsite.power_off(move_id, step_id, scanned, tz, current_user),
        lambda step: _(
            "%(tag)s powered off; its alerts are in maintenance. Scan the new rack's label.",
            tag=step.asset.asset_tag,
        ),
    )


@bp.route("/<int:move_id>/steps/<int:step_id>/finish", methods=["POST"])
def finish(move_id: int, step_id: int) -> Any:
    rack = _tag(request.form.get("rack_code", ""))
    tz = clock.site_tz()
    return _step_write(
        move_id,
        lambda: onsite.finish(move_id, step_id, rack, tz, current_user),
        lambda step: _(
            "%(tag)s is in %(where)s and powered on.",
            tag=step.asset.asset_tag,
            where=queries.where(step.to_rack, step.to_u, step.asset.u_height),
        ),
    )


@bp.route("/<int:move_id>/steps/<int:step_id>/skip", methods=["POST"])
@require_roles(*onsite.SKIP_ROLES)
def skip(move_id: int, step_id: int) -> Any:
    """Skip a pending step (a reason required); a retry flashes nothing more."""
    reason = request.form.get("reason", "")
    try:
        outcome = db.write(lambda: onsite.skip(move_id, step_id, reason, current_user))
    except onsite.NotAllowed:
        abort(403)
    except ValidationFailed as exc:
        for message in _messages(exc):
            flash(message, "danger")
    else:
        if not outcome.already:
            step = outcome.step
            flash(
                _("Step %(step)d skipped: %(tag)s stays where it is.",
                  step=step.position, tag=step.asset.asset_tag),
                "success",
            )  # fmt: skip
    return redirect(_back(move_id))
