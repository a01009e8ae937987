"""The SLA watch: a warning at 75 % and a breach per clock, each recorded once and told to the
team once through the alerts' notification channels (a notice: an alert resolved at once)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from opskit import db, jobs
from opskit.alerts import notify
from opskit.alerts.models import Alert, AlertEvent, Delivery, NotificationChannel
from opskit.servicedesk import queries, services
from tests.servicedesk.util import MIN, events, new

H = timedelta(hours=1)


def _sla(req) -> list[tuple[str, str]]:
    return [(kind, detail) for kind, _f, _t, detail in events(req) if kind.startswith("sla_")]


def _notices() -> list[Alert]:
    return list(
        db.session().scalars(select(Alert).where(Alert.source == "servicedesk").order_by(Alert.id))
    )


def test_warnings_and_breaches_are_recorded_once_each(ctx, site, t0) -> None:
    req = new(t0, "A", asset_tag="SRV-01")
    services.respond(req, at=t0 + MIN)
    ctx.commit()
    assert services.watch_clocks(t0 + 80 * MIN) == []  # on site 67 %: nothing yet
    made = services.watch_clocks(t0 + 95 * MIN)  # on site 79 %
    assert made == [f"{req.number} onsite sla_warning"]
    assert services.watch_clocks(t0 + 100 * MIN) == []  # once
    assert services.watch_clocks(t0 + 121 * MIN) == [f"{req.number} onsite sla_breached"]
    assert services.watch_clocks(t0 + 140 * MIN) == [f"{req.number} resolve sla_warning"]
    assert services.watch_clocks(t0 + 150 * MIN) == []
    ctx.commit()
    assert _sla(req) == [
        ("sla_warning", "onsite"),
        ("sla_breached", "onsite"),
        ("sla_warning", "resolve"),
    ]
    assert {e.actor for e in req.events if e.kind.startswith("sla_")} == {"sla"}


def test_each_event_is_one_notice_through_the_channels(ctx, site, t0) -> None:
    channel = NotificationChannel(
        name="值班群", kind="webhook", settings={"url": "http://127.0.0.1:9/hook"}, urgencies="AB"
    )
    ctx.add(channel)
    req = new(t0, "A", asset_tag="SRV-01")
    services.respond(req, at=t0 + MIN)
    services.watch_clocks(t0 + 95 * MIN)
    services.watch_clocks(t0 + 121 * MIN)
    ctx.commit()
    notices = _notices()
    assert [(n.rule, n.urgency, n.status, n.asset_id) for n in notices] == [
        ("servicedesk.request.onsite", "A", "resolved", site.server.id),
        ("servicedesk.request.onsite", "A", "resolved", site.server.id),
    ]
    assert notices[0].room_id == site.server.room_id
    assert req.number in notices[0].message and "即将到期" in notices[0].message
    assert "已超过到场时限" in notices[1].message
    assert [n.dedup_key for n in notices] == [
        f"servicedesk:request={req.id}:onsite:sla_warning",
        f"servicedesk:request={req.id}:onsite:sla_breached",
    ]
    raised = ctx.scalars(select(AlertEvent).where(AlertEvent.alert_id.in_([n.id for n in notices])))
    assert [(e.kind, e.notify, e.urgency) for e in raised] == [("raised", True, "A")] * 2
    # the notifier routes them like any alert event: one delivery each to the A/B channel
    assert notify.fan_out(t0 + 122 * MIN) == 2
    deliveries = ctx.scalars(select(Delivery)).all()
    assert {d.channel_id for d in deliveries} == {channel.id}
    # a notice runs no alert clock of its own and waits in no open list
    assert notify.watch_clocks(t0 + 10 * H) == 0


def test_a_clock_first_seen_overdue_gets_only_its_breach(ctx, site, t0) -> None:
    req = new(t0, "B")
    made = services.watch_clocks(t0 + 10 * MIN)
    assert made == [f"{req.number} acknowledge sla_breached"]
    assert _sla(req) == [("sla_breached", "acknowledge")]


def test_a_suspended_request_is_not_warned_while_it_waits(ctx, site, t0) -> None:
    req = new(t0, "A")
    services.respond(req, at=t0 + MIN)
    services.suspend(req, "waiting_vendor", at=t0 + 30 * MIN)
    assert services.watch_clocks(t0 + 5 * H) == []  # clocks stand still at 25 %
    services.resume(req, at=t0 + 5 * H)
    # 30 min ran before, 65 min after: 95 of 120 → warning
    assert services.watch_clocks(t0 + 5 * H + 65 * MIN) == [f"{req.number} onsite sla_warning"]


def test_the_fix_by_breach_asks_for_a_temporary_measure(ctx, site, t0) -> None:
    req = new(t0, "C")
    services.start_work(req, "remote", at=t0 + MIN)
    fix_by = queries.with_clocks([req], t0 + MIN)[0].clock("fix_by").deadline
    made = services.watch_clocks(fix_by + MIN)
    assert f"{req.number} fix_by sla_breached" in made
    notice = [n for n in _notices() if n.rule == "servicedesk.request.fix_by"][-1]
    assert "请采取临时应急措施" in notice.message


def test_closed_and_resolved_requests_are_not_watched(ctx, site, t0) -> None:
    req = new(t0, "A")
    services.resolve(req, "重启", at=t0 + 2 * MIN)
    assert services.watch_clocks(t0 + 10 * H) == []


def test_the_periodic_jobs_are_registered_and_commit(ctx, site, db_app, t0) -> None:
    assert jobs.JOBS["request clocks"].every == 60
    assert jobs.JOBS["request auto-close"].every == 600
    req = new(t0, "A")
    ctx.commit()
    made = services.run_clock_job()  # now is a day after the raise: every clock overdue
    assert made[:3] == [
        f"{req.number} acknowledge sla_breached",
        f"{req.number} onsite sla_breached",
        f"{req.number} resolve sla_breached",
    ]
    # the fix-by cap is days away or not, by the calendar: at most one event of it
    assert made[3:] in (
        [],
        [f"{req.number} fix_by sla_warning"],
        [f"{req.number} fix_by sla_breached"],
    )
    ctx.rollback()  # the job committed: still there
    assert len(_sla(req)) == len(made)
    assert services.run_clock_job() == []
