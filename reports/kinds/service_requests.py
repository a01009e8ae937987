"""Report kind 服务请求统计, over 500 lines: one kind is one module, six sheets and the annual two.

The employees' requests raised in the period (the service desk):

- 请求分类统计: requests by category, urgency, channel and the requester's department.
- 服务请求 SLA: per service level and clock (响应 / 到场 / 解决 / the 2nd-working-day cap), the
  requests met, missed and still running, and the share met of those decided. Judged as the
  alert report judges its clocks: at the period's end (now, for a period still running); a
  clock done — even after the period's end — is met or missed by when it was done; an undone
  clock past its deadline is missed; an undone clock not yet past it is still running.
- 解决时长: per level, the resolved requests' time from the call to resolved in hours —
  median, 90th percentile (nearest rank) and mean — on the level's hours as its resolve clock
  counts them: wall time on a 7x24 level, working time on a 5x8 level (Chinese working
  calendar), the suspended time left out either way.
- 临时应急措施: the requests past their fix-by cap (the contract asks for a temporary measure
  then) and those carrying a measure, with the spare machine lent; the ones that needed a
  measure and have none are highlighted.
- 满意度: the surveys answered in the period by score, their average, and the response rate of
  the surveys sent in the period (``survey_summary``).
- 服务请求明细: every request with its times (site time), people by their full names, every
  key as its word, and its four clocks met / missed.

The annual summary (a year's pack) adds 重复问题, the same asset or the same category asked
about more than ``RECURRING_OVER`` times in the year, and 报修部门排行, the departments asking
most. The cover gets the totals, the suspended time and the satisfaction figures.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit.alerts.queries import current_policy
from opskit.alerts.wording import human_duration
from opskit.people import full_name
from opskit.servicedesk import queries as desk
from opskit.sla import REQUEST_CLOCKS, Level, Policy
from opskit.xlsx.cover import Figure
from opskit.xlsx.writer import DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, Kind, labeller, listed, local_time, period_as_of

#: the annual summary lists an asset or a category asked about more than this many times
RECURRING_OVER = 3
#: the annual summary ranks this many departments
TOP_DEPARTMENTS = 10
#: clock states that count as missed (done late, or past the deadline undone) and as running
MISSED = ("missed", "overdue")
RUNNING = ("running", "paused")


def hours(value: timedelta) -> float:
    return round(value.total_seconds() / 3600, 2)


def nearest_rank(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` 0-1) of ``values``, which must not be empty."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)), 1) - 1]


def _asset_text(asset: Any) -> str:
    return f"{asset.asset_tag} {asset.name}" if asset is not None else ""


def _hours_word(level: Level) -> str:
    return _("7x24") if level.hours == "24x7" else _("working hours")


def _target(level: Level, clock: str) -> str:
    if clock == "fix_by":
        return _(
            "End of working day %(days)s after the day of the request",
            days=level.fix_by_working_days,
        )
    return human_duration(level.targets[clock])


def _requests(ctx: Context) -> tuple[list[Any], list[Any]]:
    """The period's requests and their clocks judged at the "as of" instant, once per pack."""

    def compute() -> tuple[list[Any], list[Any]]:
        requests = desk.requests_between(ctx.period.start, ctx.period.end)
        return requests, desk.with_clocks(requests, ctx.as_of)

    return ctx.once("service_requests", compute)


def _sla_counts(views: list[Any], policy: Policy) -> dict[tuple[int, str], Counter[str]]:
    """(level number, clock) → the requests' clocks met, missed and still running."""
    counts: dict[tuple[int, str], Counter[str]] = defaultdict(Counter)
    for view in views:
        level = policy.level_for(view.request.urgency, "request")
        for c in view.clocks:
            state = c.state
            outcome = "met" if state == "met" else "missed" if state in MISSED else "running"
            counts[(level.number, c.clock)][outcome] += 1
    return counts


