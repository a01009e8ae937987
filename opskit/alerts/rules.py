"""Alert rules as data (``rules.yaml``) and the evaluator the monitors call with each reading.

- ``threshold``: level from warning/critical limits (``direction: above`` or ``below``); a worse
  level must hold for ``for`` before it fires; once abnormal, the condition clears only when
  the value crosses ``recovery`` (hysteresis), so a value hovering at the limit does not flap.
- ``state``: fires while the value is one of ``states`` (UPS on battery, cooling fault).
- ``unreachable``: the device's monitor is down for ``for``; ``stale``: no reading for ``after``.
Each rule has a ``title`` (and ``title_en``) the pages show instead of its dotted name; a rule
without one is called by its message.
Urgency is a letter, per level ({warning: C, critical: B}), or per asset importance
({core: A, important: B, general: C}). Each rule's state per asset/instance is a ``RuleState``
row; alerts are raised and cleared through ``opskit.alerts.services`` with the key
``rule:<name>:<asset id>:<instance>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import select

from assets import queries as registry
from opskit import db
from opskit.alerts import services
from opskit.alerts.models import Alert, RuleState
from opskit.alerts.sla import parse_duration

KINDS = ("threshold", "state", "unreachable", "stale")
LEVELS = ("ok", "warning", "critical")
RANK = {level: i for i, level in enumerate(LEVELS)}
IMPORTANCES = ("core", "important", "general")


class RuleError(ValueError):
    """A rule definition is invalid; the message names the file, rule and key."""


@dataclass(frozen=True)
class Rule:
    name: str
    kind: str
    message: str
    urgency: Any  # "A" | {"warning": "C", "critical": "B"} | {"core": "A", ...}
    #: what the pages call the rule (Chinese, the site's language), and in English
    title: str = ""
    title_en: str = ""
    metric: str = ""
    warning: float | None = None
    critical: float | None = None
    recovery: float | None = None
    direction: str = "above"
    states: tuple[str, ...] = ()
    hold: timedelta = timedelta(0)  # "for"
    after: timedelta = timedelta(0)  # stale

    def urgency_for(self, level: str, importance: str) -> str:
        if isinstance(self.urgency, str):
            return self.urgency
        if level in self.urgency:
            return self.urgency[level]
        return self.urgency.get(importance, "C")

    def level_of(self, value: Any, current: str) -> str:
        if self.kind == "state":
            return "critical" if str(value) in self.states else "ok"
        v = float(value)
        beyond = (
            (lambda limit: v >= limit) if self.direction == "above" else (lambda limit: v <= limit)
        )
        if self.critical is not None and beyond(self.critical):
            return "critical"
        if self.warning is not None and beyond(self.warning):
            return "warning"
        if current != "ok" and self.recovery is not None:
            recovered = v <= self.recovery if self.direction == "above" else v >= self.recovery
            if not recovered:
                return "warning"  # hysteresis: abnormal until the recovery limit is crossed
        return "ok"


def _num(raw: dict[str, Any], key: str, where: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleError(f"{where}.{key}: expected a number, got {value!r}")
    return float(value)


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
        data = yaml.safe_load(text)
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
        if kind not in KINDS:
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
        if kind in ("threshold", "state"):
            if not raw.get("metric"):
                raise RuleError(f"{where}.metric: required for a {kind} rule")
            fields["metric"] = str(raw["metric"])
        if kind == "threshold":
            for key in ("warning", "critical", "recovery"):
                fields[key] = _num(raw, key, where)
            if fields["warning"] is None and fields["critical"] is None:
                raise RuleError(f"{where}: a threshold rule needs warning or critical")
            direction = raw.get("direction", "above")
            if direction not in ("above", "below"):
                raise RuleError(f"{where}.direction: expected above or below, got {direction!r}")
            fields["direction"] = direction
            w, c = fields["warning"], fields["critical"]
            if (
                w is not None
                and c is not None
                and ((direction == "above" and c < w) or (direction == "below" and c > w))
            ):
                raise RuleError(f"{where}: critical must be beyond warning ({direction})")
        if kind == "state":
            states = raw.get("states")
            if not isinstance(states, list) or not states:
                raise RuleError(f"{where}.states: expected a list of states")
            fields["states"] = tuple(str(s) for s in states)
        if raw.get("for") is not None:
            fields["hold"] = parse_duration(raw["for"], f"{where}.for")
        if kind == "stale":
            fields["after"] = parse_duration(raw.get("after"), f"{where}.after")
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
    """Feed one reading to every threshold/state rule on its metric."""
    changed = []
    for rule in site_rules():
        if rule.metric != metric or rule.kind not in ("threshold", "state"):
            continue
        states = states or RuleStates(asset_id, _names(("threshold", "state")))
        state = states.get(rule, instance)
        try:
            target = rule.level_of(value, state.level or "ok")
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
    """The device's monitor changed or confirmed its state (up/down)."""
    changed = []
    for rule in site_rules():
        if rule.kind == "unreachable":
            states = states or RuleStates(asset_id, _names(("unreachable",)))
            target = "ok" if up else "critical"
            state = states.get(rule, "")
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
    """Check how old the asset's newest reading is against the ``stale`` rules."""
    changed = []
    for rule in site_rules():
        if rule.kind != "stale":
            continue
        states = states or RuleStates(asset_id, _names(("stale",)))
        stale = last_reading_at is None or now - last_reading_at >= rule.after
        shown = last_reading_at.isoformat(timespec="minutes") if last_reading_at else "never"
        state = states.get(rule, "")
        alert = _apply(rule, asset_id, "", "critical" if stale else "ok", now, shown, state)
        if alert is not None:
            changed.append(alert)
    return changed


def _names(kinds: tuple[str, ...]) -> list[str]:
    return [rule.name for rule in site_rules() if rule.kind in kinds]


def judge_poll(
    asset_id: int,
    readings: Iterable[tuple[str, Any, str, str]],
    up: bool | None,
    reason: str,
    last_reading_at: datetime | None,
    now: datetime,
) -> list[Alert]:
    """One poll of one monitor: each reading ``(metric, value, instance, unit)`` against the
    threshold/state rules, ``up`` (``None``: unknown) with its ``reason`` against the
    unreachable rules, the
    age of the asset's newest reading against the stale rules. The asset's rule states are
    read in one query for the whole poll."""
    readings = list(readings)
    metrics = {metric for metric, _value, _instance, _unit in readings}
    wanted = [
        rule.name
        for rule in site_rules()
        if rule.kind in ("unreachable", "stale")
        or (rule.kind in ("threshold", "state") and rule.metric in metrics)
    ]
    states = RuleStates(asset_id, wanted)
    changed = []
    for metric, value, instance, unit in readings:
        changed += evaluate(asset_id, metric, value, now, instance, unit, states)
    if up is not None:
        changed += device_status(asset_id, up, now, reason, states)
    changed += data_age(asset_id, last_reading_at, now, states)
    return changed
