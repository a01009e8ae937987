"""Report kind 漏洞扫描与修补 (vulnerability scans and fixes, issue #20): the scans run in the
period; the findings by severity and by the importance of the asset they are on; the findings
fixed in the period, each proved by a later scan; the findings overdue (due date passed, not
fixed) and the accepted risks, both as of the period's end (the build time while it runs); and
a trend of the open findings by severity at the end of the last four quarters
(``inspections.vulns.queries``).

A finding counts as *open* at a moment when it was first seen by then and no scan had proved it
fixed by then. Accepted risks and false positives are judged by their state at the build time
(the day a state was set is in the audit log, not on the finding): they are never counted open,
not even in the quarters before they were accepted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from inspections.vulns import queries as vulns
from opskit.xlsx.writer import DATE, DATETIME, INT, NUMBER, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import (
    Context,
    Kind,
    as_of_note,
    labeller,
    local_time,
    period_as_of,
    period_words,
)
from reports.periods import Period, parse_period

#: the severities the tables and the trend show, most severe first (info is not counted)
SEVERITIES = ("critical", "high", "medium", "low")
#: the importances of the by-importance table; a host no registered asset matched: unregistered
IMPORTANCES = ("core", "important", "general", "unregistered")
#: the states that are never open (judged at the build time, see the module)
SET_ASIDE = ("accepted", "false_positive")
#: quarters the trend covers (the period's last one and those before it)
TREND_QUARTERS = 4


def open_at(f: Any, moment: datetime) -> bool:
    """Whether finding ``f`` was open at ``moment`` (see the module)."""
    if f.state in SET_ASIDE or f.severity not in SEVERITIES or f.first_seen > moment:
        return False
    return f.fixed_at is None or f.fixed_at > moment


def overdue_at(f: Any, moment: datetime, day: Any) -> bool:
    """Open at ``moment`` with its due date before the site's ``day``."""
    return open_at(f, moment) and f.due_date is not None and f.due_date < day


def trend_quarters(ctx: Context) -> list[Period]:
    """The quarter holding the period's as-of moment and the three before it, oldest first."""
    day = ctx.as_of_day
    year, quarter = day.year, (day.month - 1) // 3 + 1
    out = []
    for _n in range(TREND_QUARTERS):
        out.append(parse_period(f"{year}Q{quarter}", ctx.period.tz))
        year, quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
    return out[::-1]


@dataclass
class _Data:
    scans: list[Any]
    findings: list[Any]  # first seen by the as-of moment
    assets: dict[int, Any]
    fixed_by: dict[int, datetime]  # scan id → when it started


def _data(ctx: Context) -> _Data:
    def compute() -> _Data:
        end = min(ctx.period.end, ctx.as_of)
        found = vulns.findings_first_seen_before(end)
        owners = sorted({f.asset_id for f in found if f.asset_id is not None})
        assets = {a.id: a for a in registry.assets_by_ids(owners)}
        proofs = [f.fixed_by_scan_id for f in found if f.fixed_by_scan_id is not None]
        return _Data(
            vulns.scans_between(ctx.period.start, end), found, assets, vulns.scan_times(proofs)
        )

    return ctx.once("vulns.data", compute)


def _importance(data: _Data, f: Any) -> str:
    asset = data.assets.get(f.asset_id) if f.asset_id is not None else None
    return asset.importance if asset is not None else "unregistered"


def _fixed_in_period(ctx: Context, data: _Data) -> list[Any]:
    end = min(ctx.period.end, ctx.as_of)
    return [
        f for f in data.findings if f.fixed_at is not None and ctx.period.start <= f.fixed_at < end
    ]


def _asset_words(data: _Data, f: Any) -> tuple[str, str]:
    asset = data.assets.get(f.asset_id) if f.asset_id is not None else None
    if asset is None:
        return "", _("not registered")
    return asset.asset_tag, asset.name


