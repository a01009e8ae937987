"""Notification transports, one module each, registered in one dict literal: ``TRANSPORTS``.

A transport (``opskit.alerts.transports.base.Transport``, which says what one offers) has its
label, its fields on the channel form (which are secrets), the check of its settings and
``send()``, raising ``TransportError(retry=...)``. The channel pages and the notification
worker ask the channel's transport (``of(kind)``) instead of testing its name. Adding a
transport: one module here, one line below.

An unknown transport (a row written by a newer version, or a transport since removed) is never a
crash: ``of`` answers an ``Unsupported`` one (the pages show "Unsupported kind"; its settings do
not validate; sending fails for good).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from opskit.alerts.transports import dingtalk, email, webhook, wecom
from opskit.alerts.transports.base import (
    Cleaned,
    Field,
    Form,
    Message,
    Saved,
    Transport,
    TransportError,
)
from opskit.alerts.transports.dingtalk import dingtalk_sign

__all__ = [
    "KINDS",
    "TRANSPORTS",
    "Cleaned",
    "Field",
    "Form",
    "Message",
    "Saved",
    "Transport",
    "TransportError",
    "Unsupported",
    "dingtalk_sign",
    "form_sections",
    "of",
]

#: every transport by its key (the ``notification_channel.kind`` column), in the form's order
TRANSPORTS: dict[str, Transport] = {
    "email": email.TRANSPORT,
    "webhook": webhook.TRANSPORT,
    "wecom": wecom.TRANSPORT,
    "dingtalk": dingtalk.TRANSPORT,
}
KINDS = TRANSPORTS


class Unsupported:
    """A transport this version does not know: no fields, a form that never validates, and a
    send that fails for good."""

    label = _l("Unsupported kind")
    fields: tuple[Field, ...] = ()

    def __init__(self, key: str) -> None:
        self.key = key

    def clean(self, form: Form, saved: Saved | None) -> Cleaned:
        return Cleaned({}, None, {"kind": _("Choose a kind.")})

    def send(self, settings: dict[str, Any], secret: str | None, message: Message) -> None:
        raise TransportError(f"unsupported channel kind {self.key!r}", retry=False)


def of(kind: str) -> Transport:
    """The transport of a channel, or an ``Unsupported`` one named ``kind``."""
    return TRANSPORTS.get(kind) or Unsupported(kind)


def form_sections() -> list[tuple[Any, list[Field]]]:
    """The channel form: every transport's fields once (a shared field where it first appears),
    under their headings, in ``TRANSPORTS`` order; in a section, passwords last."""
    sections: dict[str, tuple[Any, list[Field]]] = {}
    seen: set[str] = set()
    for transport in TRANSPORTS.values():
        for field in transport.fields:
            if field.name in seen:
                continue
            seen.add(field.name)
            heading = sections.setdefault(str(field.section), (field.section, []))
            heading[1].append(field)
    return [
        (heading, sorted(fields, key=lambda field: field.widget == "password"))
        for heading, fields in sections.values()
    ]
