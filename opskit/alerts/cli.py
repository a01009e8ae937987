"""`opskit sla ...`: ask the service-level clock."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import click
from flask.cli import AppGroup

from opskit import clock, db, jobs
from opskit.alerts import notify
from opskit.alerts.queries import current_policy, policy_problems
from opskit.audit import acting_as
from opskit.calendar import (
    NEXT_YEAR_HORIZON_DAYS,
    PACKAGE,
    SITE,
    arrangements_path,
    describe_year,
    site_arrangements,
    unloaded_years,
    years_in_view,
)
from opskit.sla import CLOCKS, REQUEST_CLOCKS, Policy, PolicyError, format_target

sla_cli = AppGroup("sla", help="Service levels: deadlines on the contract's clocks.")

LABELS = {
    "acknowledge": "acknowledge (响应)",
    "onsite": "on site (到场)",
    "resolve": "resolve (解决)",
    "fix_by": "fixed by (排除)",
}


def _parse_local(text: str, tz: ZoneInfo) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(
            f'{text!r}: expected a local time like "2026-09-30 16:00"', param_hint="--at"
        ) from None
    return moment.replace(tzinfo=tz) if moment.tzinfo is None else moment


def _parse_period(text: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start, sep, end = text.partition("/")
    if not sep:
        raise click.BadParameter(
            f'{text!r}: expected "START/END", e.g. "2026-12-04 16:30/2026-12-07 09:00"',
            param_hint="--suspended",
        )
    period = _parse_local(start, tz), _parse_local(end, tz)
    if period[1] < period[0]:
        raise click.BadParameter(f"{text!r}: ends before it starts", param_hint="--suspended")
    return period


def _minutes(moment: datetime) -> str:
    """ISO 8601 local time to the minute: 2026-10-09T17:00."""
    return moment.strftime("%Y-%m-%dT%H:%M")


@sla_cli.command("deadlines")
@click.option(
    "--for",
    "kind",
    type=click.Choice(["alert", "request"]),
    default="alert",
    show_default=True,
    help="An alert's clocks, or an employee's request's (with the 2nd-working-day cap fix_by).",
)
@click.option("--urgency", type=click.Choice(["A", "B", "C"]), required=True)
@click.option(
    "--at", "at", help='Local time the alert was raised, e.g. "2026-09-30 16:00"; default: now.'
)
@click.option(
    "--suspended",
    multiple=True,
    help='A request suspended (挂起) from START to END, local times: "2026-12-04 16:30/'
    '2026-12-07 09:00"; may be repeated.',
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def deadlines(
    kind: str, urgency: str, at: str | None, suspended: tuple[str, ...], as_json: bool
) -> None:
    """Acknowledge, on-site and resolve deadlines for an alert raised at a local time; with
    --for request, a request's, and fix_by (fixed by the end of the 2nd working day after the
    day of the request).

    Every clock counts from the raise (a policy whose resolve is shorter than its on-site target
    is refused); the deadlines are those the alert pages and reports use."""
    try:
        policy = current_policy()
    except PolicyError as exc:  # the shipped default itself is broken
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for problem in policy_problems():
        click.echo(f"warning: policy not used, the shipped default applies: {problem}", err=True)
    tz = policy.calendar.tz
    raised = _parse_local(at, tz) if at else clock.now().astimezone(tz)
    if kind == "request":
        _request_deadlines(policy, urgency, raised, suspended, as_json)
        return
    if suspended:
        raise click.BadParameter("only a request is suspended", param_hint="--suspended")
    result = policy.deadlines(urgency, raised)
    level = policy.level_for(urgency)
    if as_json:
        payload: dict[str, object] = {clock: result[clock].isoformat() for clock in CLOCKS}
        payload.update(
            urgency=urgency,
            level=level.number,
            hours=level.hours,
            raised_at=raised.astimezone(tz).isoformat(),
            targets={which: format_target(level.targets[which]) for which in CLOCKS},
            counted_from="raised_at",
        )
        click.echo(json.dumps(payload, ensure_ascii=False))
        return
    click.echo(f"urgency {urgency}: level {level.number} ({level.name}), {level.hours}")
    click.echo(f"raised at            {raised.astimezone(tz).isoformat()}")
    kind = " of working time" if level.hours == "working" else ""
    for which in CLOCKS:
        target = format_target(level.targets[which])
        click.echo(
            f"{LABELS[which]:20} {result[which].isoformat()}  ({target}{kind} from the raise)"
        )
    _calendar_note(policy, raised, result["resolve"])


def _request_deadlines(
    policy: Policy, urgency: str, raised: datetime, suspended: tuple[str, ...], as_json: bool
) -> None:
    tz = policy.calendar.tz
    periods = [_parse_period(text, tz) for text in suspended]
    result = policy.deadlines(urgency, raised, kind="request", suspended=periods)
    if as_json:
        click.echo(json.dumps({which: _minutes(result[which]) for which in REQUEST_CLOCKS}))
        return
    level = policy.level_for(urgency, "request")
    click.echo(f"request, urgency {urgency}: level {level.number} ({level.name}), {level.hours}")
    click.echo(f"raised at            {_minutes(raised.astimezone(tz))}")
    for start, end in periods:
        click.echo(f"suspended            {_minutes(start)} to {_minutes(end)}")
    kind = " of working time" if level.hours == "working" else ""
    for which in CLOCKS:
        target = format_target(level.targets[which])
        click.echo(f"{LABELS[which]:20} {_minutes(result[which])}  ({target}{kind} from the raise)")
    click.echo(
        f"{LABELS['fix_by']:20} {_minutes(result['fix_by'])}  (end of working day "
        f"{level.fix_by_working_days} after the day of the request"
        f"{', plus the suspended working time' if periods else ''})"
    )
    _calendar_note(policy, raised, result["fix_by"])


def _calendar_note(policy: Policy, start: datetime, end: datetime) -> None:
    """Say so when a year from ``start`` to ``end`` has no official holiday arrangement."""
    years = [
        str(y)
        for y in range(start.astimezone(policy.calendar.tz).year, end.year + 1)
        if not policy.calendar.covered(y)
    ]
    if years:
        click.echo(
            f"note: the holiday arrangement of {', '.join(years)} is not loaded: 5x8 deadlines "
            "assume Monday to Friday with only the fixed-date holidays off and may be wrong; "
            f"enter it at /admin/calendar or in {arrangements_path()} (opskit sla calendar)",
            err=True,
        )


@sla_cli.command("calendar")
@click.option(
    "--year",
    type=int,
    help="Only this year (default: last, this and next year, the years of the site file, "
    "and the calendar package's years from last year on).",
)
def calendar(year: int | None) -> None:
    """The working calendar's years: loaded or not, from where (the calendar package or the
    site file <instance>/holidays.yaml), their holidays and make-up working days, and the
    SLA policy's own dates (which win). Problems of the site file are printed as warnings."""
    try:
        policy = current_policy()
    except PolicyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    site = site_arrangements()
    for problem in site.problems:
        click.echo(f"warning: not loaded: {problem}", err=True)
    cal = policy.calendar
    today = clock.site_today()
    years = [year] if year is not None else years_in_view(cal, today)
    for which in years:
        view = describe_year(cal, which)
        if view.source == SITE:
            where = f"site file ({view.note})"
            if view.replaces_package:
                where += ", replaces the calendar package for this year"
        elif view.source == PACKAGE:
            where = f"calendar package (chinese-calendar {view.note})"
        else:
            where = (
                "5x8 clocks assume Monday to Friday with only the fixed-date holidays off; "
                f"enter it at /admin/calendar or in {site.path}"
            )
        click.echo(f"{which}  {'loaded' if view.loaded else 'NOT LOADED':10}  {where}")
        if view.loaded:
            click.echo(f"  holidays:  {'; '.join(d.text() for d in view.holidays)}")
            click.echo(
                f"  make-up working days:  {'; '.join(d.text() for d in view.workdays) or '-'}"
            )
        own = sorted((d, w) for d, w in cal.overrides.items() if d.year == which)
        if own:
            dates = ", ".join(f"{d.isoformat()} {'workday' if w else 'holiday'}" for d, w in own)
            click.echo(f"  the SLA policy's own dates (they win):  {dates}")
    missing = unloaded_years(cal, today)
    if missing and year is None:
        click.echo(
            f"note: not loaded and relevant now: {', '.join(str(y) for y in missing)} "
            f"(this year, and next year from {NEXT_YEAR_HORIZON_DAYS} days before it)",
            err=True,
        )


