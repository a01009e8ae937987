"""`opskit requests list [--open] [--json]`."""

from __future__ import annotations

import json
from datetime import timedelta

from click.testing import CliRunner
from flask.cli import ScriptInfo

from opskit import clock, db
from opskit.cli import cli
from opskit.servicedesk import services
from tests.servicedesk.util import MIN, new


def _run(db_app, *args: str):
    result = CliRunner().invoke(
        cli, ["requests", "list", *args], obj=ScriptInfo(create_app=lambda: db_app)
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_list_open_as_json(db_app, site) -> None:
    t0 = (clock.now() - timedelta(hours=1)).replace(second=0, microsecond=0)
    with db_app.app_context():
        open_one = new(t0, "A", asset_tag="SRV-01", client_id="cli-list-open")
        done = new(t0, "C", client_id="cli-list-done")
        services.resolve(done, "已处理", at=t0 + MIN)
        services.respond(open_one, at=t0 + 2 * MIN)
        db.session().commit()
        number, done_number = open_one.number, done.number
    rows = json.loads(_run(db_app, "--open", "--json"))
    assert [r["number"] for r in rows] == [number]
    (row,) = rows
    site_t0 = t0.astimezone(clock.site_tz())
    assert row["raised_at"] == site_t0.strftime("%Y-%m-%dT%H:%M")
    assert (row["status"], row["urgency"], row["category"], row["channel"]) == (
        "responded",
        "A",
        "hardware",
        "phone",
    )
    assert row["requester_name"] == "王芳" and row["asset_id"] == site.server.id
    assert set(row["clocks"]) == {"acknowledge", "onsite", "resolve", "fix_by"}
    assert row["clocks"]["acknowledge"]["state"] == "met"
    assert row["clocks"]["onsite"] == {
        "deadline": (site_t0 + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "state": "running",
        "done_at": None,
    }
    assert row["needs_temporary_measure"] is False
    everything = json.loads(_run(db_app, "--json"))
    assert {r["number"] for r in everything} == {number, done_number}
    text = _run(db_app)
    assert number in text and done_number in text and "onsite" in text


def test_list_of_nothing(db_app) -> None:
    assert _run(db_app, "--open") == "no requests\n"
    assert json.loads(_run(db_app, "--json")) == []
