"""Seed the demo site: a Shanghai machine room as a resident engineer would register it.

The data is in ``opskit/demo/data/*.yaml``; small seeders write it through the domains' own
services (``assets.services``, ``monitors.services``, ``opskit.alerts.services`` /
``incidents``, ``inspections`` services), so the demo data obeys the same rules as data typed in
by hand. Only the bulk history (readings, past rounds) is inserted in batches:

- ``registry``: site, rooms, racks, assets, lines, prefixes, addresses, links (``site.yaml``);
- ``history``: the monitors of the simulated devices and their readings' history;
- ``databases``: disabled PostgreSQL monitors on the Linux database servers with a history of
  their ``db.*`` readings (the demo has no database to poll);
- ``ports``: the access switches' interface states (free and taken ports for ``opskit plan``);
- ``plans``: a plan in progress, its best candidate reserved (``site.yaml``'s
  ``plan_in_progress``);
- ``outages``: the monitors' state changes (a few outages, one inside a maintenance window);
- ``desk``: alerts in every state, incidents, a maintenance window (``desk.yaml``);
- ``emitters``: the past week of the devices' SNMP traps and syslog, through the receivers' own
  writers (their alerts raised and cleared as the live demo's are);
- ``configs``: network devices' configuration backups (versions, a change with its diff, a
  device whose backups fail) and a firmware upgrade record (``configs.yaml``, ``configs/*.txt``);
- ``vulns``: two vulnerability scans a month apart (a finding fixed between them and verified,
  one overdue, one accepted risk, one 修复中; ``vulns.yaml``, ``vulns/*.csv``);
- ``logbook``: visits and power events (``logbook.yaml``);
- ``patrol``: patrol plans and their rounds (``patrol.yaml``);
- ``runbooks``: recovery procedures with their versions (``runbooks.yaml``);
- ``servicedesk``: three months of employees' requests (several departments, every channel,
  repairs with vendor cases and RMAs, a spare lent past the fix-by cap and returned, surveys)
  and the requests open now (``servicedesk.yaml``).

``seed(scale=1)`` builds about 65 assets in two rooms with eight racks and two weeks of history.
``scale`` multiplies the IT racks (servers, switches, PDUs, storage) and the length of the
history (readings, alerts, patrol rounds, logbook); rooms, UPSes and air conditioners stay as
they are, like a machine room that fills up and gets older. ``bench/dashboard.py`` uses
``scale=20``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy import select

from assets.models import Asset
from opskit import db
from opskit.audit import acting_as
from opskit.db import utcnow
from opskit.demo import (
    capacity,
    configs,
    databases,
    devices,
    emitters,
    moves,
    outages,
    patrol,
    plans,
    ports,
    vulns,
)
from opskit.demo.datafiles import load
from opskit.demo.desk import seed_alerts
from opskit.demo.history import (
    DEMO_MONITOR_NAME,
    HISTORY_DAYS,
    point_monitors_at,
    seed_monitors,
    seed_readings,
)
from opskit.demo.logbook import seed_logbook
from opskit.demo.registry import Built, seed_registry
from opskit.demo.runbooks import seed_runbooks
from opskit.demo.servicedesk import seed_requests
from opskit.models import SiteSetting, User
from opskit.users import create_user

__all__ = [
    "DEMO_MONITOR_NAME",
    "Built",
    "demo_state",
    "is_demo",
    "is_empty",
    "iter_summary",
    "point_monitors_at",
    "seed",
]

MARKER_KEY = "demo"  # SiteSetting row that says the database holds the demo site
TALK_DAYS = 7  # the devices' traps and syslog of the past week (whatever the scale)


def seed_users() -> None:
    """The site's people (passwords generated and not shown: `opskit user passwd NAME`)."""
    for person in load("site")["people"]:
        username = person["username"]
        if db.session().scalar(select(User.id).where(User.username == username)) is None:
            create_user(username, person["role"], None, display_name=person["name"])


def demo_state() -> str | None:
    """``ready``, ``seeding`` (an earlier seed was interrupted) or None (not a demo database)."""
    row = db.session().get(SiteSetting, MARKER_KEY)
    if row is None:
        return None
    try:
        return str(json.loads(row.value).get("state", "ready"))
    except (ValueError, AttributeError):
        return "seeding"


def is_demo() -> bool:
    return demo_state() is not None


def is_empty() -> bool:
    return db.session().scalar(select(Asset.id).limit(1)) is None


def seed(
    scale: int = 1,
    snmp_port: int = 161,
    now: datetime | None = None,
    history_scale: int | None = None,
    users: bool = True,
) -> dict[str, int]:
    """Fill an empty database with the demo site; commits. Returns what was made, by kind."""
    now = now or utcnow()
    history_scale = history_scale or scale
    days = HISTORY_DAYS * history_scale
    sess = db.session()
    marker = SiteSetting(
        key=MARKER_KEY,
        value=json.dumps({"state": "seeding", "created_at": now.isoformat(), "scale": scale}),
    )
    with acting_as("demo"):
        sess.add(marker)
        if users:
            seed_users()
        built = seed_registry(scale)
        built.counts["monitors"] = seed_monitors(built, snmp_port)
        built.counts["monitors"] += databases.seed_monitors(built)
        sess.commit()
        built.counts["readings"] = seed_readings(built, now, days)
        built.counts["readings"] += databases.seed_readings(built, now, days)
        built.counts["readings"] += ports.seed(built, now)
        sess.commit()
        built.counts["reservations"] = plans.seed(built, now)
        sess.commit()
        built.counts["flips"] = outages.seed(built, now, days)
        sess.commit()
        built.counts.update(seed_alerts(built, now, history_scale))
        sess.commit()
        built.counts.update(emitters.seed_history(now, TALK_DAYS, devices.addresses()))
        sess.commit()
        built.counts.update(configs.seed(built, now))
        built.counts.update(vulns.seed(now))
        built.counts["logbook"] = seed_logbook(built, now, days)
        sess.commit()
        built.counts["rounds"] = patrol.seed(built, now, days)
        built.counts["runbooks"] = seed_runbooks(built, now)
        built.counts.update(seed_requests(built, now))
        built.counts["moves"] = moves.seed(now)
        sess.commit()
        built.counts["capacity_snapshots"] = capacity.seed(now)  # the 80 % forecast's history
        marker.value = json.dumps({"state": "ready", "created_at": now.isoformat(), "scale": scale})
        sess.commit()
    return built.counts


def iter_summary(counts: dict[str, int]) -> Iterator[str]:
    labels = {
        "rooms": "rooms",
        "racks": "racks",
        "assets": "assets",
        "prefixes": "prefixes",
        "addresses": "addresses",
        "links": "links",
        "monitors": "monitors",
        "readings": "readings",
        "flips": "monitor state changes",
        "alerts": "alerts",
        "incidents": "incidents",
        "traps": "SNMP traps",
        "syslog": "syslog messages",
        "config_versions": "configuration versions",
        "upgrades": "firmware upgrade records",
        "vuln_scans": "vulnerability scans",
        "vuln_findings": "vulnerability findings",
        "logbook": "logbook entries",
        "rounds": "patrol rounds",
        "runbooks": "runbooks",
        "requests": "service requests",
        "repairs": "repairs",
        "reservations": "reservations (plans in progress)",
        "moves": "move steps done",
        "capacity_snapshots": "capacity snapshots (90 days)",
    }
    for key, label in labels.items():
        if key in counts:
            yield f"{counts[key]} {label}"
