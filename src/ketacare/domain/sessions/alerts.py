"""Vital-sign alert rules (data) and a pure evaluation engine with hysteresis and de-duplication.

Rules live in `data/alert_rules.toml` with their sources; a clinic may override thresholds, priorities,
actions and timings per rule. `evaluate` looks at the readings so far and the active alerts and returns what
to raise and what to resolve: an active alert for a rule is never raised again while it is active, at most one
alert is active per rule group, and an alert resolves only once the value is back past the threshold by the
rule's margin. Priorities are the three of IEC 60601-1-8: high, medium, low.

On top of those conditions, `Alarm` is what a person sees and acknowledges, one per condition group:
`track_alarms` / `track_series` make HIGH alarms latch until acknowledged with the action taken (even once the
condition resolved: "resolved, not acknowledged"), let a condition raised again within the clinic's re-raise
window (or a change of severity) update the same alarm instead of opening another, and `escalate_alarms`
escalates an alarm left unacknowledged too long. The policy is data (`[alarm_policy]`, `load_alarm_policy`).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, cached_property
from typing import Any, Literal

import numpy as np

from ketacare.domain.datafiles import load_toml
from ketacare.domain.errors import InvalidValue
from ketacare.domain.formatting import duration
from ketacare.domain.sessions.vitals import LABELS, UNITS, VITALS, VitalReading, VitalSigns

_DATA = "ketacare.domain.sessions.data"

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

    @cached_property
    def watched(self) -> tuple[str, ...]:
        """Return the vitals this rule looks at (computed once per rule)."""
        return self.vitals if self.kind == "overdue" else tuple(c.vital for c in self.conditions)


def _validate_watch(rule: AlertRule, f: str) -> None:
    """An overdue rule watches vitals for a gap; a threshold or rise rule needs well-formed conditions."""
    if rule.kind == "overdue":
        if not rule.vitals or not set(rule.vitals) <= set(VITALS) or rule.max_gap_min <= 0:
            raise InvalidValue(f, "an overdue rule needs vitals and max_gap_min above 0")
        return
    if not rule.conditions:
        raise InvalidValue(f + ".conditions", "a threshold or rise rule needs conditions")
    for c in rule.conditions:
        if c.vital not in VITALS or c.op not in _OPS or c.resolve_margin < 0 or not math.isfinite(c.value):
            raise InvalidValue(f + ".conditions", f"bad condition {c}")


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
    _validate_watch(rule, f)
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
#
# The engine looks at the readings once: for each rule it precomputes (numpy over the readings, sorted by time)
# whether each reading is relevant to the rule, whether it fires, whether it still holds an active alert, the
# last relevant reading at or before it and, for sustained rules, where the current firing run began. An
# evaluation at `now` over the readings of a time window is then a few lookups per rule, so a batch of readings
# is evaluated in one pass instead of once per reading over the whole window. What is decided is exactly what
# walking the readings at every `now` decides (see tests/domain/sessions/test_alerts_batch.py).

_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less}


def _value(rule: AlertRule, c: Condition, r: VitalReading, baseline: VitalSigns | None) -> float | None:
    x = r.get(c.vital)
    if x is None:
        return None
    if rule.kind == "rise":
        b = None if baseline is None else baseline.get(c.vital)
        return None if b is None else x - b
    return x


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
    return f"{text} at {duration(r.t_min)}"


@dataclass(frozen=True)
class _RulePlan:
    """What the engine needs of a rules tuple, computed once per tuple."""

    rules: tuple[AlertRule, ...]
    by_id: dict[str, int]  # rule id -> position (the last rule with that id wins, as a dict would)
    vitals: tuple[str, ...]  # every vital some rule watches


@cache
def _plan(rules: tuple[AlertRule, ...]) -> _RulePlan:
    by_id = {r.id: k for k, r in enumerate(rules)}
    vitals = tuple(v for v in VITALS if any(v in r.watched for r in rules))
    return _RulePlan(rules, by_id, vitals)


class _RuleView:
    """What one rule sees at each reading of a series (indices into the sorted readings, -1 for none)."""

    __slots__ = ("rule", "last_rel", "next_rel", "fires", "holds", "run_start")

    def __init__(self, rule: AlertRule) -> None:
        self.rule = rule
        self.last_rel: list[int] = []
        self.next_rel: list[int] = []
        self.fires: list[bool] = []
        self.holds: list[bool] = []
        self.run_start: list[int] = []


class _Series:
    """Readings sorted by time, with what each rule sees at each of them."""

    def __init__(
        self, readings: Sequence[VitalReading], baseline: VitalSigns | None, rules: tuple[AlertRule, ...]
    ) -> None:
        self.readings = readings
        self.times = [r.t_min for r in readings]
        self.baseline = baseline
        self.plan = _plan(rules)
        n = len(readings)
        idx = np.arange(n)
        cols = {v: np.array([getattr(r, v) for r in readings], dtype=float) for v in self.plan.vitals}
        seen = {v: ~np.isnan(x) for v, x in cols.items()}
        self.views = [self._view(rule, cols, seen, idx) for rule in rules]

    def _view(
        self, rule: AlertRule, cols: dict[str, np.ndarray], seen: dict[str, np.ndarray], idx: np.ndarray
    ) -> _RuleView:
        n = len(idx)
        view = _RuleView(rule)
        rel = np.zeros(n, dtype=bool)
        for v in rule.watched:
            rel |= seen[v]
        view.last_rel = np.maximum.accumulate(np.where(rel, idx, -1)).tolist() if n else []
        if rule.kind == "overdue":
            return view
        hits, bads = [], []
        for c in rule.conditions:
            x = cols[c.vital]
            if rule.kind == "rise":
                b = None if self.baseline is None else self.baseline.get(c.vital)
                x = np.full(n, np.nan) if b is None else x - b
            hits.append(_CMP[c.op](x, c.value))
            back = x > c.value - c.resolve_margin if c.high else x < c.value + c.resolve_margin
            bads.append(back | np.isnan(x))  # unmeasured: hold the alert
        combine = np.logical_or.reduce if rule.match == "any" else np.logical_and.reduce
        view.fires = combine(hits).tolist()
        view.holds = combine(bads).tolist()
        if rule.sustained_min > 0:
            run, start = [-1] * n, -1
            for j in np.flatnonzero(rel).tolist():
                if view.fires[j]:
                    start = j if start < 0 else start
                    run[j] = start
                else:
                    start = -1
            view.run_start = run
            view.next_rel = np.minimum.accumulate(np.where(rel, idx, n)[::-1])[::-1].tolist() if n else []
        return view

    def _last(self, view: _RuleView, lo: int, hi: int) -> int:
        """Return the index of the rule's last relevant reading in [lo, hi), or -1."""
        j = view.last_rel[hi - 1] if hi > 0 else -1
        return j if j >= lo else -1

    def firing(self, view: _RuleView, lo: int, hi: int, now: float, phase_start_min: float) -> str | None:
        """Return a trigger description when the rule fires at `now` over readings [lo, hi), else None."""
        rule = view.rule
        j = self._last(view, lo, hi)
        if rule.kind == "overdue":
            ref = max([phase_start_min, self.times[j]]) if j >= 0 else phase_start_min
            gap = now - ref
            if gap > rule.max_gap_min:
                what = "/".join(LABELS[v] for v in rule.vitals)
                return (
                    f"no {what} reading for {duration(gap)} (expected at least every {duration(rule.max_gap_min)})"
                )
            return None
        if rule.kind == "rise" and self.baseline is None:
            return None
        if j < 0 or not view.fires[j]:
            return None
        last = self.readings[j]
        if rule.sustained_min > 0:
            k = view.run_start[j]
            start = self.times[k if k >= lo else view.next_rel[lo]]
            if last.t_min - start < rule.sustained_min:
                return None
            return f"{_describe_reading(rule, last, self.baseline)}, for {duration(last.t_min - start)}"
        return _describe_reading(rule, last, self.baseline)

    def clear_reason(
        self, view: _RuleView, lo: int, hi: int, now: float, phase: str, phase_start_min: float
    ) -> str | None:
        """Return why an active alert of the rule can resolve now, or None to keep it active."""
        rule = view.rule
        if not rule.enabled:
            return "rule disabled by the clinic"
        if phase not in rule.phases:
            return f"no longer applies (session {phase})"
        if rule.kind == "overdue":
            return None if self.firing(view, lo, hi, now, phase_start_min) else "reading received"
        j = self._last(view, lo, hi)
        if j < 0 or view.holds[j]:
            return None
        return f"back within limits with margin: {_describe_reading(rule, self.readings[j], self.baseline)}"

    def step(
        self, lo: int, hi: int, now: float, active: Sequence[Alert], phase: str, phase_start_min: float
    ) -> AlertChanges:
        """Return the alerts to raise and resolve at `now`, seeing readings [lo, hi) and `active` alerts."""
        by_id = self.plan.by_id
        resolved: list[Alert] = []
        for a in active:
            k = by_id.get(a.rule_id)
            reason = (
                "rule no longer configured"
                if k is None
                else self.clear_reason(self.views[k], lo, hi, now, phase, phase_start_min)
            )
            # A late reading older than the alert cannot clear it (the reading is still stored).
            if reason and now >= a.raised_at_min:
                resolved.append(a.resolve(at_min=now, reason=reason))
        resolved_ids = {a.id for a in resolved}
        remaining = [a for a in active if a.id not in resolved_ids]

        candidates: dict[str, tuple[AlertRule, str]] = {}
        for view in self.views:
            rule = view.rule
            if not rule.enabled or phase not in rule.phases:
                continue
            trigger = self.firing(view, lo, hi, now, phase_start_min)
            if trigger is None:
                continue
            best = candidates.get(rule.group)
            if best is None or rule.rank > best[0].rank:
                candidates[rule.group] = (rule, trigger)
        if not candidates and not resolved:
            return _NO_CHANGES

        raised: list[Alert] = []
        for group, (rule, trigger) in candidates.items():
            in_group = [a for a in remaining if a.group == group]
            if any(a.rank >= rule.rank or a.raised_at_min > now for a in in_group):
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


