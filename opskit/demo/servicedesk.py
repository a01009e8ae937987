"""The demo's employees' requests: three months of them worked by the engineers, and those open
now, as ``data/servicedesk.yaml`` tells them, through the service desk's own services.

Each request is logged and taken step by step at its time in the past (``at=``): responded,
worked remotely or on site (arrival by the asset's label), suspended while a vendor's part
comes, resolved, closed by the requester or by the auto-close, its survey answered by link or
on the tablet; repairs with vendor cases and parts, signed by both sides; a temporary measure
with a spare server lent and returned.

**The SLA watch, replayed.** The desk's job "request clocks" records a warning (75 %) and a
breach once per clock of an open request, and tells each as a notice (an alert resolved at
once). Run once at the end it would see only the requests open now, so the seeder replays it:
between two steps of a request, when one of its clocks would have warned or run out, it calls
``watch_clocks`` at that moment (to the minute after, as the job runs every minute). Only the
clocks the history misses make events and notices: about a dozen over the months, not one per
request. Requests are taken one after another, in the order they were raised, so the
watch at a past moment sees only the request being replayed, as it was then (and those open
now that were raised before it, as they are now: the data raises them in the last hours, after
the history, but for one resolved, which the watch leaves alone).
"""

from __future__ import annotations

import base64
import functools
import io
import math
import random
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from PIL import Image, ImageDraw
from sqlalchemy import select

from inspections.models import PatrolFinding
from opskit import db
from opskit.alerts import queries as alert_queries
from opskit.alerts.models import Alert
from opskit.audit import acting_as, current_actor
from opskit.calendar import WorkingCalendar
from opskit.clock import site_tz
from opskit.demo.datafiles import load
from opskit.demo.registry import Built
from opskit.models import User
from opskit.servicedesk import clocks, services
from opskit.servicedesk.models import OPEN_STATUSES, CloseHow, ServiceRequest, WorkMode
from opskit.sla import Policy

#: steps left out when their time is still to come (the rest must be in the past)
LATER_OK = ("close", "survey")
_RELATIVE = re.compile(r"^\+(\d+)d (\d\d:\d\d)$")
SURVEY_AFTER = {"tablet": 1, "link": 150}  # minutes after the close, unless the data says


@functools.cache
def signature_png(name: str) -> str:
    """A drawn signature (a PNG data URL): a few pen strokes, the same for the same name."""
    rng = random.Random(zlib.crc32(name.encode()))
    image = Image.new("RGBA", (300, 100), (255, 255, 255, 0))
    pen = ImageDraw.Draw(image)
    x = 20.0
    for _stroke in range(3 + len(name)):
        points = []
        for _point in range(6):
            x += rng.uniform(4, 12)
            points.append((x, 50 + rng.uniform(-28, 28)))
        pen.line(points, fill=(20, 30, 80, 255), width=3, joint="curve")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def _ceil_minute(moment: datetime) -> datetime:
    whole = moment.replace(second=0, microsecond=0)
    return whole if whole == moment else whole + timedelta(minutes=1)


