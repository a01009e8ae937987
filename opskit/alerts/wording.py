"""How the alert pages say things: durations, where a clock stands, history events, what raised
an alert (source and rule by their titles) and the asset it is about.

Never a stored key on a page: a rule is named by its title (``rules.yaml``), a domain's rule by
what the domain calls it (``register_rule_titles``: a patrol finding by its checklist item, which
``inspections`` registers), an event by a phrase, the SLA's own events by 系统/System
(``opskit.people``).

Clock wording, shared with ``static/js/clocks.js`` (which receives the same words and the
server's view of the clock in ``data-live``, so the countdown never trusts the browser's clock):
- running: "time left: H:MM:SS";
- past the deadline: "overdue by 24 min" (hours and days when longer), in red;
- a 5x8 clock outside working time: "Paused (outside working hours)" and "resumes Mon 08:00".
"""

from __future__ import annotations

import contextlib
import functools
import json
import re
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale, format_datetime, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from assets import queries as registry
from opskit.alerts.rules import RuleError, site_rules
from opskit.alerts.services import SOURCE_LABELS
from opskit.people import full_name
from opskit.sla import ClockState

#: what each history event says (the SLA's events add the clock: "SLA overdue (on site)")
EVENT_LABELS = {
    "raised": _l("Raised"),
    "acknowledged": _l("Acknowledged"),
    "onsite": _l("Arrived on site"),
    "resolved": _l("Resolved"),
    "escalated": _l("Escalated"),
    "flapping": _l("Started flapping (changes no longer notify)"),
    "silenced": _l("Raised during maintenance (silenced)"),
    "sla_warning": _l("SLA about to run out"),
    "sla_breached": _l("SLA overdue"),
    "comment": _l("Comment"),
}
SLA_EVENTS = ("sla_warning", "sla_breached")
#: a notification's delivery on the channels page
DELIVERY_LABELS = {
    "pending": _l("Waiting to be sent"),
    "sent": _l("Sent"),
    "failed": _l("Failed"),
}
CLOCK_NAMES = {
    "acknowledge": _l("Acknowledge"),
    "onsite": _l("On site"),
    "resolve": _l("Resolve"),
}
#: rules raised by other parts of opskit than rules.yaml
OTHER_RULES = {
    "registry.warranty": _l("Warranty ending"),
}
#: rule-name prefix → what a person calls a rule ``<prefix><group>.<name>``: ``title(group,
#: name)``, ``None`` when unknown. Filled by the domains that raise alerts of their own rules,
#: from their ``init_app`` (``inspections``: ``"patrol."`` → its checklist items' titles).
RuleTitle = Callable[[str, str], str | None]
RULE_TITLES: dict[str, RuleTitle] = {}


def register_rule_titles(prefix: str, title: RuleTitle) -> None:
    """Name the rules that begin with ``prefix`` (e.g. ``"patrol."``) by ``title(group, name)``,
    the rule's rest split at its last dot (``patrol.room_environment.hot_aisle_temp`` →
    ``("room_environment", "hot_aisle_temp")``; ``syslog.link_down`` → ``("", "link_down")``)."""
    RULE_TITLES[prefix] = title


def english() -> bool:
    return str(get_locale() or "").startswith("en")


# --- durations and clocks ------------------------------------------------------------------


def _words() -> dict[str, str]:
    """The words of durations and clocks in the user's language, as templates (``%(num)s``,
    ``%(time)s``): the page script fills them the same way ``human_duration`` does."""
    return {
        "day": _("1 day"),
        "days": _("%(num)s days"),
        "hour": _("1 hour"),
        "hours": _("%(num)s hours"),
        "min": _("%(num)s min"),
        "under_min": _("under a minute"),
        "overdue": _("overdue by %(time)s"),
        "paused": _("Paused (outside working hours)"),
        "left": _("time left"),
    }