def service_requests(ctx: Context) -> list[Sheet]:
    period = ctx.period
    judged_at = ctx.as_of
    policy = current_policy()
    words = desk.request_words()
    requests, views = _requests(ctx)
    asset_ids = {r.asset_id for r in requests if r.asset_id is not None}
    asset_ids |= {loan.asset_id for r in requests for loan in r.loans}
    assets = {a.id: a for a in registry.assets_by_ids(sorted(asset_ids))}

    channel, status = labeller(words.channels), labeller(words.statuses)
    urgency, clock_word = labeller(words.urgencies), labeller(words.clocks)
    state_word = labeller(words.clock_states)

    suspended = [desk.suspended_time(r, judged_at) for r in requests]
    ctx.headline[_("Service requests")] = len(requests)
    ctx.headline[_("Service requests resolved")] = sum(1 for r in requests if r.resolved_at)
    ctx.headline[_("Service requests suspended")] = sum(1 for s in suspended if s)
    ctx.headline[_("Suspended time (hours)")] = hours(sum(suspended, timedelta(0)))
    sheets = [
        _by_dimension(requests, words, channel, urgency),
        _sla(views, policy, clock_word),
        _resolve_times(requests, policy),
        _temporary_measures(views, assets, urgency, ctx),
        _satisfaction(ctx),
        _request_list(views, policy, assets, ctx, channel, status, urgency, state_word, words),
    ]
    if period.kind == "year":
        repairs = desk.repairs_between(period.start, period.end)
        sheets.append(_recurring(requests, repairs, assets, words, ctx))
        sheets.append(_departments(requests, words))
    return sheets


def _by_dimension(
    requests: list[Any],
    words: desk.RequestWords,
    channel: Callable[[str], str],
    urgency: Callable[[str], str],
) -> Sheet:
    """Requests by category, urgency, channel and department (every category, urgency and
    channel listed, zeros too; the departments that asked, most first)."""
    total = len(requests)
    rows: list[dict[str, Any]] = []

    def add(
        dimension: str, counts: Counter[str], order: Iterable[str], name: Callable[[str], str]
    ) -> None:
        for key in order:
            rows.append(
                {
                    "dimension": dimension,
                    "value": name(key),
                    "count": counts[key],
                    "share": counts[key] / total if total else None,
                }
            )

    categories = Counter(r.category for r in requests)
    known = list(words.categories)
    add(_("Category"), categories, known + sorted(set(categories) - set(known)), words.category)
    add(_("Urgency"), Counter(r.urgency for r in requests), words.urgencies, urgency)
    channels = Counter(r.channel for r in requests)
    add(_("Channel"), channels, list(words.channels), channel)
    departments = Counter(r.requester_department.strip() for r in requests)
    add(
        _("Department"),
        departments,
        sorted(departments, key=lambda d: (-departments[d], d)),
        lambda d: d or _("(not given)"),
    )
    return Sheet(
        _("Requests by kind"),
        [
            Col("dimension", _("Grouped by")),
            Col("value", _("Group")),
            Col("count", _("Requests"), INT),
            Col("share", _("Share"), PERCENT),
        ],
        rows,
        note=_("Requests raised in the period: %(count)s.", count=total),
    )


def _sla(views: list[Any], policy: Policy, clock_word: Callable[[str], str]) -> Sheet:
    counts = _sla_counts(views, policy)
    levels = {lv.number: lv for lv in policy.request_levels}
    rows = []
    for number in sorted({n for n, _clock in counts}):
        level = levels[number]
        for clock in REQUEST_CLOCKS:
            got = counts[(number, clock)]
            decided = got["met"] + got["missed"]
            rows.append(
                {
                    "level": level.words,
                    "hours": _hours_word(level),
                    "clock": clock_word(clock),
                    "target": _target(level, clock),
                    "total": sum(got.values()),
                    "met": got["met"],
                    "missed": got["missed"],
                    "running": got["running"],
                    "percent": got["met"] / decided if decided else None,
                }
            )
    return Sheet(
        _("Request SLA"),
        [
            Col("level", _("Level")),
            Col("hours", _("Service hours")),
            Col("clock", _("Clock")),
            Col("target", _("Target")),
            Col("total", _("Requests"), INT),
            Col("met", _("Met"), INT),
            Col("missed", _("Breached"), INT),
            Col("running", _("Still running"), INT),
            Col("percent", _("Met %"), PERCENT),
        ],
        rows,
        highlight=lambda row: row["missed"] > 0,
        note=_(
            "Judged at the period's end: a clock done is met or missed by when it was done, one "
            "past its deadline undone is missed, the others are still running; met % of those "
            "decided."
        ),
        charts=[
            {
                "type": "column",
                "category": ["level", "hours", "clock"],
                "values": ["met", "missed"],
                "title": _("Request SLA met and missed"),
            }
        ]
        if rows
        else [],
    )


