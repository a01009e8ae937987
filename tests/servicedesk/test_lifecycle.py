"""The life of a request: every step a row, illegal steps refused with the status named,
reassigning for supervisors, the engineer who responds takes the request."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from opskit.audit import acting_as
from opskit.servicedesk import queries, services
from opskit.servicedesk.models import ServiceRequest
from opskit.validation import ValidationFailed
from tests.servicedesk.util import MIN, events, kinds, new, user_id


def test_new_to_closed_records_every_step(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    with acting_as("engineer", user_id("engineer")):
        services.respond(req, "电话已回复", at=t0 + 2 * MIN)
        services.start_work(req, "onsite", at=t0 + 5 * MIN)
        services.arrive(req, "SRV-01", at=t0 + 40 * MIN)
        services.resolve(req, "进纸器卡纸", "取出卡纸，清洁搓纸轮", "搓纸轮 x1", at=t0 + 70 * MIN)
        services.close(req, at=t0 + 90 * MIN)
    ctx.commit()
    ctx.expire_all()
    row = ctx.get(ServiceRequest, req.id)
    assert row.status == "closed" and row.closed_how == "confirmed"
    assert (row.responded_at, row.onsite_at, row.resolved_at, row.closed_at) == (
        t0 + 2 * MIN,
        t0 + 40 * MIN,
        t0 + 70 * MIN,
        t0 + 90 * MIN,
    )
    assert (row.responded_by, row.onsite_by, row.resolved_by, row.closed_by) == ("engineer",) * 4
    assert (row.cause, row.work_done, row.parts_note) == (
        "进纸器卡纸",
        "取出卡纸，清洁搓纸轮",
        "搓纸轮 x1",
    )
    assert (row.work_mode, row.onsite_how, row.onsite_tag) == ("onsite", "asset", "SRV-01")
    assert row.assigned_to == "engineer"  # the engineer who responded took it
    assert events(row) == [
        ("opened", None, "new", ""),
        ("responded", "new", "responded", ""),
        ("assigned", None, None, "engineer"),
        ("work_started", "responded", "in_progress", "onsite"),
        ("onsite", "in_progress", "in_progress", "SRV-01"),
        ("resolved", "in_progress", "resolved", ""),
        ("closed", "resolved", "closed", "confirmed"),
    ]
    history = queries.get_request(req.id)
    assert history is not None
    assert [e.note for e in history.events][1] == "电话已回复"
    assert [e.actor for e in history.events][1:] == ["engineer"] * 6


def test_fixed_on_the_phone_records_the_response_too(ctx, site, t0) -> None:
    req = new(t0)
    services.resolve(req, "密码过期", "重置密码", at=t0 + 4 * MIN)
    assert (req.status, req.responded_at, req.resolved_at) == (
        "resolved",
        t0 + 4 * MIN,
        t0 + 4 * MIN,
    )
    assert [(k, f, t) for k, f, t, _d in events(req)] == [
        ("opened", None, "new"),
        ("responded", "new", "responded"),
        ("resolved", "responded", "resolved"),
    ]


ILLEGAL = [
    ("close a new request", [], lambda r, t: services.close(r, at=t)),
    ("resume a request never suspended", [], lambda r, t: services.resume(r, at=t)),
    ("reopen a new request", [], lambda r, t: services.reopen(r, "again", at=t)),
    ("suspend a new request", [], lambda r, t: services.suspend(r, "waiting_vendor", at=t)),
    ("respond twice", ["respond"], lambda r, t: services.respond(r, at=t)),
    ("resolve a closed request", ["resolve", "close"], lambda r, t: services.resolve(r, "x", at=t)),
    ("work on a resolved one", ["resolve"], lambda r, t: services.start_work(r, "remote", at=t)),
    (
        "suspend a resolved one",
        ["resolve"],
        lambda r, t: services.suspend(r, "waiting_vendor", at=t),
    ),
    (
        "measure on a closed one",
        ["resolve", "close"],
        lambda r, t: services.set_temporary_measure(r, "备机", at=t),
    ),
]


@pytest.mark.parametrize(("case", "before", "step"), ILLEGAL, ids=[c for c, *_ in ILLEGAL])
def test_an_illegal_step_is_refused_naming_the_status(ctx, site, t0, case, before, step) -> None:
    req = new(t0)
    t = t0 + MIN
    for name in before:
        if name == "respond":
            services.respond(req, at=t)
        elif name == "resolve":
            services.resolve(req, "原因", at=t)
        elif name == "close":
            services.close(req, at=t)
    ctx.commit()
    status, history = req.status, events(req)
    with pytest.raises(ValidationFailed) as caught:
        step(req, t + MIN)
    message = caught.value.errors["status"][0]
    assert req.number in message
    assert {"new": "新建", "responded": "已响应", "resolved": "已解决", "closed": "已关闭"}[
        status
    ] in message
    ctx.rollback()
    assert req.status == status and events(req) == history


def test_resolve_needs_a_cause_and_changes_nothing_without(ctx, site, t0) -> None:
    req = new(t0)
    with pytest.raises(ValidationFailed) as caught:
        services.resolve(req, "  ", "重启", at=t0 + MIN)
    assert list(caught.value.errors) == ["cause"]
    assert req.status == "new" and req.resolved_at is None and kinds(req) == ["opened"]


def test_a_step_another_tablet_took_first_is_refused(ctx, site, t0) -> None:
    req = new(t0)
    ctx.commit()
    # a colleague responded meanwhile: the row changed behind this session's back
    ctx.execute(
        update(ServiceRequest)
        .where(ServiceRequest.id == req.id)
        .values(status="responded")
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(ValidationFailed) as caught:
        services.respond(req, at=t0 + MIN)
    assert "已响应" in caught.value.errors["status"][0]
    assert kinds(req) == ["opened"]


def test_suspend_and_resume_go_back_where_they_were(ctx, site, t0) -> None:
    req = new(t0)
    services.start_work(req, "remote", at=t0 + MIN)
    services.suspend(req, "waiting_requester", "报修人外出", at=t0 + 10 * MIN)
    assert req.status == "suspended"
    services.resume(req, at=t0 + 40 * MIN)
    assert req.status == "in_progress"
    (suspension,) = req.suspensions
    assert (suspension.started_at, suspension.ended_at, suspension.reason) == (
        t0 + 10 * MIN,
        t0 + 40 * MIN,
        "waiting_requester",
    )
    assert suspension.note == "报修人外出" and suspension.status_before == "in_progress"
    assert events(req)[-2:] == [
        ("suspended", "in_progress", "suspended", "waiting_requester"),
        ("resumed", "suspended", "in_progress", ""),
    ]


def test_resolving_a_suspended_request_ends_its_suspension(ctx, site, t0) -> None:
    req = new(t0)
    services.respond(req, at=t0 + MIN)
    services.suspend(req, "waiting_vendor", at=t0 + 5 * MIN)
    services.resolve(req, "厂商更换主板", at=t0 + 50 * MIN)
    assert req.suspensions[0].ended_at == t0 + 50 * MIN
    assert events(req)[-2:] == [
        ("resumed", "suspended", "responded", ""),
        ("resolved", "responded", "resolved", ""),
    ]


def test_a_bad_reason_or_mode_is_named(ctx, site, t0) -> None:
    req = new(t0)
    with pytest.raises(ValidationFailed) as caught:
        services.start_work(req, "teleport", at=t0 + MIN)
    assert list(caught.value.errors) == ["mode"]
    services.respond(req, at=t0 + MIN)
    with pytest.raises(ValidationFailed) as caught:
        services.suspend(req, "lunch", at=t0 + 2 * MIN)
    assert list(caught.value.errors) == ["reason"]
    with pytest.raises(ValidationFailed) as caught:
        services.respond(new(t0, client_id="another-one-1"), at=t0 - MIN)
    assert list(caught.value.errors) == ["at"]


def test_reopen_after_close_works_the_request_again(ctx, site, t0) -> None:
    req = new(t0)
    services.resolve(req, "网线松动", at=t0 + 10 * MIN)
    services.close(req, at=t0 + 20 * MIN)
    with pytest.raises(ValidationFailed) as caught:
        services.reopen(req, " ", at=t0 + 30 * MIN)
    assert list(caught.value.errors) == ["note"]
    services.reopen(req, "又断网了", at=t0 + 30 * MIN)
    assert req.status == "in_progress"
    assert (req.resolved_at, req.closed_at, req.closed_how) == (None, None, None)
    assert events(req)[-1] == ("reopened", "closed", "in_progress", "")
    resolve = queries.clocks_of(req, t0 + 31 * MIN)[2]
    assert resolve.clock == "resolve" and resolve.done_at is None


def test_a_repeated_tap_records_nothing_twice(ctx, site, t0) -> None:
    req = new(t0, asset_tag="SRV-01")
    services.start_work(req, "onsite", at=t0 + MIN)
    services.start_work(req, "onsite", at=t0 + 2 * MIN)
    services.arrive(req, "SRV-01", at=t0 + 3 * MIN)
    services.arrive(req, "SRV-01", at=t0 + 4 * MIN)
    assert req.onsite_at == t0 + 3 * MIN
    assert kinds(req) == ["opened", "responded", "work_started", "onsite"]


def test_supervisors_assign_engineers_do_not(ctx, site, t0) -> None:
    req = new(t0)
    with acting_as("engineer", user_id("engineer")), pytest.raises(services.NotAllowed):
        services.assign(req, "engineer", at=t0 + MIN)
    with acting_as("supervisor", user_id("supervisor")):
        with pytest.raises(ValidationFailed) as caught:
            services.assign(req, "viewer", at=t0 + MIN)
        assert list(caught.value.errors) == ["assigned_to"]
        with pytest.raises(ValidationFailed):
            services.assign(req, "nobody", at=t0 + MIN)
        services.assign(req, "Engineer", at=t0 + MIN)
    assert req.assigned_to == "engineer"
    assert events(req)[-1] == ("assigned", None, None, "engineer")
    assert events(req)[-1] and ctx.get(ServiceRequest, req.id).events[-1].actor == "supervisor"


def test_a_viewer_logs_a_request_and_may_not_work_it(ctx, site, t0) -> None:
    with acting_as("viewer", user_id("viewer")):
        mine = new(t0)
        with pytest.raises(services.NotAllowed):
            services.respond(mine, at=t0 + MIN)
    services.resolve(mine, "已处理", at=t0 + 2 * MIN)
    theirs = new(t0, client_id="someone-else-1")
    services.resolve(theirs, "已处理", at=t0 + 2 * MIN)
    with acting_as("viewer", user_id("viewer")):
        services.close(mine, at=t0 + 3 * MIN)  # the requester confirms
        with pytest.raises(services.NotAllowed):
            services.close(theirs, at=t0 + 3 * MIN)
    assert (mine.status, theirs.status) == ("closed", "resolved")


def test_my_queue_holds_mine_and_the_unassigned_nearest_deadline_first(ctx, site, t0) -> None:
    c_later = new(t0, "C", client_id="queue-c-0001")
    a_first = new(t0 + 30 * MIN, "A", client_id="queue-a-0001")
    taken = new(t0, "A", client_id="queue-taken-1")
    with acting_as("supervisor", user_id("supervisor")):
        services.assign(taken, "supervisor", at=t0 + MIN)
    mine = new(t0 + 10 * MIN, "B", client_id="queue-mine-01")
    with acting_as("engineer", user_id("engineer")):
        services.respond(mine, at=t0 + 11 * MIN)  # takes it
    closed = new(t0, "A", client_id="queue-closed-1")
    services.resolve(closed, "x", at=t0 + MIN)
    ctx.commit()
    now = t0 + 12 * MIN
    queue = queries.my_queue("engineer", now)
    assert [v.request.id for v in queue][:2] == [a_first.id, mine.id]
    assert {v.request.id for v in queue} == {a_first.id, mine.id, c_later.id}
    # a_first: acknowledge due t0+35; mine: onsite due t0+10+2h; the C request's depends on
    # the calendar but comes after a running A acknowledge clock
    assert queue[0].next_clock is not None and queue[0].next_clock.clock == "acknowledge"
    count, nearest = queries.open_count_and_nearest(now)
    assert count == 4  # closed is resolved, the other four are open
    assert nearest is not None and nearest.next_clock is not None
    assert nearest.next_clock.deadline == min(
        v.next_clock.deadline
        for v in queries.with_clocks([c_later, a_first, taken, mine], now)
        if v.next_clock
    )
