"""Change from baseline and the instrument's outcome definitions (response, remission, meaningful change).

Definitions and their sources live in each instrument's data file under `[outcomes.<id>]`. Thresholds can be
overridden per clinic (`thresholds={"remission": 8}`); the override is reported back so a report can say the
clinic's cut-off was used. Comparisons are exact (fractions), so a 50.0% reduction meets ">= 50%".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import Instrument, Outcome, compare, load_instrument


@dataclass(frozen=True)
class OutcomeResult:
    """Outcome of one follow-up total against a baseline total (None where it cannot be judged)."""

    instrument_id: str
    baseline_total: int | None
    current_total: int | None
    change: int | None  # current - baseline (negative = improvement when higher is worse)
    percent_change: float | None  # 100 * change / baseline; None when baseline is 0 or missing
    outcomes: dict[str, bool | None]
    thresholds: dict[str, float]
    overridden: tuple[str, ...] = field(default=())


def change_from_baseline(baseline_total: int | None, current_total: int | None) -> int | None:
    """Return current - baseline in score points; None if either total is missing."""
    if baseline_total is None or current_total is None:
        return None
    return current_total - baseline_total


def percent_change(baseline_total: int | None, current_total: int | None) -> float | None:
    """Return 100 * (current - baseline) / baseline in percent; None if baseline is 0 or a total missing."""
    if baseline_total is None or current_total is None or baseline_total == 0:
        return None
    return float(Fraction(100 * (current_total - baseline_total), baseline_total))


def meets(
    outcome: Outcome, baseline_total: int | None, current_total: int | None, threshold: float | None = None
) -> bool | None:
    """Return whether `current_total` meets `outcome` against `baseline_total`; None if not judgeable."""
    value = Fraction(outcome.value if threshold is None else threshold)
    if current_total is None:
        return None
    if outcome.on == "total":
        return compare(Fraction(current_total), outcome.op, value)
    if baseline_total is None:
        return None
    reduction = baseline_total - current_total
    if outcome.on == "point_reduction":
        return compare(Fraction(reduction), outcome.op, value)
    if baseline_total == 0:
        return None  # a percentage of a zero baseline is undefined
    return compare(Fraction(100 * reduction, baseline_total), outcome.op, value)


def evaluate_outcomes(
    instrument_id: str,
    baseline_total: int | None,
    current_total: int | None,
    *,
    thresholds: Mapping[str, float] | None = None,
) -> OutcomeResult:
    """Return change, percent change and every outcome defined for `instrument_id` (clinic overrides)."""
    instrument = load_instrument(instrument_id)
    _check_total(instrument, "baseline_total", baseline_total)
    _check_total(instrument, "current_total", current_total)
    overrides = dict(thresholds or {})
    for outcome_id, value in overrides.items():
        instrument.outcome(outcome_id)  # refuses an unknown outcome id
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            raise InvalidValue(f"threshold {outcome_id}", f"{value!r} is not a number")
    results: dict[str, bool | None] = {}
    used: dict[str, float] = {}
    for outcome in instrument.outcomes:
        threshold = overrides.get(outcome.id, outcome.value)
        used[outcome.id] = threshold
        results[outcome.id] = meets(outcome, baseline_total, current_total, threshold)
    return OutcomeResult(
        instrument_id=instrument.id,
        baseline_total=baseline_total,
        current_total=current_total,
        change=change_from_baseline(baseline_total, current_total),
        percent_change=percent_change(baseline_total, current_total),
        outcomes=results,
        thresholds=used,
        overridden=tuple(sorted(overrides)),
    )


def _check_total(instrument: Instrument, field_name: str, total: int | None) -> None:
    if total is None:
        return
    if isinstance(total, bool) or not isinstance(total, int):
        raise InvalidValue(field_name, f"{total!r} is not a whole-number {instrument.short_name} total")
    if instrument.total_rule == "none":
        raise InvalidValue(field_name, f"{instrument.short_name} has no total score")
    if not instrument.min_total <= total <= instrument.max_total:
        raise InvalidValue(
            field_name,
            f"{total} is outside the {instrument.short_name} range "
            f"{instrument.min_total}-{instrument.max_total}",
        )
