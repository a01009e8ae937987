"""What every report kind shares: the ``ReportKind`` protocol, the ``Context`` a pack is built
in, the ``Image`` sheet, and the small helpers for times and words.

A kind may also give findings (``reports.findings``) for the summary sheet and the
recommendations: ``Kind.findings``, computed from the same data as its sheets through
``Context.once`` (computed by whichever asks first, kept until the kind is done).

A kind reads only other domains' ``queries`` modules and returns ``Sheet`` objects (or an
``Image``) for the shared writer; it never formats cells itself. Times are converted to the
site's local time here (the writer refuses aware datetimes).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from flask_babel import get_locale
from flask_babel import gettext as _

from opskit.xlsx.writer import Sheet
from reports.findings import Finding
from reports.periods import Period

T = TypeVar("T")


@dataclass
class Context:
    period: Period
    now: datetime  # aware UTC, the build time; states are judged at ``as_of``
    headline: dict[str, Any]  # figures for the cover sheet, filled by the kinds
    #: month (its first day) → figure → value, for the month-by-month overview of a quarter or
    #: year; filled by the kinds that count things per month
    months: dict[date, dict[str, float]] = field(default_factory=dict)
    counted: set[str] = field(default_factory=set)  # the kinds that counted per month
    #: what a kind computed for its sheets and its findings alike (``once``); the pack empties
    #: it after each kind, so memory holds one kind's data at a time
    shared: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, computed once per pack and kind: the sheets and the findings of a
        kind read the same result, whichever of them asks first."""
        if key not in self.shared:
            self.shared[key] = compute()
        return self.shared[key]

    @property
    def as_of(self) -> datetime:
        """When point-in-time states are judged (``Period.as_of``): the build time while the
        period is running, its end once it is over."""
        return self.period.as_of(self.now)

    @property
    def as_of_day(self) -> date:
        """The site's date of ``as_of`` (today while running, else the period's last day)."""
        return self.period.as_of_day(self.now)

    @property
    def running(self) -> bool:
        """Whether the period is still running at the build time."""
        return self.period.running(self.now)

    def count(self, moment: date | datetime, figure: str, n: float = 1) -> None:
        """Add ``n`` to ``figure`` of the month holding ``moment`` (a local date, or an aware
        datetime taken in site time)."""
        day = moment.astimezone(self.period.tz).date() if isinstance(moment, datetime) else moment
        month = self.months.setdefault(day.replace(day=1), {})
        month[figure] = month.get(figure, 0) + n


@dataclass
class Image:
    """A sheet holding one picture (the topology diagram)."""

    name: str
    title: str
    png: bytes
    note: str = ""


def local_time(moment: datetime | None, ctx: Context) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(ctx.period.tz).replace(tzinfo=None)


def period_words(ctx: Context) -> str:
    """The period as the workbook's language says it: 2026年第3季度, or 2026Q3 in English."""
    return ctx.period.zh if str(get_locale() or "zh").startswith("zh") else ctx.period.text


def listed(items: Sequence[str], locale: str | None = None) -> str:
    """Items joined as the workbook's language lists them (``locale``, else the current one):
    张伟、李娜 in Chinese, "Zhang Wei, Li Na" in English."""
    chinese = str(locale or get_locale() or "zh").startswith("zh")
    return ("、" if chinese else ", ").join(items)


def period_as_of(ctx: Context) -> str:
    """The period in words and, while it is still running, the instant its states were taken
    (a finding's period): 2026年第4季度（截至 2026-12-06 19:36）."""
    words = period_words(ctx)
    if not ctx.running:
        return words
    moment = ctx.as_of.astimezone(ctx.period.tz).strftime("%Y-%m-%d %H:%M")
    return _("%(period)s (as of %(time)s)", period=words, time=moment)


def as_of_note(ctx: Context) -> str:
    """A sheet note's ending while the period is still running: when its states were taken."""
    if not ctx.running:
        return ""
    moment = ctx.as_of.astimezone(ctx.period.tz).strftime("%Y-%m-%d %H:%M")
    return " " + _("Still running: as of %(time)s.", time=moment)


def phrase(translated: str) -> Callable[..., str]:
    """For a message said many times (a finding per series), translated once without its
    values (``phrase(_("daily peaks %(first)s to %(last)s"))``): a function filling it in per
    call the way gettext does (``%`` with the values; none: as it is)."""
    return lambda **values: translated % values if values else translated


def labeller(labels: Mapping[str, Any]) -> Callable[[str], str]:
    """A function from stored values to their words (``labels``: lazy strings, e.g. the
    registry's ``assets.queries.asset_kind_labels()``), each translated once, in the language
    of the workbook being built; an unknown value shows as itself."""
    words = {key: str(word) for key, word in labels.items()}
    return lambda value: words.get(value, value)


def minutes(start: datetime, end: datetime | None) -> float | None:
    return None if end is None else round((end - start).total_seconds() / 60, 1)


class ReportKind(Protocol):
    """One kind of the pack: its title (lazy, shown on the page and the CLI), whether it counts
    things per month for a quarter's or a year's month-by-month sheet (``Context.count``),
    ``build``, from the pack's context to its sheets in order, and ``findings`` (None: the kind
    has none), from the pack's context to what it found (``reports.findings``), not needing
    ``build`` to have run."""

    @property
    def title(self) -> Any: ...

    @property
    def monthly(self) -> bool: ...

    def build(self, ctx: Context) -> Sequence[Sheet | Image]: ...

    @property
    def findings(self) -> Callable[[Context], list[Finding]] | None: ...


@dataclass(frozen=True)
class Kind:
    """A ``ReportKind`` made of a title and a function (what each kind module registers)."""

    title: Any  # a lazy string
    builder: Callable[[Context], Sequence[Sheet | Image]]
    monthly: bool = False
    findings: Callable[[Context], list[Finding]] | None = None

    def build(self, ctx: Context) -> Sequence[Sheet | Image]:
        return self.builder(ctx)
