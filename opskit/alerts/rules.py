"""Alert rules as data (``rules.yaml``) and the engine the monitors call with each poll.

A rule's ``kind`` (``opskit.alerts.rule_kinds``: threshold, state, unreachable, stale; one
module each) reads its own fields and judges what it is shown: a reading of its metric, the
device's up/down, or the age of the newest reading. The engine keeps the rest, the same for
every kind: a worse level must hold for ``for`` before it fires; the rule states; the alerts.
Each rule has a ``title`` (and ``title_en``) the pages show instead of its dotted name; a rule
without one is called by its message.
Urgency is a letter, per level ({warning: C, critical: B}), or per asset importance
({core: A, important: B, general: C}). Each rule's state per asset/instance is a ``RuleState``
row; alerts are raised and cleared through ``opskit.alerts.services`` with the key
``rule:<name>:<asset id>:<instance>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import or_, select

from assets import queries as registry
from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, RuleState
from opskit.alerts.rule_kinds import KINDS, Judges, Rule, RuleError, Seen, of
from opskit.rulefiles import load_yaml
from opskit.sla import parse_duration

LEVELS = ("ok", "warning", "critical")
RANK = {level: i for i, level in enumerate(LEVELS)}
IMPORTANCES = ("core", "important", "general")


def _urgency(value: Any, where: str) -> Any:
    if isinstance(value, str) and value in ("A", "B", "C"):
        return value
    if isinstance(value, dict) and value:
        for key, letter in value.items():
            if key not in ("warning", "critical", *IMPORTANCES):
                raise RuleError(f"{where}.urgency: unknown key {key!r}")
            if letter not in ("A", "B", "C"):
                raise RuleError(f"{where}.urgency.{key}: expected A, B or C, got {letter!r}")
        return dict(value)
    raise RuleError(f"{where}.urgency: expected A, B, C or a mapping, got {value!r}")


def load_rules(text: str, source: str = "rules.yaml") -> list[Rule]:
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise RuleError(f"{source}: not valid YAML: {exc}") from None
    raw_rules = data.get("rules") if isinstance(data, dict) else None
    if not isinstance(raw_rules, list):
        raise RuleError(f"{source}: expected `rules:` with a list of rules")
    rules: list[Rule] = []
    names: set[str] = set()
    for index, raw in enumerate(raw_rules):
        where = f"{source}: rules[{index}]"
        if not isinstance(raw, dict) or not raw.get("name"):
            raise RuleError(f"{where}: each rule needs a name")
        name = str(raw["name"])
        where = f"{source}: {name}"
        if name in names:
            raise RuleError(f"{where}: the name is used twice")
        names.add(name)
        kind = raw.get("kind")
        if not isinstance(kind, str) or kind not in KINDS:
            raise RuleError(f"{where}.kind: expected one of {', '.join(KINDS)}, got {kind!r}")
        fields: dict[str, Any] = {
            "name": name,
            "kind": kind,
            "message": str(raw.get("message") or name),
            "urgency": _urgency(raw.get("urgency"), where),
        }
        for key in ("title", "title_en"):
            value = raw.get(key, "")
            if not isinstance(value, str):
                raise RuleError(f"{where}.{key}: expected text, got {value!r}")
            fields[key] = value.strip()
        # a rule without a title is called by its message (never by its dotted name)
        fields["title"] = fields["title"] or fields["message"]
        fields.update(KINDS[kind].define(raw, where))
        if raw.get("for") is not None:
            fields["hold"] = parse_duration(raw["for"], f"{where}.for")
        rules.append(Rule(**fields))
    return rules


def default_rules_text() -> str:
    return resources.files("opskit.alerts").joinpath("rules.yaml").read_text("utf-8")


def site_rules() -> list[Rule]:
    cached = current_app.extensions.get("opskit.rules")
    if cached is None:
        path = Path(current_app.instance_path) / "alert_rules.yaml"
        if path.exists():
            cached = load_rules(path.read_text(encoding="utf-8"), str(path))
        else:
            cached = load_rules(default_rules_text(), "rules.yaml (default)")
        current_app.extensions["opskit.rules"] = cached
    return cached


# --- evaluation -------------------------------------------------------------------------------


def _asset_facts(asset_id: int) -> tuple[str, str]:
    """(label, importance) of an asset, through the registry's read surface."""
    asset = registry.get_asset(asset_id)
    if asset is None:
        return f"#{asset_id}", "general"
    return f"{asset.asset_tag} {asset.name}", asset.importance