notify_cli = AppGroup("notify", help="Send alert notifications (e-mail, webhook, WeCom, DingTalk).")


@notify_cli.command("run")
@click.option("--once", is_flag=True, help="One pass, then exit (for cron or tests).")
@click.option("--interval", default=10, show_default=True, help="Seconds between passes.")
def notify_run(once: bool, interval: int) -> None:
    """Fan new alert events out to channels and send what is due, with retries; between passes,
    the periodic jobs the packages registered (``opskit.jobs``: the scheduled report packs,
    checked every 10 minutes)."""
    next_at: dict[str, float] = {}
    with acting_as("notifier"):
        while True:
            made, sent = notify.run_once()
            if made or sent:
                click.echo(f"{db.utcnow().isoformat()} deliveries queued {made}, sent {sent}")
            db.session().close()
            for job in jobs.due(next_at, time.monotonic()):
                _run_job(job)
            if once:
                return
            time.sleep(interval)


def _run_job(job: jobs.Job) -> None:
    """One periodic job; a failure is reported and the job tried again at its next turn."""
    try:
        for made in jobs.run(job):
            click.echo(f"{db.utcnow().isoformat()} {job.name} built: {made}")
    except Exception as exc:  # the notifier must keep running
        db.session().rollback()
        click.echo(f"{job.name} not built: {exc}", err=True)
    finally:
        db.session().close()
