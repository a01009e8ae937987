"""Configuration backups in the JSON API (``/api/v1/configs/...``), what the pages show.

- ``GET /configs/devices``: the devices set up for backups (``platform``, ``failing``: the last
  attempt failed), by asset, paged, each with its backup state (last attempt and success, the
  failure's reason in words, failures in a row, the pinned host key's fingerprint, a changed
  key offered). Never a password.
- ``GET /configs/devices/{asset_id}``: one device.
- ``GET /configs/devices/{asset_id}/versions``: its versions, newest first, paged (no texts).
- ``GET /configs/devices/{asset_id}/versions/{version_id}``: one version with its masked text —
  as on the pages, every reader sees the masked text only (the text with its secrets leaves
  only through ``opskit configs export``).
- ``GET .../versions/{version_id}/diff``: the unified diff of the masked texts against the
  version before (or ``against`` another version of the device), lines added and removed; a
  diff larger than the page draws is not computed (``too_big``), as on the page.
- ``POST /configs/devices/{asset_id}/fetch``: fetch now (engineers and admins, as the page's
  button; ``opskit configs fetch``): how it ended; 422 on ``fetch`` when the device is not set
  up or is being fetched.
- ``PUT /configs/devices/{asset_id}``: set up or change how the asset is reached for backups
  (engineers and admins, as the access form; ``services.save_device``): the whole setting each
  time (a field left out takes the form's default), 422 by field name with nothing written.
  ``password`` and ``enable_password`` are write-only: left out, null or blank keeps the stored
  one; no answer, error or audit row ever holds them (the column is encrypted, the audit log
  masks it). Changing the address (host, port, transport) forgets the pinned host key.
- ``POST /configs/devices/{asset_id}/accept-key``: pin the host key the device now offers
  (admins only, as the page's button), with the ``fingerprint`` the admin checked (another one
  offered since is a 409); no key waiting (a retry) is a 409, nothing written.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field

from assets import queries as registry
from monitors.configs import diffs, queries, services
from monitors.configs.history import queries as history
from monitors.configs.history import services as history_services
from monitors.configs.history import views
from monitors.configs.models import DEFAULT_INTERVAL_S, DEFAULT_TIMEOUT_S, TRANSPORTS, ConfigDevice
from opskit import db, jsonapi, openapi
from opskit.apischema import MAX_ID, Id, Input, Output, Page, Paging, Query, Text, one_of
from opskit.jsonapi import ApiError
from opskit.models import Role
from opskit.openapi import operation
from opskit.validation import ValidationFailed

bp = jsonapi.api_blueprint("configs_api", __name__)
TAG = "configs"
openapi.tag(TAG, _l("Configuration backups"))


class DeviceOut(Output):
    """A device whose configuration is backed up, and how its backups go."""

    asset_id: int
    asset_tag: str
    platform: str
    platform_title: str
    transport: str
    host: str = Field(description='"": the asset\'s management address')
    port: int | None
    enabled: bool
    interval_s: int
    last_attempt_at: datetime | None
    last_success_at: datetime | None
    last_reason: str = Field(description='"" when the last attempt succeeded')
    last_reason_label: str = Field(description="The failure's reason in the reader's language")
    last_error: str
    consecutive_failures: int
    host_key_fingerprint: str | None
    host_key_changed: bool = Field(description="The device offers another host key")
    offered_host_key_fingerprint: str | None = Field(
        description="The key it offers instead (check it before accept-key); null: none"
    )
    versions: int


class DeviceRow:
    def __init__(self, device: ConfigDevice, asset_tag: str) -> None:
        self.device, self.asset_tag = device, asset_tag

    def __getattr__(self, name: str) -> Any:
        return getattr(self.device, name)

    @property
    def platform_title(self) -> str:
        return history.platform_titles().get(self.device.platform, self.device.platform)

    @property
    def last_reason_label(self) -> str:
        return str(queries.REASON_LABELS.get(self.device.last_reason, ""))

    @property
    def host_key_changed(self) -> bool:
        return self.device.offered_host_key_fingerprint is not None

    @property
    def versions(self) -> int:
        return history.version_count(self.device.asset_id)


def _device_rows(found: list[ConfigDevice]) -> list[DeviceRow]:
    tags = {a.id: a.asset_tag for a in registry.assets_by_ids([d.asset_id for d in found])}
    return [DeviceRow(d, tags.get(d.asset_id, "")) for d in found]


class DeviceFilter(Paging):
    platform: Annotated[Text, Field(max_length=32)] | None = None
    failing: bool | None = Field(None, description="true: the last attempt failed")


@operation(
    bp,
    "GET",
    "/configs/devices",
    query=DeviceFilter,
    response=Page[DeviceOut],
    tag=TAG,
    summary=_l("List the devices backed up"),
)
def list_devices(query: DeviceFilter) -> Any:
    stmt = queries.devices(platform=query.platform, failing=query.failing)
    return jsonapi.paginate(stmt, (), query, _device_rows)


def _device(asset_id: int) -> ConfigDevice:
    found = queries.device_of_asset(asset_id) if asset_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, "not_found", _("No such object."))
    return found


@operation(
    bp,
    "GET",
    "/configs/devices/<int:asset_id>",
    response=DeviceOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a device's backups"),
)
def get_device(asset_id: int) -> Any:
    return _device_rows([_device(asset_id)])[0]


class VersionOut(Output):
    """One stored version of a device's configuration."""

    id: int
    asset_id: int
    number: int
    fetched_at: datetime
    sha256: str
    size: int = Field(description="Bytes")
    lines: int
    changed_by: str | None = Field(description="Who changed it, when the device's log says")
    previous_id: int | None


