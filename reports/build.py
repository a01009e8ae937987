"""Build a report pack: a cover sheet (figures, a table of contents linking every sheet, a
sign-off block), the summary (综述: sentences and recommendations from the
kinds' findings), then each kind's tables, into one workbook."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from assets.queries import all_sites
from opskit import db, memory
from opskit.calendar import calendar_check
from opskit.xlsx.cover import customer_signoff, write_cover
from opskit.xlsx.writer import ReportWriter
from reports import recommendations
from reports.findings import Finding
from reports.kinds import KINDS, MONTHLY_KINDS, PLANNED, Context, Image
from reports.overview import month_overview
from reports.periods import Period
from reports.summary import summary_sheet

#: a 5x8 clock of an alert raised at the period's end runs on for a few working days into the
#: next days: the years of those days count for the cover's working-calendar note too
CALENDAR_SPILL_DAYS = 14


class ReportError(ValueError):
    """The request names an unknown kind (the message lists the known ones), or a
    recommendation rule file is wrong (the message names the file, the rule and the field)."""


def check_kinds(kinds: list[str] | None) -> list[str]:
    chosen = kinds or list(KINDS)
    unknown = [k for k in chosen if k not in KINDS]
    if unknown:
        planned = [k for k in unknown if k in PLANNED]
        if planned:
            raise ReportError(
                f"report kinds not built yet: {', '.join(planned)} (available: {', '.join(KINDS)})"
            )
        raise ReportError(
            f"unknown report kinds: {', '.join(unknown)} (available: {', '.join(KINDS)})"
        )
    return chosen


def pack_title(period: Period) -> str:
    """The pack's title by the length of its period: 服务月报, 季度报告, 年度技术支持总结."""
    if period.kind == "month":
        return _("Monthly service report")
    if period.kind == "year":
        return _("Annual technical support summary")
    return _("Quarterly service report")


def _registry_sites(locale: str) -> str:
    """The cover's site when OPSKIT_SITE_NAME is not set: the registry's sites."""
    names = [s.name for s in all_sites()]
    if not names:
        return _("(site name not set)")
    return ("、" if locale.startswith("zh") else ", ").join(names)


def as_of_pairs(ctx: Context) -> list[tuple[str, object]]:
    """The cover's 截至 rows while the period is still running: the instant the point-in-time
    figures were taken (``Context.as_of``) and what that means. None once the period is over."""
    if not ctx.running:
        return []
    return [
        (_("As of"), ctx.as_of.astimezone(ctx.period.tz).replace(tzinfo=None)),
        (
            _("Period still running"),
            _(
                "%(period)s has not ended: warranties, open alerts and SLA clocks and storage "
                "use are as of the time above, and will change until %(last)s.",
                period=ctx.period.text,
                last=ctx.period.last_day.isoformat(),
            ),
        ),
    ]


def calendar_note(period: Period) -> str:
    """The cover's note when a year of the period (or of the days its clocks run into) has no
    official holiday arrangement loaded, or the site's holiday file has errors: the 5x8 figures
    may be wrong. Empty when the calendar is known."""
    check = calendar_check(
        (period.first_day, period.last_day + timedelta(days=CALENDAR_SPILL_DAYS)), general=False
    )
    if not check:
        return ""
    parts = []
    if check.years:
        parts.append(
            _(
                "Holiday arrangement not loaded: %(years)s. The 5x8 (level C) clock figures "
                "assume Monday to Friday with only the fixed-date holidays off and may be wrong; "
                "enter the arrangement on the working calendar page and build the pack again.",
                years=", ".join(str(y) for y in check.years),
            )
        )
    parts.extend(check.problems)
    return " ".join(parts)


def build_pack(
    period: Period,
    out: str | Path,
    kinds: list[str] | None = None,
    lang: str | None = None,
    engineer: str = "",
    now: datetime | None = None,
) -> dict[str, int]:
    """Write the pack for ``period`` to ``out``; returns rows written per sheet."""
    with memory.existing_objects_frozen():  # the app is not garbage: not walked again and again
        return _build_pack(period, out, kinds, lang, engineer, now)


def _build_pack(
    period: Period,
    out: str | Path,
    kinds: list[str] | None,
    lang: str | None,
    engineer: str,
    now: datetime | None,
) -> dict[str, int]:
    chosen = check_kinds(kinds)
    locale = lang or current_app.config["BABEL_DEFAULT_LOCALE"]
    ctx = Context(period=period, now=now or db.utcnow(), headline={})
    period.check_started(ctx.now)
    try:  # a wrong rule file is refused before anything is written
        rules = recommendations.load(recommendations.instance_file())
    except recommendations.RecommendationError as exc:
        raise ReportError(str(exc)) from None
    found: list[Finding] = []
    written: dict[str, int] = {}
    with force_locale(locale):
        site = current_app.config.get("SITE_NAME", "") or _registry_sites(locale)
        with ReportWriter(out, footer=_("Page &P of &N")) as writer:
            # One kind at a time: its data is written and let go before the next kind runs, so
            # memory holds the largest kind, not all of them. The cover comes first in the
            # workbook but is filled last, with the headline figures every kind added.
            cover = writer.reserve(_("Cover"))
            summary = writer.reserve(_("Summary"))  # filled once every kind gave its findings
            # a quarter or a year also gets its months side by side, right after the cover
            by_month = period.kind != "month" and any(k in chosen for k in MONTHLY_KINDS)
            overview = writer.reserve(_("Month by month")) if by_month else None
            for kind in chosen:
                for sheet in KINDS[kind].build(ctx):
                    if isinstance(sheet, Image):
                        writer.image(sheet.name, sheet.title, sheet.png, sheet.note)
                        written[sheet.name] = 1
                    else:
                        written[sheet.name] = writer.sheet(sheet)
                findings = getattr(KINDS[kind], "findings", None)
                if findings is not None:
                    found.extend(findings(ctx))
                ctx.shared.clear()  # the kind's data let go before the next kind runs
            try:
                recs = recommendations.recommend(found, rules)
            except recommendations.RecommendationError as exc:
                raise ReportError(str(exc)) from None
            written[_("Summary")] = writer.sheet(summary_sheet(ctx, found, recs), into=summary)
            if overview is not None:
                written[_("Month by month")] = writer.sheet(month_overview(ctx), into=overview)
            pairs = [
                (_("Site"), site),
                (_("Period"), period.zh if locale.startswith("zh") else period.text),
                (_("From"), period.first_day),
                (_("To"), period.last_day),
                (_("Engineer"), engineer),
                (_("Built"), ctx.now.astimezone(period.tz).replace(tzinfo=None)),
                *as_of_pairs(ctx),
                *[(str(label), value) for label, value in ctx.headline.items()],
            ]
            note = calendar_note(period)
            if note:
                pairs.append((_("Working calendar"), note))
            write_cover(
                writer,
                cover,
                pack_title(period),
                pairs,
                contents=_("Table of contents"),
                signoff=customer_signoff(),
            )
            when = period.zh if locale.startswith("zh") else period.text
            writer.properties(
                title=f"{when} {pack_title(period)}",
                subject=when,
                author=engineer,
                company=site,
                created=ctx.now.astimezone(UTC).replace(tzinfo=None),
                keywords=_("service report, on-site support"),
                comments=_("Built by opskit"),
            )
    return written
