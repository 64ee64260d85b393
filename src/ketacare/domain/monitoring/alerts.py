"""Vital-sign alert rules (data) and a pure evaluation engine with hysteresis and de-duplication.

Rules live in `data/alert_rules.toml` with their sources; a clinic may override thresholds, priorities,
actions and timings per rule. `evaluate` looks at the readings so far and the active alerts and returns what
to raise and what to resolve: an active alert for a rule is never raised again while it is active, at most one
alert is active per rule group, and an alert resolves only once the value is back past the threshold by the
rule's margin. Priorities are the three of IEC 60601-1-8: high, medium, low.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Literal

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.monitoring.vitals import LABELS, UNITS, VITALS, VitalReading, VitalSigns

_DATA = "ketacare.domain.monitoring.data"

Priority = Literal["high", "medium", "low"]
PRIORITIES: tuple[str, ...] = ("high", "medium", "low")
ACTIONS: tuple[str, ...] = ("recheck", "pause", "stop", "call_prescriber", "oxygen", "check_probe")
PHASES: tuple[str, ...] = ("infusing", "paused", "recovery")
_OPS = (">=", ">", "<=", "<")


@dataclass(frozen=True)
class Condition:
    """`vital op value` (absolute, or a change over baseline for rise rules) and the hysteresis margin."""

    vital: str
    op: str
    value: float
    resolve_margin: float = 0.0

    @property
    def high(self) -> bool:
        return self.op in (">=", ">")

    def fires(self, x: float) -> bool:
        return {">=": x >= self.value, ">": x > self.value, "<=": x <= self.value, "<": x < self.value}[
            self.op
        ]

    def still_bad(self, x: float) -> bool:
        """Return True while `x` has not come back past the threshold by the margin."""
        return x > self.value - self.resolve_margin if self.high else x < self.value + self.resolve_margin

    def describe(self, rise: bool) -> str:
        name = LABELS[self.vital]
        return f"{name} {'rise ' if rise else ''}{self.op} {self.value:g} {UNITS[self.vital]}"


@dataclass(frozen=True)
class AlertRule:
    """One alert rule as data (see `data/alert_rules.toml` for field meanings)."""

    id: str
    title: str
    kind: Literal["threshold", "rise", "overdue"]
    group: str
    rank: int
    priority: Priority
    phases: tuple[str, ...]
    actions: tuple[str, ...]
    advice: str
    source: str
    conditions: tuple[Condition, ...] = ()
    match: Literal["any", "all"] = "any"
    sustained_min: float = 0.0
    vitals: tuple[str, ...] = ()
    max_gap_min: float = 0.0
    enabled: bool = True
    clinic_override: bool = False

    @property
    def watched(self) -> tuple[str, ...]:
        return self.vitals if self.kind == "overdue" else tuple(c.vital for c in self.conditions)


def _validate(rule: AlertRule) -> AlertRule:
    f = f"rules.{rule.id}"
    if rule.priority not in PRIORITIES:
        raise InvalidValue(
            f + ".priority", f"priority must be high, medium or low (IEC 60601-1-8), not {rule.priority!r}"
        )
    if rule.kind not in ("threshold", "rise", "overdue"):
        raise InvalidValue(f + ".kind", f"unknown rule kind {rule.kind!r}")
    if rule.match not in ("any", "all"):
        raise InvalidValue(f + ".match", "match must be 'any' or 'all'")
    if not set(rule.phases) <= set(PHASES) or not rule.phases:
        raise InvalidValue(f + ".phases", f"phases must be among {', '.join(PHASES)}")
    if not rule.actions or not set(rule.actions) <= set(ACTIONS):
        raise InvalidValue(f + ".actions", f"actions must be among {', '.join(ACTIONS)}")
    if not rule.advice.strip() or not rule.source.strip():
        raise InvalidValue(f, "every rule needs advice and a source")
    if rule.kind == "overdue":
        if not rule.vitals or not set(rule.vitals) <= set(VITALS) or rule.max_gap_min <= 0:
            raise InvalidValue(f, "an overdue rule needs vitals and max_gap_min above 0")
    else:
        if not rule.conditions:
            raise InvalidValue(f + ".conditions", "a threshold or rise rule needs conditions")
        for c in rule.conditions:
            if (
                c.vital not in VITALS
                or c.op not in _OPS
                or c.resolve_margin < 0
                or not math.isfinite(c.value)
            ):
                raise InvalidValue(f + ".conditions", f"bad condition {c}")
    if rule.sustained_min < 0:
        raise InvalidValue(f + ".sustained_min", "sustained_min must be 0 or more")
    return rule


def _rule_from_dict(d: Mapping[str, Any]) -> AlertRule:
    conds = tuple(
        Condition(str(c["vital"]), str(c["op"]), float(c["value"]), float(c.get("resolve_margin", 0.0)))
        for c in d.get("conditions", ())
    )
    return _validate(
        AlertRule(
            id=str(d["id"]),
            title=str(d["title"]),
            kind=d["kind"],
            group=str(d.get("group", d["id"])),
            rank=int(d.get("rank", 1)),
            priority=d["priority"],
            phases=tuple(d["phases"]),
            actions=tuple(d["actions"]),
            advice=str(d["advice"]),
            source=str(d["source"]),
            conditions=conds,
            match=d.get("match", "any"),
            sustained_min=float(d.get("sustained_min", 0.0)),
            vitals=tuple(d.get("vitals", ())),
            max_gap_min=float(d.get("max_gap_min", 0.0)),
            enabled=bool(d.get("enabled", True)),
        )
    )


_OVERRIDABLE = {
    "enabled",
    "priority",
    "advice",
    "actions",
    "sustained_min",
    "max_gap_min",
    "thresholds",
    "resolve_margins",
    "phases",
}


def _apply_override(rule: AlertRule, ov: Mapping[str, Any]) -> AlertRule:
    unknown = set(ov) - _OVERRIDABLE
    if unknown:
        raise InvalidValue(f"clinic_overrides.{rule.id}", f"cannot override {', '.join(sorted(unknown))}")
    changes: dict[str, Any] = {}
    for key in ("enabled", "priority", "advice", "sustained_min", "max_gap_min"):
        if key in ov:
            changes[key] = ov[key]
    for key in ("actions", "phases"):
        if key in ov:
            changes[key] = tuple(ov[key])
    thresholds, margins = dict(ov.get("thresholds", {})), dict(ov.get("resolve_margins", {}))
    for v in set(thresholds) | set(margins):
        if v not in rule.watched or rule.kind == "overdue":
            raise InvalidValue(f"clinic_overrides.{rule.id}", f"rule has no threshold on {v!r}")
    if thresholds or margins:
        changes["conditions"] = tuple(
            replace(
                c,
                value=float(thresholds.get(c.vital, c.value)),
                resolve_margin=float(margins.get(c.vital, c.resolve_margin)),
            )
            for c in rule.conditions
        )
    what = ", ".join(sorted(ov))
    changes["source"] = f"clinic override ({what}); shipped default from: {rule.source}"
    changes["clinic_override"] = True
    return _validate(replace(rule, **changes))


def load_alert_rules(
    clinic_overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[AlertRule, ...]:
    """Return the alert rules from `data/alert_rules.toml` with a clinic's per-rule overrides applied."""
    rules = {r.id: r for r in _default_rules()}
    for rid, ov in (clinic_overrides or {}).items():
        if rid not in rules:
            raise InvalidValue("clinic_overrides", f"unknown alert rule {rid!r}")
        rules[rid] = _apply_override(rules[rid], ov)
    return tuple(rules.values())


