"""Run the suite again under shifted clocks, so the next date bomb fails in CI.

    python tools/shifted_clock.py            # print the instants, one per line
    python tools/shifted_clock.py run [ARGS]  # pytest once per instant (extra ARGS passed on)

The instants are taken from the real date, so they move with the calendar:
- 17:30 UTC on the last day of the month after next (31 to 61 days ahead): on site in
  Asia/Shanghai it is already 01:30 on the 1st, so UTC and the site disagree on the day, the
  month and, after a November, the quarter and the year;
- 23:30 on site on the 31st of December of this year: the last evening of a day, a month, a
  quarter and a year, in the site's own zone.
Each run sets OPSKIT_TEST_NOW; tests/conftest.py moves every clock of the test process there
(time-machine, ticking). The first runs the whole suite, the second the tests of dates and
times (``DATE_TESTS``), to keep ``make test`` near ten minutes. (A third instant, 23:30 on site
on the last day of a month other than December, was dropped: 31 December is such a day too, and
the first instant crosses a month's end every run.) Browser tests (Chromium keeps
its own clock), tests marked ``real_clock`` (they hand times to OpenSSL or another process)
and modules marked ``dateless`` (their outcome cannot depend on the date: each says why) are
left out, and so is PostgreSQL (the date logic is the same on both databases).
"""

from __future__ import annotations

import calendar
import os
import subprocess
import sys
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

SITE = ZoneInfo("Asia/Shanghai")


def _on_site(day: date, at: time = time(23, 30)) -> datetime:
    return datetime.combine(day, at, tzinfo=SITE).astimezone(UTC)


def instants(today: date | None = None) -> list[datetime]:
    today = today or datetime.now(UTC).date()
    year, month = divmod(today.year * 12 + today.month - 1 + 2, 12)  # the month after next
    month += 1
    month_end = date(year, month, calendar.monthrange(year, month)[1])
    across = datetime.combine(month_end, time(17, 30), tzinfo=UTC)
    year_end = date(today.year, 12, 31)
    return [across, _on_site(year_end)]


#: what the year's last evening runs (the whole suite runs at the first instant): the
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
