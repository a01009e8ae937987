"""The syslog search page: time range, asset, minimum severity, text; newest first, paged by
a cursor (``before``), severities and facilities in words. Read-only: every role may use it
(the login is required by ``opskit.auth`` like every page)."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from monitors.syslog import queries
from monitors.syslog.parsing import FACILITIES
from opskit import clock

bp = Blueprint("syslog", __name__, url_prefix="/monitoring/syslog")

SEVERITY_WORDS = queries.SEVERITY_WORDS
SEVERITY_COLOURS = ("danger", "danger", "danger", "danger", "warning", "info", "secondary", "light")
FACILITY_WORDS = {
    0: _l("kernel"),
    1: _l("user processes"),
    2: _l("mail"),
    3: _l("system daemons"),
    4: _l("security/authorization"),
    5: _l("syslog itself"),
    6: _l("line printer"),
    7: _l("network news"),
    8: _l("UUCP"),
    9: _l("clock daemon"),
    10: _l("security/authorization (private)"),
    11: _l("FTP"),
    12: _l("NTP"),
    13: _l("log audit"),
    14: _l("log alert"),
    15: _l("clock daemon"),
}


def facility_word(number: int) -> str:
    """A facility in words: ``local0``...``local7`` as themselves (what switches are set to)."""
    word = FACILITY_WORDS.get(number)
    return str(word) if word is not None else FACILITIES.get(number, str(number))


def _local_time(raw: str | None) -> datetime | None:
    """A ``datetime-local`` value, read in the site's time zone, as UTC."""
    if not raw:
        return None
    try:
        at = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=clock.site_tz())
    return at.astimezone(UTC)


def _cursor(raw: str | None) -> tuple[datetime, int] | None:
    if not raw or "~" not in raw:
        return None
    at, _sep, row = raw.rpartition("~")
    try:
        when = datetime.fromisoformat(at)
        return (when if when.tzinfo else when.replace(tzinfo=UTC), int(row))
    except ValueError:
        return None


@bp.get("/")
def index() -> str:
    """Search the stored messages."""
    args = request.args
    start, end = _local_time(args.get("start")), _local_time(args.get("end"))
    severity = args.get("severity", type=int)
    if severity is not None and not 0 <= severity <= 7:
        severity = None
    tag = (args.get("asset") or "").strip()
    asset = queries.asset_by_tag(tag) if tag else None
    problems = []
    if tag and asset is None:
        problems.append(_("No asset has the tag %(tag)s.", tag=tag))
    found = (
        queries.search(
            start=start,
            end=end,
            asset_id=asset.id if asset is not None else None,
            max_severity=severity,
            text=args.get("q", ""),
            before=_cursor(args.get("before")),
        )
        if not problems
        else queries.Found([], None)
    )
    filters = {k: args.get(k) for k in ("start", "end", "severity", "asset", "q") if args.get(k)}
    next_url = None
    if found.next_cursor is not None:
        at, row = found.next_cursor
        next_url = {**filters, "before": f"{at.astimezone(UTC).isoformat()}~{row}"}
    return render_template(
        "monitors/syslog.html",
        found=found,
        assets=queries.assets_of(found.items),
        filters=filters,
        next_args=next_url,
        paged=bool(args.get("before")),
        problems=problems,
        severity=severity,
        severity_words=SEVERITY_WORDS,
        severity_colours=SEVERITY_COLOURS,
        facility_word=facility_word,
    )
