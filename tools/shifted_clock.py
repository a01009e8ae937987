"""Run the suite again under shifted clocks, so the next date bomb fails in CI.

    python tools/shifted_clock.py            # print the instants, one per line
    python tools/shifted_clock.py run [ARGS]  # pytest once per instant (extra ARGS passed on)

The instants are taken from the real date, so they move with the calendar:
- 45 days ahead at 17:30 UTC (01:30 on site in Asia/Shanghai: UTC and the site disagree on the
  day);
- 23:30 on site on the last day of a month that is not December (next month's);
- 23:30 on site on the 31st of December of this year.
Each run sets OPSKIT_TEST_NOW; tests/conftest.py moves every clock of the test process there
(time-machine, ticking). The first runs the whole suite, the other two the tests of dates and
times (``DATE_TESTS``), to keep ``make test`` near ten minutes. Browser tests (Chromium keeps
its own clock), tests marked ``real_clock`` (they hand times to OpenSSL or another process)
and modules marked ``dateless`` (their outcome cannot depend on the date: each says why) are
left out, and so is PostgreSQL (the date logic is the same on both databases).
"""

from __future__ import annotations

import calendar
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SITE = ZoneInfo("Asia/Shanghai")


def _on_site(day: date, at: time = time(23, 30)) -> datetime:
    return datetime.combine(day, at, tzinfo=SITE).astimezone(UTC)


def instants(today: date | None = None) -> list[datetime]:
    today = today or datetime.now(UTC).date()
    ahead = datetime.combine(today + timedelta(days=45), time(17, 30), tzinfo=UTC)
    year, month = (today.year, today.month + 1) if today.month < 12 else (today.year + 1, 1)
    if month == 12:
        year, month = year + 1, 1
    month_end = date(year, month, calendar.monthrange(year, month)[1])
    year_end = date(today.year, 12, 31)
    return [ahead, _on_site(month_end), _on_site(year_end)]


#: what the month's and the year's last day run (the whole suite runs 45 days ahead): the
#: tests of whatever counts days, months, quarters, working hours or "now"
DATE_TESTS = [
    "tests/alerts",
    "tests/reports",
    "tests/dashboard",
    "tests/inspections",
    "tests/assets",
    "tests/monitors/test_rollups.py",
    "tests/monitors/test_load_weeks.py",
    "tests/test_demo_seed.py",
    "tests/test_auth.py",
    "tests/test_sessions.py",
    "tests/test_page_walk.py",
]


def run(extra: list[str]) -> int:
    for n, at in enumerate(instants()):
        env = {**os.environ, "OPSKIT_TEST_NOW": at.isoformat(), "OPSKIT_TEST_POSTGRES_URL": ""}
        which = "the suite" if n == 0 else "the date tests"
        print(f"--- {which} with the clock at {at.isoformat()}", flush=True)
        left_out = "not browser and not real_clock and not dateless"
        args = ["-m", left_out, "-q", *extra, *(DATE_TESTS if n else [])]
        code = subprocess.call([sys.executable, "-m", "pytest", *args], env=env)  # noqa: S603
        if code != 0:
            print(f"--- failed with the clock at {at.isoformat()}", flush=True)
            return code
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["run"]:
        sys.exit(run(sys.argv[2:]))
    for at in instants():
        print(at.isoformat())