_NO_CHANGES = AlertChanges()


def _check_phase(phase: str) -> None:
    if phase not in PHASES:
        raise InvalidValue("phase", f"phase must be one of {', '.join(PHASES)}")


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
    _check_phase(phase)
    readings = sorted((r for r in readings_so_far if r.t_min <= now), key=lambda r: r.t_min)
    series = _Series(readings, baseline, tuple(rules))
    active = [a for a in active_alerts if a.active]
    return series.step(0, len(readings), now, active, phase, phase_start_min)


def evaluate_series(
    readings: Sequence[VitalReading],
    baseline: VitalSigns | None,
    rules: Sequence[AlertRule],
    steps: Sequence[float],
    active_alerts: Iterable[Alert],
    *,
    phase: str = "infusing",
    phase_start_min: float = 0.0,
    window_min: float | None = None,
) -> tuple[AlertChanges, ...]:
    """Return the changes at each time in `steps` (minutes), in turn, as `evaluate` would decide them one by one.

    Step k evaluates at `now = steps[k]` the readings with `now - window_min <= t_min <= now` (every reading up
    to `now` when `window_min` is None), with the active alerts that the steps before it left; use it for a
    batch of readings, with `steps` the times of the new readings in the order they are charted.
    """
    _check_phase(phase)
    ordered = sorted(readings, key=lambda r: r.t_min)
    series = _Series(ordered, baseline, tuple(rules))
    times = series.times
    active: tuple[Alert, ...] = tuple(a for a in active_alerts if a.active)
    out: list[AlertChanges] = []
    for now in steps:
        hi = bisect.bisect_right(times, now)
        lo = 0 if window_min is None else bisect.bisect_left(times, now - window_min)
        changes = series.step(lo, hi, now, active, phase, phase_start_min)
        if changes is not _NO_CHANGES:
            active = apply_changes(active, changes)
        out.append(changes)
    return tuple(out)


