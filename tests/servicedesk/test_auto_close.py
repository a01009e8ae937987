"""Auto-close: a resolved request nobody confirmed closes at the end of the Nth working day after
the day it was resolved; by the job, the command, and with N from the settings."""

from __future__ import annotations

from datetime import timedelta

from click.testing import CliRunner
from flask.cli import ScriptInfo

from opskit import clock
from opskit.alerts.queries import current_policy
from opskit.cli import cli
from opskit.servicedesk import services
from opskit.servicedesk.models import ServiceRequest
from tests.servicedesk.util import MIN, events, new


def _working_days_between(start, end) -> int:
    """Working days after the day of ``start`` up to and including the day of ``end``."""
    calendar = current_policy().calendar
    day, last = start.astimezone(calendar.tz).date(), end.astimezone(calendar.tz).date()
    count = 0
    while day < last:
        day += timedelta(days=1)
        count += calendar.is_workday(day)
    return count


def test_a_resolved_request_closes_after_three_working_days(ctx, site, t0) -> None:
    req = new(t0, "B")
    services.resolve(req, "更换硒鼓", at=t0 + 30 * MIN)
    other = new(t0, "B", client_id="still-open-01")
    services.respond(other, at=t0 + MIN)
    ctx.commit()
    due = services.auto_close_at(req.resolved_at, 3)
    assert _working_days_between(req.resolved_at, due) == 3
    assert due.astimezone(current_policy().calendar.tz).hour == 17
    assert services.auto_close_due(due - MIN) == []
    assert req.status == "resolved"
    closed = services.auto_close_due(due + MIN)
    assert closed == [req]
    assert (req.status, req.closed_how, req.closed_at, req.closed_by) == (
        "closed",
        "auto",
        due,
        "system",
    )
    assert events(req)[-1] == ("closed", "resolved", "closed", "auto")
    assert other.status == "responded"
    assert services.auto_close_due(due + 2 * MIN) == []


def test_n_comes_from_the_settings(ctx, site, t0, db_app) -> None:
    assert services.auto_close_days() == 3
    db_app.config["REQUEST_AUTO_CLOSE_DAYS"] = 1
    req = new(t0, "C")
    services.resolve(req, "已处理", at=t0 + MIN)
    due = services.auto_close_at(req.resolved_at, 1)
    assert _working_days_between(req.resolved_at, due) == 1
    assert services.auto_close_due(due + MIN) == [req]


def test_the_command_closes_what_is_due(db_app, site) -> None:
    with db_app.app_context():
        from opskit import db

        long_ago = clock.now() - timedelta(days=30)
        old = new(long_ago, "C", client_id="cli-old-0001")
        services.resolve(old, "已处理", at=long_ago + MIN)
        fresh = new(clock.now() - timedelta(minutes=10), "C", client_id="cli-fresh-01")
        services.resolve(fresh, "已处理", at=clock.now() - timedelta(minutes=5))
        db.session().commit()
        old_id, fresh_id, number = old.id, fresh.id, old.number
    runner = CliRunner()
    result = runner.invoke(
        cli, ["requests", "auto-close"], obj=ScriptInfo(create_app=lambda: db_app)
    )
    assert result.exit_code == 0, result.output
    assert f"{number} closed automatically" in result.output and "1 closed" in result.output
    with db_app.app_context():
        from opskit import db

        assert db.session().get(ServiceRequest, old_id).closed_how == "auto"
        assert db.session().get(ServiceRequest, fresh_id).status == "resolved"
