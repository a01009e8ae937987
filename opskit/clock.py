"""One clock for opskit: "now" in UTC, and the site's local time and date.

Everything that asks what time it is (queries that pick a resolution from "the last 2 days",
SLA deadlines, warranty days left, the patrol day, file names with a date) asks here, so a test
or a replay can set "now" in one place::

    with clock.frozen(datetime(2026, 11, 26, 9, 30, tzinfo=UTC)):
        ...

Times are stored in UTC; the site's day and hour are those of ``SITE_TIMEZONE`` (default
Asia/Shanghai), so "today" after 16:00 UTC is already tomorrow on site.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Asia/Shanghai"

_now: Callable[[], datetime] | None = None


def now() -> datetime:
    """The current instant, timezone-aware UTC."""
    if _now is not None:
        return _now().astimezone(UTC)
    return datetime.now(UTC)


def site_tz() -> ZoneInfo:
    """The site's time zone (the app's ``SITE_TIMEZONE``; the default outside an app)."""
    if has_app_context():
        return ZoneInfo(current_app.config.get("SITE_TIMEZONE") or DEFAULT_TIMEZONE)
    return ZoneInfo(DEFAULT_TIMEZONE)


def site_now() -> datetime:
    """The current instant in the site's time zone."""
    return now().astimezone(site_tz())


def site_today() -> date:
    """The site's calendar date now (what the engineer's wall calendar says)."""
    return site_now().date()


def set_now(source: datetime | Callable[[], datetime] | None) -> None:
    """Make ``now()`` return a fixed instant (aware) or call ``source``; ``None`` restores."""
    global _now
    if source is None:
        _now = None
    elif isinstance(source, datetime):
        if source.tzinfo is None:
            raise ValueError("clock.set_now needs a timezone-aware datetime")
        fixed = source
        _now = lambda: fixed  # noqa: E731
    else:
        _now = source


@contextmanager
def frozen(at: datetime) -> Iterator[datetime]:
    """``now()`` is ``at`` inside the block, whatever it was before."""
    previous = _now
    set_now(at)
    try:
        yield at
    finally:
        set_now(previous)