# ---- alarms: what a person sees and acknowledges (IEC 60601-1-8 latching, no flapping, escalation) ----
#
# The engine above decides when a condition starts and when it is over (with the hysteresis margins and one
# active condition per group). An alarm is what the nurse sees for a condition group: it follows the group's
# conditions (a worse or milder rule of the same group updates it, a condition back within the re-raise window
# reopens it), latches when it reached a latching priority (HIGH: it stays open, "resolved, not acknowledged",
# until a person acknowledges it with the action taken), and escalates when it stays unacknowledged too long.
# The engine is fed the conditions of the open alarms (`conditions`), so what it decides is unchanged.

AlarmStatus = Literal["raised", "acknowledged", "resolved_unacknowledged", "closed"]
STATUS_TEXT: dict[str, str] = {
    "raised": "active, not acknowledged",
    "acknowledged": "acknowledged",
    "resolved_unacknowledged": "resolved, not acknowledged",
    "closed": "closed",
}
_RANK = {p: i for i, p in enumerate(reversed(PRIORITIES))}  # low 0, medium 1, high 2


@dataclass(frozen=True)
class AlarmPolicy:
    """How alarms behave once raised (see `[alarm_policy]` in `data/alert_rules.toml`)."""

    latching_priorities: tuple[str, ...]
    reraise_window_min: float
    escalate_unacknowledged_min: Mapping[str, float]
    sources: Mapping[str, str]