@cache
def _default_rules() -> tuple[AlertRule, ...]:
    raw = load_toml(_DATA, "alert_rules.toml")
    rules = tuple(_rule_from_dict(d) for d in raw["rules"])
    ids = [r.id for r in rules]
    if len(set(ids)) != len(ids):
        raise InvalidValue("alert_rules.toml", "duplicate rule ids")
    return rules


# ---- alert lifecycle ----

AlertStatus = Literal["raised", "acknowledged", "resolved"]


@dataclass(frozen=True)
class Alert:
    """One alert: raised by a rule, acknowledged by a person with the action taken, then resolved."""

    id: str
    rule_id: str
    group: str
    rank: int
    priority: Priority
    title: str
    advice: str
    actions: tuple[str, ...]
    source: str
    raised_at_min: float
    trigger: str
    status: AlertStatus = "raised"
    acknowledged_by: str | None = None
    acknowledged_at_min: float | None = None
    action_taken: str | None = None
    resolved_at_min: float | None = None
    resolution: str | None = None

    @property
    def active(self) -> bool:
        """Return True until the alert is resolved (acknowledged alerts stay active, quieter)."""
        return self.status != "resolved"

    def acknowledge(self, *, by: str, action_taken: str, at_min: float) -> Alert:
        """Return the alert acknowledged by `by` with the action taken (e.g. 'recheck: BP 172/98')."""
        if self.status != "raised":
            raise InvalidValue(
                "alert", f"alert {self.id} is {self.status}; only a raised alert can be acknowledged"
            )
        if not by.strip():
            raise InvalidValue("acknowledged_by", "say who acknowledged the alert")
        if not action_taken.strip():
            raise InvalidValue("action_taken", "say what was done about the alert")
        if at_min < self.raised_at_min:
            raise InvalidValue("at_min", "acknowledged before it was raised")
        return replace(
            self,
            status="acknowledged",
            acknowledged_by=by,
            acknowledged_at_min=at_min,
            action_taken=action_taken,
        )

    def resolve(self, *, at_min: float, reason: str) -> Alert:
        """Return the alert resolved at `at_min` with the reason."""
        if self.status == "resolved":
            raise InvalidValue("alert", f"alert {self.id} is already resolved")
        if not reason.strip():
            raise InvalidValue("resolution", "say why the alert is resolved")
        if at_min < self.raised_at_min:
            raise InvalidValue("at_min", "resolved before it was raised")
        return replace(self, status="resolved", resolved_at_min=at_min, resolution=reason)


