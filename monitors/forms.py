"""The monitoring forms: the asset page's SNMP "probe and add" form, and the settings form of
every kind (add and edit) built from the kind's ``fields`` (``monitors.kinds``)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitors import kinds
from opskit.crypto import decrypt

#: the probe form's typed fields (SNMP settings and the interval) and its credentials
PROBE_FIELDS: tuple[str, ...] = ("host", "port", "version", "user", "auth_proto", "priv_proto")
PROBE_FIELDS += ("context", "interval_s")
PROBE_SECRETS = tuple(f.name for f in kinds.SNMP.secrets)


def blank_probe_form(asset: Any) -> dict[str, Any]:
    """The probe form's starting values: the asset's management address, SNMP v2c on 161."""
    defaults = kinds.SNMP.defaults(asset)
    values: dict[str, Any] = {name: defaults.get(name, "") for name in PROBE_FIELDS}
    values.update(interval_s="60", sealed="", has_secret=False)
    return values


def probe_form(form: Mapping[str, str]) -> dict[str, Any]:
    """The probe form's fields as typed (stripped)."""
    return {k: form.get(k, "").strip() for k in PROBE_FIELDS}


def typed_secret(form: Mapping[str, str]) -> dict[str, str]:
    """The credentials typed now, else those sealed (encrypted) in the form by the last probe."""
    typed = {k: form.get(k, "") for k in PROBE_SECRETS if form.get(k, "")}
    if typed:
        return typed
    sealed = form.get("sealed", "")
    if sealed:
        try:
            return json.loads(decrypt(sealed))
        except Exception:  # tampered or from another key: ask again
            return {}
    return {}


def form_values(kind: str, form: Mapping[str, str]) -> dict[str, str]:
    """A kind's settings form as typed (strings; checkboxes "1" or ""), with the interval and
    the name."""
    values = {}
    for f in kinds.of(kind).fields:
        if f.widget == "checkbox":
            values[f.name] = "1" if form.get(f.name) else ""
        else:
            values[f.name] = form.get(f.name, "").strip()
    values["interval_s"] = form.get("interval_s", "").strip()
    values["name"] = form.get("name", "").strip()
    return values


def values_of(monitor: Any) -> dict[str, str]:
    """A stored monitor's settings as form values (never its secret)."""
    values = kinds.of(monitor.kind).values_of(monitor.settings)
    values["interval_s"] = str(monitor.interval_s)
    values["name"] = monitor.name or ""
    return values


def field_names(kind: str) -> set[str]:
    """Every field the kind's form shows (an error on another is shown above the form)."""
    impl = kinds.of(kind)
    return {f.name for f in (*impl.fields, *impl.secrets)} | {"interval_s", "name"}
