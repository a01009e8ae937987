"""What every monitor kind is: ``MonitorKind``, its form ``Field``s, the ``Result`` of a check.

A kind is one module of ``monitors/kinds/`` holding one ``MonitorKind`` subclass, registered in
``monitors.kinds.KINDS``. The pages, the services and the poller only ever ask the kind:

- ``key``, ``label`` (translated), ``note`` (a line under its form, optional);
- ``fields`` (settings on the form: label, text/number/select/checkbox, default) and
  ``secrets`` (credentials, stored encrypted, never shown);
- ``validate(settings) -> cleaned`` (``ValidationFailed`` keyed by field) and
  ``secret_problems(settings, secret)`` (credentials the settings need but lack);
- ``target(settings)`` (two monitors of one asset with the same target are one) and
  ``describe(settings)`` (that target as people read it);
- ``await check(monitor, settings, secret) -> Result``: the probe.

``Result.readings`` are dicts ``{"metric", "instance", "value", "unit"}``; ``value`` is a number,
or a string for state metrics (``monitors.metrics.METRICS`` names them all). ``ok`` False means
the device is down and ``reason`` says why in one line. A kind never raises for a dead device;
the poller also guards against a kind that does. ``secret`` is the monitor's decrypted secret
(JSON text) or ``None``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flask_babel import gettext as _

from opskit.validation import ValidationFailed


@dataclass
class Result:
    """``uptime_s``: the device's uptime (counter rates are not trusted across a restart);
    ``lldp`` / ``arp``: the neighbours and ARP entries read (``None``: not read at all);
    ``missing``: ``{"metric", "reason"}`` of the metrics a privilege or setting withheld;
    ``statements``: a database server's statement counters (``monitors.statements``), or None."""

    ok: bool
    reason: str = ""
    readings: list[dict[str, Any]] = field(default_factory=list)
    uptime_s: float | None = None
    lldp: list[dict[str, Any]] | None = None
    arp: list[dict[str, Any]] | None = None
    missing: list[dict[str, str]] | None = None
    statements: dict[str, Any] | None = None


def reading(metric: str, value: Any, unit: str = "", instance: str = "") -> dict[str, Any]:
    return {"metric": metric, "instance": instance, "value": value, "unit": unit}


@dataclass(frozen=True)
class Field:
    """One setting on a monitor's form: ``widget`` text, number, select or checkbox.

    ``default``: the add form's starting value (as typed; a checkbox "1" or ""); ``from_asset``:
    the asset attribute that fills it instead when the asset has one (``mgmt_ip``)."""

    name: str
    label: Any
    widget: str = "text"
    options: tuple[str, ...] = ()
    help: Any = ""
    default: str = ""
    from_asset: str = ""


class MonitorKind(ABC):
    """One kind of check. Subclasses set the class attributes and implement ``validate`` and
    ``check``; the rest has defaults that fit a check of one ``host`` (and ``port``)."""

    key: str
    label: Any
    fields: ClassVar[tuple[Field, ...]] = ()
    secrets: ClassVar[tuple[Field, ...]] = ()
    #: added from the asset page's settings form (SNMP has its own "probe and add")
    on_add_form: ClassVar[bool] = True
    #: a line shown under the form
    note: ClassVar[Any] = ""
    #: the field a duplicate target is reported on
    target_field: ClassVar[str] = "host"

    @abstractmethod
    def validate(self, settings: Any) -> dict[str, Any]:
        """Cleaned settings, or ``ValidationFailed`` keyed by field."""

    @abstractmethod
    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        """Probe the device once."""

    def secret_problems(self, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, str]:
        """Credentials the settings need but ``secret`` lacks, by form field."""
        return {}

    def kept_secret(self, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, Any]:
        """The stored credentials the (cleaned) settings still use."""
        return secret

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        """What the monitor checks: two monitors of one asset with the same target are one."""
        return (settings.get("host"), settings.get("port"))

    def describe(self, settings: dict[str, Any]) -> str:
        """The target as people read it: the URL, or the address with its port."""
        where = str(settings.get("url") or settings.get("host") or "")
        if settings.get("port") and "url" not in settings:
            where = f"{where}:{settings['port']}"
        return where

    # --- the form ----------------------------------------------------------------------------

    def defaults(self, asset: Any = None) -> dict[str, str]:
        """The add form's starting values."""
        values = {}
        for f in self.fields:
            values[f.name] = f.default
            if f.from_asset and asset is not None:
                values[f.name] = getattr(asset, f.from_asset, None) or f.default
        return values

    def settings_from(self, values: dict[str, str]) -> dict[str, Any]:
        """Typed values to settings for ``validate``: blanks left out (the kind's defaults
        apply), checkboxes as booleans."""
        settings: dict[str, Any] = {}
        for f in self.fields:
            if f.widget == "checkbox":
                settings[f.name] = values.get(f.name) == "1"
            elif values.get(f.name, "") != "":
                settings[f.name] = values[f.name]
        return settings

    def values_of(self, settings: dict[str, Any]) -> dict[str, str]:
        """Stored settings as form values (strings; checkboxes "1" or "")."""
        values = {}
        for f in self.fields:
            raw = settings.get(f.name)
            if f.widget == "checkbox":
                values[f.name] = "1" if raw else ""
            elif raw is None:
                values[f.name] = ""
            elif isinstance(raw, float) and raw.is_integer():
                values[f.name] = str(int(raw))
            else:
                values[f.name] = str(raw)
        return values


# --- settings helpers -------------------------------------------------------------------------


def host(settings: dict[str, Any], errors: dict[str, str], required: bool = True) -> str:
    value = str(settings.get("host") or "").strip()
    if required and not value:
        errors["host"] = _("Enter the device's address (IP or host name).")
    elif len(value) > 253 or any(c.isspace() for c in value):
        errors["host"] = _("Not a valid address: %(value)s", value=value)
    return value


def whole(
    settings: dict[str, Any], key: str, default: int, low: int, high: int, errors: dict[str, str]
) -> int:
    raw = settings.get(key, default)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        errors[key] = _("Expected a whole number, got %(value)s.", value=raw)
        return default
    if not low <= value <= high:
        errors[key] = _("Expected a number from %(low)s to %(high)s.", low=low, high=high)
    return value


def number(
    settings: dict[str, Any],
    key: str,
    default: float,
    low: float,
    high: float,
    errors: dict[str, str],
) -> float:
    raw = settings.get(key, default)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except (TypeError, ValueError):
        errors[key] = _("Expected a number, got %(value)s.", value=raw)
        return default
    if not math.isfinite(value) or not low <= value <= high:
        errors[key] = _("Expected a number from %(low)s to %(high)s.", low=low, high=high)
    return value


def unknown_keys(settings: dict[str, Any], known: set[str], errors: dict[str, str]) -> None:
    for key in settings:
        if key not in known:
            errors[key] = _("Unknown setting.")


def require_dict(settings: Any) -> dict[str, Any]:
    if not isinstance(settings, dict):
        raise ValidationFailed.one("settings", _("Expected a JSON object of settings."))
    return settings
