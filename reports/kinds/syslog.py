"""Report kind 日志分析 (log analysis): the network log (网络运行日志) of the period, as the
contract asks the engineer to keep and analyse it.

- 日志级别统计: messages per severity, in words, with their share and a chart;
- 日志来源 Top 10: the senders of most messages, an asset by its tag and name (all the
  addresses it sent from together), an unknown sender by its address;
- 程序与助记符 Top 10: the programs/tags (``sshd``, Cisco ``LINK-3-UPDOWN``, Huawei
  ``IFNET/4/LINK_STATE``) of most messages, their most severe level and their latest message;
- 日志规则命中: each syslog rule in force (and any other that raised an alert in the period)
  with the alerts it raised. Matches themselves are not stored (the rules run in
  ``opskit syslog receive`` as messages arrive); what is stored is the alert each match raised
  or repeated, through the desk, so the figures are the alerts *first seen* in the period
  (their ``count``: the matches — or completed bursts — that raised or repeated them, including
  repeats after the period's end while an alert stayed open), how many were resolved and how
  many were still open at the period's end, and the assets they were on;
- 日志高峰时段: the ten busiest hours (site time) and the messages per hour of the day.

Everything is read through ``monitors.syslog.queries`` (one ``GROUP BY`` each over the
period's rows) and ``opskit.alerts.queries``; text from the devices is written as text by the
shared writer (a tag or message starting with ``=`` stays text).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from monitors.syslog import queries as syslog
from opskit.alerts.queries import alerts_between
from opskit.alerts.wording import rule_titles
from opskit.xlsx.writer import DATETIME, INT, NUMBER, PERCENT, Col, Sheet
from reports.kinds.base import Context, Kind, labeller, local_time

TOP = 10


def _share(n: int, total: int) -> float | None:
    return n / total if total else None


def _messages_chart(category: str, title: str) -> list[dict[str, Any]]:
    return [{"type": "column", "category": category, "values": ["messages"], "title": title}]


def _is_open_at(alert: Any, moment: datetime) -> bool:
    return alert.resolved_at is None or alert.resolved_at >= moment


def log_analysis(ctx: Context) -> list[Sheet]:
    """日志分析: severities, top sources and programs, rule hits, busiest hours."""
    period = ctx.period
    start, end = period.start, period.end
    words = [str(word) for word in syslog.SEVERITY_WORDS]
    by_severity = syslog.severity_counts(start, end)
    total = sum(by_severity.values())
    severe = sum(n for s, n in by_severity.items() if s <= syslog.SEVERE)
    ctx.headline[_("Syslog messages")] = total
    ctx.headline[_("Syslog messages of warning or worse")] = severe
    severity_rows = [
        {
            "severity": words[s],
            "number": s,
            "messages": by_severity.get(s, 0),
            "share": _share(by_severity.get(s, 0), total),
        }
        for s in range(8)
    ]

    sources = syslog.top_sources(start, end, TOP)
    assets = {a.id: a for a in registry.assets_by_ids([s.asset_id for s in sources if s.asset_id])}
    kind_label = labeller(registry.asset_kind_labels())
    source_rows = []
    for rank, s in enumerate(sources, start=1):
        asset = assets.get(s.asset_id) if s.asset_id is not None else None
        source_rows.append(
            {
                "rank": rank,
                "tag": asset.asset_tag if asset is not None else "",
                "name": asset.name if asset is not None else _("Unregistered sender"),
                "kind": kind_label(asset.kind) if asset is not None else "",
                "addresses": ", ".join(s.addresses),
                "messages": s.messages,
                "severe": s.severe,
                "share": _share(s.messages, total),
            }
        )

    programs = syslog.top_programs(start, end, TOP)
    latest = syslog.messages_by_ids([p.latest_id for p in programs])
    program_rows = [
        {
            "rank": rank,
            "program": p.program or _("(no program tag)"),
            "messages": p.messages,
            "worst": words[p.worst],
            "senders": p.senders,
            "share": _share(p.messages, total),
            "latest": latest[p.latest_id].text if p.latest_id in latest else "",
        }
        for rank, p in enumerate(programs, start=1)
    ]

    rule_rows = _rule_rows(ctx)

    hours = syslog.hourly_counts(start, end)
    busiest = sorted(hours, key=lambda h: (-h[1], h[0]))[:TOP]
    busiest_rows = [
        {"hour": local_time(at, ctx), "messages": n, "severe": bad, "share": _share(n, total)}
        for at, n, bad in busiest
    ]
    of_day: Counter[int] = Counter()
    severe_of_day: Counter[int] = Counter()
    for at, n, bad in hours:
        hour = at.astimezone(period.tz).hour
        of_day[hour] += n
        severe_of_day[hour] += bad
    days = (period.next_day - period.first_day).days
    day_rows = [
        {
            "hour": f"{h:02d}:00–{(h + 1) % 24:02d}:00",
            "messages": of_day[h],
            "per_day": round(of_day[h] / days, 1) if days else None,
            "severe": severe_of_day[h],
        }
        for h in range(24)
    ]

    total_text, severe_text = f"{total:,}", f"{severe:,}"
    note = _(
        "Syslog messages received %(first)s to %(last)s (site time): %(total)s, of which "
        "%(severe)s warning or worse.",
        first=period.first_day.isoformat(),
        last=period.last_day.isoformat(),
        total=total_text,
        severe=severe_text,
    )
    return [
        Sheet(
            _("Log severities"),
            [
                Col("severity", _("Severity")),
                Col("number", _("Level (0 most severe)"), INT),
                Col("messages", _("Messages"), INT),
                Col("share", _("Share"), PERCENT),
            ],
            severity_rows,
            note=note,
            highlight=lambda row: row["number"] <= syslog.SEVERE and row["messages"] > 0,
            charts=_messages_chart("severity", _("Syslog messages by severity")),
        ),
        Sheet(
            _("Top log sources"),
            [
                Col("rank", _("Rank"), INT),
                Col("tag", _("Asset tag")),
                Col("name", _("Name")),
                Col("kind", _("Kind")),
                Col("addresses", _("Sending addresses")),
                Col("messages", _("Messages"), INT),
                Col("severe", _("Warning or worse"), INT),
                Col("share", _("Share"), PERCENT),
            ],
            source_rows,
            note=_("The %(n)s senders of most messages.", n=TOP),
        ),
        Sheet(
            _("Top programs"),
            [
                Col("rank", _("Rank"), INT),
                Col("program", _("Program / mnemonic")),
                Col("messages", _("Messages"), INT),
                Col("worst", _("Most severe")),
                Col("senders", _("Sending addresses"), INT),
                Col("share", _("Share"), PERCENT),
                Col("latest", _("Latest message"), width=60),
            ],
            program_rows,
            note=_("The %(n)s programs or mnemonics of most messages.", n=TOP),
        ),
        Sheet(
            _("Log rule hits"),
            [
                Col("rule", _("Rule")),
                Col("urgency", _("Urgency")),
                Col("alerts", _("Alerts raised"), INT),
                Col("hits", _("Times raised"), INT),
                Col("resolved", _("Resolved"), INT),
                Col("open", _("Open now") if ctx.running else _("Open at period end"), INT),
                Col("assets", _("Assets"), width=40),
            ],
            rule_rows,
            highlight=lambda row: row["open"] > 0,
            note=_(
                "Alerts the syslog rules raised, by the day they were first seen. A rule's "
                "matches are counted through its alerts: times raised is how often a match (or "
                "a completed burst) raised or repeated them."
            ),
        ),
        Sheet(
            _("Busiest log hours"),
            [
                Col("hour", _("Hour starting"), DATETIME),
                Col("messages", _("Messages"), INT),
                Col("severe", _("Warning or worse"), INT),
                Col("share", _("Share"), PERCENT),
            ],
            busiest_rows,
            note=_("The %(n)s hours with most messages (site time).", n=TOP),
        ),
        Sheet(
            _("Log messages by hour of day"),
            [
                Col("hour", _("Hour of day")),
                Col("messages", _("Messages"), INT),
                Col("per_day", _("Per day on average"), NUMBER),
                Col("severe", _("Warning or worse"), INT),
            ],
            day_rows,
            charts=_messages_chart("hour", _("Syslog messages by hour of day")),
        ),
    ]


def _rule_rows(ctx: Context) -> list[dict[str, Any]]:
    """Each syslog rule in force, and any other rule that raised an alert in the period: its
    alerts first seen in the period, how often raised, resolved, open at the period's end."""
    prefix = syslog.RULE_PREFIX
    alerts = [
        a for a in alerts_between(ctx.period.start, ctx.period.end) if a.rule.startswith(prefix)
    ]
    configured = syslog.configured_rules()
    keys = [prefix + r.name for r in configured]
    keys += sorted({a.rule for a in alerts} - set(keys))
    titles = rule_titles(keys)
    urgencies = {prefix + r.name: r.urgency for r in configured}
    by_rule: dict[str, list[Any]] = defaultdict(list)
    for alert in alerts:
        by_rule[alert.rule].append(alert)
    tags = {
        a.id: a.asset_tag
        for a in registry.assets_by_ids(sorted({a.asset_id for a in alerts if a.asset_id}))
    }
    judged_at = ctx.as_of
    rows = []
    for key in keys:
        raised = by_rule.get(key, [])
        on = sorted({tags.get(a.asset_id, "") for a in raised if a.asset_id} - {""})
        unknown = sum(1 for a in raised if a.asset_id is None)
        where = ", ".join(on)
        if unknown:
            where = ", ".join(x for x in (where, _("%(n)s unregistered senders", n=unknown)) if x)
        rows.append(
            {
                "rule": titles.get(key) or key.removeprefix(prefix),
                "urgency": urgencies.get(key) or (min(a.urgency for a in raised) if raised else ""),
                "alerts": len(raised),
                "hits": sum(a.count for a in raised),
                "resolved": sum(
                    1 for a in raised if a.resolved_at is not None and a.resolved_at < judged_at
                ),
                "open": sum(1 for a in raised if _is_open_at(a, judged_at)),
                "assets": where,
            }
        )
    rows.sort(key=lambda row: (-row["alerts"], -row["hits"], row["rule"]))
    return rows


KIND = Kind(_l("Log analysis"), log_analysis)
