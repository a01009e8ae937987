"""Monitors in the API: list, get, create, change, delete; and the kinds with their settings.

A monitor's ``settings`` are checked by its kind (``monitors.kinds``: the same rules as the
pages' forms, errors keyed ``settings.<name>``); ``GET /monitor-kinds`` lists each kind's
settings and credentials. ``credentials`` (``community``; ``auth_key``, ``priv_key``;
``password``) are write-only: stored encrypted, never in an answer (a monitor lists the names
of those set, ``credentials_set``). A create of what the asset's monitors already check (same
kind and target) answers the existing monitor: a retry adds nothing. Only engineers and admins
may write, as on the pages (``monitors.services.MANAGE_ROLES``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select

from assets import queries as registry
from monitors import kinds, services
from monitors.api.common import MONITORS, bp
from monitors.models import DEFAULT_INTERVAL_S, Monitor, MonitorState
from opskit import db
from opskit.apischema import Id, Input, JsonObject, Output, Page, Paging, Text, one_of
from opskit.jsonapi import ApiError, get_or_404, paginate, where_equal
from opskit.openapi import Created, operation
from opskit.validation import ValidationFailed

KindName = Annotated[str, one_of(kinds.KINDS)]
Interval = Annotated[int, Field(ge=5, le=86400, description="Seconds between checks")]
Secret = Annotated[Text, Field(max_length=512)]
Credentials = Annotated[
    dict[Annotated[str, Field(max_length=32)], Secret],
    Field(
        max_length=8,
        description="Write-only: community (SNMP v1/v2c), auth_key and priv_key (SNMPv3), "
        "password (databases). Never answered.",
        examples=[{"community": "public"}],
    ),
]


def _settings_help() -> str:
    lines = ["Checked by the kind (GET /monitor-kinds lists them):"]
    for key, impl in kinds.KINDS.items():
        names = ", ".join(f.name for f in impl.fields) or "none"
        lines.append(f"{key}: {names}")
    return "; ".join(lines)


class MonitorCreate(Input):
    """One check of one asset: SNMP, ping, TCP, HTTP, this host, a database server."""

    asset_id: Id
    kind: KindName
    name: Annotated[Text, Field(max_length=128)] = ""
    settings: JsonObject = Field(
        default_factory=dict,
        description=_settings_help(),
        examples=[{"host": "192.0.2.10", "port": 161, "version": "2c"}],
    )
    credentials: Credentials = Field(default_factory=dict)
    interval_s: Interval = DEFAULT_INTERVAL_S
    enabled: bool = True


class MonitorPatch(Input):
    """Only the fields given change. ``settings``: the keys given replace the stored ones (null
    removes one: its default applies); ``credentials``: those given replace the stored ones (an
    empty one keeps it)."""

    name: Annotated[Text, Field(max_length=128)] | None = None
    settings: JsonObject | None = None
    credentials: Credentials | None = None
    interval_s: Interval | None = None
    enabled: bool | None = None


class MonitorOut(Output):
    """One check of one asset, with the poller's last word on it; never its credentials."""

    id: int
    asset_id: int
    asset_tag: str
    kind: str
    kind_label: str
    name: str
    target: str = Field(description="What it checks, as people read it")
    settings: dict[str, Any]
    credentials_set: list[str] = Field(description="The names of the credentials stored")
    interval_s: int
    enabled: bool
    state: Annotated[str, one_of(MonitorState)]
    state_since: datetime | None
    last_polled_at: datetime | None
    last_error: str
    created_at: datetime


class MonitorFilter(Paging):
    kind: KindName | None = None
    asset_id: Id | None = None
    state: Annotated[str, one_of(MonitorState)] | None = None
    enabled: bool | None = None


def shown(found: list[Monitor]) -> list[dict[str, Any]]:
    tags = {a.id: a.asset_tag for a in registry.assets_by_ids(sorted({m.asset_id for m in found}))}
    out = []
    for m in found:
        impl = kinds.of(m.kind)
        out.append(
            {
                "id": m.id,
                "asset_id": m.asset_id,
                "asset_tag": tags.get(m.asset_id, ""),
                "kind": m.kind,
                "kind_label": str(impl.label),
                "name": m.name or "",
                "target": impl.describe(m.settings or {}),
                "settings": m.settings or {},
                "credentials_set": sorted(services.stored_secret(m)),
                "interval_s": m.interval_s,
                "enabled": m.enabled,
                "state": m.state,
                "state_since": m.state_since,
                "last_polled_at": m.last_polled_at,
                "last_error": m.last_error or "",
                "created_at": m.created_at,
            }
        )
    return out


def _may_manage() -> None:
    if not services.may_manage(current_user.role):
        raise ApiError(403, "forbidden", _("Only engineers and admins may change monitors."))


def _keyed(exc: ValidationFailed, kind: str) -> ValidationFailed:
    """A kind's errors keyed by the API's names: ``settings.port``, ``credentials.community``."""
    impl = kinds.of(kind)
    secrets = {f.name for f in impl.secrets}
    plain = {"interval_s", "name", "kind", "asset_id", "enabled"}
    errors: dict[str, list[str]] = {}
    for field, messages in exc.errors.items():
        if field in secrets:
            name = f"credentials.{field}"
        elif field in plain:
            name = field
        else:
            name = "settings" if field == "settings" else f"settings.{field}"
        errors.setdefault(name, []).extend(messages)
    return ValidationFailed(errors)


