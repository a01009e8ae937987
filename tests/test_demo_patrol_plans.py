"""The demo's patrol plans recur as data (#17): 机柜告警灯周检 is weekly on Mondays, so its
past slots are the Mondays only, from the patrol's one expansion (dates written out by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from inspections import services
from opskit import clock, db
from opskit.audit import acting_as
from opskit.demo import patrol
from opskit.demo.datafiles import load
from tests import factories

TZ = ZoneInfo("Asia/Shanghai")


def test_weekly_demo_plan_walks_mondays_only(app) -> None:
    now = datetime(2026, 3, 18, 9, 0, tzinfo=UTC)  # Wednesday 17:00 on site
    with app.test_request_context("/"), clock.frozen(now), acting_as("demo"):
        room_id = factories.rack("总部", "A机房", "A01").room_id
        data = {p["name"]: p for p in load("patrol")["plans"]}
        weekly = data["机柜告警灯周检"]
        assert weekly["recurrence"] == {"freq": "weekly", "weekdays": [1]}
        plans = [
            services.save_plan(
                {
                    "name": name,
                    "room_id": room_id,
                    "checklist_keys": list(data[name]["checklists"]),
                    "schedule_times": list(data[name]["times"]),
                    "recurrence": data[name].get("recurrence") or {"freq": "daily"},
                }
            )
            for name in ("二号机房日常巡检", "机柜告警灯周检")
        ]
        db.session().commit()
        slots = patrol._slots(plans, now, 14, TZ)
    walked = [s.replace(tzinfo=None) for p, s in slots if p.name == "机柜告警灯周检"]
    assert walked == [datetime(2026, 3, 9, 16, 30), datetime(2026, 3, 16, 16, 30)]
    daily = [s for p, s in slots if p.name == "二号机房日常巡检"]
    # 10:00 each day from 03-04 to 03-18 (today's has begun)
    assert len(daily) == 15 and daily[-1] == datetime(2026, 3, 18, 10, 0, tzinfo=TZ)
    # oldest day first, the plans in their order within a day
    assert [s for _p, s in slots] == sorted(s for _p, s in slots)