class VersionText(VersionOut):
    masked_text: str = Field(description="The configuration with its secrets masked")


@operation(
    bp,
    "GET",
    "/configs/devices/<int:asset_id>/versions",
    query=Paging,
    response=Page[VersionOut],
    errors=(404,),
    tag=TAG,
    summary=_l("List a device's configuration versions"),
)
def list_versions(asset_id: int, query: Paging) -> Any:
    _device(asset_id)
    return jsonapi.paginate(queries.versions_listed(asset_id), (), query)


def _version(asset_id: int, version_id: int) -> Any:
    found = history.version(asset_id, version_id) if version_id <= MAX_ID else None
    if found is None:
        raise ApiError(404, "not_found", _("No such object."))
    return found


@operation(
    bp,
    "GET",
    "/configs/devices/<int:asset_id>/versions/<int:version_id>",
    response=VersionText,
    errors=(404,),
    tag=TAG,
    summary=_l("Get a configuration version (masked)"),
)
def get_version(asset_id: int, version_id: int) -> Any:
    return _version(asset_id, version_id)


class DiffQuery(Query):
    against: Id | None = Field(
        None, description="Another version of the device (default: the one before)"
    )


class DiffOut(Output):
    """What changed between two versions' masked texts."""

    from_version_id: int | None = Field(description="null: the first version, diffed with nothing")
    to_version_id: int
    added: int | None = Field(description="Lines added; null when too big to compute")
    removed: int | None
    too_big: bool = Field(description="Too large a change to compute here: compare the texts")
    unified: str = Field(description="The unified diff; empty when equal or too big")


@operation(
    bp,
    "GET",
    "/configs/devices/<int:asset_id>/versions/<int:version_id>/diff",
    query=DiffQuery,
    response=DiffOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Compare a configuration version with another"),
)
def diff_version(asset_id: int, version_id: int, query: DiffQuery) -> Any:
    shown = _version(asset_id, version_id)
    before = (
        _version(asset_id, query.against) if query.against is not None else history.previous(shown)
    )
    old = before.masked_text if before is not None else ""
    new = shown.masked_text
    too_big = max(diffs.changed_lines(old, new)) > views.DIFF_LINES
    summary = None if too_big else diffs.summary(old, new)
    names = (
        f"v{before.number}" if before is not None else "/dev/null",
        f"v{shown.number}",
    )
    return {
        "from_version_id": before.id if before is not None else None,
        "to_version_id": shown.id,
        "added": summary.added if summary else None,
        "removed": summary.removed if summary else None,
        "too_big": too_big,
        "unified": "" if too_big else diffs.unified(old, new, *names, context=views.CONTEXT),
    }


class FetchOut(Output):
    """How a fetch ended."""

    ok: bool
    new_version: bool = Field(description="The configuration changed: a version was stored")
    version_id: int | None
    reason: str
    reason_label: str = Field(description="The failure's reason in the reader's language")
    error: str


