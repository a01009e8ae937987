"""What a trap means: the device profiles' ``traps:`` entries and the site's own rules, indexed by
trap OID.

The schema of ``traps:`` in ``monitors/profiles/*.yaml`` (validated by ``monitors.profiles``,
errors naming file and field)::

    traps:
      - oid: 1.3.6.1.2.1.33.2.1   # the trap's snmpTrapOID; a v1 trap: ENTERPRISE.0.SPECIFIC, or
                                  #   1.3.6.1.6.3.1.1.5.N for generic trap N-1 (RFC 3584)
        raise: ups_on_battery     # a condition ([a-z0-9_]+): its alert is raised; one alert per
                                  #   asset, condition and instance (deduplicated while open)
        urgency: A                # raise only: A, B or C
        title: UPS on battery     # raise only: the alert's title in English (the catalog has its
                                  #   translation); one title per condition in all profiles
        # clear: ups_on_battery   # or: the condition's open alert is resolved (or a list)
        where: {varbind: COLUMN, in: [VALUE, ...]}  # optional: the trap carries a varbind under
                                  #   COLUMN whose value (int, OID or text, as a string) is listed
        instance: COLUMN          # optional: the value of the varbind under COLUMN names the
                                  #   instance (an interface's ifIndex)

Trap OIDs are unique across vendors, so every shipped profile's entries apply to every trap
(whatever profiles the sending device matched when probed). Each entry whose OID and ``where``
match gives one :class:`Action` per condition; a trap no entry matches is unknown (stored and
listed, never an alert).

**The site's rules**: ``<instance>/trap_rules.yaml`` (``SITE_FILE``) holds ``traps:`` entries in
the same schema plus ``title_zh`` (the title in Chinese; ``title`` may then be in any language),
written by the traps page's "make a rule" form (:func:`add_site_rule`) or by hand. They act as
the profile ``site`` (alert rule ``trap.site.<condition>``). The file is read again whenever it
changes (its time, size or inode, checked at each trap): a running ``opskit traps`` applies a
new rule from the next trap on, without a restart or a signal. A file that does not validate
is reported (:func:`site_problem`, the traps page) and its rules are left out until it is
corrected; the shipped rules go on.
"""

from __future__ import annotations

import fcntl
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from flask import current_app, has_app_context
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from monitors.profiles import ProfileError, TrapSpec, load_profiles, parse_profile
from opskit import rulefiles
from opskit.files import write_atomic

log = logging.getLogger(__name__)

#: the profiles' trap titles, written here so the catalog extracts them (a test checks the list)
CATALOG_TITLES = (
    _l("UPS on battery"),
    _l("UPS battery low"),
    _l("UPS output overloaded"),
    _l("UPS on bypass"),
    _l("UPS fault"),
    _l("Link down"),
    _l("Device restarted"),
    _l("Air conditioner critical alarm"),
    _l("Air conditioner warning"),
    _l("Air conditioner temperature high"),
    _l("Air conditioner airflow lost"),
    _l("Air conditioner compressor fault"),
    _l("Water leak detected"),
)
#: the alert rule of a trap condition: ``trap.<profile>.<condition>``
RULE_PREFIX = "trap."
#: the site's own trap rules, in the instance folder
SITE_FILE = "trap_rules.yaml"
#: the profile name the site's rules act as
SITE_PROFILE = "site"
CONDITION = re.compile(r"^[a-z0-9_]{1,48}$")
_SITE_HEADER = (
    "# This site's SNMP trap rules (opskit: monitors/traps/rules.py), in the profiles' traps:\n"
    '# schema plus title_zh. Written by the traps page\'s "make a rule"; may be edited by hand\n'
    "# (opskit traps reads it again when it changes).\n"
)


@dataclass(frozen=True)
class Action:
    action: str  # raise / clear
    condition: str
    instance: str = ""
    urgency: str = ""
    title: str = ""
    profile: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.condition}" + (f"[{self.instance}]" if self.instance else "")


@dataclass(frozen=True)
class SiteRules:
    """The site file as last read: its entries (``None``: no file) or what is wrong with it."""

    path: Path | None
    specs: tuple[TrapSpec, ...] = ()
    titles_zh: dict[str, str] | None = None
    raw: tuple[dict[str, Any], ...] = ()
    problem: str = ""


