"""The demo's finished move (搬迁): ``site.yaml``'s ``move_done`` — an asset moved two days before
the seed's "now", carried out as on the tablet (``inspections.moves``): its power-off and
power-on in the logbook, its alerts in maintenance for the 25 minutes between, the step on the
asset's page."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from assets.moves import services as moves
from inspections.moves import services as onsite
from opskit import clock, db
from opskit.demo.datafiles import load
from opskit.models import User

TAKES = timedelta(minutes=25)


def seed(now: datetime) -> int:
    """Make and carry out the move; returns its steps (0: the file has none)."""
    data = load("site").get("move_done")
    if not data:
        return 0
    user = db.session().scalar(select(User).where(User.username == data["by"]))
    owner = (user.display_name or user.username) if user is not None else data["by"]
    plan = moves.create_plan(data["name"], data["steps"], owner, notes=data.get("notes", ""))
    started = now - timedelta(days=int(data["days_ago"]))
    tz = clock.site_tz()
    for step in plan.steps:
        with clock.frozen(started):
            onsite.power_off(plan.id, step.id, step.asset.asset_tag, tz, user)
        with clock.frozen(started + TAKES):
            onsite.finish(plan.id, step.id, step.to_rack.name, tz, user)
        started += 2 * TAKES
    return len(plan.steps)
