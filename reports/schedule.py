"""The scheduled packs: built on the first working day after their period, kept to download.

Which packs: ``OPSKIT_REPORT_SCHEDULE`` (default ``month,quarter,year``): the 服务月报 of the
last month, the quarterly pack of the last quarter (configuration, topology and IP allocation
are due every quarter by the contract) and the 年度技术支持总结 of the last year.

``run_due()`` is idempotent and cheap when nothing is due (a calendar look-up and a file
check), so the long-running ``opskit notify run`` loop calls it every 10 minutes; the command
``opskit report schedule`` does the same for sites that prefer cron. It builds the pack of each
last finished period once the site's date (SITE_TIMEZONE) has reached the first working day
after that period on the SLA policy's working calendar (Chinese holidays and make-up days:
2026Q3's pack is built on Thursday 2026-10-08 after the National Day holiday, 2025Q4's on the
make-up working Sunday 2026-01-04). Packs are written to
``<instance>/reports/opskit-2026Q3-zh_CN.xlsx`` (temporary file, then renamed, so a crash never
leaves half a workbook and a second process just finds the file) and listed on the Reports
page. Older periods are not back-filled: a pack is a snapshot of the data after its period.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from opskit import db
from opskit.alerts.queries import current_policy
from opskit.config import REPORT_PERIODS
from opskit.i18n import site_tz
from opskit.models import User
from reports.build import build_pack
from reports.kinds.base import listed
from reports.periods import Period, current_period, parse_period, previous_period

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
    calendar = current_policy().calendar
    day = period.next_day
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    return day


def scheduled() -> tuple[str, ...]:
    """The period lengths the schedule builds (``OPSKIT_REPORT_SCHEDULE``)."""
    return tuple(current_app.config.get("REPORT_SCHEDULE", REPORT_PERIODS))


def due(now: datetime | None = None) -> list[Period]:
    """Periods whose pack should exist by ``now``: of each scheduled length the last finished
    one, from its build day."""
    today = (now or db.utcnow()).astimezone(site_tz()).date()
    out = []
    for kind in scheduled():
        period = previous_period(kind, today, site_tz())
        if today >= first_working_day_after(period):
            out.append(period)
    return out


def next_builds(now: datetime | None = None) -> list[tuple[Period, date]]:
    """The next pack of each scheduled length and the day it will be built, soonest first."""
    today = (now or db.utcnow()).astimezone(site_tz()).date()
    out = []
    for kind in scheduled():
        period = previous_period(kind, today, site_tz())
        day = first_working_day_after(period)
        if today >= day:
            period = current_period(kind, today, site_tz())
            day = first_working_day_after(period)
        out.append((period, day))
    return sorted(out, key=lambda pair: (pair[1], pair[0].next_day - pair[0].first_day))


def run_due(now: datetime | None = None) -> list[Path]:
    """Build each due pack that is not stored yet; returns the files written."""
    lang = current_app.config["BABEL_DEFAULT_LOCALE"]
    built = []
    for period in due(now):
        path = packs_dir() / stored_name(period, lang)
        if path.exists():
            continue
        engineer = listed(resident_engineers(), lang)
        build_pack(period, path, lang=lang, engineer=engineer, now=now)
        built.append(path)
    return built


def resident_engineers() -> list[str]:
    """Names of the active engineer accounts: the cover of a scheduled pack names them."""
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