def human_duration(value: timedelta, words: dict[str, str] | None = None) -> str:
    """A length of time as a person says it: "24 min", "2 hours 5 min", "3 days 4 hours"
    (minutes dropped from a day on, whole minutes only; its sign is ignored)."""
    w = words or _words()
    minutes = int(abs(value.total_seconds()) // 60)
    if minutes < 1:
        return w["under_min"]
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)

    def unit(n: int, one: str, many: str) -> str:
        return w[one] if n == 1 else w[many] % {"num": n}

    if days:
        parts = [unit(days, "day", "days")] + ([unit(hours, "hour", "hours")] if hours else [])
    elif hours:
        parts = [unit(hours, "hour", "hours")] + ([w["min"] % {"num": mins}] if mins else [])
    else:
        parts = [w["min"] % {"num": mins}]
    return " ".join(parts)


def overdue_text(value: timedelta) -> str:
    return _("overdue by %(time)s", time=human_duration(value))


def resume_text(at: datetime, now: datetime) -> str:
    """When a paused clock runs again: "resumes Mon 08:00" within the week, else with the date."""
    days = (at - now).total_seconds() / 86400
    when = format_datetime(at, "EEE HH:mm") if days < 6 else format_datetime(at, "short")
    return _("resumes %(when)s", when=when)


def clock_view(c: ClockState) -> dict[str, Any]:
    """What the clock macro shows for ``c``, and ``live``: the JSON the page script counts
    down from (seconds left and the coming working periods, as offsets from the server's now)."""
    words = _words()
    view: dict[str, Any] = {"overdue": "", "paused": "", "resume": "", "live": ""}
    if c.done_at is not None:
        return view
    now = c.now or c.deadline
    if c.overdue:
        view["overdue"] = overdue_text(c.remaining)
    if c.paused:
        view["paused"] = words["paused"]
        view["resume"] = resume_text(c.resumes_at, now) if c.resumes_at else ""
    periods = None
    if c.hours == "working":
        periods = [
            [
                round((start - now).total_seconds()),
                round((end - now).total_seconds()),
                resume_text(start, now),
            ]
            for start, end in c.periods
        ]
    view["live"] = json.dumps(
        {"remaining": round(c.remaining.total_seconds()), "periods": periods, "words": words},
        ensure_ascii=False,
    )
    return view


# --- history, sources, rules, assets -------------------------------------------------------


def event_text(kind: str, note: str = "") -> str:
    """An event kind as a phrase; the SLA's events name their clock (stored in the note)."""
    label = str(EVENT_LABELS.get(kind, kind.replace("_", " ")))
    if kind in SLA_EVENTS and note in CLOCK_NAMES:
        return _("%(event)s (%(clock)s)", event=label, clock=CLOCK_NAMES[note])
    return label


def already_done(alert: Any, action: str) -> str | None:
    """The step ``action`` (ack, onsite, resolve) was taken before (a retried request, a
    colleague): who did it and when, to tell the engineer; None when it is still to take."""

    def said(who: str | None, at: Any) -> dict[str, str]:
        return {"who": full_name(who), "at": format_datetime(at, "short")}

    if action == "ack" and alert.acknowledged_at is not None:
        return _(
            "Already acknowledged by %(who)s at %(at)s.",
            **said(alert.acknowledged_by, alert.acknowledged_at),
        )
    if action == "onsite" and alert.onsite_at is not None:
        return _(
            "Arrival on site already recorded by %(who)s at %(at)s.",
            **said(alert.onsite_by, alert.onsite_at),
        )
    if action == "resolve" and alert.status == "resolved" and alert.resolved_at is not None:
        return _(
            "Already resolved by %(who)s at %(at)s.", **said(alert.resolved_by, alert.resolved_at)
        )
    return None


def event_note(kind: str, note: str) -> str:
    """The note worth showing (an SLA event's note is its clock, already in its phrase)."""
    return "" if kind in SLA_EVENTS else note


def _shown(text: str, text_en: str) -> str:
    return text_en if text_en and english() else text


def _rule_titles() -> dict[str, str]:
    try:
        rules = site_rules()
    except RuleError:  # a broken instance rules file is reported where it is loaded
        return {}
    return {r.name: _shown(r.title, r.title_en) for r in rules}


