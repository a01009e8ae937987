"""``opskit moves``: move plans (搬迁) from the command line.

- ``opskit moves create FILE.yaml [--name NAME] [--owner WHO]``: a plan from a file holding
  ``steps:`` (each ``asset`` tag, ``to_rack`` (name or ``room/rack``), ``to_u``, optional
  ``ports`` (``[{port, to_switch, to_port}]``) and ``address``) and optional ``name``,
  ``notes``. Exit 0 made, 2 the file is wrong (each problem printed, naming the step; nothing
  written).
- ``opskit moves list [--json]``, ``opskit moves show NAME [--json]``.

The steps are carried out on the tablet (``/moves/<id>/carry``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
import yaml
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _

from assets.move_models import MovePlan
from assets.moves import queries, services
from opskit import db
from opskit.audit import acting_as, cli_actor
from opskit.validation import ValidationFailed

moves_cli = AppGroup("moves", help="Move plans (搬迁): create from a YAML file, list, show.")

LANG = click.option(
    "--lang",
    type=click.Choice(["zh_Hans_CN", "en"]),
    default=None,
    help="Language of the messages (default: the site's).",
)


def _plan_json(plan: MovePlan) -> dict[str, Any]:
    return {
        "name": plan.name,
        "state": plan.state,
        "owner": plan.owner,
        "done": plan.done_count,
        "total": len(plan.steps),
        "steps": [
            {
                "position": s.position,
                "asset": s.asset.asset_tag,
                "from": queries.where(s.from_rack, s.from_u, s.asset.u_height),
                "to": queries.where(s.to_rack, s.to_u, s.asset.u_height),
                "ports": s.ports,
                "addresses": s.addresses,
                "state": s.state,
                "done_by": s.done_by,
                "done_at": s.done_at.isoformat() if s.done_at else None,
            }
            for s in plan.steps
        ],
    }


@moves_cli.command("create")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", "plan_name", default="", help="The plan's name (default: the file's).")
@click.option("--owner", default="", help="Who owns the plan (default: the command's user).")
@LANG
@with_appcontext
def create_cmd(file: Path, plan_name: str, owner: str, lang: str | None) -> None:
    """Make a move plan from FILE (YAML); nothing is written when a step is wrong."""
    with force_locale(lang or current_app.config["BABEL_DEFAULT_LOCALE"]):
        try:
            data = yaml.safe_load(file.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            click.echo(_("error: %(file)s is not YAML: %(error)s", file=file, error=exc), err=True)
            sys.exit(2)
        if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
            click.echo(
                _("error: the file needs a list of steps: (asset, to_rack, to_u)."), err=True
            )
            sys.exit(2)
        steps = [s if isinstance(s, dict) else {} for s in data["steps"]]
        name = plan_name or str(data.get("name") or file.stem)
        who = owner or cli_actor()
        notes = str(data.get("notes") or "")
        try:
            with acting_as(cli_actor()):
                plan_id = db.write(lambda: services.create_plan(name, steps, who, notes=notes).id)
        except ValidationFailed as exc:
            for messages in exc.errors.values():
                for message in messages:
                    click.echo(_("error: %(error)s", error=message), err=True)
            click.echo(_("Nothing was planned."), err=True)
            sys.exit(2)
        click.echo(
            _("Move plan %(name)s (#%(id)d) made with %(count)d steps.",
              name=name, id=plan_id, count=len(steps))
        )  # fmt: skip


@moves_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def list_cmd(as_json: bool) -> None:
    """The move plans with their state and progress."""
    plans = queries.plans()
    if as_json:
        rows = [{k: v for k, v in _plan_json(p).items() if k != "steps"} for p in plans]
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    labels = queries.state_labels()
    for p in plans:
        click.echo(f"{p.name}\t{labels[p.state]}\t{p.done_count}/{len(p.steps)}\t{p.owner}")


@moves_cli.command("show")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@with_appcontext
def show_cmd(name: str, as_json: bool) -> None:
    """One move plan's steps: asset, from → to, state, who and when."""
    plan = queries.plan_by_name(name)
    if plan is None:
        click.echo(_("error: no move plan %(name)s.", name=name), err=True)
        sys.exit(1)
    found = _plan_json(plan)
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False, indent=2))
        return
    labels, steps = queries.state_labels(), queries.step_state_labels()
    click.echo(f"{plan.name}\t{labels[plan.state]}\t{found['done']}/{found['total']}")
    for s, row in zip(plan.steps, found["steps"], strict=True):
        click.echo(
            f"{s.position}\t{row['asset']}\t{row['from']} → {row['to']}\t{steps[s.state]}"
            f"\t{s.done_by}"
        )
