"""Installing an accepted plan on the tablet (安装, ``/assets/plan/reservations/<id>``): the
plan's devices with their reserved rack units, ports and addresses; an engineer picks the
device being mounted and scans the new equipment's label (or types its tag), which registers
it there (``assets.services.install``); 结束规划 frees what was not installed. Any role may look;
engineers, supervisors and admins install (the app refuses other roles' posts)."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from assets.models import Reservation, ReservationStatus
from assets.services import install
from assets.views.common import bp
from opskit import clock, db
from opskit.validation import ValidationFailed


def _reservation(reservation_id: int) -> Reservation:
    reservation = db.session().get(Reservation, reservation_id)
    if reservation is None:
        abort(404)
    return reservation


@bp.route("/plan/reservations/<int:reservation_id>", methods=["GET"])
def reservation_page(reservation_id: int) -> Any:
    return _page(_reservation(reservation_id), {}, {})


@bp.route("/plan/reservations/<int:reservation_id>/install", methods=["POST"])
def reservation_install(reservation_id: int) -> Any:
    reservation = _reservation(reservation_id)
    device = request.form.get("device", "").strip()
    scanned = request.form.get("scanned_code", "")
    if not device:
        return _page(reservation, request.form, {"device": [_("Choose the device you mount.")]})
    try:
        done = db.write(lambda: install.install(reservation_id, device, scanned))
    except ValidationFailed as exc:
        db.session().expire_all()
        return _page(_reservation(reservation_id), request.form, exc.errors)
    asset = done.asset
    words = {"device": device, "tag": asset.asset_tag}
    if done.again:
        flash(_("%(device)s was already installed as %(tag)s.", **words), "info")
    else:
        flash(
            _(
                "%(device)s installed as %(tag)s in rack %(rack)s U%(first)d–U%(last)d.",
                rack=asset.rack.name if asset.rack is not None else "",
                first=asset.u_position or 0,
                last=(asset.u_position or 0) + asset.u_height - 1,
                **words,
            ),
            "success",
        )
    if done.done and not done.again:
        flash(_("Every device of the plan is installed."), "success")
    return redirect(url_for("assets.reservation_page", reservation_id=reservation_id))


@bp.route("/plan/reservations/<int:reservation_id>/finish", methods=["POST"])
def reservation_finish(reservation_id: int) -> Any:
    _reservation(reservation_id)
    finished = db.write(lambda: install.finish(reservation_id).status)
    if finished == ReservationStatus.INSTALLED.value:
        flash(_("Plan finished: what was not installed is free again."), "success")
    else:
        flash(_("Plan finished: nothing was installed, everything is free again."), "success")
    return redirect(url_for("assets.reservation_page", reservation_id=reservation_id))


def _page(reservation: Reservation, form: Any, errors: dict[str, list[str]]) -> Any:
    devices = install.devices(reservation)
    open_ = (
        reservation.status == ReservationStatus.RESERVED.value
        and reservation.expires_at > clock.now()
    )
    waiting = [d for d in devices if not d["installed"]]
    chosen = form.get("device") or (waiting[0]["device"] if waiting else "")
    html = render_template(
        "assets/reservation.html",
        reservation=reservation,
        devices=devices,
        open=open_,
        expired=reservation.status == ReservationStatus.RESERVED.value and not open_,
        waiting=waiting,
        chosen=chosen,
        form=form,
        errors=errors,
        status_label={s.value: s.label for s in ReservationStatus}[reservation.status],
        expires=reservation.expires_at.astimezone(clock.site_tz()),
    )
    return html, (400 if errors else 200)
