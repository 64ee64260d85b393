"""Alert limits of each vital sign, read from the alert rules, and whether a value lies beyond one.

The limits are the absolute thresholds of the enabled `threshold` rules in `data/alert_rules.toml` (with any
clinic overrides the caller applied): the chart draws them and the pages mark a value beyond one. Rise rules
(change over a baseline) and overdue rules have no fixed line and are left out. Marking a value says only that it
lies beyond a limit; whether an alarm is raised stays with the alert engine (phases, sustained time, hysteresis).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ketacare.domain.sessions.alerts import PRIORITIES, AlertRule
from ketacare.domain.sessions.vitals import LABELS, UNITS


@dataclass(frozen=True)
class VitalLimit:
    """One alert limit: `vital op value` raises the rule `rule_id` of `priority` (above: a high-side limit)."""

    vital: str
    op: str
    value: float
    priority: str
    rule_id: str
    title: str
    source: str
    sustained_min: float = 0.0

    @property
    def above(self) -> bool:
        return self.op in (">=", ">")

    def crossed(self, x: float) -> bool:
        """Return True when `x` lies beyond this limit (on the side that raises the rule)."""
        return {">=": x >= self.value, ">": x > self.value, "<=": x <= self.value, "<": x < self.value}[self.op]

    @property
    def label(self) -> str:
        """Return the limit as people read it, e.g. "systolic BP ≥ 180 mmHg"."""
        sign = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}[self.op]
        return f"{LABELS[self.vital]} {sign} {_num(self.value)} {UNITS[self.vital]}"


@dataclass(frozen=True)
class VitalFlag:
    """A value beyond at least one limit: the worst limit it crosses, and words that say so."""

    vital: str
    value: float
    limit: VitalLimit

    @property
    def priority(self) -> str:
        return self.limit.priority

    @property
    def above(self) -> bool:
        return self.limit.above

    @property
    def word(self) -> str:
        """Return "high" or "low": which side of the limit the value lies on."""
        return "high" if self.above else "low"

    @property
    def text(self) -> str:
        """Return what the mark means, e.g. "systolic BP 182 mmHg: beyond the limit systolic BP ≥ 180 mmHg"."""
        return (
            f"{LABELS[self.vital]} {_num(self.value)} {UNITS[self.vital]}: beyond the alert limit "
            f"{self.limit.label} ({self.limit.title})"
        )


def _num(x: float) -> str:
    return f"{x:g}"


def vital_limits(rules: Iterable[AlertRule]) -> tuple[VitalLimit, ...]:
    """Return the absolute alert limits of the enabled threshold rules, by vital and value."""
    out = [
        VitalLimit(
            vital=c.vital,
            op=c.op,
            value=c.value,
            priority=r.priority,
            rule_id=r.id,
            title=r.title,
            source=r.source,
            sustained_min=r.sustained_min,
        )
        for r in rules
        if r.enabled and r.kind == "threshold"
        for c in r.conditions
    ]
    return tuple(sorted(out, key=lambda x: (x.vital, x.value, x.rule_id)))


def flag_value(vital: str, value: float | None, limits: Iterable[VitalLimit]) -> VitalFlag | None:
    """Return the flag of `value` when it lies beyond a limit of `vital` (the highest priority crossed, then the
    most extreme limit: 205 mmHg is flagged by "≥ 200", not "≥ 180"), else None."""
    if value is None:
        return None
    crossed = [lim for lim in limits if lim.vital == vital and lim.crossed(value)]
    if not crossed:
        return None
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    worst = min(crossed, key=lambda lim: (rank[lim.priority], -lim.value if lim.above else lim.value))
    return VitalFlag(vital=vital, value=value, limit=worst)