def _now_state(f: Any, ctx: Context, state: Any) -> str:
    """A finding's state at the build time; one fixed since the period's end says when."""
    if f.state == "fixed" and f.fixed_at is not None:
        day = f.fixed_at.astimezone(ctx.period.tz).date()
        return _("Fixed since, on %(day)s", day=day.isoformat())
    return str(state(f.state))


def _where(f: Any) -> str:
    return f"{f.port}/{f.protocol}" if f.port else _("the host")


def vuln_report(ctx: Context) -> list[Sheet]:
    data = _data(ctx)
    moment, day = ctx.as_of, ctx.as_of_day
    severity = labeller(vulns.severity_labels())
    importance = labeller({**registry.importance_labels(), "unregistered": _("Not registered")})
    state = labeller(vulns.state_labels())
    scanners = vulns.scanner_labels()
    start = ctx.period.start
    new = [f for f in data.findings if f.first_seen >= start]
    fixed = _fixed_in_period(ctx, data)
    still_open = [f for f in data.findings if open_at(f, moment)]
    late = [f for f in data.findings if overdue_at(f, moment, day)]
    accepted = [f for f in data.findings if f.state == "accepted"]

    scan_rows = [
        {
            "started": local_time(s.started_at, ctx),
            "scanner": scanners.get(s.scanner, s.scanner),
            "version": s.scanner_version,
            "file": s.file_name,
            "hosts": s.hosts_scanned,
            "findings": s.findings_count,
            "services": s.services_count,
        }
        for s in data.scans
    ]
    by_importance = Counter((f.severity, _importance(data, f)) for f in still_open)
    severity_rows = []
    for sev in SEVERITIES:
        row: dict[str, Any] = {
            "severity": severity(sev),
            "new": sum(1 for f in new if f.severity == sev),
            "fixed": sum(1 for f in fixed if f.severity == sev),
            "open": sum(1 for f in still_open if f.severity == sev),
            "overdue": sum(1 for f in late if f.severity == sev),
            "accepted": sum(1 for f in accepted if f.severity == sev),
        }
        row.update({imp: by_importance[(sev, imp)] for imp in IMPORTANCES})
        severity_rows.append(row)

    def finding_row(f: Any) -> dict[str, Any]:
        tag, name = _asset_words(data, f)
        return {
            "tag": tag,
            "name": name,
            "ip": f.host_ip,
            "importance": importance(_importance(data, f)),
            "where": _where(f),
            "vuln": f.name,
            "cves": ", ".join(f.cves),
            "cvss": f.cvss_score,
            "severity": severity(f.severity),
            "first_seen": local_time(f.first_seen, ctx),
            "due": f.due_date,
        }

    def fixed_rows() -> Iterator[dict[str, Any]]:
        for f in sorted(fixed, key=lambda f: (f.fixed_at, f.id)):
            proof = data.fixed_by.get(f.fixed_by_scan_id or 0)
            yield {
                **finding_row(f),
                "fixed": local_time(f.fixed_at, ctx),
                "scan": local_time(proof, ctx),
                "_late": f.due_date is not None
                and f.fixed_at.astimezone(ctx.period.tz).date() > f.due_date,
            }

    def late_rows() -> Iterator[dict[str, Any]]:
        for f in sorted(late, key=lambda f: (f.due_date, f.id)):
            yield {
                **finding_row(f),
                "state": _now_state(f, ctx, state),
                "days": (day - f.due_date).days,
            }

    def accepted_rows() -> Iterator[dict[str, Any]]:
        for f in sorted(accepted, key=lambda f: (f.accepted_until or day, f.id)):
            yield {
                **finding_row(f),
                "reason": f.state_reason,
                "approver": f.approver,
                "until": f.accepted_until,
                "_ended": f.accepted_until is not None and f.accepted_until < day,
            }

    trend_rows = []
    for quarter in trend_quarters(ctx):
        at = min(quarter.end, moment)
        row = {"quarter": period_words_of(quarter)}
        for sev in SEVERITIES:
            row[sev] = sum(1 for f in data.findings if f.severity == sev and open_at(f, at))
        trend_rows.append(row)

    # three figures only: the cover's sign-off block follows its figures on the second page
    ctx.headline[_("Vulnerabilities found")] = sum(1 for f in new if f.severity in SEVERITIES)
    ctx.headline[_("Vulnerabilities fixed and verified")] = len(fixed)
    ctx.headline[_("Vulnerabilities overdue")] = len(late)

    asset_cols = [
        Col("tag", _("Asset tag")),
        Col("name", _("Name")),
        Col("ip", _("IP address")),
        Col("importance", _("Importance")),
        Col("where", _("Port")),
        Col("vuln", _("Vulnerability"), width=40),
        Col("cves", _("CVE")),
        Col("cvss", _("CVSS"), NUMBER),
        Col("severity", _("Severity")),
        Col("first_seen", _("First seen"), DATETIME),
        Col("due", _("Due date"), DATE),
    ]
    counts = {
        "period": period_words(ctx),
        "scans": len(data.scans),
        "new": sum(r["new"] for r in severity_rows),
        "fixed": len(fixed),
        "open": len(still_open),
        "overdue": len(late),
    }
    return [
        Sheet(
            _("Vulnerability scans"),
            [
                Col("started", _("Started at"), DATETIME),
                Col("scanner", _("Scanner")),
                Col("version", _("Scanner version")),
                Col("file", _("File"), width=30),
                Col("hosts", _("Hosts scanned"), INT),
                Col("findings", _("Findings reported"), INT),
                Col("services", _("Open ports"), INT),
            ],
            scan_rows,
            note=_(
                "%(period)s: %(scans)d scans; %(new)d vulnerabilities found, %(fixed)d fixed "
                "and verified by a later scan, %(open)d open, %(overdue)d overdue.",
                **counts,
            )
            + as_of_note(ctx),
        ),
        Sheet(
            _("Vulnerabilities by severity"),
            [
                Col("severity", _("Severity")),
                Col("new", _("Found in the period"), INT),
                Col("fixed", _("Fixed and verified"), INT),
                Col("open", _("Open"), INT),
                *[
                    Col(imp, _("Open on %(importance)s assets", importance=importance(imp)), INT)
                    for imp in IMPORTANCES[:-1]
                ],
                Col("unregistered", _("Open on unregistered hosts"), INT),
                Col("overdue", _("Overdue"), INT),
                Col("accepted", _("Risk accepted"), INT),
            ],
            severity_rows,
            highlight=lambda row: row["overdue"] > 0,
            note=_(
                "Open: found and not proved fixed by a scan at the period's end, accepted risks "
                "and false positives left out; informational findings are not counted."
            )
            + as_of_note(ctx),
        ),
        Sheet(
            _("Vulnerabilities fixed"),
            [
                *asset_cols,
                Col("fixed", _("Fixed at"), DATETIME),
                Col("scan", _("Verified by the scan of"), DATETIME),
            ],
            fixed_rows(),
            highlight=lambda row: bool(row["_late"]),
            note=_(
                "Findings a later scan of their host no longer reported, in the period; fixed "
                "after their due date: highlighted."
            ),
        ),
        Sheet(
            _("Vulnerabilities overdue"),
            [*asset_cols, Col("state", _("State")), Col("days", _("Days overdue"), INT)],
            late_rows(),
            highlight=lambda row: True,
            note=_("Open findings past their due date at the period's end.") + as_of_note(ctx),
        ),
        Sheet(
            _("Accepted risks"),
            [
                *asset_cols,
                Col("reason", _("Reason"), width=40),
                Col("approver", _("Approved by")),
                Col("until", _("Accepted until"), DATE),
            ],
            accepted_rows(),
            highlight=lambda row: bool(row["_ended"]),
            note=_(
                "Risks accepted (with the reason, who approved it and its last day); an "
                "acceptance already ended is highlighted: the next scan reopens it."
            ),
        ),
        Sheet(
            _("Vulnerability trend"),
            [
                Col("quarter", _("Quarter")),
                *[Col(sev, severity(sev), INT) for sev in SEVERITIES],
            ],
            trend_rows,
            note=_("Open findings by severity at the end of each of the last four quarters.")
            + as_of_note(ctx),
            charts=[
                {
                    "type": "column",
                    "category": "quarter",
                    "values": list(SEVERITIES),
                    "title": _("Open vulnerabilities by severity"),
                }
            ],
        ),
    ]


