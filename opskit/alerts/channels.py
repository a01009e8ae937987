"""Admin pages for notification channels. Secrets are write-only: never rendered back."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from assets import queries as registry
from opskit import db
from opskit.alerts import transports
from opskit.alerts.models import Delivery, NotificationChannel
from opskit.alerts.transports import TRANSPORTS, Message, Saved, TransportError
from opskit.alerts.wording import DELIVERY_LABELS
from opskit.auth import require_roles
from opskit.models import Role

bp = Blueprint("channels", __name__, url_prefix="/alerts/channels")


def _parse(form: Any, channel: NotificationChannel | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Form → values; errors keyed by field. Empty secret fields keep the stored secret."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {"name": form.get("name", "").strip(), "kind": form.get("kind", "")}
    if not values["name"]:
        errors["name"] = _("A name is required.")
    elif db.session().scalar(
        select(NotificationChannel.id).where(NotificationChannel.name == values["name"])
    ) not in (None, channel.id if channel else None):
        errors["name"] = _("This name is taken.")
    kind = values["kind"]
    transport = TRANSPORTS.get(kind)
    if transport is None:
        errors["kind"] = _("Choose a kind.")
    urgencies = "".join(u for u in "ABC" if form.get(f"urgency_{u}"))
    if not urgencies:
        errors["urgencies"] = _("Choose at least one urgency.")
    values["urgencies"] = urgencies
    values["enabled"] = bool(form.get("enabled"))
    values["hold_outside_hours"] = bool(form.get("hold_outside_hours"))
    settings: dict[str, Any] = {}
    values["secret"] = None  # None = unchanged
    if transport is not None:
        saved = Saved(channel.secret) if channel and channel.kind == kind else None
        cleaned = transport.clean(form, saved)
        settings = cleaned.settings
        values["secret"] = cleaned.secret
        errors.update(cleaned.errors)
    site_ids = sorted({int(v) for v in form.getlist("sites") if str(v).isdigit()})
    if site_ids:
        settings["sites"] = site_ids  # empty: every site
    values["settings"] = settings
    return values, errors


def _form_context() -> dict[str, Any]:
    """What the channel form shows besides the channel: the transports, their fields, the sites."""
    return {
        "transports": TRANSPORTS,
        "sections": transports.form_sections(),
        "sites": registry.all_sites(),
    }


def _save(channel: NotificationChannel | None) -> Any:
    values, errors = _parse(request.form, channel)
    if errors:
        return render_template(
            "alerts/channel_form.html",
            channel=channel,
            errors=errors,
            form=request.form,
            **_form_context(),
            chosen_sites={int(v) for v in request.form.getlist("sites") if v.isdigit()},
        ), 400
    sess = db.session()
    if channel is None:
        channel = NotificationChannel()
        sess.add(channel)
    secret = values.pop("secret")
    for key, value in values.items():
        setattr(channel, key, value)
    if secret is not None:
        channel.secret = secret
    sess.commit()
    flash(_("Channel saved."), "success")
    return redirect(url_for("channels.index"))


@bp.route("/")
@require_roles(Role.ADMIN, Role.SUPERVISOR)
def index() -> str:
    sess = db.session()
    channels = sess.scalars(select(NotificationChannel).order_by(NotificationChannel.name)).all()
    recent = {
        c.id: sess.scalars(
            select(Delivery)
            .where(Delivery.channel_id == c.id)
            .order_by(Delivery.id.desc())
            .limit(5)
        ).all()
        for c in channels
    }
    return render_template(
        "alerts/channels.html",
        channels=channels,
        recent=recent,
        transport=transports.of,
        deliveries=DELIVERY_LABELS,
    )


@bp.route("/new", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def create() -> Any:
    if request.method == "POST":
        return _save(None)
    return render_template(
        "alerts/channel_form.html",
        channel=None,
        errors={},
        form={},
        **_form_context(),
        chosen_sites=set(),
    )


@bp.route("/<int:channel_id>", methods=["GET", "POST"])
@require_roles(Role.ADMIN)
def edit(channel_id: int) -> Any:
    channel = db.session().get(NotificationChannel, channel_id) or abort(404)
    if request.method == "POST":
        return _save(channel)
    form = {
        "name": channel.name,
        "kind": channel.kind,
        "enabled": channel.enabled,
        "hold_outside_hours": channel.hold_outside_hours,
        **{f"urgency_{u}": u in channel.urgencies for u in "ABC"},
        **(channel.settings or {}),
    }
    return render_template(
        "alerts/channel_form.html",
        channel=channel,
        errors={},
        form=form,
        **_form_context(),
        chosen_sites=set((channel.settings or {}).get("sites") or []),
    )


@bp.post("/<int:channel_id>/test")
@require_roles(Role.ADMIN)
def send_test(channel_id: int) -> Any:
    channel = db.session().get(NotificationChannel, channel_id) or abort(404)
    message = Message(
        title=_("opskit test message"),
        text=_("This is a test message from opskit (channel %(name)s).", name=channel.name),
        urgency="C",
        payload={"event": "test", "channel": channel.name},
    )
    try:
        transports.of(channel.kind).send(dict(channel.settings or {}), channel.secret, message)
    except TransportError as exc:
        channel.last_error = str(exc)
        channel.last_error_at = db.utcnow()
        db.session().commit()
        flash(_("Test failed: %(error)s", error=str(exc)), "error")
    else:
        channel.last_error = ""
        db.session().commit()
        flash(_("Test message sent."), "success")
    return redirect(url_for("channels.index"))
