"""SNMP agents (v1, v2c, v3): the device profiles' metrics, LLDP neighbours and ARP tables."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors import probe, snmp
from monitors.kinds.base import (
    Field,
    MonitorKind,
    Result,
    host,
    number,
    reading,
    require_dict,
    unknown_keys,
    whole,
)
from monitors.metrics import METRICS
from monitors.profiles import load_profiles
from opskit.validation import ValidationFailed

log = logging.getLogger(__name__)

#: the settings only SNMPv3 uses
V3_SETTINGS = ("user", "auth_proto", "priv_proto", "context")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return math.isfinite(value)
    if isinstance(value, bytes):
        try:
            return math.isfinite(float(value.decode("ascii").strip()))
        except (UnicodeDecodeError, ValueError):
            return False
    return False


def _log_unparsable(
    address: str, profiles: list[str], scalars: dict[str, Any], walked: dict[str, dict[str, Any]]
) -> None:
    """Log each value a matched profile maps to a number but the agent sent as something else
    (the probe skips those readings; the monitor stays up)."""
    names = set(profiles)
    for profile in load_profiles():
        if profile.name not in names:
            continue
        for spec in profile.metrics:
            if METRICS.get(spec.metric, {}).get("kind") == "state":
                continue
            found: list[tuple[str, Any]] = []
            if spec.oid and scalars.get(spec.oid) is not None:
                found.append(("", scalars[spec.oid]))
            for column in (spec.column, *(spec.percent or ()), *spec.free, *(spec.product or ())):
                found += list(walked.get(column or "", {}).items())
            for index, value in found:
                if not _is_number(value):
                    log.warning(
                        "%s: skipped %s%s: %r is not a number",
                        address,
                        spec.metric,
                        f"[{index}]" if index else "",
                        value,
                    )


class SnmpKind(MonitorKind):
    """An SNMP agent (v1, v2c, v3): the device profiles' metrics.

    Settings: host, port (161), version ("1", "2c", "3"), timeout (s), retries, and for v3 user,
    auth_proto, priv_proto, context. Secret (JSON): {"community"} or {"auth_key", "priv_key"}.
    """

    key = "snmp"
    label = _l("SNMP")
    on_add_form = False  # added by the asset page's "probe and add"
    fields = (
        Field("host", _l("Address"), help=_l("IP address or host name"), from_asset="mgmt_ip"),
        Field("port", _l("Port"), "number", default="161"),
        Field("version", _l("Version"), "select", ("2c", "1", "3"), default="2c"),
        Field("timeout", _l("Timeout (s)"), "number"),
        Field("retries", _l("Retries"), "number"),
        Field("user", _l("v3 user")),
        Field(
            "auth_proto",
            _l("Auth"),
            "select",
            ("", "MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"),
        ),
        Field(
            "priv_proto", _l("Privacy"), "select", ("", "DES", "3DES", "AES", "AES192", "AES256")
        ),
        Field("context", _l("v3 context")),
    )
    secrets = (
        Field("community", _l("Community (v1/v2c)")),
        Field("auth_key", _l("Auth key")),
        Field("priv_key", _l("Privacy key")),
    )

    def validate(self, settings: Any) -> dict[str, Any]:
        settings = require_dict(settings)
        errors: dict[str, str] = {}
        known = {"host", "port", "version", "timeout", "retries", *V3_SETTINGS}
        unknown_keys(settings, known, errors)
        out: dict[str, Any] = {
            "host": host(settings, errors),
            "port": whole(settings, "port", 161, 1, 65535, errors),
            "timeout": number(settings, "timeout", 2.0, 0.1, 60, errors),
            "retries": whole(settings, "retries", 1, 0, 5, errors),
        }
        version = str(settings.get("version") or "2c")
        if version not in ("1", "2c", "3"):
            errors["version"] = _("Expected SNMP version 1, 2c or 3.")
        out["version"] = version
        if version == "3":
            user = str(settings.get("user") or "").strip()
            if not user:
                errors["user"] = _("SNMPv3 needs a user name.")
            out["user"] = user
            for key, allowed in (
                ("auth_proto", snmp.AUTH_PROTOCOLS),
                ("priv_proto", snmp.PRIV_PROTOCOLS),
            ):
                value = settings.get(key) or None
                if value is not None and str(value).upper() not in allowed:
                    errors[key] = _("Expected one of %(values)s.", values=", ".join(allowed))
                out[key] = str(value).upper() if value else None
            if out.get("priv_proto") and not out.get("auth_proto"):
                errors["priv_proto"] = _("SNMPv3 privacy needs an auth protocol too.")
            out["context"] = str(settings.get("context") or "")
        if errors:
            raise ValidationFailed(errors)
        return out

    def settings_from(self, values: dict[str, str]) -> dict[str, Any]:
        """As every kind, and the SNMPv3 fields only for version 3."""
        settings = super().settings_from(values)
        if settings.get("version") != "3":
            for key in V3_SETTINGS:
                settings.pop(key, None)
        return settings

    def secret_problems(self, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, str]:
        problems = {}
        if settings.get("version") == "3":
            if settings.get("auth_proto") and not secret.get("auth_key"):
                problems["auth_key"] = _("Enter the authentication key.")
            if settings.get("priv_proto") and not secret.get("priv_key"):
                problems["priv_key"] = _("Enter the privacy key.")
        elif not secret.get("community"):
            problems["community"] = _("Enter the community.")
        return problems

    def kept_secret(self, settings: dict[str, Any], secret: dict[str, Any]) -> dict[str, Any]:
        """Only the keys this version uses: the v3 keys, or the community."""
        wanted = ("auth_key", "priv_key") if settings.get("version") == "3" else ("community",)
        return {k: v for k, v in secret.items() if k in wanted}

    def target(self, settings: dict[str, Any]) -> tuple[Any, ...]:
        return (settings.get("host"), settings.get("port"), settings.get("context") or "")

    def credentials(self, settings: dict[str, Any], secret: str | None) -> snmp.Credentials:
        keys = json.loads(secret) if secret else {}
        if settings.get("version") == "3":
            return snmp.Credentials(
                version="3",
                user=settings.get("user", ""),
                auth_proto=settings.get("auth_proto"),
                auth_key=keys.get("auth_key"),
                priv_proto=settings.get("priv_proto"),
                priv_key=keys.get("priv_key"),
                context=settings.get("context", ""),
            )
        return snmp.Credentials(
            version=settings.get("version", "2c"), community=keys.get("community", "public")
        )

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        try:
            creds = self.credentials(settings, secret)
        except (ValueError, TypeError) as exc:  # bad stored secret / settings
            return Result(False, f"snmp settings: {exc}")
        client = snmp.SnmpClient(
            settings["host"],
            settings.get("port", 161),
            creds,
            timeout=settings.get("timeout", 2.0),
            retries=settings.get("retries", 1),
        )
        # Keep what the probe read: which counters are 64-bit, which values were unparsable.
        walked: dict[str, dict[str, Any]] = {}
        scalars: dict[str, Any] = {}
        table, get = client.table, client.get

        async def keep_tables(columns: Any) -> dict[str, dict[str, Any]]:
            got = await table(columns)
            walked.update(got)
            return got

        async def keep_scalars(oids: Any) -> dict[str, Any]:
            got = await get(oids)
            scalars.update(got)
            return got

        client.table = keep_tables  # type: ignore[method-assign]
        client.get = keep_scalars  # type: ignore[method-assign]
        # The SNMP engines live on the SNMP loop: run the probe there and await it here.
        future = asyncio.run_coroutine_threadsafe(probe.probe_async(client), snmp._ensure_loop())
        try:
            result = await asyncio.wrap_future(future)
        except snmp.SnmpError as exc:
            return Result(False, str(exc))
        # The octet counters are 64-bit where the agent has ifHCIn/OutOctets, else 32-bit.
        bits: dict[tuple[str, str], int] = {}
        for direction, column in (("if.in_octets", "hc_in"), ("if.out_octets", "hc_out")):
            wide = walked.get(probe.IF_COLUMNS[column], {})
            for itf in result["interfaces"]:
                bits[(direction, itf["name"])] = 64 if str(itf["index"]) in wide else 32
        readings = []
        for r in result["metrics"]:
            row = reading(r["metric"], r["value"], r["unit"], r["instance"])
            if (r["metric"], r["instance"]) in bits:
                row["bits"] = bits[(r["metric"], r["instance"])]
            readings.append(row)
        _log_unparsable(settings["host"], result["profiles"], scalars, walked)
        uptime = result.get("sys_uptime_seconds")
        if uptime is not None:
            readings.append(reading("host.uptime_seconds", uptime, "s"))
        return Result(
            True,
            "",
            readings,
            uptime_s=uptime,
            lldp=result["lldp_neighbors"] if "lldp" in result["profiles"] else None,
            arp=result["arp"] if "arp" in result["profiles"] else None,
        )
