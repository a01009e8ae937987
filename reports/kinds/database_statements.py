"""The database workload kind's top statements sheet (数据库耗时语句) and its finding.

Per database server, its :data:`~reports.kinds.database_data.TOP_STATEMENTS` statements with the
most execution time in the period: the hours the poller stored (``monitors.statements``: each
poll's 20 statements with the most time since the poll before, from PostgreSQL's
``pg_stat_statements`` or MySQL/MariaDB's ``performance_schema`` statement digests) summed over
the period up to its "as of" instant. Per statement: its database (schema), its text as the
engine normalised it (literals as ``$1`` / ``?``), calls, total time (s), mean time per call
(ms) and its share of the time of every statement the server ran in those polls.

A server without statements in the period gets one row saying why: the engine's statistics are
not enabled (未开启 pg_stat_statements / performance_schema), the monitoring account may not read
them, or there are simply none stored for the period.

Finding ``db.top_statement`` (per server with statements): the first statement's ``share`` (%
of the server's statement time), ``statement`` (its text, cut at 120 characters), ``database``,
``calls``, ``total_s``, ``mean_ms`` and ``server_s`` (every statement's time, s).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from monitors.queries import monitor_kind_label
from opskit.xlsx.writer import INT, NUMBER, PERCENT, Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, as_of_note, listed, period_words
from reports.kinds.database_data import Server

SHOWN_CHARS = 120  # a statement's text in a finding's sentence


def _why_none(s: Server) -> str:
    """Why a server has no statements in the period, in words."""
    for kind, reason in s.statements_withheld:
        privilege = reason.startswith("needs") or "needs SELECT" in reason
        if kind == "postgresql":
            return (
                _("the monitoring account may not read pg_stat_statements (grant pg_monitor)")
                if privilege
                else _("pg_stat_statements is not enabled")
            )
        return (
            _(
                "the monitoring account may not read performance_schema "
                "(grant SELECT ON performance_schema.*)"
            )
            if privilege
            else _("performance_schema is not enabled")
        )
    return _("no statement statistics stored in the period")


def statement_sheet(servers: list[Server], ctx: Context) -> Sheet:
    rows: list[dict[str, Any]] = []
    for s in servers:
        base = {"tag": s.asset.asset_tag, "name": s.asset.name}
        if not s.statements:
            rows.append(base | {"state": _why_none(s)})
            continue
        every = s.statements_all.total_ms if s.statements_all else None
        for rank, st in enumerate(s.statements, 1):
            mean = st.mean_ms
            rows.append(
                base
                | {
                    "rank": rank,
                    "database": st.database,
                    "statement": st.text,
                    "calls": st.calls,
                    "total_s": round(st.total_ms / 1000, 3),
                    "mean_ms": round(mean, 3) if mean is not None else None,
                    "share": st.total_ms / every if every else None,
                    "state": "",
                }
            )
    return Sheet(
        _("Database top statements"),
        [
            Col("tag", _("Asset tag")),
            Col("name", _("Name")),
            Col("rank", _("Rank"), INT),
            Col("database", _("Database")),
            Col("statement", _("Statement")),
            Col("calls", _("Calls"), INT),
            Col("total_s", _("Total time (s)"), NUMBER),
            Col("mean_ms", _("Mean time (ms)"), NUMBER),
            Col("share", _("Share of the server's statement time"), PERCENT),
            Col("state", _("Remark")),
        ],
        rows,
        note=_(
            "Per database server, the statements with the most execution time in %(period)s, "
            "from pg_stat_statements (PostgreSQL) or performance_schema's statement digests "
            "(MySQL/MariaDB): each poll stores the 20 statements with the most time since the "
            "poll before, summed here over the period; the share is of the time of every "
            "statement the server ran between those polls. Statements are shown as the engine "
            "normalised them (values as $1 or ?).",
            period=period_words(ctx),
        )
        + as_of_note(ctx),
    )


def top_statement_findings(servers: list[Server], period: str) -> list[Finding]:
    out = []
    for s in servers:
        if not s.statements or s.statements_all is None or s.statements_all.total_ms <= 0:
            continue
        first, every = s.statements[0], s.statements_all.total_ms
        share = round(first.total_ms / every * 100, 1)
        text = " ".join(first.text.split())
        if len(text) > SHOWN_CHARS:
            text = text[: SHOWN_CHARS - 1] + "…"
        mean = first.mean_ms
        out.append(
            Finding(
                "db.top_statement",
                s.subject,
                _("Share of the server's statement time"),
                share,
                period,
                {
                    "tag": s.asset.asset_tag,
                    "name": s.asset.name,
                    "engine": listed([monitor_kind_label(k) for k in s.engines]),
                    "statement": text,
                    "database": first.database,
                    "calls": first.calls,
                    "total_s": round(first.total_ms / 1000, 1),
                    "mean_ms": round(mean, 2) if mean is not None else None,
                    "share": share,
                    "server_s": round(every / 1000, 1),
                },
                int(share),
            )
        )
    return out