def rule_title(rule: str, known: dict[str, str] | None = None) -> str | None:
    """What a person calls the rule that raised an alert, or ``None`` when opskit does not know
    it (the page then shows only the source)."""
    for prefix, title in RULE_TITLES.items():
        if rule.startswith(prefix):
            group, _dot, name = rule[len(prefix) :].rpartition(".")
            return title(group, name)
    if rule in OTHER_RULES:
        return str(OTHER_RULES[rule])
    return (known if known is not None else _rule_titles()).get(rule)


def rule_titles(rules: Iterable[str]) -> dict[str, str]:
    """rule name → title for the rules of a page's alerts (each looked up once)."""
    known = _rule_titles()
    out = {}
    for rule in set(rules):
        title = rule_title(rule, known)
        if title:
            out[rule] = title
    return out


def source_text(source: str, rule: str, titles: dict[str, str]) -> str:
    """The source as a word, then the rule's title if known: 巡检 · 机房环境 · 热通道温度."""
    word = str(SOURCE_LABELS.get(source, _("Other")))
    title = titles.get(rule)
    return f"{word} · {title}" if title and title != word else word


#: the dedup key of a service-desk notice: ``servicedesk:request=<id>:<clock>:<kind>``
_NOTICE_REQUEST = re.compile(r"^servicedesk:request=(\d+):")


def notice_request(source: str, dedup_key: str) -> int | None:
    """The request a service-desk notice is about (its id, from the notice's dedup key), or
    None for any other alert."""
    if source != "servicedesk":
        return None
    match = _NOTICE_REQUEST.match(dedup_key)
    return int(match[1]) if match else None


def assets_of(asset_ids: Iterable[int | None]) -> dict[int, Any]:
    """asset id → asset, read once through the registry's queries."""
    ids = sorted({i for i in asset_ids if i is not None})
    return {a.id: a for a in registry.assets_by_ids(ids)} if ids else {}


# --- what opskit wrote, said again in the language being written -----------------------------
#
# Alert messages and incident notes are stored as written, in the language of the moment they
# were written (the site's: Chinese by default). The parts opskit wrote are said again at render
# time in the language being written (a workbook in English): an alert message's rule words (a
# rule's title, a rules.yaml rule's message) and opskit's own incident notes. What a person
# typed, and the names in a message (assets, instances), are kept as they are.

#: rule-name prefix → ``words(alerts)``: alert id → its message recomposed in the language being
#: written, for the alerts of that prefix the domain knows (``inspections``: a patrol finding's
#: message from its answer). Filled from the domains' ``init_app``, like ``RULE_TITLES``.
MessageWords = Callable[[list[Any]], dict[int, str]]
MESSAGE_WORDS: dict[str, MessageWords] = {}
#: what opskit writes into an incident's timeline: the msgids ``opskit.alerts.incidents`` writes
#: (translated there, so the catalog has them)
SYSTEM_NOTES = (
    "Incident opened.",
    "Incident closed.",
    "Engineer on site (scanned %(tag)s).",
)
#: the languages a stored text may have been written in
WRITTEN_IN = ("zh_CN", "en")
#: what may follow a rule's words inside a message (end, a space, brackets, a colon)
_AFTER = re.compile(r"$|[\s(\[（【:：,，]")


def register_message_words(prefix: str, words: MessageWords) -> None:
    """Say the messages of the alerts whose rule begins with ``prefix`` by ``words(alerts)``."""
    MESSAGE_WORDS[prefix] = words


def _in_locale(locale: str, say: Callable[[], Any]) -> str:
    with force_locale(locale):
        return str(say() or "")


def _rule_texts(rule: str) -> tuple[str, list[str]]:
    """The rule's words in the language being written, and what it said in each language a
    message may have been written in (its title; a rules.yaml rule's message too), longest first."""
    shown = rule_title(rule) or ""
    said = {_in_locale(locale, lambda: rule_title(rule)) for locale in WRITTEN_IN}
    with contextlib.suppress(RuleError):  # a broken rules file is reported where it is loaded
        said |= {r.message for r in site_rules() if r.name == rule}
    return shown, sorted((s for s in said if s and s != shown), key=len, reverse=True)