def _check_credentials(kind: str, given: dict[str, str]) -> None:
    allowed = [f.name for f in kinds.of(kind).secrets]
    wrong = sorted(set(given) - set(allowed))
    if wrong:
        message = (
            _("Unknown credential; this kind takes: %(names)s", names=", ".join(allowed))
            if allowed
            else _("This kind takes no credentials.")
        )
        raise ValidationFailed({f"credentials.{name}": [message] for name in wrong})


@operation(
    bp,
    "GET",
    "/monitors",
    query=MonitorFilter,
    response=Page[MonitorOut],
    tag=MONITORS,
    summary=_l("List monitors"),
)
def list_monitors(query: MonitorFilter) -> Any:
    stmt = where_equal(select(Monitor), Monitor, query, ("kind", "asset_id", "state", "enabled"))
    return paginate(stmt, (Monitor.asset_id, Monitor.id), query, shown)


@operation(
    bp,
    "GET",
    "/monitors/<int:monitor_id>",
    response=MonitorOut,
    errors=(404,),
    tag=MONITORS,
    summary=_l("Get a monitor"),
)
def get_monitor(monitor_id: int) -> Any:
    return shown([get_or_404(Monitor, monitor_id)])[0]


@operation(
    bp,
    "POST",
    "/monitors",
    body=MonitorCreate,
    response=MonitorOut,
    status=201,
    errors=(403,),
    tag=MONITORS,
    summary=_l("Add a monitor to an asset"),
)
def create_monitor(body: MonitorCreate) -> Any:
    """The same kind and target as one of the asset's monitors again: that monitor (201, nothing
    added)."""
    _may_manage()
    if registry.get_asset(body.asset_id) is None:
        raise ValidationFailed.one("asset_id", _("No object with id %(id)d.", id=body.asset_id))
    _check_credentials(body.kind, body.credentials)
    secret = {k: v for k, v in body.credentials.items() if v}
    try:
        cleaned = kinds.validate(body.kind, body.settings)
        problems = services.secret_problems(body.kind, cleaned, secret)
        if problems:
            raise ValidationFailed({k: [v] for k, v in problems.items()})
        monitor, _created = services.add_monitor(
            body.asset_id,
            body.kind,
            body.settings,
            secret or None,
            interval_s=body.interval_s,
            name=body.name,
        )
        if not body.enabled:
            services.set_enabled(monitor, False)
    except ValidationFailed as exc:
        raise _keyed(exc, body.kind) from None
    db.session().commit()
    location = url_for(f"{bp.name}.get_monitor", monitor_id=monitor.id)
    return Created(shown([monitor])[0], location)


@operation(
    bp,
    "PATCH",
    "/monitors/<int:monitor_id>",
    body=MonitorPatch,
    response=MonitorOut,
    errors=(403, 404),
    tag=MONITORS,
    summary=_l("Change a monitor (only the fields given)"),
)
def update_monitor(monitor_id: int, body: MonitorPatch) -> Any:
    """Disabling a monitor (``enabled`` false) stops its checks and settles the alerts only it
    kept open, as on the pages."""
    _may_manage()
    monitor = get_or_404(Monitor, monitor_id)
    given = body.model_dump(exclude_unset=True)
    settings = dict(monitor.settings or {})
    for key, value in (given.get("settings") or {}).items():
        if value is None:
            settings.pop(key, None)
        else:
            settings[key] = value
    credentials = given.get("credentials") or {}
    _check_credentials(monitor.kind, credentials)
    enabled = given.get("enabled")
    try:
        services.update_monitor(
            monitor,
            settings,
            given.get("interval_s") or monitor.interval_s,
            monitor.enabled if enabled is None else enabled,
            new_secret=credentials,
            name=given.get("name"),
        )
    except ValidationFailed as exc:
        raise _keyed(exc, monitor.kind) from None
    db.session().commit()
    return shown([monitor])[0]


@operation(
    bp,
    "DELETE",
    "/monitors/<int:monitor_id>",
    errors=(403, 404),
    tag=MONITORS,
    summary=_l("Delete a monitor"),
)
def delete_monitor(monitor_id: int) -> None:
    """Its state changes go with it; its readings stay with the asset (reports, charts). The
    alerts only it kept open are settled. To stop it for a while, PATCH ``enabled`` false."""
    _may_manage()
    services.delete_monitor(get_or_404(Monitor, monitor_id))
    db.session().commit()


# --- the kinds -----------------------------------------------------------------------------


class KindField(Output):
    name: str
    label: str
    type: str = Field(description="text, number, select or checkbox (a boolean)")
    options: list[str]
    default: str = Field(description="The value used when the setting is left out")
    help: str


class KindOut(Output):
    kind: str
    label: str
    settings: list[KindField]
    credentials: list[str] = Field(description="The credentials it takes (write-only)")


class KindList(Output):
    items: list[KindOut]


def _field(f: kinds.Field) -> dict[str, Any]:
    return {
        "name": f.name,
        "label": str(f.label),
        "type": f.widget,
        "options": list(f.options),
        "default": f.default,
        "help": str(f.help),
    }


@operation(
    bp,
    "GET",
    "/monitor-kinds",
    response=KindList,
    tag=MONITORS,
    summary=_l("List the monitor kinds and their settings"),
)
def list_kinds() -> Any:
    """Each kind a monitor may be: its settings (as the pages' forms show them) and the names of
    its credentials."""
    items = [
        {
            "kind": key,
            "label": str(impl.label),
            "settings": [_field(f) for f in impl.fields],
            "credentials": [f.name for f in impl.secrets],
        }
        for key, impl in kinds.KINDS.items()
    ]
    return {"items": items}