@dataclass(frozen=True)
class AlertChanges:
    """New alerts to raise and active alerts to resolve (as their resolved versions)."""

    raised: tuple[Alert, ...] = ()
    resolved: tuple[Alert, ...] = ()


def apply_changes(active: Iterable[Alert], changes: AlertChanges) -> tuple[Alert, ...]:
    """Return the active alerts after `changes` (convenience for callers keeping a list)."""
    gone = {a.id for a in changes.resolved}
    return tuple(a for a in active if a.id not in gone and a.active) + changes.raised


# ---- evaluation ----


def _value(rule: AlertRule, c: Condition, r: VitalReading, baseline: VitalSigns | None) -> float | None:
    x = r.get(c.vital)
    if x is None:
        return None
    if rule.kind == "rise":
        b = None if baseline is None else baseline.get(c.vital)
        return None if b is None else x - b
    return x


def _relevant(rule: AlertRule, readings: Sequence[VitalReading]) -> list[VitalReading]:
    return [r for r in readings if any(r.get(v) is not None for v in rule.watched)]


def _fires_on(rule: AlertRule, r: VitalReading, baseline: VitalSigns | None) -> bool:
    hits = []
    for c in rule.conditions:
        x = _value(rule, c, r, baseline)
        hits.append(x is not None and c.fires(x))
    return any(hits) if rule.match == "any" else all(hits)


def _describe_reading(rule: AlertRule, r: VitalReading, baseline: VitalSigns | None) -> str:
    parts = []
    if r.sbp is not None and r.dbp is not None and {"sbp", "dbp"} & set(rule.watched):
        parts.append(f"BP {r.sbp:g}/{r.dbp:g} mmHg")
    for v in rule.watched:
        if v in ("sbp", "dbp") and r.sbp is not None and r.dbp is not None:
            continue
        x = r.get(v)
        if x is not None:
            parts.append(f"{LABELS[v]} {x:g} {UNITS[v]}")
    text = ", ".join(dict.fromkeys(parts))
    if rule.kind == "rise" and baseline is not None:
        deltas = [
            f"{LABELS[c.vital]} {d:+g}"
            for c in rule.conditions
            if (d := _value(rule, c, r, baseline)) is not None
        ]
        text += f" (change from baseline: {', '.join(deltas)} mmHg)" if deltas else ""
    return f"{text} at {r.t_min:g} min"


