"""The demo's access and power logbook: the visits and power events of ``data/logbook.yaml``
over the history, through the logbook's own services."""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from inspections.logbook import services as logbook
from opskit.clock import site_tz
from opskit.demo.datafiles import engineers, load
from opskit.demo.registry import Built


def seed_logbook(built: Built, now: datetime, days: int) -> int:
    """Machine-room visits and power events, a few a day over ``days``."""
    data = load("logbook")
    visitors, power = data["visitors"], data["power"]
    people = engineers()
    tz = site_tz()
    rng = random.Random(11)
    made = 0

    def local(t: datetime) -> str:
        return t.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    for day in range(days, -1, -1):
        for k in range(1 if day % 2 else 2):
            name, org, purpose, escort = visitors[(day + k) % len(visitors)]
            on = now.astimezone(tz).date() - timedelta(days=day)  # working hours, site time
            in_at = datetime.combine(on, time(rng.randint(9, 16), rng.randint(0, 59)), tz)
            if day == 0 and k == 0:  # Huawei's engineer came for the storage incident: inside
                name, org, purpose, escort = visitors[0]
                in_at = now - timedelta(minutes=8)
            if in_at > now:
                continue
            out_at = in_at + timedelta(minutes=rng.randint(20, 150))
            values = {
                "room_id": str(built.rooms["A" if (day + k) % 3 or day == 0 else "B"].id),
                "name": name,
                "organisation": org,
                "purpose": purpose,
                "escort": escort,
                "in_at": local(in_at),
                "out_at": "" if (day == 0 and k == 0) or out_at > now else local(out_at),
            }
            logbook.record_entry(values, tz, now=now)
            made += 1
        if day % 3 == 0:
            turn = day // 3
            action, reason = power["actions"][turn % len(power["actions"])]
            logbook.record_power(
                {
                    "asset_tag": power["assets"][turn % len(power["assets"])],
                    "action": action,
                    "reason": reason,
                    "change_ref": power["change_ref"].format(number=100 + day),
                    "performed_by": people[day % len(people)]["name"],
                    "occurred_at": local(
                        min(now, datetime.combine(now.astimezone(tz).date(), time(7, 30), tz))
                        - timedelta(days=day)
                    ),
                },
                tz,
                now=now,
            )
            made += 1
    return made