_POLICY_KEYS = {
    "latching_priorities": "latching_source",
    "reraise_window_min": "reraise_window_source",
    "escalate_unacknowledged_min": "escalation_source",
}


def _validate_policy(p: AlarmPolicy) -> AlarmPolicy:
    f = "alarm_policy"
    if not set(p.latching_priorities) <= set(PRIORITIES):
        raise InvalidValue(f + ".latching_priorities", "priorities must be among high, medium, low")
    if "high" not in p.latching_priorities:
        raise InvalidValue(
            f + ".latching_priorities", "HIGH alarms always latch until acknowledged (IEC 60601-1-8)"
        )
    w = p.reraise_window_min
    if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
        raise InvalidValue(f + ".reraise_window_min", "the re-raise window is minutes, 0 or more")
    for prio, after in p.escalate_unacknowledged_min.items():
        if prio not in PRIORITIES:
            raise InvalidValue(f + ".escalate_unacknowledged_min", f"unknown priority {prio!r}")
        ok = not isinstance(after, bool) and isinstance(after, int | float) and math.isfinite(after)
        if not ok or after <= 0:
            raise InvalidValue(f + ".escalate_unacknowledged_min", "escalation time is minutes above 0")
    if "high" not in p.escalate_unacknowledged_min:
        raise InvalidValue(f + ".escalate_unacknowledged_min", "an unacknowledged HIGH alarm must escalate")
    for key in _POLICY_KEYS:
        if not str(p.sources.get(key, "")).strip():
            raise InvalidValue(f"{f}.{_POLICY_KEYS[key]}", "every alarm policy value needs a source")
    return p


def load_alarm_policy(clinic_overrides: Mapping[str, Any] | None = None) -> AlarmPolicy:
    """Return the alarm policy from `data/alert_rules.toml` with a clinic's overrides applied.

    An overridden value's source reads "clinic override; shipped default from: ..."; HIGH always latches and
    always escalates.
    """
    raw = load_toml(_DATA, "alert_rules.toml")["alarm_policy"]
    values: dict[str, Any] = {
        "latching_priorities": tuple(raw["latching_priorities"]),
        "reraise_window_min": raw["reraise_window_min"],
        "escalate_unacknowledged_min": dict(raw["escalate_unacknowledged_min"]),
    }
    sources = {k: str(raw[s]) for k, s in _POLICY_KEYS.items()}
    ov = dict(clinic_overrides or {})
    unknown = set(ov) - set(_POLICY_KEYS)
    if unknown:
        raise InvalidValue("alarm_policy", f"cannot override {', '.join(sorted(unknown))}")
    for key, value in ov.items():
        if key == "latching_priorities":
            value = tuple(value)
        elif key == "escalate_unacknowledged_min":
            value = dict(value)
        values[key] = value
        sources[key] = f"clinic override; shipped default from: {sources[key]}"
    return _validate_policy(AlarmPolicy(**values, sources=sources))


@dataclass(frozen=True)
class Acknowledgement:
    """Who acknowledged an alarm, when, and what they did; `rank` is the worst severity it covered."""

    by: str
    at_min: float
    action_taken: str
    rank: int
    condition_present: bool


