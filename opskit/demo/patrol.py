"""Patrol plans and their past rounds for the demo, through the patrol services.

The plans are ``data/patrol.yaml``. Each room has a daily plan, room A a weekly one too (its
recurrence as data, expanded by ``queries.expected_slots`` like every plan); every past slot of
the last two weeks was patrolled (a few were missed) by one of the engineers, answering every
item of every checklist. Now and then an answer is abnormal: the round's finding raises a patrol
alert, closed a few hours later. Today the morning rounds are done, one is in progress and the
afternoon ones are due. A history longer than two weeks repeats the fortnight's rounds (not
their findings) in bulk.

The services stamp submissions with the current time; the seeder then moves each round, its
finding and the finding's alert back to when the round was walked.
"""

from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from inspections import queries, services
from inspections.models import PatrolAnswer, PatrolPlan, PatrolRound, RoundStatus
from opskit import db, users
from opskit.alerts.models import Alert, AlertEvent
from opskit.audit import acting_as
from opskit.clock import site_tz
from opskit.demo.datafiles import engineers, load

FINDING_EVERY = 9  # about one round in nine has an abnormal answer
SERVICE_DAYS = 14  # findings over the last two weeks


def _answer(item: Any, rng: random.Random, abnormal: bool) -> tuple[str, str] | None:
    """(value, note) for one item, or None for items the seeder leaves out (a photo, the
    signature, an optional text)."""
    value = queries.sample_answer(item, rng, abnormal, remark=load("patrol")["notes"]["text"])
    if value is None:
        return None
    note = load("patrol")["notes"]["abnormal"] if abnormal else ""
    return value, note


def _answers(
    patrol: Any, rng: random.Random, abnormal_at: int | None, at: datetime
) -> list[dict[str, Any]]:
    out = []
    n = 0
    # from that index on, the first reading or check (a kind that samples abnormal) is abnormal
    pending = abnormal_at is not None
    for entry in patrol.targets:
        checklist = queries.get_checklist(entry["checklist"])
        for item in checklist.items:
            bad = pending and n >= abnormal_at and queries.samples_abnormal(item)  # type: ignore[operator]
            pending = pending and not bad
            got = _answer(item, rng, bad)
            if got is None:
                continue
            n += 1
            out.append(
                {
                    "target": entry["key"],
                    "checklist": entry["checklist"],
                    "item": item.key,
                    "value": got[0],
                    "note": got[1],
                    "answered_at": at.isoformat(),
                }
            )
    return out


def _backdate(patrol: Any, started: datetime, submitted: datetime | None) -> None:
    sess = db.session()
    patrol.started_at = started
    if submitted is not None:
        patrol.submitted_at = submitted
        patrol.signed_at = submitted
    for finding in patrol.findings:
        finding.opened_at = submitted or started
        if finding.alert_id is not None:
            alert = sess.get(Alert, finding.alert_id)
            if alert is not None:
                alert.first_seen = alert.last_seen = finding.opened_at
                for event in sess.scalars(
                    select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                ):
                    event.at = finding.opened_at


def _close(patrol: Any, at: datetime) -> None:
    sess = db.session()
    for finding in list(patrol.findings):
        finding = services.close_finding(finding, load("patrol")["notes"]["closed"])
        finding.closed_at = at
        if finding.alert_id is not None:
            alert = sess.get(Alert, finding.alert_id)
            if alert is not None and alert.resolved_at is not None:
                alert.resolved_at = at
                for event in sess.scalars(
                    select(AlertEvent).where(
                        AlertEvent.alert_id == alert.id, AlertEvent.kind == "resolved"
                    )
                ):
                    event.at = at


def _slots(plans: list[Any], now: datetime, days: int, tz: Any) -> list[tuple[Any, datetime]]:
    """(plan, local slot time) of every past slot over ``days``, oldest day first, by plan
    within a day: each plan's slots from the patrol's one expansion of its recurrence
    (``queries.expected_slots``: a weekly plan only on its days of the week)."""
    first_day = now.astimezone(tz).date() - timedelta(days=days)
    start = datetime.combine(first_day, time.min, tz)
    end = now + timedelta.resolution  # a slot at this very instant has begun
    order = {plan.id: n for n, plan in enumerate(plans)}
    out = [(plan, slot) for plan in plans for slot in queries.expected_slots(plan, start, end)]
    out.sort(key=lambda s: (s[1].astimezone(tz).date(), order[s[0].id], s[1]))
    return out


