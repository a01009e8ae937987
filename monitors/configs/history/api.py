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
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pydantic import Field

from assets import queries as registry
from monitors.configs import diffs, queries
from monitors.configs.history import queries as history
from monitors.configs.history import services as history_services
from monitors.configs.history import views
from monitors.configs.models import ConfigDevice
from opskit import jsonapi, openapi
from opskit.apischema import MAX_ID, Id, Output, Page, Paging, Query, Text
from opskit.jsonapi import ApiError
from opskit.openapi import operation

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