def _resolve_times(requests: list[Any], policy: Policy) -> Sheet:
    by_level: dict[int, list[float]] = defaultdict(list)
    for req in requests:
        took = desk.resolve_time(req, policy)
        if took is not None:
            by_level[policy.level_for(req.urgency, "request").number].append(hours(took))
    levels = {lv.number: lv for lv in policy.request_levels}
    rows = []
    for number in sorted(by_level):
        level, values = levels[number], by_level[number]
        rows.append(
            {
                "level": level.words,
                "measure": _("wall time (7x24)")
                if level.hours == "24x7"
                else _("working time (5x8, working calendar)"),
                "resolved": len(values),
                "median": round(statistics.median(values), 2),
                "p90": nearest_rank(values, 0.9),
                "mean": round(statistics.fmean(values), 2),
            }
        )
    return Sheet(
        _("Time to resolve"),
        [
            Col("level", _("Level")),
            Col("measure", _("Counted in")),
            Col("resolved", _("Resolved"), INT),
            Col("median", _("Median (hours)"), NUMBER),
            Col("p90", _("90th percentile (hours)"), NUMBER),
            Col("mean", _("Mean (hours)"), NUMBER),
        ],
        rows,
        note=_(
            "From the call to resolved, of the period's requests resolved so far, on the "
            "level's hours as its resolve clock counts them: wall time on a 7x24 level, working "
            "time on a 5x8 level; suspended time left out. 90th percentile: nearest rank."
        ),
    )


def _temporary_measures(
    views: list[Any], assets: dict[int, Any], urgency: Callable[[str], str], ctx: Context
) -> Sheet:
    rows = []
    needed = carried = 0
    for view in views:
        req = view.request
        fix_by = view.clock("fix_by")
        past_cap = fix_by.state in MISSED
        has_measure = bool(req.temporary_measure.strip())
        needed += past_cap
        carried += has_measure
        if not (past_cap or has_measure):
            continue
        loans = req.loans
        rows.append(
            {
                "number": req.number,
                "title": req.title,
                "urgency": urgency(req.urgency),
                "raised": local_time(req.raised_at, ctx),
                "fix_by": local_time(fix_by.deadline, ctx),
                "resolved": local_time(req.resolved_at, ctx),
                "needed": _("yes") if past_cap else _("no"),
                "measure": req.temporary_measure,
                "measure_at": local_time(req.temporary_measure_at, ctx),
                "spare": listed([_asset_text(assets.get(loan.asset_id)) for loan in loans]),
                "lent": local_time(loans[0].lent_at, ctx) if loans else None,
                "returned": local_time(loans[-1].returned_at, ctx) if loans else None,
                "missing": past_cap and not has_measure,
            }
        )
    ctx.headline[_("Requests past the fix-by cap")] = needed
    ctx.headline[_("Requests with a temporary measure")] = carried
    return Sheet(
        _("Temporary measures"),
        [
            Col("number", _("Request")),
            Col("title", _("Title"), width=30),
            Col("urgency", _("Urgency")),
            Col("raised", _("Raised at"), DATETIME),
            Col("fix_by", _("Fix-by cap"), DATETIME),
            Col("resolved", _("Resolved at"), DATETIME),
            Col("needed", _("Past the cap")),
            Col("measure", _("Temporary measure"), width=40),
            Col("measure_at", _("Measure taken at"), DATETIME),
            Col("spare", _("Spare machine lent")),
            Col("lent", _("Lent at"), DATETIME),
            Col("returned", _("Returned at"), DATETIME),
        ],
        rows,
        highlight=lambda row: bool(row["missing"]),
        note=_(
            "Requests past their fix-by cap (the contract asks for a temporary measure then) "
            "and requests carrying a measure; highlighted: past the cap without one."
        ),
    )


def _satisfaction(ctx: Context) -> Sheet:
    summary = desk.survey_summary(ctx.period.start, ctx.period.end)
    rows = [
        {
            "score": score,
            "count": summary.by_score.get(score, 0),
            "share": summary.by_score.get(score, 0) / summary.answered
            if summary.answered
            else None,
        }
        for score in sorted(summary.by_score, reverse=True)
    ]
    average = round(summary.average, 2) if summary.average is not None else None
    rate = summary.response_rate
    average_text = "—" if average is None else format(average, ".2f")
    rate_text = "—" if rate is None else format(rate, ".1%")
    ctx.headline[_("Satisfaction surveys answered")] = summary.answered
    ctx.headline[_("Average satisfaction (1-5)")] = Figure(average, NUMBER)
    ctx.headline[_("Satisfaction response rate")] = Figure(rate, PERCENT)
    return Sheet(
        _("Satisfaction"),
        [
            Col("score", _("Score"), INT),
            Col("count", _("Responses"), INT),
            Col("share", _("Share"), PERCENT),
        ],
        rows,
        note=_(
            "Surveys answered in the period: %(answered)s, average %(average)s; response "
            "rate %(rate)s (%(responded)s of the %(created)s surveys sent in the period "
            "answered so far).",
            answered=summary.answered,
            average=average_text,
            rate=rate_text,
            responded=summary.responded,
            created=summary.created,
        ),
    )