@dataclass(frozen=True)
class AlarmEvent:
    """One line of an alarm's history (opened, worsened, resolved, raised again, acknowledged, ...)."""

    at_min: float
    kind: str
    text: str
    rule_id: str | None = None  # the rule whose condition this event is about, when there is one


@dataclass(frozen=True)
class Alarm:
    """The alarm of one condition group, from its first condition until it is closed.

    `rule_id` .. `trigger` describe the current condition (or the last one, once it resolved); `peak_*` the
    worst severity it reached. `acknowledged` is True while the last acknowledgement covers that worst severity
    (a worse condition needs a new acknowledgement). `needs_ack_since_min` is when it began to need the
    acknowledgement it is waiting for (escalation counts from there).
    """

    id: str
    group: str
    rule_id: str
    rank: int
    priority: Priority
    title: str
    advice: str
    actions: tuple[str, ...]
    source: str
    trigger: str
    condition_id: str
    condition_since_min: float
    opened_at_min: float
    peak_rule_id: str
    peak_rank: int
    peak_priority: Priority
    peak_title: str
    latching: bool
    needs_ack_since_min: float
    cleared_at_min: float | None = None
    clear_reason: str | None = None
    acknowledged: bool = False
    acknowledgements: tuple[Acknowledgement, ...] = ()
    escalated_at_min: float | None = None
    closed_at_min: float | None = None
    close_reason: str | None = None
    reraised: int = 0
    events: tuple[AlarmEvent, ...] = ()

    @property
    def closed(self) -> bool:
        return self.closed_at_min is not None

    @property
    def condition_present(self) -> bool:
        return not self.closed and self.cleared_at_min is None

    @property
    def status(self) -> AlarmStatus:
        if self.closed:
            return "closed"
        if self.acknowledged:
            return "acknowledged"
        return "raised" if self.cleared_at_min is None else "resolved_unacknowledged"

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    @property
    def escalated(self) -> bool:
        """Return True while the alarm is escalated and still waiting for an acknowledgement."""
        return self.escalated_at_min is not None and not self.acknowledged and not self.closed

    def condition(self) -> Alert | None:
        """Return the engine's view of the alarm's present condition (None once it resolved or closed)."""
        if not self.condition_present:
            return None
        return Alert(
            id=self.condition_id,
            rule_id=self.rule_id,
            group=self.group,
            rank=self.rank,
            priority=self.priority,
            title=self.title,
            advice=self.advice,
            actions=self.actions,
            source=self.source,
            raised_at_min=self.condition_since_min,
            trigger=self.trigger,
        )

    def acknowledge(self, *, by: str, action_taken: str, at_min: float) -> Alarm:
        """Return the alarm acknowledged by `by` with the action taken; closed if its condition is over."""
        if self.closed:
            raise InvalidValue("alarm", f"alarm {self.id} is closed; there is nothing to acknowledge")
        if self.acknowledged:
            raise InvalidValue("alarm", f"alarm {self.id} is already acknowledged")
        if not by.strip():
            raise InvalidValue("acknowledged_by", "say who acknowledged the alarm")
        if not action_taken.strip():
            raise InvalidValue("action_taken", "say what was done about the alarm")
        if not math.isfinite(at_min) or at_min < self.opened_at_min:
            raise InvalidValue("at_min", "acknowledged before the alarm was raised")
        ack = Acknowledgement(
            by.strip(), at_min, action_taken.strip(), self.peak_rank, self.condition_present
        )
        event = AlarmEvent(at_min, "acknowledged", f"acknowledged by {ack.by}: {ack.action_taken}")
        out = replace(
            self,
            acknowledged=True,
            acknowledgements=(*self.acknowledgements, ack),
            events=(*self.events, event),
        )
        if self.cleared_at_min is not None:
            return out._close(at_min, "acknowledged after the condition resolved")
        return out

    def _close(self, at_min: float, reason: str) -> Alarm:
        at = max(at_min, self.opened_at_min)
        return replace(
            self,
            closed_at_min=at,
            close_reason=reason,
            events=(*self.events, AlarmEvent(at, "closed", reason)),
        )


