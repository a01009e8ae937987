"""Register chosen proposals: their assets and monitors in one transaction, all or nothing.

The caller runs :func:`register` inside ``opskit.db.write`` (one commit; a raise rolls all of it
back). What is registered is looked up again inside the transaction, so a retried or concurrent
submission finds the assets the first one stored: with ``refuse_registered`` (the command line)
an address already registered refuses the whole registration, naming the asset; without it (the
screen) such addresses are skipped and reported, and the others registered. A proposal whose
asset the registry refuses (a tag taken meanwhile ...) refuses the whole registration, keyed by
its address.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import gettext as _

from assets import services as registry
from monitors import kinds, services
from monitors.discover.proposals import Proposal, mark_registered
from monitors.models import Monitor
from opskit import clock
from opskit.validation import ValidationFailed


@dataclass
class Outcome:
    created: list[tuple[Any, list[Monitor]]] = field(default_factory=list)  # (asset, monitors)
    skipped: list[Proposal] = field(default_factory=list)  # registered already

    @property
    def monitors(self) -> int:
        return sum(len(monitors) for _asset, monitors in self.created)


def _values(p: Proposal, room: Any, where: str) -> dict[str, Any]:
    notes = [_("Registered by subnet discovery of %(range)s on %(day)s.", range=where, day=day())]
    if p.source == "lldp":
        notes = [_("Registered from LLDP: seen by %(who)s.", who=", ".join(p.seen_by))]
        if p.chassis:
            notes.append(_("LLDP chassis ID: %(id)s", id=p.chassis))
    if p.sys_descr:
        notes.append(p.sys_descr)
    return {
        "asset_tag": p.asset_tag,
        "name": p.name,
        "kind": p.kind,
        "vendor": p.vendor,
        "model": p.model,
        "serial": p.serial,
        "mgmt_ip": p.address or None,
        "room": room,
        "specs": {"firmware": p.firmware} if p.firmware else {},  # assets.specs' key
        "notes": "\n".join(notes),
    }


def day() -> str:
    return clock.site_today().isoformat()


def register(
    chosen: list[Proposal],
    secret: dict[str, str],
    room: Any = None,
    where: str = "",
    refuse_registered: bool = False,
) -> Outcome:
    """Create an asset (and its proposed monitor) per chosen proposal; ``secret`` is the SNMP
    monitors' credentials (community or v3 keys), stored encrypted. Raises ``ValidationFailed``
    keyed by address when anything is refused; the caller's transaction then writes nothing."""
    outcome = Outcome()
    mark_registered(chosen)
    already = [p for p in chosen if p.registered]
    if already and refuse_registered:
        raise ValidationFailed(
            {
                p.address: _(
                    "%(address)s is already registered: %(tag)s %(name)s.",
                    address=p.address,
                    tag=p.registered["asset_tag"],  # type: ignore[index]
                    name=p.registered["name"],  # type: ignore[index]
                )
                for p in already
            }
        )
    outcome.skipped = already
    todo = [p for p in chosen if not p.registered]
    made = registry.add_assets([_values(p, room, where) for p in todo])
    errors: dict[str, list[str]] = {}
    for p, asset in zip(todo, made, strict=True):
        if isinstance(asset, ValidationFailed):
            row = p.address or p.name
            for name, messages in asset.errors.items():
                errors.setdefault(row, []).extend(f"{name}: {m}" for m in messages)
    if errors:
        raise ValidationFailed(errors)
    for p, asset in zip(todo, made, strict=True):
        monitors = []
        if p.monitor:
            kind = p.monitor["kind"]
            monitor, _created = services.add_monitor(
                asset.id,  # type: ignore[union-attr]
                kind,
                p.monitor["settings"],
                secret if kind == kinds.SNMP.key else None,
            )
            monitors.append(monitor)
        outcome.created.append((asset, monitors))
    return outcome