def _request_list(
    views: list[Any],
    policy: Policy,
    assets: dict[int, Any],
    ctx: Context,
    channel: Callable[[str], str],
    status: Callable[[str], str],
    urgency: Callable[[str], str],
    state_word: Callable[[str], str],
    words: desk.RequestWords,
) -> Sheet:
    judged_at = ctx.as_of
    rows = []
    for view in views:
        req = view.request
        took = desk.resolve_time(req, policy)
        states = {c.clock: c.state for c in view.clocks}
        rows.append(
            {
                "number": req.number,
                "title": req.title,
                "raised": local_time(req.raised_at, ctx),
                "responded": local_time(req.responded_at, ctx),
                "onsite_at": local_time(
                    min((m for m in (req.onsite_at, req.remote_at) if m), default=None), ctx
                ),
                "resolved": local_time(req.resolved_at, ctx),
                "closed": local_time(req.closed_at, ctx),
                "requester": req.requester_name,
                "department": req.requester_department,
                "channel": channel(req.channel),
                "category": words.category(req.category),
                "urgency": urgency(req.urgency),
                "status": status(req.status),
                "asset": _asset_text(assets.get(req.asset_id) if req.asset_id else None),
                "engineer": full_name(desk.engineer_of(req)),
                **{f"sla_{clock}": state_word(states[clock]) for clock in REQUEST_CLOCKS},
                "resolve_hours": hours(took) if took is not None else None,
                "suspended": hours(desk.suspended_time(req, judged_at)),
                "measure": req.temporary_measure,
                "late": any(states[clock] in MISSED for clock in REQUEST_CLOCKS),
            }
        )
    return Sheet(
        _("Request list"),
        [
            Col("number", _("Request")),
            Col("title", _("Title"), width=30),
            Col("raised", _("Raised at"), DATETIME),
            Col("responded", _("Responded at"), DATETIME),
            Col("onsite_at", _("On site / remote at"), DATETIME),
            Col("resolved", _("Resolved at"), DATETIME),
            Col("closed", _("Closed at"), DATETIME),
            Col("requester", _("Requester")),
            Col("department", _("Department")),
            Col("channel", _("Channel")),
            Col("category", _("Category")),
            Col("urgency", _("Urgency")),
            Col("status", _("Status")),
            Col("asset", _("Asset")),
            Col("engineer", _("Engineer")),
            Col("sla_acknowledge", _("Respond SLA")),
            Col("sla_onsite", _("On-site SLA")),
            Col("sla_resolve", _("Resolve SLA")),
            Col("sla_fix_by", _("Fix-by cap SLA")),
            Col("resolve_hours", _("Hours to resolve"), NUMBER),
            Col("suspended", _("Suspended (hours)"), NUMBER),
            Col("measure", _("Temporary measure"), width=30),
        ],
        rows,
        highlight=lambda row: bool(row["late"]),
        note=_(
            "Times in site time; the clocks as judged at the period's end; hours to resolve "
            "as on the sheet Time to resolve."
        ),
    )