def seed(built: Any, now: datetime, days: int) -> int:
    """Plans and rounds over ``days`` (up to now); returns the number of rounds.

    Through the services: each plan's latest round, the rounds with a finding (about one in
    nine over the last two weeks) and today's round in progress. The other rounds copy their
    plan's latest round in bulk with fresh readings (the services take about a second a round).
    """
    tz = site_tz()
    sess = db.session()
    people = [users.get_user(p["username"]) for p in engineers()]
    plans: list[PatrolPlan] = []
    with acting_as("demo"):
        for data in load("patrol")["plans"]:
            plan = services.save_plan(
                {
                    "name": data["name"],
                    "room_id": built.rooms[data["room"]].id,
                    "checklist_keys": list(data["checklists"]),
                    "schedule_times": list(data["times"]),
                    "recurrence": data.get("recurrence") or {"freq": "daily"},
                    "grace_minutes": 120,
                }
            )
            # the plans have been in force since the history begins: the reports count its
            # slots as planned (a slot before its plan existed was never planned)
            first_day = now.astimezone(tz).date() - timedelta(days=days)
            plan.created_at = datetime.combine(first_day, time.min, tz)
            plans.append(plan)
        sess.commit()

    rng = random.Random(5)
    slots = _slots(plans, now, days, tz)
    recent = now - timedelta(days=SERVICE_DAYS)
    # the latest slot: in progress when it began less than an hour ago
    in_progress = slots[-1] if slots and now - slots[-1][1] < timedelta(hours=1) else None
    done = [s for s in slots if s is not in_progress]
    templates: dict[int, tuple[Any, datetime]] = {}
    for plan, slot in reversed(done):
        templates.setdefault(plan.id, (plan, slot))
    special = set(templates.values())
    findings = {
        s for s in done if s[1] >= recent and s not in special and rng.randrange(FINDING_EVERY) == 0
    }
    # the newest round with a finding (within two days) is still open: its alert is firing
    keep_open = next(
        (s for s in reversed(done) if s not in special and now - s[1] < timedelta(days=2)), None
    )
    if keep_open is not None:
        findings.add(keep_open)
    special |= findings
    made = 0
    template_rounds: dict[int, Any] = {}
    for n, (plan, slot) in enumerate(done):
        if (plan, slot) not in special:
            continue
        who = people[n % len(people)]
        started = slot + timedelta(minutes=rng.randint(-10, 20))
        finished = started + timedelta(minutes=rng.randint(25, 50))
        cid = f"demo-{plan.id}-{slot:%Y%m%d%H%M}"
        abnormal = rng.randint(0, 30) if (plan, slot) in findings else None
        with acting_as(who.username, who.id):
            patrol = services.start_round(
                cid, plan_id=plan.id, scheduled_for=slot, started_at=started
            )
            answers = _answers(patrol, rng, abnormal, min(finished, now))
            patrol = services.submit_round(
                cid, {"answers": answers, "signature_name": who.display_name}
            )
            _backdate(patrol, started, min(finished, now))
            if patrol.findings and (plan, slot) != keep_open:
                _close(patrol, finished + timedelta(hours=rng.randint(2, 20)))
            sess.commit()
        if templates.get(plan.id) == (plan, slot):
            template_rounds[plan.id] = patrol
        made += 1
    made += _copies(
        [(p, s) for p, s in done if (p, s) not in special], template_rounds, people, rng
    )
    if in_progress is not None:
        plan, slot = in_progress
        who = people[0]
        cid = f"demo-{plan.id}-{slot:%Y%m%d%H%M}"
        with acting_as(who.username, who.id):
            patrol = services.start_round(
                cid, plan_id=plan.id, scheduled_for=slot, started_at=min(slot, now)
            )
            for answer in _answers(patrol, rng, None, now)[:8]:
                services.save_answer(cid, answer)
        made += 1
    return made


def _copies(
    slots: list[tuple[Any, datetime]], templates: dict[int, Any], people: list[Any], rng: Any
) -> int:
    """Submitted rounds for ``slots``: their plan's template round with fresh readings."""
    sess = db.session()
    columns = [c.key for c in PatrolAnswer.__table__.columns if c.key not in ("id", "round_id")]
    items: dict[tuple[str, str], Any] = {}
    made = 0
    for n, (plan, slot) in enumerate(slots):
        template = templates.get(plan.id)
        if template is None or rng.random() < 0.04:  # a few slots were missed
            continue
        who = people[n % len(people)]
        started = slot + timedelta(minutes=rng.randint(-10, 20))
        finished = started + timedelta(minutes=rng.randint(25, 50))
        copy = PatrolRound(
            client_id=f"demo-{plan.id}-{slot:%Y%m%d%H%M}",
            plan_id=plan.id,
            room_id=template.room_id,
            checklist_keys=template.checklist_keys,
            targets=template.targets,
            scheduled_for=slot,
            started_at=started,
            submitted_at=finished,
            engineer_id=who.id,
            engineer=who.username,
            status=RoundStatus.SUBMITTED.value,
            signature_name=who.display_name,
            signed_at=finished,
        )
        sess.add(copy)
        sess.flush()
        rows = []
        for a in template.answers:
            row = {c: getattr(a, c) for c in columns}
            row.update(round_id=copy.id, answered_at=finished, answered_by=who.username)
            row.update(monitored_value=None, monitored_at=None, disagrees=False)
            if a.number is not None:
                key = (a.checklist_key, a.item_key)
                if key not in items:
                    items[key] = queries.get_checklist(key[0]).item(key[1])
                row["value"] = queries.sample_answer(items[key], rng)
                row["number"] = float(row["value"])
            rows.append(row)
        if rows:
            sess.execute(PatrolAnswer.__table__.insert(), rows)
        made += 1
        if made % 200 == 0:
            sess.commit()
    sess.commit()
    return made