@cache
def _index() -> dict[str, tuple[tuple[str, TrapSpec], ...]]:
    found: dict[str, list[tuple[str, TrapSpec]]] = {}
    for profile in load_profiles():
        for spec in profile.traps:
            found.setdefault(spec.oid, []).append((profile.name, spec))
    return {oid: tuple(specs) for oid, specs in found.items()}


@cache
def titles() -> dict[str, str]:
    """condition → its title in English (the first raise entry naming it, in the profiles)."""
    out: dict[str, str] = {}
    for specs in _index().values():
        for _profile, spec in specs:
            if spec.action == "raise":
                for condition in spec.conditions:
                    out.setdefault(condition, spec.title)
    return out


# --- the site's file -------------------------------------------------------------------------


def site_path() -> Path | None:
    """``<instance>/trap_rules.yaml`` of the current app (``None`` outside one)."""
    return Path(current_app.instance_path) / SITE_FILE if has_app_context() else None


def parse_site(text: str, origin: str) -> SiteRules:
    """The entries of a site file's text (:class:`ProfileError` naming the file and field)."""
    raws = rulefiles.entries(
        text, "traps", "trap rules", lambda message: ProfileError(origin, "(top)", message)
    )
    if not raws:
        return SiteRules(Path(origin))
    entries: list[dict[str, Any]] = []
    zh: dict[str, str] = {}
    for i, raw in enumerate(raws):
        if not isinstance(raw, dict):
            raise ProfileError(origin, f"traps[{i}]", "expected a mapping")
        entry = dict(raw)
        title_zh = entry.pop("title_zh", "")
        if not isinstance(title_zh, str):
            raise ProfileError(origin, f"traps[{i}].title_zh", "expected text")
        if title_zh.strip() and "raise" in entry and isinstance(entry["raise"], str):
            zh.setdefault(entry["raise"], title_zh.strip())
        entries.append(entry)
    profile = parse_profile(
        origin, {"name": SITE_PROFILE, "match": {"always": True}, "traps": entries}
    )
    return SiteRules(Path(origin), profile.traps, zh, tuple(raws))


_loaded: dict[str, tuple[tuple[int, int, int], SiteRules]] = {}
_lock = threading.Lock()


def site_rules(path: Path | None = None) -> SiteRules:
    """The site file's rules, read again when the file changed (its time, size or inode)."""
    path = path or site_path()
    if path is None:
        return SiteRules(None)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return SiteRules(path)
    except OSError as exc:
        return SiteRules(path, problem=f"{path}: cannot read: {exc.strerror}")
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    kept = _loaded.get(str(path))
    if kept is not None and kept[0] == stamp:
        return kept[1]
    with _lock:
        try:
            rules = parse_site(path.read_text(encoding="utf-8"), str(path))
            rules = SiteRules(path, rules.specs, rules.titles_zh, rules.raw)
        except ProfileError as exc:
            log.error("%s; the site's trap rules are left out until it is corrected", exc)
            rules = SiteRules(path, problem=str(exc))
        except (OSError, UnicodeDecodeError) as exc:
            rules = SiteRules(path, problem=f"{path}: cannot read: {exc}")
        _loaded[str(path)] = (stamp, rules)
    return rules


def site_problem() -> str:
    """What is wrong with the site file ("" when nothing)."""
    return site_rules().problem


def _site_title(rules: SiteRules, condition: str, english: bool) -> str | None:
    for spec in rules.specs:
        if spec.action == "raise" and condition in spec.conditions:
            zh = (rules.titles_zh or {}).get(condition, "")
            return spec.title if english or not zh else zh
    return None


def site_title(condition: str, english: bool) -> str | None:
    """The title a site rule gives a condition (in Chinese unless ``english``), else None."""
    return _site_title(site_rules(), condition, english)


def conditions() -> list[str]:
    """Every condition a rule raises (profiles and the site), for the form's suggestions."""
    raised = set(titles())
    raised |= {c for s in site_rules().specs if s.action == "raise" for c in s.conditions}
    return sorted(raised)


def known_oids() -> set[str]:
    """The trap OIDs some rule (a profile's or the site's) is about."""
    return set(_index()) | {spec.oid for spec in site_rules().specs}


