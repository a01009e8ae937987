"""Report kinds: one module per kind under ``reports/kinds/``, each implementing ``ReportKind``
(``base.py``: a title, whether it counts per month, ``build(ctx)`` → sheets), registered below
in the order of the pack. An unknown key is refused with the known ones listed; kinds not built
yet are listed in ``PLANNED`` so the page and the CLI can say so instead of failing.
"""

from __future__ import annotations

from reports.kinds import (
    alerts,
    availability,
    bandwidth,
    capacity_planning,
    config_backups,
    config_storage,
    database_load,
    environment,
    ip,
    load,
    patrol,
    repairs,
    service_requests,
    syslog,
    topology,
    upgrades,
    vulns,
    warranty,
)
from reports.kinds.base import Context, Image, ReportKind

#: report kinds that exist, in the order of the pack
KINDS: dict[str, ReportKind] = {
    "config_storage": config_storage.KIND,
    "topology": topology.KIND,
    "ip": ip.KIND,
    # the room's environment and power next to its topology and addresses (the site itself)
    "environment": environment.KIND,
    # how full the rooms are (units, power, cooling, ports, addresses) and when they reach 80 %
    "capacity": capacity_planning.KIND,
    "syslog": syslog.KIND,
    "patrol": patrol.KIND,
    "alerts": alerts.KIND,
    # right after the alerts: the outages behind the core devices' alerts, then the lines
    "availability": availability.KIND,
    "bandwidth": bandwidth.KIND,
    "service_requests": service_requests.KIND,
    "repairs": repairs.KIND,
    # after the repairs, the other work on the devices: their configurations kept (backups,
    # changes) and the firmware upgrades done
    "config_backups": config_backups.KIND,
    "upgrades": upgrades.KIND,
    # the security duties: what the scans found on the devices and what was fixed
    "vulns": vulns.KIND,
    "load": load.KIND,
    "database_load": database_load.KIND,
    "warranty": warranty.KIND,
}
#: kinds of the quarterly pack still to be built (none left; the page and CLI still honour it)
PLANNED: dict[str, str] = {}

#: kinds that count things per month for the overview sheet of a quarter or year
MONTHLY_KINDS = tuple(key for key, kind in KINDS.items() if kind.monthly)

__all__ = ["KINDS", "MONTHLY_KINDS", "PLANNED", "Context", "Image", "ReportKind"]
