"""The scheduled quarterly pack: built on the first working day after the quarter, kept to download.

``run_due()`` is idempotent and cheap when nothing is due (a calendar look-up and a file
check), so the long-running ``opskit notify run`` loop calls it every 10 minutes; the command
``opskit report schedule`` does the same for sites that prefer cron. It builds the pack of the
last finished quarter once the site's date (SITE_TIMEZONE) has reached the first working day
after that quarter on the SLA policy's working calendar (Chinese holidays and make-up days:
2026Q3's pack is built on Thursday 2026-10-08 after the National Day holiday, 2025Q4's on the
make-up working Sunday 2026-01-04). Packs are written to
``<instance>/reports/opskit-2026Q3-zh_CN.xlsx`` (temporary file, then renamed, so a crash never
leaves half a workbook and a second process just finds the file) and listed on the Reports
page. Older quarters are not back-filled: a pack is a snapshot of the data after its quarter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app

from opskit import db
from opskit.i18n import site_tz
from reports.periods import Period, parse_period, previous_quarter

STORED = re.compile(r"^opskit-(?P<period>\d{4}Q[1-4]|\d{4}-\d{2}|\d{4})-(?P<lang>zh_CN|en)\.xlsx$")


@dataclass(frozen=True)
class StoredPack:
    name: str
    period: str
    lang: str
    size: int
    built: datetime  # site local, naive (for display)


def packs_dir() -> Path:
    return Path(current_app.instance_path) / "reports"


def stored_name(period: Period, lang: str) -> str:
    return f"opskit-{period.text}-{lang}.xlsx"


def first_working_day_after(period: Period) -> date:
    from opskit.alerts.queries import current_policy

    calendar = current_policy().calendar
    day = period.next_day
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def due(now: datetime | None = None) -> list[Period]:
    """Quarters whose pack should exist by ``now``: the last finished one, from its build day."""
    today = (now or db.utcnow()).astimezone(site_tz()).date()
    quarter = previous_quarter(today, site_tz())
    return [quarter] if today >= first_working_day_after(quarter) else []


def next_build(now: datetime | None = None) -> tuple[Period, date]:
    """The next quarterly pack the schedule will build, and the day it will."""
    today = (now or db.utcnow()).astimezone(site_tz()).date()
    quarter = previous_quarter(today, site_tz())
    day = first_working_day_after(quarter)
    if today >= day:
        quarter = parse_period(f"{today.year}Q{(today.month - 1) // 3 + 1}", site_tz())
        day = first_working_day_after(quarter)
    return quarter, day


def run_due(now: datetime | None = None) -> list[Path]:
    """Build each due pack that is not stored yet; returns the files written."""
    from reports.build import build_pack

    lang = current_app.config["BABEL_DEFAULT_LOCALE"]
    built = []
    for period in due(now):
        path = packs_dir() / stored_name(period, lang)
        if path.exists():
            continue
        engineer = "、".join(resident_engineers())
        build_pack(period, path, lang=lang, engineer=engineer, now=now)
        built.append(path)
    return built


def resident_engineers() -> list[str]:
    """Names of the active engineer accounts: the cover of a scheduled pack names them."""
    from sqlalchemy import select

    from opskit.models import User

    users = db.session().scalars(
        select(User).where(User.role == "engineer", User.active.is_(True)).order_by(User.id)
    )
    return [u.display_name or u.username for u in users]


def stored_packs() -> list[StoredPack]:
    """Packs kept under the instance folder, newest period first."""
    folder = packs_dir()
    if not folder.is_dir():
        return []
    packs = []
    for path in folder.iterdir():
        m = STORED.match(path.name)
        if m is None or not path.is_file():
            continue
        stat = path.stat()
        built = datetime.fromtimestamp(stat.st_mtime, site_tz()).replace(tzinfo=None)
        packs.append(StoredPack(path.name, m["period"], m["lang"], stat.st_size, built))
    return sorted(packs, key=lambda p: (parse_period(p.period, site_tz()).first_day, p.name))[::-1]


def stored_path(name: str) -> Path | None:
    """The file of a stored pack by its name, or None (only names the schedule writes)."""
    if not STORED.match(name):
        return None
    path = packs_dir() / name
    return path if path.is_file() else None
