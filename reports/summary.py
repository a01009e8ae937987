"""综述: the pack's summary sheet, right after the cover: the period in full sentences, then the
recommendations with their evidence.

The sentences are made from the kinds' summary findings (``reports.findings``, keys ending in
``.summary``), so every number in them is one the kind's own sheets show: availability of the
core systems (``availability.summary``, when that kind is in the pack), alerts by urgency and
the on-site SLA, the worst incidents, patrol completion, environment excursions
(``environment.summary``, when present), load and growth, storage, warranties and service
requests. A kind not in the pack gives no sentence. A summary finding carrying its own
sentence (``figures["text"]``) is shown as it is, in its place.

The recommendations come from ``reports.recommendations``: one row per rule that holds for a
finding, its stable id, the text with the figures filled in, the evidence (subject, metric,
value, period) and the priority, high first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask_babel import get_locale
from flask_babel import gettext as _

from opskit.xlsx.writer import Col, Sheet
from reports.findings import Finding
from reports.kinds.base import Context, as_of_note, period_words, phrase
from reports.recommendations import Recommendation, priority_words


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _alerts(f: dict[str, Any]) -> list[str]:
    if not f["total"]:
        return [_("No alerts were raised in the period.")]
    out = [
        _(
            "%(total)s alerts were raised: %(a)s of urgency A, %(b)s of urgency B and %(c)s "
            "of urgency C.",
            total=f["total"],
            a=f["a"],
            b=f["b"],
            c=f["c"],
        )
    ]
    if f["onsite_decided"]:
        out.append(
            _(
                "Of the %(decided)s alerts whose on-site clock was decided, %(met)s met it "
                "(%(pct)s %%); %(breached)s SLA clocks were breached in all.",
                decided=f["onsite_decided"],
                met=f["onsite_met"],
                pct=_pct(f["onsite_pct"]),
                breached=f["breached"],
            )
        )
    else:
        out.append(
            _(
                "No on-site SLA clock was decided in the period; %(breached)s SLA clocks were "
                "breached in all.",
                breached=f["breached"],
            )
        )
    return out


def _incidents(f: dict[str, Any]) -> list[str]:
    if not f["count"]:
        return [_("There were no incidents.")]
    return [_("There were %(count)s incidents; the worst: %(worst)s.", **f)]


def _patrol(f: dict[str, Any]) -> list[str]:
    if not f["planned"]:
        return [
            _(
                "No patrol rounds were planned; %(findings)s patrol findings were raised, "
                "%(open)s of them still open.",
                findings=f["findings"],
                open=f["still_open"],
            )
        ]
    return [
        _(
            "%(done)s of %(planned)s planned patrol rounds were done (%(pct)s %%), %(missed)s "
            "missed; %(findings)s patrol findings were raised, %(open)s of them still open.",
            done=f["done"],
            planned=f["planned"],
            pct=_pct(f["done_pct"]),
            missed=f["missed"],
            findings=f["findings"],
            open=f["still_open"],
        )
    ]


def _load(f: dict[str, Any]) -> list[str]:
    out = [
        _(
            "Of %(assets)s core servers and databases, %(crossing)s resources are forecast to "
            "reach their limit (%(soon)s within %(days)s days), %(above)s are already above it "
            "and %(insufficient)s have too little data for a forecast.",
            assets=f["assets"],
            crossing=f["crossing"],
            soon=f["crossing_soon"],
            days=f["soon_days"],
            above=f["above"],
            insufficient=f["insufficient"],
        )
    ]
    if f["no_data"]:
        out.append(_("%(count)s of them have no load values in the period.", count=f["no_data"]))
    return out


def _storage(f: dict[str, Any]) -> list[str]:
    limit = format(f["limit"], "g")
    return [
        _(
            "%(volumes)s volumes were monitored; %(near)s are at or above %(limit)s %% used.",
            volumes=f["volumes"],
            near=f["near_full"],
            limit=limit,
        )
    ]


def _warranty(f: dict[str, Any]) -> list[str]:
    return [
        _(
            "As of %(day)s, %(expired)s warranties have expired and %(soon)s end within "
            "%(days)s days.",
            day=f["as_of"],
            expired=f["expired"],
            soon=f["expiring_soon"],
            days=f["soon_days"],
        )
    ]


def _requests(f: dict[str, Any]) -> list[str]:
    return [
        _(
            "%(total)s service requests were raised and %(resolved)s resolved; %(missed)s "
            "request SLA clocks were breached.",
            total=f["total"],
            resolved=f["resolved"],
            missed=f["missed"],
        )
    ]


#: the summary's sentences in order: finding key → its sentences (None: the kind's own text)
SECTIONS: dict[str, Callable[[dict[str, Any]], list[str]] | None] = {
    "availability.summary": None,
    "alerts.summary": _alerts,
    "incidents.summary": _incidents,
    "patrol.summary": _patrol,
    "environment.summary": None,
    "capacity.summary": None,
    "load.summary": _load,
    "storage.summary": _storage,
    "warranty.summary": _warranty,
    "requests.summary": _requests,
}


def _spaced(note: str) -> str:
    """A note following a sentence: after a space in English, straight after 。 in Chinese."""
    return note if not note or not str(get_locale() or "zh").startswith("zh") else note.strip()


def sentences(ctx: Context, findings: list[Finding]) -> list[str]:
    """The summary's sentences: the period, then one section per summary finding present."""
    out = [
        _(
            "This report covers %(period)s, %(first)s to %(last)s.",
            period=period_words(ctx),
            first=ctx.period.first_day.isoformat(),
            last=ctx.period.last_day.isoformat(),
        )
        + _spaced(as_of_note(ctx))
    ]
    summaries = [f for f in findings if f.is_summary]
    known = [key for key in SECTIONS if any(f.key == key for f in summaries)]
    others = [f.key for f in summaries if f.key not in SECTIONS]
    for key in known + others:
        for f in summaries:
            if f.key != key:
                continue
            text = f.figures.get("text")
            make = SECTIONS.get(key)
            if isinstance(text, str) and text:
                out.append(text)
            elif make is not None:
                out.extend(make(f.figures))
    return out