class RuleStates:
    """The rule states of one asset, read in one query (``names``: only those rules'), handed
    out by (rule, instance); a missing one is made at level ok and added to the session."""

    def __init__(self, asset_id: int, names: Iterable[str] | None = None) -> None:
        self.asset_id = asset_id
        query = select(RuleState).where(RuleState.asset_id == asset_id)
        if names is not None:
            query = query.where(RuleState.rule.in_(sorted(set(names))))
        self.rows = {(r.rule, r.instance): r for r in db.session().scalars(query)}

    def get(self, rule: Rule, instance: str) -> RuleState:
        state = self.rows.get((rule.name, instance))
        if state is None:
            state = RuleState(rule=rule.name, asset_id=self.asset_id, instance=instance, level="ok")
            db.session().add(state)
            self.rows[(rule.name, instance)] = state
        return state


def dedup_key(rule: Rule, asset_id: int, instance: str) -> str:
    return f"rule:{rule.name}:{asset_id}:{instance}"


def _apply(
    rule: Rule,
    asset_id: int,
    instance: str,
    target: str,
    at: datetime,
    shown: str,
    state: RuleState,
) -> Alert | None:
    """Move the rule's state toward ``target`` (respecting ``for``) and raise/clear alerts."""
    state.last_value = shown[:64]
    state.updated_at = at
    current = state.level or "ok"
    key = dedup_key(rule, asset_id, instance)
    if RANK[target] > RANK[current]:
        if state.pending_level != target:
            state.pending_level, state.pending_since = target, at
        since = state.pending_since or at
        if at - since < rule.hold:
            return None
        state.level, state.pending_level, state.pending_since = target, None, None
        label, importance = _asset_facts(asset_id)
        where = f" [{instance}]" if instance else ""
        return services.raise_alert(
            key,
            source="monitor",
            rule=rule.name,
            urgency=rule.urgency_for(target, importance),
            message=f"{label}{where}: {rule.message} ({shown})",
            asset_id=asset_id,
            at=at,
        )
    state.pending_level, state.pending_since = None, None
    if target == current:
        return None
    state.level = target
    if target == "ok":
        return services.clear_alert(key, at=at, note=f"{rule.message}: {shown}")
    return None


def evaluate(
    asset_id: int,
    metric: str,
    value: Any,
    at: datetime,
    instance: str = "",
    unit: str = "",
    states: RuleStates | None = None,
) -> list[Alert]:
    """Feed one reading to every rule judging the readings of its metric (threshold, state)."""
    changed = []
    for rule in site_rules():
        if rule.metric != metric or of(rule).judges != "reading":
            continue
        states = states or RuleStates(asset_id, _names("reading"))
        state = states.get(rule, instance)
        try:
            target = of(rule).level(rule, Seen(value=value), state.level or "ok")
        except (TypeError, ValueError):
            continue  # a garbage value is the monitor's problem, not an alert condition
        alert = _apply(rule, asset_id, instance, target, at, f"{value}{unit}", state)
        if alert is not None:
            changed.append(alert)
    return changed


def device_status(
    asset_id: int,
    up: bool,
    at: datetime,
    reason: str = "",
    states: RuleStates | None = None,
) -> list[Alert]:
    """The device's monitor changed or confirmed its state (up/down): the rules judging it
    (unreachable)."""
    changed = []
    for rule in site_rules():
        if of(rule).judges != "status":
            continue
        states = states or RuleStates(asset_id, _names("status"))
        state = states.get(rule, "")
        target = of(rule).level(rule, Seen(up=up), state.level or "ok")
        alert = _apply(rule, asset_id, "", target, at, reason or "down", state)
        if alert is not None:
            changed.append(alert)
    return changed


