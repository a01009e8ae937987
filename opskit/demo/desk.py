"""The demo's service desk: weeks of resolved alerts, today's alerts in every state, two
incidents and a maintenance window, as ``data/desk.yaml`` tells them, through the desk's own
services (``opskit.alerts.services`` and ``incidents``)."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from opskit.alerts import incidents
from opskit.alerts import services as alert_services
from opskit.audit import acting_as
from opskit.demo.datafiles import engineers, load
from opskit.demo.registry import Built


class _Scenario:
    """Runs the steps of ``desk.yaml``'s ``today``; names what later steps refer to."""

    def __init__(self, built: Built, now: datetime) -> None:
        self.built = built
        self.now = now
        self.named: dict[str, Any] = {}
        self.made = {"alerts": 0, "incidents": 0}

    def at(self, step: dict[str, Any]) -> datetime:
        return self.now - timedelta(**step["ago"])

    def raise_(self, step: dict[str, Any], at: datetime | None = None) -> Any:
        self.made["alerts"] += 1
        asset, room = step.get("asset"), step.get("room")
        alert = alert_services.raise_alert(
            f"demo:{step['key']}",
            source=step.get("source", "manual"),
            rule=step["rule"],
            urgency=step["urgency"],
            message=step["message"],
            asset_id=self.built.assets[asset].id if asset else None,
            room_id=self.built.rooms[room].id if room else None,
            at=at or self.at(step),
        )
        if "name" in step:
            self.named[step["name"]] = alert
        return alert

    def acknowledge(self, step: dict[str, Any]) -> None:
        alert_services.acknowledge(self.named[step["alert"]], step["note"], at=self.at(step))

    def onsite(self, step: dict[str, Any]) -> None:
        alert_services.record_onsite(self.named[step["alert"]], step["note"], at=self.at(step))

    def resolve(self, step: dict[str, Any]) -> None:
        alert_services.resolve(self.named[step["alert"]], step["note"], at=self.at(step))

    def clear(self, step: dict[str, Any]) -> None:
        alert_services.clear_alert(f"demo:{step['key']}", at=self.at(step))

    def maintenance(self, step: dict[str, Any]) -> None:
        alert_services.add_maintenance(
            self.at(step),
            self.now + timedelta(**step["ahead"]),
            asset_id=self.built.assets[step["asset"]].id,
            reason=step["reason"],
        )

    def open_incident(self, step: dict[str, Any]) -> None:
        self.named[step["name"]] = incidents.open_incident(
            step["title"],
            grade=step["grade"],
            urgency=step["urgency"],
            description=step["description"],
            alerts=[self.named[name] for name in step["alerts"]],
            at=self.at(step),
        )
        self.made["incidents"] += 1

    def incident_entry(self, step: dict[str, Any]) -> None:
        incident = self.named[step["incident"]]
        incidents.add_entry(incident, step["phase"], step["note"], at=self.at(step))

    def arrival(self, step: dict[str, Any]) -> None:
        incidents.record_arrival(self.named[step["incident"]], step["tag"], at=self.at(step))

    def close_incident(self, step: dict[str, Any]) -> None:
        incident = self.named[step["incident"]]
        incidents.close_incident(incident, step["root_cause"], step["measures"], at=self.at(step))

    def run(self, blocks: list[dict[str, Any]]) -> None:
        actions: dict[str, Callable[[dict[str, Any]], Any]] = {
            "raise": self.raise_,
            "acknowledge": self.acknowledge,
            "onsite": self.onsite,
            "resolve": self.resolve,
            "clear": self.clear,
            "maintenance": self.maintenance,
            "open_incident": self.open_incident,
            "incident_entry": self.incident_entry,
            "arrival": self.arrival,
            "close_incident": self.close_incident,
        }
        for block in blocks:
            with acting_as(block["as"]):
                for step in block["steps"]:
                    ((action, args),) = step.items()
                    actions[action](args)


def _past(scenario: _Scenario, weeks: int) -> None:
    """Resolved alerts, three a week, for the SLA statistics and the history pages."""
    data = load("desk")
    templates, notes = data["past"], data["past_notes"]
    rng = random.Random(8)
    people = [p["username"] for p in engineers()]
    for week in range(weeks):
        for k in range(3):
            template = templates[(week * 3 + k) % len(templates)]
            start = scenario.now - timedelta(days=7 * week + 2 * k + 1, hours=rng.randint(0, 20))
            with acting_as(people[(week + k) % 3]):
                key = f"past-{week}-{k}-{template['key']}"
                alert = scenario.raise_({**template, "key": key}, at=start)
                if template["urgency"] != "A" or k % 2:
                    alert_services.acknowledge(
                        alert, notes["acknowledge"], at=start + timedelta(minutes=9)
                    )
                    alert_services.record_onsite(
                        alert, notes["onsite"], at=start + timedelta(minutes=35)
                    )
                alert_services.resolve(
                    alert, notes["resolve"], at=start + timedelta(hours=2, minutes=k * 13)
                )


def seed_alerts(built: Built, now: datetime, history_scale: int = 1) -> dict[str, int]:
    """Alerts in every state, two incidents (one open, one closed), a maintenance window."""
    scenario = _Scenario(built, now)
    _past(scenario, 2 * history_scale)
    scenario.run(load("desk")["today"])
    return scenario.made