def _value(f: Finding) -> str:
    if f.value is None:
        return "—"
    unit = f.figures.get("value_unit", "")
    if isinstance(f.value, int | float) and unit:
        return f"{f.value:g} {unit}" if unit != "%" else f"{f.value:g}%"
    return str(f.value)


def evidence(f: Finding) -> str:
    """A recommendation's evidence in words: subject, metric, value, period."""
    return evidencer()(f)


def evidencer() -> Callable[[Finding], str]:
    """``evidence`` for many findings (a pack has hundreds): its words translated once."""
    with_subject = phrase(_("%(subject)s: %(metric)s %(value)s; %(period)s"))
    without_subject = phrase(_("%(metric)s %(value)s; %(period)s"))

    def said(f: Finding) -> str:
        if f.subject:
            return with_subject(
                subject=f.subject, metric=f.metric, value=_value(f), period=f.period.strip()
            )
        return without_subject(metric=f.metric, value=_value(f), period=f.period.strip())

    return said


def summary_sheet(ctx: Context, findings: list[Finding], recs: list[Recommendation]) -> Sheet:
    """综述: the sentences, then the recommendations table."""
    words = priority_words()
    evidence = evidencer()
    lines = sentences(ctx, findings)
    if not recs:
        lines.append(_("No recommendation for this period: nothing found needs action."))
    rows = [
        {
            "id": r.rule.id,
            "text": r.text,
            "evidence": evidence(r.finding),
            "priority": words[r.rule.priority],
            "high": r.rule.priority == "high",
        }
        for r in recs
    ]
    return Sheet(
        _("Summary"),
        [
            Col("id", _("Recommendation id"), width=16),
            Col("text", _("Recommendation"), width=70),
            Col("evidence", _("Evidence"), width=60),
            Col("priority", _("Priority"), width=10),
        ],
        rows,
        highlight=lambda row: bool(row["high"]),
        note=_(
            "Recommendations, high priority first (rules: recommendations.yaml; an id stays "
            "the same from one period to the next)."
        ),
        lines=lines,
    )
