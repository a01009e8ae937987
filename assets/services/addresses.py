"""IP prefixes and addresses: parsing, canonical text and sort keys, which prefix holds an
address, and saving prefixes and addresses (inside their prefix, one row per address, none a
live reservation holds: ``assets.services.reservations``; installing the plan's device registers
them, ``assets.services.install``)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from assets.models import (
    AddressStatus,
    IPAddress,
    Prefix,
    Reservation,
    ReservationStatus,
    ReservedAddress,
)
from assets.services.rules import enum_value
from opskit import clock, db
from opskit.validation import ValidationFailed

IPAny = ipaddress.IPv4Address | ipaddress.IPv6Address


NetAny = ipaddress.IPv4Network | ipaddress.IPv6Network


MAC_RE = re.compile(r"^[0-9a-f]{12}$")


def parse_ip(text: str) -> IPAny:
    """Parse an IPv4/IPv6 address; raises ValueError with a readable message."""
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        raise ValueError(_("%(value)s is not an IP address", value=text)) from None


def parse_network(text: str) -> NetAny:
    value = text.strip()
    if "/" not in value:
        raise ValueError(
            _("%(value)s: write the prefix as address/length, e.g. 10.1.20.0/24", value=text)
        )
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        if "has host bits set" in str(exc):
            net = ipaddress.ip_network(value, strict=False)
            raise ValueError(
                _("%(value)s has host bits set; did you mean %(net)s?", value=text, net=str(net))
            ) from None
        raise ValueError(_("%(value)s is not an IP prefix", value=text)) from None


def sort_key(ip: IPAny) -> str:
    """32 hex digits that sort addresses of one family numerically (queries filter by family)."""
    return f"{int(ip):032x}"


def normalize_mac(text: str | None) -> str | None:
    if text is None or not text.strip():
        return None
    digits = re.sub(r"[^0-9a-fA-F]", "", text).lower()
    if not MAC_RE.match(digits) or len(re.sub(r"[0-9a-fA-F:.\-\s]", "", text)) > 0:
        raise ValueError(_("%(value)s is not a MAC address", value=text))
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def containing_prefix(ip: IPAny) -> Prefix | None:
    """The most specific registered prefix that contains ``ip``."""
    key = sort_key(ip)
    candidates = db.session().scalars(
        select(Prefix)
        .where(Prefix.family == ip.version, Prefix.sort_key <= key)
        .order_by(Prefix.prefix_length.desc())
    )
    for prefix in candidates:
        if ip in ipaddress.ip_network(prefix.cidr):
            return prefix
    return None


def save_prefix(values: Mapping[str, Any], prefix: Prefix | None = None) -> Prefix:
    errors: dict[str, list[str]] = {}
    sess = db.session()
    net: NetAny | None = None
    try:
        net = parse_network(str(values.get("cidr", prefix.cidr if prefix else "") or ""))
    except ValueError as exc:
        errors["cidr"] = [str(exc)]
    if net is not None:
        clash = sess.scalar(select(Prefix.id).where(Prefix.cidr == str(net)))
        if clash is not None and (prefix is None or clash != prefix.id):
            errors["cidr"] = [_("Prefix %(cidr)s is already registered.", cidr=str(net))]
    vlan = values.get("vlan", prefix.vlan if prefix else None)
    if vlan is not None and not (isinstance(vlan, int) and 1 <= vlan <= 4094):
        errors["vlan"] = [_("A VLAN is a number from 1 to 4094.")]
    gateway = values.get("gateway", prefix.gateway if prefix else None) or None
    if gateway and net is not None:
        try:
            gw = parse_ip(str(gateway))
            if gw not in net:
                errors["gateway"] = [
                    _("Gateway %(gw)s is outside %(net)s.", gw=str(gw), net=str(net))
                ]
            gateway = str(gw)
        except ValueError as exc:
            errors["gateway"] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    assert net is not None
    if prefix is None:
        prefix = Prefix()
        sess.add(prefix)
    prefix.cidr = str(net)
    prefix.family = net.version
    prefix.prefix_length = net.prefixlen
    prefix.sort_key = sort_key(net.network_address)
    prefix.vlan = vlan
    prefix.gateway = gateway
    prefix.purpose = str(values.get("purpose", prefix.purpose or "") or "").strip()
    prefix.notes = str(values.get("notes", prefix.notes or "") or "").strip()
    if "site" in values:
        prefix.site = values["site"]
    return prefix


def _holder(address: str) -> tuple[str, str] | None:
    """(plan, expiry date) of the live reservation holding ``address``, if one does."""
    row = (
        db.session()
        .execute(
            select(Reservation.plan, Reservation.expires_at)
            .join(ReservedAddress, ReservedAddress.reservation_id == Reservation.id)
            .where(
                ReservedAddress.address == address,
                Reservation.status == ReservationStatus.RESERVED.value,
                Reservation.expires_at > clock.now(),
            )
        )
        .first()
    )
    return None if row is None else (row[0], row[1].date().isoformat())


def save_address(values: Mapping[str, Any], address: IPAddress | None = None) -> IPAddress:
    """Register an address; it must lie inside a registered prefix (``prefix`` if given)."""
    errors: dict[str, list[str]] = {}
    sess = db.session()
    ip: IPAny | None = None
    try:
        ip = parse_ip(str(values.get("address", address.address if address else "") or ""))
    except ValueError as exc:
        errors["address"] = [str(exc)]
    prefix: Prefix | None = values.get("prefix")
    if ip is not None:
        clash = sess.scalar(select(IPAddress.id).where(IPAddress.address == str(ip)))
        held = _holder(str(ip)) if address is None or address.address != str(ip) else None
        if clash is not None and (address is None or clash != address.id):
            errors["address"] = [_("%(ip)s is already registered.", ip=str(ip))]
        elif held is not None:
            errors["address"] = [
                _(
                    "%(ip)s is reserved for plan %(plan)s until %(until)s.",
                    ip=str(ip),
                    plan=held[0],
                    until=held[1],
                )
            ]
        elif prefix is not None:
            if ip not in ipaddress.ip_network(prefix.cidr):
                errors["address"] = [
                    _("%(ip)s is outside prefix %(cidr)s.", ip=str(ip), cidr=prefix.cidr)
                ]
        else:
            prefix = containing_prefix(ip)
            if prefix is None:
                errors["address"] = [
                    _(
                        "%(ip)s is not inside any registered prefix; register the prefix first.",
                        ip=str(ip),
                    )
                ]
    status = enum_value(
        AddressStatus,
        values.get("status", address.status if address else AddressStatus.ACTIVE),
        "status",
        errors,
    )
    mac = values.get("mac", address.mac if address else None)
    try:
        mac = normalize_mac(mac)
    except ValueError as exc:
        errors["mac"] = [str(exc)]
    if errors:
        raise ValidationFailed(errors)
    assert ip is not None and prefix is not None
    if address is None:
        address = IPAddress()
        sess.add(address)
    address.address = str(ip)
    address.family = ip.version
    address.sort_key = sort_key(ip)
    address.prefix = prefix
    address.status = status  # type: ignore[assignment]
    address.mac = mac
    for field in ("interface", "hostname", "notes"):
        address.__setattr__(
            field, str(values.get(field, getattr(address, field) or "") or "").strip()
        )
    if "asset" in values:
        address.asset = values["asset"]
    return address