def conditions(alarms: Iterable[Alarm]) -> tuple[Alert, ...]:
    """Return the present conditions of open alarms: what the engine takes as its active alerts."""
    return tuple(c for a in alarms if (c := a.condition()) is not None)


@dataclass(frozen=True)
class AlarmChanges:
    """Alarms opened, and earlier alarms changed (their latest versions), by one or more steps."""

    opened: tuple[Alarm, ...] = ()
    updated: tuple[Alarm, ...] = ()


def _latches(policy: AlarmPolicy, priority: str) -> bool:
    return priority in policy.latching_priorities


def _open_alarm(c: Alert, now: float, policy: AlarmPolicy) -> Alarm:
    return Alarm(
        id=f"{c.group}@{now:g}",
        group=c.group,
        rule_id=c.rule_id,
        rank=c.rank,
        priority=c.priority,
        title=c.title,
        advice=c.advice,
        actions=c.actions,
        source=c.source,
        trigger=c.trigger,
        condition_id=c.id,
        condition_since_min=c.raised_at_min,
        opened_at_min=now,
        peak_rule_id=c.rule_id,
        peak_rank=c.rank,
        peak_priority=c.priority,
        peak_title=c.title,
        latching=_latches(policy, c.priority),
        needs_ack_since_min=now,
        events=(AlarmEvent(now, "opened", f"{c.title}: {c.trigger}", c.rule_id),),
    )


def _attach(alarm: Alarm, c: Alert, now: float, policy: AlarmPolicy) -> Alarm:
    """Return `alarm` following the condition `c` of its group (worse, milder or back again)."""
    if alarm.closed:
        kind, text = "reopened", f"raised again within the re-raise window: {c.title}: {c.trigger}"
    elif alarm.cleared_at_min is not None:
        kind, text = "raised_again", f"back before acknowledgement: {c.title}: {c.trigger}"
    elif c.rank > alarm.rank:
        kind, text = "worsened", f"worse: {c.title}: {c.trigger}"
    else:
        kind, text = "changed", f"now {c.title}: {c.trigger}"
    back = alarm.closed or alarm.cleared_at_min is not None
    worse = c.rank > alarm.peak_rank
    peak = (c.rule_id, c.rank, c.priority, c.title) if worse else (
        alarm.peak_rule_id, alarm.peak_rank, alarm.peak_priority, alarm.peak_title
    )  # fmt: skip
    peak_priority = peak[2] if _RANK[peak[2]] >= _RANK[alarm.peak_priority] else alarm.peak_priority
    events = [AlarmEvent(now, kind, text, c.rule_id)]
    acknowledged, needs_since, escalated = (
        alarm.acknowledged,
        alarm.needs_ack_since_min,
        alarm.escalated_at_min,
    )
    covered = alarm.acknowledgements[-1].rank if alarm.acknowledgements else -1
    if acknowledged and peak[1] > covered:
        acknowledged, needs_since, escalated = False, now, None
        events.append(
            AlarmEvent(now, "needs_acknowledgement", "worse than when acknowledged: acknowledge again")
        )
    return replace(
        alarm,
        rule_id=c.rule_id,
        rank=c.rank,
        priority=c.priority,
        title=c.title,
        advice=c.advice,
        actions=c.actions,
        source=c.source,
        trigger=c.trigger,
        condition_id=c.id,
        condition_since_min=c.raised_at_min,
        peak_rule_id=peak[0],
        peak_rank=peak[1],
        peak_priority=peak_priority,
        peak_title=peak[3],
        latching=alarm.latching or _latches(policy, peak_priority) or _latches(policy, c.priority),
        needs_ack_since_min=needs_since,
        cleared_at_min=None,
        clear_reason=None,
        acknowledged=acknowledged,
        escalated_at_min=escalated,
        closed_at_min=None,
        close_reason=None,
        reraised=alarm.reraised + (1 if back else 0),
        events=(*alarm.events, *events),
    )