def _recurring(
    requests: list[Any],
    repairs: list[Any],
    assets: dict[int, Any],
    words: desk.RequestWords,
    ctx: Context,
) -> Sheet:
    """The same asset or the same category more than ``RECURRING_OVER`` times in the year.

    An asset's times: its requests of the year and its repairs of the year that belong to none
    of those requests (a request and the repair done for it are one fault)."""
    by_asset: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    by_category: dict[str, list[tuple[datetime, str]]] = defaultdict(list)
    counted = set()
    for req in requests:
        by_category[req.category].append((req.raised_at, req.number))
        if req.asset_id is not None:
            by_asset[req.asset_id].append((req.raised_at, req.number))
            counted.add((req.id, req.asset_id))
    repair_only: Counter[int] = Counter()
    for repair in repairs:
        if (repair.request_id, repair.asset_id) in counted:
            continue
        by_asset[repair.asset_id].append((desk.repair_when(repair), desk.repair_number(repair)))
        repair_only[repair.asset_id] += 1
    missing = sorted(set(by_asset) - set(assets))
    assets = assets | {a.id: a for a in registry.assets_by_ids(missing)}
    rows = []
    for asset_id, times in by_asset.items():
        if len(times) > RECURRING_OVER:
            rows.append(
                _recurring_row(
                    _("Asset"), _asset_text(assets.get(asset_id)), times, repair_only[asset_id], ctx
                )
            )
    for category, times in by_category.items():
        if len(times) > RECURRING_OVER:
            rows.append(_recurring_row(_("Category"), words.category(category), times, 0, ctx))
    rows.sort(key=lambda row: (-row["times"], row["what"], row["subject"]))
    ctx.headline[_("Recurring problems")] = len(rows)
    return Sheet(
        _("Recurring problems"),
        [
            Col("what", _("Grouped by")),
            Col("subject", _("Asset or category")),
            Col("times", _("Times"), INT),
            Col("requests", _("Requests"), INT),
            Col("repairs", _("Repairs without a request"), INT),
            Col("first", _("First"), DATETIME),
            Col("last", _("Last"), DATETIME),
            Col("numbers", _("Requests and repairs"), width=50),
        ],
        rows,
        note=_(
            "The same asset or the same category more than %(n)s times in the year; an asset's "
            "times are its requests and its repairs of no such request.",
            n=RECURRING_OVER,
        ),
    )


def _recurring_row(
    what: str, subject: str, times: list[tuple[datetime, str]], repairs: int, ctx: Context
) -> dict[str, Any]:
    times = sorted(times)
    return {
        "what": what,
        "subject": subject,
        "times": len(times),
        "requests": len(times) - repairs,
        "repairs": repairs,
        "first": local_time(times[0][0], ctx),
        "last": local_time(times[-1][0], ctx),
        "numbers": listed([number for _at, number in times]),
    }


def _departments(requests: list[Any], words: desk.RequestWords) -> Sheet:
    """The departments asking most: their requests, share, and the category asked most."""
    by_department: dict[str, Counter[str]] = defaultdict(Counter)
    for req in requests:
        by_department[req.requester_department.strip()][req.category] += 1
    total = len(requests)
    ranked = sorted(by_department.items(), key=lambda item: (-item[1].total(), item[0]))
    rows = []
    for rank, (department, categories) in enumerate(ranked[:TOP_DEPARTMENTS], start=1):
        top, _n = min(categories.items(), key=lambda item: (-item[1], item[0]))
        rows.append(
            {
                "rank": rank,
                "department": department or _("(not given)"),
                "requests": categories.total(),
                "share": categories.total() / total if total else None,
                "category": words.category(top),
            }
        )
    return Sheet(
        _("Departments asking most"),
        [
            Col("rank", _("Rank"), INT),
            Col("department", _("Department")),
            Col("requests", _("Requests"), INT),
            Col("share", _("Share"), PERCENT),
            Col("category", _("Asked most about")),
        ],
        rows,
        note=_("The %(n)s departments with the most requests in the year.", n=TOP_DEPARTMENTS),
    )


def findings(ctx: Context) -> list[Finding]:
    """From the same requests and clocks as the sheets: ``requests.sla_breached`` per level and
    clock with a breach (level, clock, missed, total, met_pct) and ``requests.summary``
    (total, resolved, missed: the clocks breached)."""
    requests, views = _requests(ctx)
    policy = current_policy()
    clock_word = labeller(desk.request_words().clocks)
    period = period_as_of(ctx)
    counts = _sla_counts(views, policy)
    levels = {lv.number: lv for lv in policy.request_levels}
    out = []
    for (number, clock), got in sorted(counts.items()):
        if not got["missed"]:
            continue
        decided = got["met"] + got["missed"]
        out.append(
            Finding(
                key="requests.sla_breached",
                subject=_("Service requests of %(level)s", level=levels[number].words),
                metric=_("%(clock)s clock breached", clock=clock_word(clock)),
                value=got["missed"],
                period=period,
                figures={
                    "level": levels[number].words,
                    "clock": clock_word(clock),
                    "missed": got["missed"],
                    "total": sum(got.values()),
                    "met_pct": round(got["met"] / decided * 100, 1) if decided else None,
                },
                severity=got["missed"],
            )
        )
    out.append(
        Finding(
            key="requests.summary",
            subject="",
            metric=_("Service requests"),
            value=len(requests),
            period=period,
            figures={
                "total": len(requests),
                "resolved": sum(1 for r in requests if r.resolved_at),
                "missed": sum(c["missed"] for c in counts.values()),
            },
        )
    )
    return out


KIND = Kind(_l("Service request statistics"), service_requests, findings=findings)
