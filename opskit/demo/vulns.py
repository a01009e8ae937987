"""The demo's vulnerability scans (issue #20), as ``data/vulns.yaml`` tells them: two scans of
the customer's scanner a month apart (``data/vulns/*.csv``, a 绿盟 RSAS table export), each
imported through ``inspections.vulns.services.import_file`` with the clock set to when it ran
(``clock.frozen``), and what the engineers did with the findings in between (``set_state``).

- the UPS ``ZJ-UPS-A1`` (core): its management card's critical TLStorm finding, due seven days
  after the first scan and still reported by the second: overdue, its alert (urgency A) open;
- the router ``ZJ-RT-001`` (core): a high OpenSSL finding (alert B) that the second scan no longer
  reports: fixed, verified by that scan, its alert cleared;
- the core switches: a low finding about SSH ciphers, 修复中 on ``ZJ-SW-001``, new on
  ``ZJ-SW-002`` in the second scan;
- the standby firewall ``ZJ-FW-002``: SWEET32, a risk accepted by the supervisor for 90 days;
- ``10.10.0.99``: a host no one registered (Telnet open), listed for registration.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from importlib import resources

from sqlalchemy import select

from inspections.vulns import services
from inspections.vulns.models import VulnFinding
from opskit import clock, db
from opskit.audit import acting_as
from opskit.demo.datafiles import load


def _at(today: date, days_ago: int, hour: int) -> datetime:
    """The instant (UTC) of ``hour`` o'clock on the site's day ``days_ago`` before ``today``."""
    day = today - timedelta(days=days_ago)
    return datetime.combine(day, time(hour), clock.site_tz()).astimezone(UTC)


def scan_times(now: datetime) -> list[datetime]:
    """When each scan of ``vulns.yaml`` ran, for the seed's ``now``."""
    data = load("vulns")
    today = now.astimezone(clock.site_tz()).date()
    return [_at(today, scan["days_ago"], data["hour"]) for scan in data["scans"]]


def seed(now: datetime) -> dict[str, int]:
    """Import the scans and set the findings' states (commits); how many scans and findings."""
    data = load("vulns")
    times = scan_times(now)
    folder = resources.files("opskit.demo") / "data" / "vulns"
    states = data.get("states", [])
    for n, (scan, at) in enumerate(zip(data["scans"], times, strict=True)):
        with resources.as_file(folder / scan["file"]) as path:
            with clock.frozen(at), acting_as(scan["by"]):
                services.import_file(path, "csv", file_name=scan["file"])
            db.session().commit()
        for change in [s for s in states if s["scan"] == n]:
            _set_state(change, at)
    found = db.session().scalars(select(VulnFinding.id)).all()
    return {"vuln_scans": len(times), "vuln_findings": len(found)}


def _set_state(change: dict[str, object], scan_at: datetime) -> None:
    at = scan_at + timedelta(days=int(str(change["days_after"])), hours=2)
    finding = (
        db.session()
        .scalars(
            select(VulnFinding).where(
                VulnFinding.host_ip == change["ip"], VulnFinding.plugin_id == change["plugin"]
            )
        )
        .one()
    )
    with clock.frozen(at), acting_as(str(change["by"])):
        until = None
        if change["state"] == "accepted":
            until = clock.site_today() + timedelta(days=int(str(change["accepted_days"])))
        services.set_state(
            finding,
            str(change["state"]),
            reason=str(change["reason"]),
            approver=str(change.get("approver", "")),
            accepted_until=until,
        )
    db.session().commit()