@operation(
    bp,
    "POST",
    "/configs/devices/<int:asset_id>/fetch",
    response=FetchOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Fetch a device's configuration now"),
)
def fetch(asset_id: int) -> Any:
    """As the device page's button: engineers and admins; the device leased first."""
    if current_user.role not in views.WRITERS:
        raise ApiError(403, "forbidden", _("Only engineers and admins fetch configurations."))
    result = history_services.fetch_now(_device(asset_id).asset_id)
    return {
        "ok": result.ok,
        "new_version": result.new_version,
        "version_id": result.version_id,
        "reason": result.reason,
        "reason_label": str(queries.REASON_LABELS.get(result.reason, "")),
        "error": result.error,
    }


# --- the device's access and its host key -----------------------------------------------------


def _writer(roles: tuple[Role, ...], message: str) -> None:
    if current_user.role not in roles:
        raise ApiError(403, "forbidden", message)


Secret = Annotated[Text, Field(max_length=1000)]


class AccessBody(Input):
    """How the device is reached for backups: the access form's fields."""

    platform: Annotated[Text, Field(max_length=32)] = Field(
        description="A platform of platforms.yaml, e.g. cisco_ios, huawei_vrp, generic"
    )
    transport: Annotated[str, one_of(TRANSPORTS)] = "ssh"
    host: Annotated[Text, Field(max_length=255)] = Field(
        "", description='"": the asset\'s management address'
    )
    port: Annotated[int, Field(ge=1, le=65535)] | None = Field(
        None, description="null: 22 for SSH, 23 for Telnet"
    )
    username: Annotated[Text, Field(max_length=128)]
    password: Secret | None = Field(
        None, description="Write-only: never answered. Left out, null or blank: keep the stored one"
    )
    enable_password: Secret | None = Field(
        None, description="Write-only (enable/super). Left out, null or blank: keep the stored one"
    )
    commands: Annotated[list[Annotated[Text, Field(max_length=1000)]], Field(max_length=50)] = (
        Field(default_factory=list, description="The commands printing it (generic platform)")
    )
    interval_s: Annotated[int, Field(ge=0, le=MAX_ID)] = Field(
        DEFAULT_INTERVAL_S, description="Seconds between backups (at least 300)"
    )
    timeout_s: Annotated[int, Field(ge=0, le=MAX_ID)] = Field(
        DEFAULT_TIMEOUT_S, description="A fetch's limit in seconds (5 to 1800)"
    )
    enabled: bool = True


@operation(
    bp,
    "PUT",
    "/configs/devices/<int:asset_id>",
    body=AccessBody,
    response=DeviceOut,
    errors=(404,),
    tag=TAG,
    summary=_l("Set up or change a device's backup access"),
)
def save_access(asset_id: int, body: AccessBody) -> Any:
    """As the access form: engineers and admins; passwords write-only (omitted: kept)."""
    _writer(views.WRITERS, _("Only engineers and admins set up configuration backups."))
    asset = registry.get_asset(asset_id) if asset_id <= MAX_ID else None
    if asset is None:
        raise ApiError(404, "not_found", _("No such object."))
    services.save_device(asset.id, **body.model_dump())
    db.session().commit()
    return _device_rows([_device(asset.id)])[0]


class AcceptKeyBody(Input):
    fingerprint: Annotated[Text, Field(max_length=128)] | None = Field(
        None,
        description="The offered key's fingerprint as checked (SHA256:...); another offered "
        "since is refused",
    )


@operation(
    bp,
    "POST",
    "/configs/devices/<int:asset_id>/accept-key",
    body=AcceptKeyBody,
    response=DeviceOut,
    errors=(404, 409),
    tag=TAG,
    summary=_l("Accept the new SSH host key a device offers"),
)
def accept_key(asset_id: int, body: AcceptKeyBody) -> Any:
    """As the device page's button: admins only; its backups resume."""
    _writer((Role.ADMIN,), _("Only admins accept a changed host key."))
    device = _device(asset_id)
    try:
        services.accept_host_key(device.asset_id, body.fingerprint)
    except ValidationFailed as exc:  # no key waiting, or another one offered since
        message = " ".join(m for messages in exc.errors.values() for m in messages)
        raise ApiError(409, "conflict", message, exc.errors) from None
    db.session().commit()
    return _device_rows([_device(asset_id)])[0]