def _firing(
    rule: AlertRule,
    readings: Sequence[VitalReading],
    baseline: VitalSigns | None,
    now: float,
    phase_start_min: float,
) -> str | None:
    """Return a trigger description when `rule` fires now, else None."""
    if rule.kind == "overdue":
        times = [r.t_min for r in _relevant(rule, readings)]
        ref = max([phase_start_min, *times])
        gap = now - ref
        if gap > rule.max_gap_min:
            what = "/".join(LABELS[v] for v in rule.vitals)
            return f"no {what} reading for {gap:g} min (expected at least every {rule.max_gap_min:g} min)"
        return None
    if rule.kind == "rise" and baseline is None:
        return None
    rel = _relevant(rule, readings)
    if not rel or not _fires_on(rule, rel[-1], baseline):
        return None
    if rule.sustained_min > 0:
        start = rel[-1].t_min
        for r in reversed(rel):
            if not _fires_on(rule, r, baseline):
                break
            start = r.t_min
        if rel[-1].t_min - start < rule.sustained_min:
            return None
        return f"{_describe_reading(rule, rel[-1], baseline)}, for {rel[-1].t_min - start:g} min"
    return _describe_reading(rule, rel[-1], baseline)


def _clear_reason(
    rule: AlertRule,
    readings: Sequence[VitalReading],
    baseline: VitalSigns | None,
    now: float,
    phase: str,
    phase_start_min: float,
) -> str | None:
    """Return why an active alert of `rule` can resolve now, or None to keep it active."""
    if not rule.enabled:
        return "rule disabled by the clinic"
    if phase not in rule.phases:
        return f"no longer applies (session {phase})"
    if rule.kind == "overdue":
        return None if _firing(rule, readings, baseline, now, phase_start_min) else "reading received"
    rel = _relevant(rule, readings)
    if not rel:
        return None
    last = rel[-1]
    bad = []
    for c in rule.conditions:
        x = _value(rule, c, last, baseline)
        bad.append(True if x is None else c.still_bad(x))  # unmeasured: hold the alert
    still = any(bad) if rule.match == "any" else all(bad)
    if still:
        return None
    return f"back within limits with margin: {_describe_reading(rule, last, baseline)}"


def evaluate(
    readings_so_far: Sequence[VitalReading],
    baseline: VitalSigns | None,
    rules: Sequence[AlertRule],
    now: float,
    active_alerts: Iterable[Alert],
    *,
    phase: str = "infusing",
    phase_start_min: float = 0.0,
) -> AlertChanges:
    """Return the alerts to raise and to resolve at `now` (minutes), given the readings so far.

    `phase` is the session phase (infusing, paused, recovery); overdue rules count from the last reading of
    the vital or from `phase_start_min`, whichever is later. Readings after `now` are ignored.
    """
    if phase not in PHASES:
        raise InvalidValue("phase", f"phase must be one of {', '.join(PHASES)}")
    readings = sorted((r for r in readings_so_far if r.t_min <= now), key=lambda r: r.t_min)
    by_id = {r.id: r for r in rules}
    active = [a for a in active_alerts if a.active]

    resolved: list[Alert] = []
    for a in active:
        rule = by_id.get(a.rule_id)
        reason = (
            "rule no longer configured"
            if rule is None
            else _clear_reason(rule, readings, baseline, now, phase, phase_start_min)
        )
        if reason:
            resolved.append(a.resolve(at_min=now, reason=reason))
    resolved_ids = {a.id for a in resolved}
    remaining = [a for a in active if a.id not in resolved_ids]

    candidates: dict[str, tuple[AlertRule, str]] = {}
    for rule in rules:
        if not rule.enabled or phase not in rule.phases:
            continue
        trigger = _firing(rule, readings, baseline, now, phase_start_min)
        if trigger is None:
            continue
        best = candidates.get(rule.group)
        if best is None or rule.rank > best[0].rank:
            candidates[rule.group] = (rule, trigger)

    raised: list[Alert] = []
    for group, (rule, trigger) in candidates.items():
        in_group = [a for a in remaining if a.group == group]
        if any(a.rank >= rule.rank for a in in_group):
            continue  # the condition is already alerting at this level or higher: no repeat
        for a in in_group:
            resolved.append(a.resolve(at_min=now, reason=f"superseded by {rule.id}"))
        raised.append(
            Alert(
                id=f"{rule.id}@{now:g}",
                rule_id=rule.id,
                group=rule.group,
                rank=rule.rank,
                priority=rule.priority,
                title=rule.title,
                advice=rule.advice,
                actions=rule.actions,
                source=rule.source,
                raised_at_min=now,
                trigger=trigger,
            )
        )
    order = {p: i for i, p in enumerate(PRIORITIES)}
    raised.sort(key=lambda a: (order[a.priority], a.rule_id))
    return AlertChanges(tuple(raised), tuple(resolved))
