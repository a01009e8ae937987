"""The demo's runbooks (故障恢复流程及应急措施), as ``data/runbooks.yaml`` tells them: each version
written by one of the site's engineers through the desk's own services, so the demo shows a
runbook with a history (the UPS one has two versions, its difference on the version page)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from opskit.audit import acting_as
from opskit.demo.datafiles import load
from opskit.demo.registry import Built
from opskit.servicedesk import services
from opskit.servicedesk.services import RunbookInput


def _input(entry: dict[str, Any], version: dict[str, Any], built: Built) -> RunbookInput:
    scope, target = next(iter(entry["for"].items()))
    data = RunbookInput(title=entry["title"], body=version["body"], note=version.get("note", ""))
    if scope == "asset":
        data.scope, data.asset_id = "asset", built.assets[target].id
    elif scope == "system":
        data.scope, data.system_name = "system", target
    else:
        data.scope, data.asset_kind = "asset_kind", target
    return data


def seed_runbooks(built: Built, now: datetime) -> int:
    """Write the demo's runbooks and their versions (flushes); how many runbooks."""
    made = 0
    for entry in load("runbooks")["runbooks"]:
        first, *later = entry["versions"]
        with acting_as(first["as"]):
            runbook = services.create_runbook(
                _input(entry, first, built), at=now - timedelta(days=first["ago"])
            )
        for version in later:
            with acting_as(version["as"]):
                services.edit_runbook(
                    runbook, _input(entry, version, built), at=now - timedelta(days=version["ago"])
                )
        made += 1
    return made
