"""The discovery screen, ``/monitoring/discover/``: sweep a range, tick what to register, register
it in one POST. Engineers and admins sweep and register; the others see the page without them.

The credentials typed for the sweep are never written back into the page: the sweep's proposals
and the credentials travel to the register step sealed (``opskit.crypto``: encrypted and
authenticated with the instance's key, like secrets at rest), for at most an hour, so the
engineer does not type a community twice on a tablet and a changed page registers nothing.
"""

from __future__ import annotations

import base64
import json
import zlib
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from assets import queries as registry
from monitors import formatting, kinds, snmp
from monitors.discover import proposals as found
from monitors.discover import sweep as sweeping
from monitors.discover.register import register
from monitors.profiles import load_profiles
from opskit import db
from opskit.auth import require_roles
from opskit.crypto import decrypt, encrypt
from opskit.db import utcnow
from opskit.validation import ValidationFailed

bp = Blueprint("discover", __name__, url_prefix="/monitoring/discover")
bp.add_app_template_filter(formatting.profile_title, "profile_title")

ROLES = ("admin", "engineer")
SEALED_FOR = timedelta(hours=1)
WEB_TIMEOUT = 30.0
FIELDS = ("range", "port", "version", "user", "auth_proto", "priv_proto", "context", "timeout")
SECRETS = ("community", "auth_key", "priv_key")


def _may_discover() -> bool:
    return current_user.is_authenticated and current_user.role in ROLES


def _blank() -> dict[str, Any]:
    values: dict[str, Any] = dict.fromkeys(FIELDS, "")
    values.update(port="161", version="2c", timeout=f"{WEB_TIMEOUT:g}", icmp=True)
    return values


def _seal(payload: dict[str, Any]) -> str:
    packed = zlib.compress(json.dumps(payload, ensure_ascii=False).encode())
    return encrypt(base64.b64encode(packed).decode())


def _unseal(sealed: str) -> dict[str, Any] | None:
    """The sealed payload, or None when it was changed, is from another key, or is too old."""
    try:
        payload = json.loads(zlib.decompress(base64.b64decode(decrypt(sealed))))
        sealed_at = datetime.fromisoformat(payload["at"])
    except Exception:  # changed, truncated or sealed under another key: sweep again
        return None
    return payload if utcnow() - sealed_at <= SEALED_FOR else None


def _render(
    values: dict[str, Any],
    rows: list[found.Proposal],
    sealed: str = "",
    result: sweeping.Sweep | None = None,
    errors: dict[str, list[str]] | None = None,
    refused: dict[str, list[str]] | None = None,
    chosen: set[str] | None = None,
    room_id: str = "",
    status: int = 200,
) -> Any:
    page = render_template(
        "monitors/discover.html",
        values=values,
        rows=rows,
        sealed=sealed,
        result=result,
        errors=errors or {},
        refused=refused or {},
        chosen=chosen or set(),
        generic={p.name for p in load_profiles() if p.always},
        room_id=room_id,
        rooms=registry.room_choices(),
        kind_labels=registry.asset_kind_labels(),
        can_discover=_may_discover(),
        max_addresses=sweeping.MAX_ADDRESSES,
    )
    return page, status


def _offers_payload(rows: list[found.Proposal], **extra: Any) -> str:
    return _seal({"at": utcnow().isoformat(), "rows": [r.to_json() for r in rows], **extra})


@bp.get("/")
def index() -> Any:
    """The form, and the LLDP neighbours no asset matches (registrable with a ping monitor)."""
    offers = found.lldp_offers()
    sealed = _offers_payload(offers, secret={}, range="") if offers and _may_discover() else ""
    return _render(_blank(), offers, sealed)


def _credentials(values: dict[str, str], secret: dict[str, str]) -> snmp.Credentials:
    """The sweep's credentials; ``ValidationFailed`` keyed by form field."""
    settings = {k: values[k] for k in ("port", "version", "user", "auth_proto", "priv_proto")}
    settings.update(host="0.0.0.0", context=values["context"])  # noqa: S104 - a placeholder
    cleaned = kinds.SNMP.validate(kinds.SNMP.settings_from(settings))
    problems = kinds.SNMP.secret_problems(cleaned, secret)
    if problems:
        raise ValidationFailed(problems)
    return kinds.SNMP.credentials(cleaned, json.dumps(secret))