def _reworded(message: str, shown: str, said: list[str]) -> str:
    """``message`` with the first of ``said`` that stands as words of its own (at the start or
    after a space or colon, followed by an end, a space, a bracket or a colon) as ``shown``."""
    for text in said:
        start = message.find(text)
        while start >= 0:
            end = start + len(text)
            before_ok = start == 0 or message[start - 1] in " :：·"
            if before_ok and _AFTER.match(message, end):
                return message[:start] + shown + message[end:]
            start = message.find(text, start + 1)
    return message


def alert_messages(alerts: Iterable[Any]) -> dict[int, str]:
    """alert id → its message in the language being written: recomposed by the domain that
    raised it (``register_message_words``), else its rule's words (title, or a rules.yaml rule's
    message) said again in this language where the stored message holds them; the stored
    message otherwise (what a person typed stays as typed)."""
    alerts = list(alerts)
    out = {a.id: a.message for a in alerts}
    by_prefix: dict[str, list[Any]] = {}
    rest = []
    for alert in alerts:
        prefix = next((p for p in MESSAGE_WORDS if (alert.rule or "").startswith(p)), None)
        if prefix is None:
            rest.append(alert)
        else:
            by_prefix.setdefault(prefix, []).append(alert)
    for prefix, group in by_prefix.items():
        told = MESSAGE_WORDS[prefix](group)
        out.update({a.id: told[a.id] for a in group if told.get(a.id)})
    texts: dict[str, tuple[str, list[str]]] = {}
    for alert in rest:
        if not alert.rule or alert.source == "manual":
            continue
        if alert.rule not in texts:
            texts[alert.rule] = _rule_texts(alert.rule)
        shown, said = texts[alert.rule]
        if shown:
            out[alert.id] = _reworded(alert.message, shown, said)
    return out


@functools.lru_cache(maxsize=64)
def _said_pattern(raw: str, locale: str) -> tuple[re.Pattern[str], dict[str, str]]:
    """A regular expression matching the text ``raw`` (a msgid) as written in ``locale`` (its
    placeholders as groups) and the placeholders' conversions (``s`` or ``d``)."""
    names = dict(re.findall(r"%\((\w+)\)([sd])", raw))
    marks = {name: f"\x00{i}\x00" for i, name in enumerate(names)}
    # the catalog's text for ``raw`` itself (a msgid with ``%(days)d`` is found only as written),
    # its placeholders replaced by the marks by hand: ``%d`` will not take a mark
    said = _in_locale(locale, lambda: _(raw))
    if names:
        said = re.sub(
            r"%\((\w+)\)[sd]|%%",
            lambda m: marks.get(m.group(1), m.group(0)) if m.group(1) else "%",
            said,
        )
    pattern = re.escape(said)
    for i, (name, kind) in enumerate(names.items()):
        group = r"-?\d+" if kind == "d" else ".+?"
        pattern = pattern.replace(re.escape(f"\x00{i}\x00"), f"(?P<{name}>{group})", 1)
    return re.compile(f"^{pattern}$"), names


def said_again(text: str, msgids: Iterable[str]) -> str | None:
    """``text`` in the language being written when it is one of ``msgids`` as written in any
    language of ``WRITTEN_IN`` (its placeholders' values kept), else None."""
    for raw in msgids:
        for locale in WRITTEN_IN:
            pattern, names = _said_pattern(raw, locale)
            found = pattern.match(text)
            if found:
                values: dict[str, Any] = {
                    k: int(v) if names[k] == "d" else v for k, v in found.groupdict().items()
                }
                return _(raw, **values) if names else _(raw)
    return None


def note_words(note: str) -> str:
    """An incident note in the language being written when opskit wrote it (``SYSTEM_NOTES``,
    in any language of ``WRITTEN_IN``); a person's note as typed."""
    return said_again(note, SYSTEM_NOTES) or note
