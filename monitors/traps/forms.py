"""The traps page's "make a rule" form: what was typed, checked field by field in words, and the
site rule it becomes (``monitors.traps.rules.add_site_rule`` checks it again against the
profiles' schema with the rest of the site file)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext as _

from monitors.traps import rules

FIELDS = ("oid", "action", "condition", "urgency", "title_zh", "title", "where_varbind", "where_in")
ACTIONS = ("raise", "clear")
URGENCIES = ("A", "B", "C")
_OID = re.compile(r"^\d+(?:\.\d+)+$")
MAX_TITLE = 120
MAX_VALUES = 20


def blank(oid: str, suggested: str = "") -> dict[str, str]:
    """The form for a trap OID: raise a condition named after the OID's last arcs, urgency B."""
    values = dict.fromkeys(FIELDS, "")
    values.update(oid=oid, action="raise", urgency="B", condition=suggested)
    return values


def suggest_condition(oid: str) -> str:
    """A starting name for the condition: ``trap_`` and the OID's last two arcs."""
    arcs = [a for a in oid.split(".") if a.isdigit()]
    return "trap_" + "_".join(arcs[-2:]) if arcs else ""


def typed(form: Mapping[str, str]) -> dict[str, str]:
    """The form's fields as typed (stripped; nothing dropped)."""
    return {name: (form.get(name) or "").strip() for name in FIELDS}


def _oid(value: str) -> str:
    return value[1:] if value.startswith(".") else value


def check(values: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The site rule the form describes, or the errors by field (in the current language)."""
    errors: dict[str, list[str]] = {}

    def wrong(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    oid = _oid(values["oid"])
    if not _OID.match(oid) or len(oid) > 255:
        wrong("oid", _("Expected the trap's numeric OID, like 1.3.6.1.4.1.318.0.306."))
    action = values["action"]
    if action not in ACTIONS:
        wrong("action", _("Choose whether the trap raises or clears an alert."))
    condition = values["condition"]
    if not rules.CONDITION.match(condition):
        wrong(
            "condition",
            _(
                "Expected a short key of lower-case letters, digits and _ (at most 48), "
                "like ac_compressor_alarm."
            ),
        )
    entry: dict[str, Any] = {"oid": oid}
    if action == "raise":
        if values["urgency"] not in URGENCIES:
            wrong("urgency", _("Choose the urgency: A, B or C."))
        title_zh, title = values["title_zh"], values["title"]
        if not title_zh and not title:
            wrong("title", _("Give the alert's title in words (in Chinese, English or both)."))
        for field, text in (("title_zh", title_zh), ("title", title)):
            if len(text) > MAX_TITLE:
                wrong(field, _("At most %(n)d characters.", n=MAX_TITLE))
        entry.update({"raise": condition, "urgency": values["urgency"], "title": title or title_zh})
        if title_zh:
            entry["title_zh"] = title_zh
    elif action == "clear":
        if rules.CONDITION.match(condition) and condition not in rules.conditions():
            wrong(
                "condition",
                _(
                    "No rule raises %(condition)s: make the rule that raises it first.",
                    condition=condition,
                ),
            )
        entry["clear"] = condition
    varbind, listed = _oid(values["where_varbind"]), values["where_in"]
    if varbind or listed:
        if not _OID.match(varbind):
            wrong(
                "where_varbind",
                _("Expected the numeric OID of the variable, like 1.3.6.1.2.1.2.2.1.8."),
            )
        found = [v.strip() for v in re.split(r"[,，]", listed) if v.strip()]
        if not found:
            wrong("where_in", _("List the values that make the rule apply, separated by commas."))
        elif len(found) > MAX_VALUES:
            wrong("where_in", _("At most %(n)d values.", n=MAX_VALUES))
        entry["where"] = {"varbind": varbind, "in": found}
    return entry, errors


def from_schema(exc: Any) -> dict[str, list[str]]:
    """A :class:`~monitors.profiles.ProfileError` of the new rule, on the form's field."""
    field = str(getattr(exc, "field", ""))
    part = field.split(".", 1)[1] if "." in field else ""
    name = {
        "oid": "oid",
        "raise": "condition",
        "clear": "condition",
        "urgency": "urgency",
        "title": "title",
        "where": "where_in",
        "where.varbind": "where_varbind",
    }.get(part.split("[")[0], "oid")
    return {name: [_("Not accepted: %(problem)s", problem=getattr(exc, "message", str(exc)))]}