def _clear(alarm: Alarm, resolved: Alert, now: float) -> Alarm:
    """Return `alarm` after its condition resolved: closed, unless it latches and nobody acknowledged it."""
    reason = resolved.resolution or "condition resolved"
    at = resolved.resolved_at_min if resolved.resolved_at_min is not None else now
    out = replace(
        alarm,
        cleared_at_min=at,
        clear_reason=reason,
        events=(*alarm.events, AlarmEvent(at, "condition_resolved", reason, alarm.rule_id)),
    )
    if alarm.latching and not alarm.acknowledged:
        return out  # latched: resolved, not acknowledged
    return out._close(at, reason)


def track_alarms(
    alarms: Iterable[Alarm], changes: AlertChanges, now: float, policy: AlarmPolicy
) -> AlarmChanges:
    """Return the alarms opened and changed by the engine's `changes` at `now` (minutes).

    `alarms` are the session's alarms (open ones, and closed ones the re-raise window may reopen). A condition
    raised in a group updates the group's open alarm, else reopens its alarm closed within the re-raise window,
    else opens a new alarm; a resolved condition closes its alarm unless the alarm latches unacknowledged.
    """
    by_id = {a.id: a for a in alarms}
    changed: dict[str, Alarm] = {}
    opened: dict[str, Alarm] = {}
    raised_groups = {c.group: c for c in changes.raised}
    for c in changes.resolved:
        if c.group in raised_groups:
            continue  # superseded or changed severity: the raise below updates the same alarm
        for a in by_id.values():
            if a.condition_id == c.id and a.condition_present:
                by_id[a.id] = changed[a.id] = _clear(a, c, now)
                break
    for group, c in raised_groups.items():
        target = _target(by_id.values(), group, now, policy)
        if target is None:
            new = _open_alarm(c, now, policy)
            by_id[new.id] = opened[new.id] = new
        elif target.id in opened:
            by_id[target.id] = opened[target.id] = _attach(target, c, now, policy)
        else:
            by_id[target.id] = changed[target.id] = _attach(target, c, now, policy)
    return AlarmChanges(tuple(opened.values()), tuple(changed.values()))


def _target(alarms: Iterable[Alarm], group: str, now: float, policy: AlarmPolicy) -> Alarm | None:
    in_group = [a for a in alarms if a.group == group]
    for a in in_group:
        if not a.closed:
            return a
    recent = [
        a
        for a in in_group
        if a.closed_at_min is not None and abs(now - a.closed_at_min) <= policy.reraise_window_min
    ]
    return max(recent, key=lambda a: (a.closed_at_min, a.opened_at_min), default=None)


def apply_alarm_changes(alarms: Iterable[Alarm], changes: AlarmChanges) -> tuple[Alarm, ...]:
    """Return `alarms` with `changes` applied (updated versions replace theirs; opened ones appended)."""
    new = {a.id: a for a in changes.updated}
    return tuple(new.get(a.id, a) for a in alarms) + changes.opened


def track_series(
    alarms: Iterable[Alarm],
    steps: Sequence[float],
    changes: Sequence[AlertChanges],
    policy: AlarmPolicy,
) -> AlarmChanges:
    """Return what the engine's changes at each step (as `evaluate_series` returns them) do to `alarms`."""
    originals = {a.id: a for a in alarms}
    current = tuple(originals.values())
    for now, ch in zip(steps, changes, strict=True):
        if ch.raised or ch.resolved:
            current = apply_alarm_changes(current, track_alarms(current, ch, now, policy))
    opened = tuple(a for a in current if a.id not in originals)
    updated = tuple(a for a in current if a.id in originals and originals[a.id] is not a)
    return AlarmChanges(opened, updated)


def escalate_alarms(alarms: Iterable[Alarm], now: float, policy: AlarmPolicy) -> tuple[Alarm, ...]:
    """Return the alarms that escalate at `now`: open, unacknowledged for their priority's escalation time."""
    out = []
    for a in alarms:
        after = policy.escalate_unacknowledged_min.get(a.peak_priority)
        if a.closed or a.acknowledged or a.escalated_at_min is not None or after is None:
            continue
        waited = now - a.needs_ack_since_min
        if waited >= after:
            text = f"not acknowledged for {duration(waited)} (escalates after {duration(after)})"
            out.append(
                replace(a, escalated_at_min=now, events=(*a.events, AlarmEvent(now, "escalated", text)))
            )
    return tuple(out)
