"""Rapid response after one dosing session: baseline (before the session), 4 h and 24 h scores of the primary
anxiety scale, percent change, and whether the session gave a rapid response (`data/response.toml`).

Times are UTC datetimes passed in; hours are measured from the end of the infusion. Lower scores are better.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from functools import cache
from typing import Literal

from ketacare.domain import formatting as fmt
from ketacare.domain.datafiles import load_toml
from ketacare.domain.plans.datacheck import DataFileError, check_source, check_table

Responder = Literal["yes", "no", "unknown"]


@dataclass(frozen=True)
class TimepointRule:
    """Which scores count as the score at one time point: hours after the end of the infusion."""

    id: str
    label: str
    nominal_h: float
    from_h: float
    to_h: float
    source: str


@dataclass(frozen=True)
class ResponseDefinition:
    """What "rapid response" means here: at least `threshold_pct` % below baseline at time point `judged_at`."""

    version: str
    label: str
    threshold_pct: float
    judged_at: str
    source: str
    note: str
    baseline_max_age_h: float
    baseline_source: str
    timepoints: tuple[TimepointRule, ...]
    default_instrument: str


@dataclass(frozen=True)
class Score:
    """One total of the instrument, when it was answered (UTC) and its stored response id."""

    total: float
    at: datetime
    response_id: int


@dataclass(frozen=True)
class Timepoint:
    """The score taken at one time point (None: none in its window) and its percent change from baseline."""

    id: str
    label: str
    score: Score | None
    change_pct: float | None


@dataclass(frozen=True)
class RapidResponse:
    """The rapid response of one session: baseline, each time point, the verdict and why, and its source."""

    instrument_id: str
    baseline: Score | None
    timepoints: tuple[Timepoint, ...]
    responder: Responder
    why: str
    source: str

    def at(self, timepoint_id: str) -> Timepoint:
        """Return the time point `timepoint_id` ("4h", "24h")."""
        return next(t for t in self.timepoints if t.id == timepoint_id)


@cache
def response_definition() -> ResponseDefinition:
    """Return the rapid-response definition (data/response.toml); a file without sources is refused."""
    raw = load_toml("ketacare.domain.plans.data", "response.toml")
    d = raw["definition"]
    check_table(d, "response.toml [definition]")
    b = raw["baseline"]
    check_table(b, "response.toml [baseline]")
    rules = []
    for i, t in enumerate(raw["timepoints"]):
        check_table(t, f"response.toml timepoints[{i}]")
        if not 0 <= t["from_h"] <= t["nominal_h"] <= t["to_h"]:
            raise DataFileError(f"response.toml timepoint {t['id']}: needs from_h <= nominal_h <= to_h")
        rules.append(TimepointRule(t["id"], t["label"], t["nominal_h"], t["from_h"], t["to_h"], t["source"]))
    ordered = sorted(rules, key=lambda r: r.from_h)
    for a, b2 in zip(ordered, ordered[1:], strict=False):
        if a.to_h > b2.from_h:
            raise DataFileError(f"response.toml: the windows of {a.id} and {b2.id} overlap")
    if d["judged_at"] not in {r.id for r in rules}:
        raise DataFileError("response.toml: judged_at names no time point")
    primary = raw["primary_instrument"]
    check_source(primary.get("source"), "response.toml [primary_instrument]")
    return ResponseDefinition(
        version=raw["version"],
        label=d["label"],
        threshold_pct=float(d["threshold_pct"]),
        judged_at=d["judged_at"],
        source=d["source"],
        note=d["note"],
        baseline_max_age_h=float(b["max_age_h"]),
        baseline_source=b["source"],
        timepoints=tuple(rules),
        default_instrument=primary["default"],
    )


def percent_change_pct(baseline: float, current: float) -> float | None:
    """Return 100 * (current - baseline) / baseline in percent (a fall is negative); None for a zero baseline."""
    if baseline == 0:
        return None
    return float(Fraction(100) * (Fraction(current) - Fraction(baseline)) / Fraction(baseline))


def _hours(a: datetime, b: datetime) -> float:
    return (b - a) / timedelta(hours=1)


def pick_baseline(
    scores: Iterable[Score], infusion_started_at: datetime, definition: ResponseDefinition
) -> Score | None:
    """Return the newest score before the infusion started and no older than the baseline's maximum age (h)."""
    earliest = infusion_started_at - timedelta(hours=definition.baseline_max_age_h)
    before = [s for s in scores if earliest <= s.at <= infusion_started_at]
    return max(before, key=lambda s: (s.at, s.response_id), default=None)


def pick_timepoint(scores: Iterable[Score], infusion_ended_at: datetime, rule: TimepointRule) -> Score | None:
    """Return the score nearest `rule.nominal_h` hours after the end of the infusion, within its window."""
    inside = [s for s in scores if rule.from_h <= _hours(infusion_ended_at, s.at) <= rule.to_h]
    return min(
        inside, key=lambda s: (abs(_hours(infusion_ended_at, s.at) - rule.nominal_h), s.at, s.response_id),
        default=None,
    )


def rapid_response(
    instrument_id: str,
    scores: Sequence[Score],
    *,
    infusion_started_at: datetime | None,
    infusion_ended_at: datetime | None,
    definition: ResponseDefinition | None = None,
) -> RapidResponse:
    """Return baseline, 4 h and 24 h scores, percent changes and the rapid-response verdict with its reason."""
    d = definition or response_definition()
    if infusion_started_at is None or infusion_ended_at is None:
        points = tuple(Timepoint(r.id, r.label, None, None) for r in d.timepoints)
        return RapidResponse(instrument_id, None, points, "unknown", "the infusion was not given", d.source)
    baseline = pick_baseline(scores, infusion_started_at, d)
    points_l = []
    for rule in d.timepoints:
        sc = pick_timepoint(scores, infusion_ended_at, rule)
        change = None if sc is None or baseline is None else percent_change_pct(baseline.total, sc.total)
        points_l.append(Timepoint(rule.id, rule.label, sc, change))
    points = tuple(points_l)
    judged = next(p for p in points if p.id == d.judged_at)
    rule = next(r for r in d.timepoints if r.id == d.judged_at)
    threshold = f"{fmt.amount(d.threshold_pct)} %"
    if baseline is None:
        why = f"no score before the session (within {fmt.amount(d.baseline_max_age_h)} h before the infusion)"
        return RapidResponse(instrument_id, None, points, "unknown", why, d.source)
    if baseline.total == 0:
        return RapidResponse(instrument_id, baseline, points, "unknown",
                             "the score before the session was 0: a percent change cannot be computed", d.source)
    if judged.score is None:
        why = f"no {judged.label} score ({fmt.amount(rule.from_h)}-{fmt.amount(rule.to_h)} h after the infusion)"
        return RapidResponse(instrument_id, baseline, points, "unknown", why, d.source)
    reduction = -Fraction(judged.change_pct or 0)
    met = reduction >= Fraction(d.threshold_pct)
    direction = f"{fmt.number(float(reduction))} % lower" if reduction >= 0 else (
        f"{fmt.number(float(-reduction))} % higher"
    )
    why = (
        f"{judged.label} score {fmt.amount(judged.score.total)} vs {fmt.amount(baseline.total)} before: "
        f"{direction} ({'at least' if met else 'less than'} {threshold} lower needed)"
    )
    return RapidResponse(instrument_id, baseline, points, "yes" if met else "no", why, d.source)
