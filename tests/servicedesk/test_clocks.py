"""A request's clocks come from the one SLA engine: 7x24 levels counted by hand, a suspension
moving them, remote work answering the on-site clock, a 5x8 clock paused out of hours, and the
fix-by cap calling for a temporary measure."""

from __future__ import annotations

from datetime import datetime, timedelta

from opskit.alerts.queries import current_policy
from opskit.servicedesk import queries, services
from opskit.servicedesk.queries import RequestClock
from tests.servicedesk.util import MIN, new

H = timedelta(hours=1)


def _by_name(clocks: list[RequestClock]) -> dict[str, RequestClock]:
    return {c.clock: c for c in clocks}


def test_an_a_request_runs_the_contracts_clocks(ctx, site, t0) -> None:
    req = new(t0, "A")
    clocks = _by_name(queries.clocks_of(req, t0 + 10 * MIN))
    assert [c.deadline for c in clocks.values()][:3] == [t0 + 5 * MIN, t0 + 2 * H, t0 + 3 * H]
    fix_by = current_policy().calendar.end_of_working_day_after(t0, 2)
    assert clocks["fix_by"].deadline == fix_by and fix_by.hour == 17
    assert clocks["acknowledge"].state == "overdue"
    assert clocks["acknowledge"].remaining == -5 * MIN
    assert (clocks["onsite"].state, clocks["onsite"].percent_used) == ("running", 8.3)
    assert clocks["onsite"].remaining == 110 * MIN and not clocks["onsite"].warning


def test_done_clocks_are_met_or_done_late(ctx, site, t0) -> None:
    req = new(t0, "B")
    services.respond(req, at=t0 + 7 * MIN)  # 2 minutes late
    services.arrive(req, "SRV-01", at=t0 + 90 * MIN)
    clocks = _by_name(queries.clocks_of(req, t0 + 100 * MIN))
    assert (clocks["acknowledge"].state, clocks["acknowledge"].done_at) == ("missed", t0 + 7 * MIN)
    assert (clocks["onsite"].state, clocks["onsite"].percent_used) == ("met", 75.0)
    assert clocks["resolve"].state == "running"


def test_a_suspension_moves_the_clocks_by_its_length(ctx, site, t0) -> None:
    req = new(t0, "A")
    services.respond(req, at=t0 + MIN)
    services.suspend(req, "waiting_vendor", at=t0 + 30 * MIN)
    during = _by_name(queries.clocks_of(req, t0 + 70 * MIN))
    # open suspension counted up to now: 40 min so far
    assert during["onsite"].deadline == t0 + 2 * H + 40 * MIN
    assert during["onsite"].state == "paused" and during["resolve"].state == "paused"
    assert during["onsite"].percent_used == 25.0  # 30 of 120 running minutes
    assert during["acknowledge"].state == "met"
    services.resume(req, at=t0 + 90 * MIN)
    after = _by_name(queries.clocks_of(req, t0 + 100 * MIN))
    assert after["onsite"].deadline == t0 + 3 * H  # 2 h + the hour suspended
    assert after["resolve"].deadline == t0 + 4 * H
    assert after["onsite"].state == "running" and after["onsite"].percent_used == 33.3
    # fix_by moves by the working time suspended (none, or part of the hour, on the calendar)
    calendar = current_policy().calendar
    suspended_working = calendar.working_time_between(t0 + 30 * MIN, t0 + 90 * MIN)
    cap = calendar.end_of_working_day_after(t0, 2)
    expected = calendar.add_working_time(cap, suspended_working) if suspended_working else cap
    assert after["fix_by"].deadline == expected


def test_a_clock_overdue_before_the_suspension_stays_overdue(ctx, site, t0) -> None:
    req = new(t0, "A")
    services.respond(req, at=t0 + MIN)
    services.suspend(req, "waiting_requester", at=t0 + 150 * MIN)  # after the on-site deadline
    onsite = _by_name(queries.clocks_of(req, t0 + 160 * MIN))["onsite"]
    assert (onsite.deadline, onsite.state) == (t0 + 2 * H, "overdue")


def test_remote_work_answers_the_on_site_clock(ctx, site, t0) -> None:
    req = new(t0, "A")
    services.start_work(req, "remote", at=t0 + 3 * MIN)
    clocks = _by_name(queries.clocks_of(req, t0 + 4 * H))
    assert (clocks["onsite"].state, clocks["onsite"].done_at) == ("met", t0 + 3 * MIN)
    assert clocks["resolve"].state == "overdue"


def _non_working_moment(ctx_now: datetime) -> datetime:
    """10:00 site time on the latest day before today that is not a working day."""
    calendar = current_policy().calendar
    day = ctx_now.astimezone(calendar.tz).date() - timedelta(days=1)
    while calendar.is_workday(day):
        day -= timedelta(days=1)
    return datetime.combine(day, datetime.min.time().replace(hour=10), calendar.tz)


def test_a_c_request_on_a_day_off_is_paused_until_work_begins(ctx, site, t0) -> None:
    raised = _non_working_moment(t0 + timedelta(days=1))
    req = new(raised, "C")
    clocks = _by_name(queries.clocks_of(req, raised + H))
    calendar = current_policy().calendar
    start, _end = next(calendar.periods_from(raised))
    for name in ("acknowledge", "onsite", "resolve", "fix_by"):
        assert clocks[name].state == "paused", name
        assert clocks[name].resumes_at == start
        assert clocks[name].percent_used == 0.0
    assert clocks["acknowledge"].deadline == start + 5 * MIN
    assert clocks["onsite"].deadline == calendar.add_working_time(raised, 4 * H)


def test_past_fix_by_unresolved_needs_a_temporary_measure(ctx, site, t0) -> None:
    req = new(t0, "B")
    services.respond(req, at=t0 + MIN)
    fix_by = _by_name(queries.clocks_of(req, t0 + 2 * MIN))["fix_by"].deadline
    before, after = fix_by - MIN, fix_by + MIN
    (view,) = queries.with_clocks([req], before)
    assert not view.needs_temporary_measure and view.clock("fix_by").state != "overdue"
    (view,) = queries.with_clocks([req], after)
    assert view.needs_temporary_measure and view.clock("fix_by").state == "overdue"
    services.set_temporary_measure(req, "借用备机 SPARE-01", site.spare.id, at=after)
    (view,) = queries.with_clocks([req], after + MIN)
    assert not view.needs_temporary_measure
    assert view.clock("fix_by").state == "overdue"  # the cap is still missed, but covered


def test_resolved_in_time_needs_no_measure(ctx, site, t0) -> None:
    req = new(t0, "C")
    services.resolve(req, "驱动重装", at=t0 + 20 * MIN)
    (view,) = queries.with_clocks([req], t0 + timedelta(days=30))
    assert not view.needs_temporary_measure
    assert view.clock("fix_by").state in ("met", "missed") and view.next_clock is None
