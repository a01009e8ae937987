"""`opskit requests ...`: the service requests from the command line."""

from __future__ import annotations

import json
from datetime import datetime

import click
from flask.cli import AppGroup

from opskit import db
from opskit.audit import acting_as, cli_actor
from opskit.clock import site_tz
from opskit.servicedesk import queries, services
from opskit.servicedesk.queries import RequestView

requests_cli = AppGroup("requests", help="Service requests (服务请求): list them, auto-close them.")


def _minutes(moment: datetime | None) -> str | None:
    """ISO 8601 site time to the minute (2026-10-09T17:00), None for no moment."""
    if moment is None:
        return None
    return moment.astimezone(site_tz()).strftime("%Y-%m-%dT%H:%M")


def _as_dict(view: RequestView) -> dict[str, object]:
    req = view.request
    return {
        "id": req.id,
        "number": req.number,
        "status": req.status,
        "urgency": req.urgency,
        "channel": req.channel,
        "category": req.category,
        "title": req.title,
        "requester_name": req.requester_name,
        "requester_department": req.requester_department,
        "requester_phone": req.requester_phone,
        "asset_id": req.asset_id,
        "room_id": req.room_id,
        "assigned_to": req.assigned_to,
        "raised_at": _minutes(req.raised_at),
        "clocks": {
            c.clock: {
                "deadline": _minutes(c.deadline),
                "state": c.state,
                "done_at": _minutes(c.done_at),
            }
            for c in view.clocks
        },
        "needs_temporary_measure": view.needs_temporary_measure,
        "temporary_measure": req.temporary_measure,
    }


@requests_cli.command("list")
@click.option("--open", "open_only", is_flag=True, help="Only requests still being worked.")
@click.option("--json", "as_json", is_flag=True, help="A JSON list (times in site time).")
def list_cmd(open_only: bool, as_json: bool) -> None:
    """The requests, newest first, with the clock due next."""
    views = queries.with_clocks(queries.list_requests(open_only=open_only))
    if as_json:
        click.echo(json.dumps([_as_dict(v) for v in views], ensure_ascii=False, indent=2))
        return
    if not views:
        click.echo("no requests")
        return
    for view in views:
        req = view.request
        nxt = view.next_clock
        due = f"{nxt.clock} {_minutes(nxt.deadline)} {nxt.state}" if nxt else "-"
        flag = "  needs a temporary measure" if view.needs_temporary_measure else ""
        click.echo(
            f"{req.number}  {req.urgency}  {req.status:11}  {_minutes(req.raised_at)}  "
            f"{due:36}  {req.title}{flag}"
        )


@requests_cli.command("auto-close")
@click.option(
    "--days",
    type=click.IntRange(1, 30),
    default=None,
    help="Working days a resolved request waits for the requester (default "
    "OPSKIT_REQUEST_AUTO_CLOSE_DAYS, 3).",
)
def auto_close_cmd(days: int | None) -> None:
    """Close the resolved requests nobody confirmed within N working days."""
    with acting_as(cli_actor()):
        closed = db.write(lambda: services.auto_close_due(days=days))
    for req in closed:
        click.echo(f"{req.number} closed automatically")
    click.echo(f"{len(closed)} closed")