def period_words_of(period: Period) -> str:
    """A quarter as the workbook's language says it (``base.period_words`` for any period)."""
    return period.zh if str(get_locale() or "zh").startswith("zh") else period.text


def findings(ctx: Context) -> list[Finding]:
    """``vulns.overdue`` per critical or high finding overdue at the as-of moment (figures:
    tag, ip, vuln, severity, importance (the words), importance_key, due, days_overdue, cves);
    ``vulns.no_scan`` when no scan ran in the period while findings exist (figures: last, the
    site's date of the last scan before, or ""); ``vulns.summary`` (figures: scans, new, fixed,
    open, overdue, accepted and the sentence as ``text``)."""
    data = _data(ctx)
    moment, day = ctx.as_of, ctx.as_of_day
    severity = labeller(vulns.severity_labels())
    importance = labeller({**registry.importance_labels(), "unregistered": _("Not registered")})
    period = period_as_of(ctx)
    out = []
    for f in data.findings:
        if f.severity not in ("critical", "high") or not overdue_at(f, moment, day):
            continue
        tag, name = _asset_words(data, f)
        days = (day - f.due_date).days
        imp = _importance(data, f)
        out.append(
            Finding(
                key="vulns.overdue",
                subject=f"{name} ({tag})" if tag else f"{f.host_ip} ({name})",
                metric=_("Days overdue"),
                value=days,
                period=period,
                figures={
                    "tag": tag,
                    "ip": f.host_ip,
                    "vuln": f.name,
                    "severity": severity(f.severity),
                    "importance": importance(imp),
                    "importance_key": imp,
                    "due": f.due_date.isoformat(),
                    "days_overdue": days,
                    "cves": ", ".join(f.cves[:3]),
                },
                severity=days + (100 if f.severity == "critical" else 0),
            )
        )
    if not data.scans and data.findings and not ctx.running:
        last = max(f.last_seen for f in data.findings)
        out.append(
            Finding(
                key="vulns.no_scan",
                subject="",
                metric=_("Vulnerability scans"),
                value=0,
                period=period,
                figures={"last": f"{last.astimezone(ctx.period.tz):%Y-%m-%d}"},
                severity=1,
            )
        )
    if not data.scans and not data.findings:
        return out  # nothing scanned yet: no sentence of zeros
    new = sum(1 for f in data.findings if f.first_seen >= ctx.period.start and f.severity != "info")
    figures = {
        "scans": len(data.scans),
        "new": new,
        "fixed": len(_fixed_in_period(ctx, data)),
        "open": sum(1 for f in data.findings if open_at(f, moment)),
        "overdue": sum(1 for f in data.findings if overdue_at(f, moment, day)),
        "accepted": sum(1 for f in data.findings if f.state == "accepted"),
    }
    text = _(
        "Vulnerability scans: %(scans)d scans in the period found %(new)d vulnerabilities; "
        "%(fixed)d were fixed and verified by a later scan; %(open)d remain open, %(overdue)d "
        "of them overdue, and %(accepted)d risks are accepted.",
        **figures,
    )
    out.append(
        Finding(
            key="vulns.summary",
            subject="",
            metric=_("Vulnerability scans"),
            value=figures["open"],
            period=period,
            figures={**figures, "text": text},
        )
    )
    return out


KIND = Kind(_l("Vulnerability scans and fixes"), vuln_report, findings=findings)