def data_age(
    asset_id: int,
    last_reading_at: datetime | None,
    now: datetime,
    states: RuleStates | None = None,
) -> list[Alert]:
    """Check how old the asset's newest reading is against the rules judging it (stale)."""
    changed = []
    age = None if last_reading_at is None else now - last_reading_at
    shown = last_reading_at.isoformat(timespec="minutes") if last_reading_at else "never"
    for rule in site_rules():
        if of(rule).judges != "age":
            continue
        states = states or RuleStates(asset_id, _names("age"))
        state = states.get(rule, "")
        target = of(rule).level(rule, Seen(age=age), state.level or "ok")
        alert = _apply(rule, asset_id, "", target, now, shown, state)
        if alert is not None:
            changed.append(alert)
    return changed


def held_readings(asset_id: int) -> list[tuple[str, str]]:
    """The ``(metric, instance)`` pairs of the asset that a rule judging readings (threshold,
    state) holds above ok, or is waiting to raise (a pending level)."""
    metric_of = {rule.name: rule.metric for rule in site_rules() if of(rule).judges == "reading"}
    if not metric_of:
        return []
    rows = db.session().execute(
        select(RuleState.rule, RuleState.instance).where(
            RuleState.asset_id == asset_id,
            RuleState.rule.in_(sorted(metric_of)),
            or_(RuleState.level != "ok", RuleState.pending_level.is_not(None)),
        )
    )
    return sorted({(metric_of[name], instance) for name, instance in rows})


def readings_stopped(
    asset_id: int, conditions: Iterable[tuple[str, str]], at: datetime, note: str
) -> list[Alert]:
    """Nothing reads these ``(metric, instance)`` pairs of the asset any more (the monitor that
    supplied them stopped): each rule judging them goes back to ok, a pending level is dropped,
    and its open alert is resolved with ``note`` (the reason, in words). A rule state is never
    judged again once its readings stop, so without this its alert would stay open forever."""
    wanted = set(conditions)
    metrics = {metric for metric, _instance in wanted}
    judging = [
        rule for rule in site_rules() if of(rule).judges == "reading" and rule.metric in metrics
    ]
    if not judging:
        return []
    states = RuleStates(asset_id, [rule.name for rule in judging])
    changed = []
    for rule in judging:
        for metric, instance in sorted(wanted):
            if metric != rule.metric:
                continue
            state = states.rows.get((rule.name, instance))
            if state is not None:
                state.level, state.pending_level, state.pending_since = "ok", None, None
                state.updated_at = at
            alert = services.clear_alert(dedup_key(rule, asset_id, instance), at=at, note=note)
            if alert is not None:
                changed.append(alert)
    return changed


def _names(judges: Judges) -> list[str]:
    """The site's rules whose kind judges ``judges``."""
    return [rule.name for rule in site_rules() if of(rule).judges == judges]


def judge_poll(
    asset_id: int,
    readings: Iterable[tuple[str, Any, str, str]],
    up: bool | None,
    reason: str,
    last_reading_at: datetime | None,
    now: datetime,
) -> list[Alert]:
    """One poll of one monitor: each reading ``(metric, value, instance, unit)`` against the
    rules judging readings (threshold, state), ``up`` (``None``: unknown) with its ``reason``
    against those judging the device's status (unreachable), the age of the asset's newest
    reading against those judging it (stale). The asset's rule states are read in one query
    for the whole poll."""
    readings = list(readings)
    metrics = {metric for metric, _value, _instance, _unit in readings}
    wanted = [
        rule.name for rule in site_rules() if of(rule).judges != "reading" or rule.metric in metrics
    ]
    states = RuleStates(asset_id, wanted)
    changed = []
    for metric, value, instance, unit in readings:
        changed += evaluate(asset_id, metric, value, now, instance, unit, states)
    if up is not None:
        changed += device_status(asset_id, up, now, reason, states)
    changed += data_age(asset_id, last_reading_at, now, states)
    return changed