def _dump(entries: list[dict[str, Any]]) -> str:
    body = yaml.safe_dump(
        {"traps": entries}, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100
    )
    return _SITE_HEADER + body


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    keys = ("oid", "raise", "clear", "where")
    return all(str(a.get(k)) == str(b.get(k)) for k in keys)


def add_site_rule(entry: dict[str, Any], path: Path | None = None) -> bool:
    """Append one rule to the site file (validated with the whole file; :class:`ProfileError`
    when it or the file is wrong); False when the same rule (OID, action, condition and
    ``where``) is already there. Concurrent writers wait for each other (a lock file)."""
    path = path or site_path()
    if path is None:
        raise RuntimeError("no instance folder outside an app")
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(f".{path.name}.lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        current = parse_site(text, str(path))
        entries = [dict(e) for e in current.raw]
        if any(_same(e, entry) for e in entries):
            return False
        entries.append(entry)
        parse_site(_dump(entries), str(path))  # the new rule with the others: same schema
        write_atomic(path, _dump(entries))
    return True


# --- what a trap does ------------------------------------------------------------------------


def _under(oid: str, column: str) -> bool:
    return oid == column or oid.startswith(column + ".")


def _values(varbinds: list[tuple[str, Any]], column: str) -> list[str]:
    return [str(value) for oid, value in varbinds if _under(oid, column)]


def _entries(trap_oid: str, site: SiteRules) -> list[tuple[str, TrapSpec]]:
    found = list(_index().get(trap_oid, ()))
    found += [(SITE_PROFILE, spec) for spec in site.specs if spec.oid == trap_oid]
    return found


def _in_words(profile: str, spec: TrapSpec, site: SiteRules) -> str:
    """A raising entry's title in the site's language (the alert's message is stored once): a
    profile's through the catalog, a site rule's Chinese title where it has one."""
    if not spec.title or not has_app_context():
        return spec.title
    if profile == SITE_PROFILE:
        return _site_title(site, spec.conditions[0], english=False) or spec.title
    return gettext(spec.title)


def _actions(
    trap_oid: str,
    varbinds: list[tuple[str, Any]],
    site: SiteRules,
    words: dict[tuple[str, int], str],
) -> list[Action]:
    out: list[Action] = []
    for profile, spec in _entries(trap_oid, site):
        if any(not set(_values(varbinds, col)) & allowed for col, allowed in spec.where):
            continue
        instance = ""
        if spec.instance is not None:
            found = _values(varbinds, spec.instance)
            instance = found[0] if found else ""
        said = (profile, id(spec))
        title = words.get(said)
        if title is None:
            title = words[said] = _in_words(profile, spec, site)
        for condition in spec.conditions:
            out.append(Action(spec.action, condition, instance, spec.urgency, title, profile))
    return out


def actions(trap_oid: str, varbinds: list[tuple[str, Any]]) -> list[Action]:
    """What the profiles and the site's rules do with this trap (empty: nothing knows it)."""
    return _actions(trap_oid, varbinds, site_rules(), {})


def actions_of(traps: Iterable[tuple[str, list[tuple[str, Any]]]]) -> list[list[Action]]:
    """:func:`actions` of each ``(trap_oid, varbinds)`` of a batch: the site's file looked
    at once, each rule's title put in words once."""
    site = site_rules()
    words: dict[tuple[str, int], str] = {}
    return [_actions(oid, varbinds, site, words) for oid, varbinds in traps]


_DONE = re.compile(r"(raise|clear) ([a-z0-9_]+)(?:\[(.*)\])?")


def described(done: str, english: bool) -> list[tuple[str, str]]:
    """A stored trap's ``actions`` ("raise ups_on_battery, clear link_down[3]") for a page:
    (``raise``/``clear``, the condition's title [instance]) each, in the page's language."""
    out = []
    for part in filter(None, (p.strip() for p in done.split(","))):
        m = _DONE.fullmatch(part)
        if m is None:
            continue
        action, condition, instance = m.groups()
        title = site_title(condition, english) or titles().get(condition)
        if title and not site_title(condition, english):
            title = gettext(title)
        text = title or condition
        out.append((action, f"{text} [{instance}]" if instance else text))
    return out