class _Desk:
    """Replays ``servicedesk.yaml``: one request after another, every step at its time."""

    def __init__(self, built: Built, now: datetime) -> None:
        self.built = built
        self.now = now
        self.tz = site_tz()
        self.policy: Policy = alert_queries.current_policy()
        self.calendar: WorkingCalendar = self.policy.calendar
        self.data = load("servicedesk")
        self.people = {p["username"]: p for p in load("site")["people"]}
        self.accounts: dict[str, User | None] = {}
        self.made = {"requests": 0, "repairs": 0, "surveys": 0}
        #: (request id, clock, "warning" | "breach") the replayed watch has recorded
        self.watched: set[tuple[int, str, str]] = set()
        self.earliest: dict[int, dict[str, datetime]] = {}

    # --- who and when ------------------------------------------------------------------------

    @contextmanager
    def person(self, username: str) -> Iterator[None]:
        """Act as a demo person (with their account, so the desk's roles apply)."""
        if username not in self.accounts:
            # kept: the session holds its rows weakly, and the desk looks the actor up each step
            self.accounts[username] = db.session().scalar(
                select(User).where(User.username == username)
            )
        account = self.accounts[username]
        with acting_as(username, account.id if account is not None else None):
            yield

    def working_day(self, day: date, step: int) -> date:
        """The ``abs(step)``-th working day after (``step`` > 0) or before ``day``."""
        direction = 1 if step > 0 else -1
        for _ in range(abs(step)):
            day += timedelta(days=direction)
            while not self.calendar.is_workday(day):
                day += timedelta(days=direction)
        return day

    def local(self, day: date, hhmm: str) -> datetime:
        return datetime.combine(day, time.fromisoformat(hhmm), self.tz).astimezone(UTC)

    def moment(self, spec: int | str, raised: datetime) -> datetime:
        """A step's time: minutes after the raise, or '+Nd HH:MM' (working days after)."""
        if isinstance(spec, int):
            return raised + timedelta(minutes=spec)
        match = _RELATIVE.match(spec)
        if match is None:
            raise ValueError(f"servicedesk.yaml: {spec!r}: expected minutes or '+Nd HH:MM'")
        day = self.working_day(raised.astimezone(self.tz).date(), int(match[1]))
        return self.local(day, match[2])

    # --- logging -----------------------------------------------------------------------------

    def requester(self, spec: dict[str, Any]) -> dict[str, str]:
        if "from" not in spec:
            return {}
        name, department, phone = self.data["requesters"][spec["from"]]
        return {
            "requester_name": name,
            "requester_department": department,
            "requester_phone": str(phone),
        }

    def origin(self, spec: dict[str, Any]) -> tuple[datetime, Alert | PatrolFinding | None] | None:
        """When the request was raised, and the alert or finding it comes from; None when
        that is not in the demo."""
        raised = spec["raised"]
        if "alert" in raised:
            alert = db.session().scalar(
                select(Alert).where(Alert.dedup_key == f"demo:{raised['alert']}").limit(1)
            )
            if alert is None:
                return None
            return alert.first_seen + timedelta(minutes=raised["after"]), alert
        if "finding" in raised:
            finding = db.session().scalar(
                select(PatrolFinding)
                .where(PatrolFinding.closed_at.is_not(None))
                .order_by(PatrolFinding.opened_at, PatrolFinding.id)
                .limit(1)
            )
            if finding is None:
                return None
            return finding.opened_at + timedelta(minutes=raised["after"]), finding
        if "ago" in raised:
            return self.now - timedelta(**raised["ago"]), None
        day = self.working_day(self.now.astimezone(self.tz).date(), -raised["day"])
        return self.local(day, raised["at"]), None

    def open(
        self,
        spec: dict[str, Any],
        number: int,
        at: datetime,
        source: Alert | PatrolFinding | None,
    ) -> ServiceRequest:
        """Log the request at its time (from its alert or finding, if it has one)."""
        common = {
            "category": spec["category"],
            "title": spec.get("title", ""),
            "client_id": f"demo-request-{number:03d}",
            "raised_at": at,
            **self.requester(spec),
        }
        if isinstance(source, Alert):
            return services.open_request_from_alert(
                source.id, description=spec.get("description", ""), **common
            )
        if isinstance(source, PatrolFinding):
            return services.open_request_from_finding(
                source.id,
                description=f"巡检发现：{source.message}",
                urgency=source.urgency,
                asset_id=source.answer.asset_id,
                room_id=source.round.room_id,
                **common,
            )
        return services.open_request(
            description=spec["description"],
            channel=spec["channel"],
            urgency=spec["urgency"],
            asset_tag=spec.get("asset"),
            **common,
        )

    # --- the replayed SLA watch --------------------------------------------------------------

    def _clock(self, req: ServiceRequest, name: str, at: datetime) -> clocks.RequestClock:
        return next(c for c in clocks.request_clocks(req, self.policy, at) if c.clock == name)

    def _first_minute(
        self,
        req: ServiceRequest,
        name: str,
        start: datetime,
        end: datetime,
        holds: Callable[[clocks.RequestClock], bool],
        guess: datetime | None = None,
    ) -> datetime | None:
        """The first whole minute in [start, end) when ``holds`` of a clock (the job runs
        every minute; it holds at ``end``): ``guess`` when it is that minute, else searched."""

        def at(minute: int) -> bool:
            return holds(self._clock(req, name, first + timedelta(minutes=minute)))

        first = _ceil_minute(start)
        if first >= end:
            return None
        last = math.ceil((end - first) / timedelta(minutes=1)) - 1  # the last minute before end
        if guess is not None:
            minute = int((_ceil_minute(guess) - first).total_seconds() // 60)
            if 0 <= minute <= last and at(minute) and (minute == 0 or not at(minute - 1)):
                return first + timedelta(minutes=minute)
        if not at(last):
            return None
        low, high = -1, last  # it holds at `high`, not at `low` (-1: before `start`)
        while high - low > 1:
            middle = (low + high) // 2
            if at(middle):
                high = middle
            else:
                low = middle
        return first + timedelta(minutes=high)

    def earliest_warnings(self, req: ServiceRequest) -> dict[str, datetime]:
        """For each clock, a moment before which it cannot warn: 75 % of its time after the
        raise, as if every hour were working time (suspensions only put warnings later); the
        fix-by cap allows at least its working days' hours."""
        level = self.policy.level_for(req.urgency, "request")
        day = datetime.combine(date.min, self.calendar.day_end) - datetime.combine(
            date.min, self.calendar.day_start
        )
        allowed = dict(level.targets, fix_by=(level.fix_by_working_days or 0) * day)
        share = self.policy.warn_at_percent / 100
        return {clock: req.raised_at + share * span for clock, span in allowed.items()}

    def warning_guess(self, req: ServiceRequest, state: clocks.RequestClock) -> datetime | None:
        """When the clock passes its warning share, if the request was never suspended."""
        if req.suspensions:
            return None
        share = self.policy.warn_at_percent / 100
        if state.hours != "working":
            return req.raised_at + share * (state.deadline - req.raised_at)
        allowed = self.calendar.working_time_between(req.raised_at, state.deadline)
        return self.calendar.add_working_time(req.raised_at, share * allowed)

    def watch(self, req: ServiceRequest, start: datetime, end: datetime) -> None:
        """The job "request clocks" from ``start`` until the request's next step at ``end``:
        ``watch_clocks`` at the minute one of its clocks warns or runs out in between."""
        if req.status not in OPEN_STATUSES or end <= start:
            return
        if req.id not in self.earliest:
            self.earliest[req.id] = self.earliest_warnings(req)
        done = clocks.done_moments(req)
        if all(done[c] is not None or end <= at for c, at in self.earliest[req.id].items()):
            return  # no clock can have warned yet: the job had nothing to say
        moments: dict[datetime, list[tuple[int, str, str]]] = {}
        for state in clocks.request_clocks(req, self.policy, end - timedelta(seconds=1)):
            if not state.running or not (state.warning or state.overdue):
                continue
            recorded = {k for r, c, k in self.watched if (r, c) == (req.id, state.clock)}
            if state.overdue and "breach" not in recorded:
                # past a deadline that stood still (no suspension since `start`): just after it
                moment = self._first_minute(
                    req, state.clock, start, end, lambda c: c.overdue, guess=state.deadline
                )
                if moment is not None:
                    moments.setdefault(moment, []).append((req.id, state.clock, "breach"))
            if not recorded:
                moment = self._first_minute(
                    req,
                    state.clock,
                    start,
                    end,
                    lambda c: c.warning or c.overdue,
                    guess=self.warning_guess(req, state),
                )
                if moment is not None:
                    moments.setdefault(moment, []).append((req.id, state.clock, "warning"))
        for moment in sorted(moments):
            with acting_as("sla"):
                services.watch_clocks(moment, self.policy)
            self.watched.update(moments[moment])

    # --- the steps ---------------------------------------------------------------------------

    @staticmethod
    def arguments(action: str, value: Any) -> dict[str, Any]:
        """A step's arguments as a mapping: ``close: auto``, ``survey: 5`` and a bare time
        (``respond: 2``) are short for {auto: true}, {score: 5} and {at: 2}."""
        if isinstance(value, dict):
            return value
        if action == "close" and value == "auto":
            return {"auto": True}
        if action == "survey":
            return {"score": value}
        return {"at": value}

    def step_time(
        self, req: ServiceRequest, action: str, args: dict[str, Any], raised: datetime
    ) -> datetime:
        if args.get("auto"):
            assert req.resolved_at is not None
            # services.auto_close_at, on the calendar at hand (it reads the policy each time)
            days = services.auto_close_days()
            return self.calendar.end_of_working_day_after(req.resolved_at, days)
        if action == "survey":
            assert req.closed_at is not None, "a survey follows the close"
            after = args.get("after") or SURVEY_AFTER[args.get("via", "link")]
            return req.closed_at + timedelta(minutes=after)
        return self.moment(args["at"], raised)

    def run_steps(self, req: ServiceRequest, spec: dict[str, Any]) -> None:
        raised = req.raised_at
        previous = raised
        for step in spec.get("steps", []):
            ((action, value),) = step.items()
            args = self.arguments(action, value)
            at = self.step_time(req, action, args, raised)
            if at > self.now:
                if action in LATER_OK:
                    break  # not yet: left resolved, or the survey unanswered
                raise ValueError(f"servicedesk.yaml: {req.title}: {action} is in the future")
            if at < previous:
                raise ValueError(f"servicedesk.yaml: {req.title}: {action} before the step before")
            self.watch(req, previous, at)
            with self.person("system" if args.get("auto") else args.get("as", spec["by"])):
                self.take(req, action, args, at, raised, spec)
            previous = at
        self.watch(req, previous, self.now)

    def take(
        self,
        req: ServiceRequest,
        action: str,
        args: dict[str, Any],
        at: datetime,
        raised: datetime,
        spec: dict[str, Any],
    ) -> None:
        note = args.get("note", "")
        if action == "respond":
            services.respond(req, note, at=at)
        elif action == "remote":
            services.start_work(req, WorkMode.REMOTE.value, note, at=at)
        elif action == "visit":
            services.start_work(req, WorkMode.ONSITE.value, note, at=at)
        elif action == "onsite":  # what the engineer says on arrival, then the label scanned
            if note:
                services.start_work(req, WorkMode.ONSITE.value, note, at=at)
            services.arrive(req, args.get("scan") or spec.get("asset") or self.label_for(req), at)
        elif action == "assign":
            services.assign(req, args["to"], at=at)
        elif action == "suspend":
            services.suspend(req, args["reason"], note, at=at)
        elif action == "resume":
            services.resume(req, note, at=at)
        elif action == "measure":
            spare = self.built.assets[args["spare"]]
            services.set_temporary_measure(req, args["text"], spare.id, note, at=at)
        elif action == "return":
            services.return_loan(req.loans[-1], note, at=at)
        elif action == "resolve":
            services.resolve(req, args["cause"], args.get("work", ""), args.get("parts", ""), at)
        elif action == "reopen":
            services.reopen(req, note, at=at)
        elif action == "close":
            how = CloseHow.AUTO if args.get("auto") else CloseHow.CONFIRMED
            services.close(req, how.value, at=at)
        elif action == "survey":
            self.survey(req, args, at)
        elif action == "repair":
            self.repair(req, args, raised, at)
        else:
            raise ValueError(f"servicedesk.yaml: unknown step {action!r}")

    def label_for(self, req: ServiceRequest) -> str:
        """A label to scan on arrival: the request's asset's, else one in its room."""
        for asset in self.built.assets.values():
            room = asset.room_id if asset.rack is None else asset.rack.room_id
            if asset.id == req.asset_id or (req.asset_id is None and room == req.room_id):
                return str(asset.asset_tag)
        raise ValueError(f"servicedesk.yaml: {req.title}: nothing to scan on arrival")

    def survey(self, req: ServiceRequest, args: dict[str, Any], at: datetime) -> None:
        survey = services.survey_of(req.id)
        if survey is None or at >= survey.expires_at:
            return
        score, comment = args.get("score"), args.get("comment", "")
        if args.get("via") == "tablet":
            services.answer_on_tablet(req.id, score, comment, at=at)
        else:
            services.answer(services.token_for(survey), score, comment, at=at)
        self.made["surveys"] += 1

    def repair(
        self, req: ServiceRequest, args: dict[str, Any], raised: datetime, at: datetime
    ) -> None:
        def when(key: str) -> datetime | None:
            return self.moment(args[key], raised) if key in args else None

        down = args.get("down") or [None, None]
        data = services.RepairInput(
            fault=args["fault"],
            diagnosis=args.get("diagnosis", ""),
            work_done=args.get("work", ""),
            result=args.get("result", ""),
            vendor=args.get("vendor", ""),
            vendor_case_number=str(args.get("case", "")),
            rma_number=str(args.get("rma", "")),
            vendor_engineer=args.get("engineer", ""),
            vendor_opened_at=when("opened"),
            vendor_closed_at=when("closed"),
            downtime_start=self.moment(down[0], raised) if down[0] is not None else None,
            downtime_end=self.moment(down[1], raised) if down[1] is not None else None,
            cost=Decimal(str(args["cost"])) if "cost" in args else None,
            parts=[
                services.PartInput(str(part), str(out), str(into), int(quantity))
                for part, out, into, quantity in args.get("parts", [])
            ],
        )
        repair = services.record_repair(
            data, request_id=req.id, client_id=f"{req.client_id}-repair"
        )
        repair.created_at = at
        customer = args.get("customer", "")
        services.sign_repair(  # the engineer's name: the acting engineer's full name
            repair,
            engineer_signature=signature_png(current_actor()[1]),
            customer_signature=signature_png(customer) if customer else "",
            customer_name=customer,
            at=when("signed") or at,
        )
        self.made["repairs"] += 1

    # --- the whole desk ----------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        """Every request in the order it was raised (its number follows it), each taken to
        its last step before the next is logged."""
        planned = []
        for spec in self.data["history"] + self.data["today"]:
            found = self.origin(spec)
            if found is not None:
                planned.append((found[0], found[1], spec))
        for number, (at, source, spec) in enumerate(sorted(planned, key=lambda p: p[0]), 1):
            with self.person(spec["by"]):
                req = self.open(spec, number, at, source)
            req.created_at = req.raised_at
            self.run_steps(req, spec)
            self.made["requests"] += 1
        db.session().flush()
        return self.made


def seed_requests(built: Built, now: datetime) -> dict[str, int]:
    """The requests of ``servicedesk.yaml`` (after the alerts and patrol rounds they refer to):
    counts of requests, repairs and surveys answered."""
    return _Desk(built, now).run()
