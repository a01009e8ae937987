"""The demo's plan in progress: ``site.yaml``'s ``plan_in_progress`` answered by the fit
(``assets.plan``) on the seeded registry and readings, its best candidate accepted, so the demo
has units, ports and addresses held (预留) and ``opskit plan`` answers around them."""

from __future__ import annotations

from datetime import datetime, timedelta

from assets import plan
from assets.services import reservations
from opskit.demo.datafiles import load
from opskit.demo.registry import Built


def seed(built: Built, now: datetime) -> int:
    """Reserve the plan's best candidate; returns the reservations made (0: none fits)."""
    data = load("site")["plan_in_progress"]
    answer = plan.fit(plan.read_request(data["request"]), now=now)
    if not answer["candidates"]:
        return 0
    reservations.accept(
        answer["candidates"][0],
        data["name"],
        data["owner"],
        now + timedelta(days=int(data["hold_days"])),
        site_id=built.site.id,
    )
    return 1