@bp.post("/sweep")
@require_roles(*ROLES)
def sweep() -> Any:
    values: dict[str, Any] = {k: request.form.get(k, "").strip() for k in FIELDS}
    values["icmp"] = bool(request.form.get("icmp"))
    secret = {k: request.form.get(k, "") for k in SECRETS if request.form.get(k, "")}
    errors: dict[str, list[str]] = {}
    addresses: list[Any] = []
    try:
        addresses = sweeping.parse_range(values["range"])
    except ValidationFailed as exc:
        errors.update(exc.errors)
    try:
        timeout = float(values["timeout"] or WEB_TIMEOUT)
        if not 1 <= timeout <= 120:
            raise ValueError
    except ValueError:
        errors["timeout"] = [_("Expected a number of seconds from 1 to 120.")]
        timeout = WEB_TIMEOUT
    creds = None
    try:
        creds = _credentials(values, secret)
    except (ValidationFailed, ValueError) as exc:
        errors.update(exc.errors if isinstance(exc, ValidationFailed) else {"user": [str(exc)]})
    if errors or creds is None:
        return _render(values, found.lldp_offers(), errors=errors, status=422)
    coro = sweeping.sweep_async(
        addresses,
        creds,
        int(values["port"] or 161),
        timeout,
        icmp=values["icmp"],
        label=values["range"].replace(" ", ""),
    )
    result = snmp.run(coro, timeout=timeout + 30)
    rows = found.propose(result) + found.lldp_offers()
    sealed = _offers_payload(rows, secret=found.snmp_secret(creds), range=result.range)
    return _render(values, rows, sealed, result)


@bp.post("/register")
@require_roles(*ROLES)
def register_chosen() -> Any:
    """Register the ticked rows (assets and monitors) in one transaction."""
    payload = _unseal(request.form.get("sealed", ""))
    if payload is None:
        flash(_("The sweep's results are over an hour old or were changed: sweep again."), "danger")
        return redirect(url_for("discover.index"))
    rows = [found.Proposal.from_json(r) for r in payload["rows"]]
    chosen_keys = set(request.form.getlist("chosen"))
    errors: dict[str, list[str]] = {}
    room_id = request.form.get("room_id", "").strip()
    room = None
    if room_id:
        room = next((r for r in registry.all_rooms() if str(r.id) == room_id), None)
        if room is None:
            errors["room_id"] = [_("Choose a room from the list.")]
    chosen = []
    for index, row in enumerate(rows):
        kind = request.form.get(f"kind-{index}", row.kind)
        if kind in registry.asset_kinds():
            row.kind = kind
        if str(index) in chosen_keys:
            chosen.append(row)
    if not chosen:
        errors["chosen"] = [_("Tick at least one device to register.")]
    if not errors:
        secret, where = payload.get("secret") or {}, payload.get("range", "")
        try:
            outcome = db.write(lambda: register(chosen, secret, room, where))
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            _report(outcome)
            return redirect(url_for("discover.index"))
    found.mark_registered(rows)
    return _render(
        _blank(),
        rows,
        request.form.get("sealed", ""),
        refused=errors,
        chosen=chosen_keys,
        room_id=room_id,
        status=422,
    )


def _report(outcome: Any) -> None:
    if outcome.created:
        tags = ", ".join(asset.asset_tag for asset, _monitors in outcome.created)
        flash(
            _(
                "Registered %(num)d asset(s) with %(monitors)d monitor(s): %(tags)s.",
                num=len(outcome.created),
                monitors=outcome.monitors,
                tags=tags,
            ),
            "success",
        )
    for p in outcome.skipped:
        flash(
            _(
                "%(address)s is already registered (%(tag)s %(name)s): skipped.",
                address=p.address,
                tag=p.registered["asset_tag"],
                name=p.registered["name"],
            ),
            "info",
        )
