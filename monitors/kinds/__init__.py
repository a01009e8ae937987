"""Monitor kinds, registered in one place: ``KINDS``. A kind is one module of this package
implementing ``MonitorKind`` (``monitors.kinds.base``, which says what a kind offers).

An unknown kind (a row written by a newer version, or a kind since removed) is never a crash:
``get`` answers ``None`` (the poller records the monitor as unknown), ``of`` answers an
``Unsupported`` kind (the pages show "Unsupported kind"; its settings do not validate).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors.kinds.base import Field, MonitorKind, Result, reading
from monitors.kinds.host import HostKind
from monitors.kinds.http import HttpKind
from monitors.kinds.mysql import MysqlKind
from monitors.kinds.ping import PingKind
from monitors.kinds.postgresql import PostgresqlKind
from monitors.kinds.snmp import SnmpKind
from monitors.kinds.tcp import TcpKind
from opskit.validation import ValidationFailed

__all__ = [
    "KINDS",
    "SNMP",
    "Field",
    "MonitorKind",
    "Result",
    "Unsupported",
    "add_form_kinds",
    "get",
    "of",
    "reading",
    "validate",
]

SNMP = SnmpKind()  # the asset page's "probe and add" form is SNMP's own

#: every kind by its key (the ``monitor.kind`` column); the add form offers them in this order
KINDS: dict[str, MonitorKind] = {
    "snmp": SNMP,
    "ping": PingKind(),
    "tcp": TcpKind(),
    "http": HttpKind(),
    "host": HostKind(),
    "postgresql": PostgresqlKind(),
    "mysql": MysqlKind(),
}


def _unknown(kind: str) -> ValidationFailed:
    return ValidationFailed.one(
        "kind",
        _(
            "Unsupported monitor kind %(kind)s: expected one of %(kinds)s.",
            kind=kind,
            kinds=", ".join(KINDS),
        ),
    )


class Unsupported(MonitorKind):
    """A kind this version does not know: no fields, settings that never validate, no check."""

    label = _l("Unsupported kind")
    on_add_form = False

    def __init__(self, key: str) -> None:
        self.key = key

    def validate(self, settings: Any) -> dict[str, Any]:
        raise _unknown(self.key)

    async def check(self, monitor: Any, settings: dict[str, Any], secret: str | None) -> Result:
        return Result(False, f"unsupported monitor kind {self.key!r}")


def get(kind: str) -> MonitorKind | None:
    """The kind object, or ``None`` for a kind this version does not support."""
    return KINDS.get(kind)


def of(kind: str) -> MonitorKind:
    """The kind object, or an ``Unsupported`` one named ``kind``."""
    return KINDS.get(kind) or Unsupported(kind)


def add_form_kinds() -> tuple[str, ...]:
    """The kinds the asset page's settings form adds, in ``KINDS`` order."""
    return tuple(key for key, kind in KINDS.items() if kind.on_add_form)


def validate(kind: str, settings: Any) -> dict[str, Any]:
    """Validated settings for ``kind``; an unknown kind is a ``kind`` field error."""
    impl = KINDS.get(kind)
    if impl is None:
        raise _unknown(kind)
    return impl.validate(settings)
