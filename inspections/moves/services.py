"""A move step on site, in one transaction each (flush; the views commit through
``opskit.db.write``):

- :func:`power_off`: the registry's step pending → powered off, a power-off entry in the
  logbook, and a maintenance window for the asset's alerts (open for ``MAINTENANCE_HOURS`` at
  most: a step forgotten overnight does not silence the asset for ever);
- :func:`finish`: the registry's placement (refused, naming the collision, when the new units
  were taken meanwhile: then nothing changes, the asset stays powered off and in maintenance),
  a power-on entry in the logbook, and the maintenance window ended;
- :func:`skip`: a pending step skipped with a reason, by an engineer or an admin only
  (``SKIP_ROLES``; a supervisor or viewer is refused with :class:`NotAllowed`). A pending step
  has no logbook entry nor maintenance window, so nothing else changes.

A retried submission finds the step already moved on (``already``) and writes nothing more.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from flask_babel import gettext as _

from assets.moves import queries as move_queries
from assets.moves import services as moves
from inspections.logbook import services as logbook
from opskit import clock, db
from opskit.alerts import services as alerts
from opskit.models import Role, User

MAINTENANCE_HOURS = 12
#: who may skip a step (the asset is then not moved: the engineer on site, or an admin)
SKIP_ROLES = frozenset({Role.ADMIN, Role.ENGINEER})


class NotAllowed(Exception):
    """The user's role may not do this; the message says who may."""


def scanned_tag(scanned: str) -> str:
    """The tag of an asset label's URL (``<base>/a/<tag>``, pasted or typed), else the text
    itself (a rack label's URL stays whole: ``assets.moves.services.rack_matches`` reads it)."""
    text = scanned.strip()
    return unquote(text.rpartition("/a/")[2]) if "://" in text and "/a/" in text else text


def may_skip(user: User | None) -> bool:
    """An engineer or an admin (``None``: the system itself, e.g. a command)."""
    return user is None or user.role in SKIP_ROLES


def _who(user: User | None) -> str:
    return (user.display_name or user.username) if user is not None else "system"


def _reason(outcome: moves.Outcome) -> str:
    step = outcome.step
    height = step.asset.u_height
    return _(
        "Move %(plan)s, step %(step)d: %(from)s → %(to)s",
        plan=step.plan.name,
        step=step.position,
        **{
            "from": move_queries.where(step.from_rack, step.from_u, height),
            "to": move_queries.where(step.to_rack, step.to_u, height),
        },
    )


def power_off(
    plan_id: int, step_id: int, scanned: str, tz: ZoneInfo, user: User | None
) -> moves.Outcome:
    """The scanned asset's step powered off, logged, its alerts in maintenance."""
    now = clock.now()
    outcome = moves.power_off(plan_id, step_id, scanned, now)
    if outcome.already:
        return outcome
    step = outcome.step
    reason = _reason(outcome)
    values = {"asset_tag": step.asset.asset_tag, "action": "off", "reason": reason,
              "performed_by": _who(user)}  # fmt: skip
    logbook.record_power(values, tz, user, now)
    window = alerts.add_maintenance(
        now, now + timedelta(hours=MAINTENANCE_HOURS), asset_id=step.asset_id, reason=reason
    )
    window.created_by = _who(user)
    db.session().flush()  # the window's id
    step.maintenance_id = window.id
    return outcome


def finish(
    plan_id: int, step_id: int, rack_scanned: str, tz: ZoneInfo, user: User | None
) -> moves.Outcome:
    """The step's asset placed in its new rack, powered on (logged), maintenance ended."""
    now = clock.now()
    outcome = moves.finish_step(plan_id, step_id, rack_scanned, _who(user), now)
    if outcome.already:
        return outcome
    step = outcome.step
    values = {"asset_tag": step.asset.asset_tag, "action": "on", "reason": _reason(outcome),
              "performed_by": _who(user)}  # fmt: skip
    logbook.record_power(values, tz, user, now)
    if step.maintenance_id is not None:
        alerts.end_maintenance(step.maintenance_id, now)
    return outcome


def skip(plan_id: int, step_id: int, reason: str, user: User | None) -> moves.Outcome:
    """The pending step skipped with ``reason`` (who and when kept on it); only
    ``SKIP_ROLES``."""
    if not may_skip(user):
        raise NotAllowed(_("Only engineers and admins may skip a move step."))
    return moves.skip(plan_id, step_id, reason, _who(user), clock.now())
