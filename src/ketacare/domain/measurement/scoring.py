"""Score one questionnaire or rating: validate answers, total, subscales, band, flags, derived levels.

Rules (from the instrument's data file):
- Every answer must be one of the item's allowed values; anything else is refused with `InvalidValue` naming
  the item (`item 3 (gad7_3)`). A wrong number of answers is refused too.
- A missing answer is `None` (or NaN). No total is given when any item is missing: `total` is None and
  `reason` says which items. A subscale is given when all of its own items are answered.
- Items skipped by the instrument's own skip logic (C-SSRS items 3-5 when item 2 is "No") are not missing and
  count as the lowest answer ("No").
- Flags are raised when the answered items prove them (PHQ-9 item 9 > 0 raises `suicide_risk` even when the
  total is refused). A derived level (C-SSRS risk level) is given only when no possible answer to a missing
  item could change it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import (
    AllOf,
    AnyOf,
    Compare,
    Condition,
    CountOf,
    Instrument,
    compare,
    load_instrument,
)

Answer = int | None


@dataclass(frozen=True)
class ScoreResult:
    """The scored instrument. `total` is None when the missing-item rule refuses it; `reason` says why."""

    instrument_id: str
    answers: tuple[Answer, ...]
    total: int | None
    mean: float | None
    severity: str | None
    band_set: str | None
    subscales: dict[str, int | None]
    flags: tuple[str, ...]
    derived: dict[str, str | None]
    missing_items: tuple[str, ...]
    reason: str | None

    @property
    def complete(self) -> bool:
        return not self.missing_items

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "instrument": self.instrument_id,
            "answers": list(self.answers),
            "total": self.total,
            "mean": self.mean,
            "severity": self.severity,
            "band_set": self.band_set,
            "subscales": dict(self.subscales),
            "flags": list(self.flags),
            "derived": dict(self.derived),
            "missing_items": list(self.missing_items),
            "complete": self.complete,
            "reason": self.reason,
        }


def parse_answer_text(instrument_id: str, text: str) -> list[Answer]:
    """Parse "1,2,,3" into answers for `instrument_id`; an empty place is a missing item (None)."""
    instrument = load_instrument(instrument_id)
    places = [p.strip() for p in text.split(",")]
    answers: list[Answer] = []
    for n, place in enumerate(places):
        if place == "":
            answers.append(None)
            continue
        try:
            answers.append(int(place))
        except ValueError:
            field = instrument.items[n].field if n < instrument.n_items else f"answer {n + 1}"
            raise InvalidValue(field, f"'{place}' is not a whole number") from None
    return answers


def validate_answers(
    instrument: Instrument, answers: Sequence[Any] | Mapping[str, Any]
) -> tuple[Answer, ...]:
    """Return the answers as a tuple of allowed ints or None, in item order; refuse anything else."""
    n = instrument.n_items
    if isinstance(answers, Mapping):
        by_id = {item.id: item for item in instrument.items}
        for key in answers:
            if key not in by_id:
                raise InvalidValue(f"item {key}", f"is not an item of {instrument.short_name}")
        raw = [answers.get(item.id) for item in instrument.items]
    elif isinstance(answers, str | bytes) or not isinstance(answers, Sequence | np.ndarray):
        raise InvalidValue("answers", f"expected a list of {n} answers for {instrument.short_name}")
    else:
        raw = list(answers)
        if len(raw) < n:
            missing_item = instrument.items[len(raw)]
            raise InvalidValue(
                missing_item.field,
                f"no answer place: {instrument.short_name} has {n} items, got {len(raw)} answers "
                "(leave a place empty to mark an item unanswered)",
            )
        if len(raw) > n:
            raise InvalidValue(
                "answers",
                f"{instrument.short_name} has {n} items "
                f"({instrument.items[0].id} to {instrument.items[-1].id}), "
                f"got {len(raw)} answers; answer {n + 1} has no item",
            )
    values = tuple(_check_value(instrument, k, v) for k, v in enumerate(raw))
    check_skip_logic(instrument, values)
    return values


def check_skip_logic(instrument: Instrument, values: Sequence[Answer]) -> None:
    """Refuse an answer above the lowest to an item the skip logic says was not asked (C-SSRS 3-5 after "No" to 2).

    "No" to an item that was not asked reads as not asked; "Yes" is an impossible pattern and is refused naming
    the item and the earlier answer that skips it (C-SSRS screener skip logic [columbia-lighthouse]).
    """
    for k, item in enumerate(instrument.items):
        value = values[k]
        if item.asked_when is None or value is None or value == item.values[0]:
            continue
        if evaluate(item.asked_when, instrument, values, None) is False:
            given = ", ".join(
                f"{instrument.item(ref).field} was answered "
                f"'{_answer_label(instrument, ref, values[instrument.item(ref).number - 1])}'"
                for ref in _references(item.asked_when)
            )
            raise InvalidValue(
                item.field,
                f"'{_answer_label(instrument, item.id, value)}' is not possible here: this question is asked only "
                f"when {_gate_text(instrument, item.asked_when)}, but {given}. "
                "Correct the earlier answer or leave this one empty",
            )


def _answer_label(instrument: Instrument, item_id: str, value: Answer) -> str:
    item = instrument.item(item_id)
    return "unanswered" if value is None else item.labels[item.values.index(value)]


def _references(cond: Condition) -> list[str]:
    if isinstance(cond, Compare):
        return [] if cond.on == "total" else [cond.on]
    if isinstance(cond, AnyOf | AllOf):
        return [r for p in cond.parts for r in _references(p)]
    if isinstance(cond, CountOf):
        return list(cond.items)
    return []


def _gate_text(instrument: Instrument, cond: Condition) -> str:
    if isinstance(cond, Compare) and cond.on != "total":
        item = instrument.item(cond.on)
        allowed = [label for v, label in zip(item.values, item.labels, strict=True) if compare(v, cond.op, cond.value)]
        return f"{item.field} is answered " + " or ".join(f"'{a}'" for a in allowed)
    return "an earlier answer allows it"


def _check_value(instrument: Instrument, k: int, value: Any) -> Answer:
    item = instrument.items[k]
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidValue(item.field, f"{value} is not a number; use {_allowed(item)}")
    if isinstance(value, numbers.Integral):
        number = int(value)
    elif isinstance(value, numbers.Real):
        real = float(value)
        if math.isnan(real):
            return None
        if not math.isfinite(real) or not real.is_integer():
            raise InvalidValue(item.field, f"{value} is not an allowed answer; use {_allowed(item)}")
        number = int(real)
    else:
        raise InvalidValue(item.field, f"{value!r} is not a number; use {_allowed(item)}")
    if number not in item.values:
        raise InvalidValue(item.field, f"{number} is not an allowed answer; use {_allowed(item)}")
    return number


def _allowed(item: Any) -> str:
    return ", ".join(f"{v} ({label})" for v, label in zip(item.values, item.labels, strict=True))


def score(
    instrument_id: str, answers: Sequence[Any] | Mapping[str, Any], *, band_set: str | None = None
) -> ScoreResult:
    """Score `answers` (list in item order, or {item_id: value}) for `instrument_id`; see module rules."""
    instrument = load_instrument(instrument_id)
    values = validate_answers(instrument, answers)
    return score_valid(instrument, values, band_set=band_set)


def score_valid(
    instrument: Instrument, values: tuple[Answer, ...], *, band_set: str | None = None
) -> ScoreResult:
    """Score answers already checked by `validate_answers`."""
    bands = instrument.band_set(band_set)
    resolved = resolve_skips(instrument, values)
    missing = tuple(item.id for item, v in zip(instrument.items, resolved, strict=True) if v is None)

    total: int | None = None
    mean: float | None = None
    reason: str | None = None
    if instrument.total_rule == "sum":
        if missing:
            reason = _missing_reason(instrument, resolved)
        else:
            total = sum(v for v in resolved if v is not None)
            mean = total / instrument.n_items

    index = {item.id: k for k, item in enumerate(instrument.items)}
    subscales: dict[str, int | None] = {}
    for sub in instrument.subscales:
        sub_values = [resolved[index[i]] for i in sub.items]
        answered = [v for v in sub_values if v is not None]
        subscales[sub.id] = sum(answered) if len(answered) == len(sub_values) else None

    flags = tuple(f.id for f in instrument.flags if evaluate(f.when, instrument, resolved, total) is True)

    derived: dict[str, str | None] = {}
    for level in instrument.derived:
        derived[level.id] = _derive(level.levels, level.default, instrument, resolved, total)
        if derived[level.id] is None:
            unanswered = _missing_list(instrument, resolved)
            why = f"{level.name} not determined: an unanswered item could change it ({unanswered})"
            reason = why if reason is None else f"{reason}; {why}"

    if instrument.severity_from is not None:
        severity = derived[instrument.severity_from]
    elif bands is not None and total is not None:
        severity = bands.label_for(total)
    else:
        severity = None

    return ScoreResult(
        instrument_id=instrument.id,
        answers=values,
        total=total,
        mean=mean if instrument.report_mean else None,
        severity=severity,
        band_set=bands.id if bands is not None else None,
        subscales=subscales,
        flags=flags,
        derived=derived,
        missing_items=missing,
        reason=reason,
    )


def resolve_skips(instrument: Instrument, values: tuple[Answer, ...]) -> list[Answer]:
    """Return the answers with items skipped by the instrument's skip logic set to their lowest value."""
    resolved = list(values)
    for k, item in enumerate(instrument.items):
        if resolved[k] is None and item.asked_when is not None:
            if evaluate(item.asked_when, instrument, resolved, None) is False:
                resolved[k] = item.values[0]
    return resolved


def evaluate(
    cond: Condition, instrument: Instrument, values: Sequence[Answer], total: int | None
) -> bool | None:
    """Return True, False, or None (unknown because of a missing answer) for a definition condition."""
    if isinstance(cond, Compare):
        if cond.on == "total":
            return None if total is None else compare(total, cond.op, cond.value)
        value = values[instrument.item(cond.on).number - 1]
        return None if value is None else compare(value, cond.op, cond.value)
    if isinstance(cond, AnyOf):
        results = [evaluate(p, instrument, values, total) for p in cond.parts]
        if any(r is True for r in results):
            return True
        return False if all(r is False for r in results) else None
    if isinstance(cond, AllOf):
        results = [evaluate(p, instrument, values, total) for p in cond.parts]
        if any(r is False for r in results):
            return False
        return True if all(r is True for r in results) else None
    if isinstance(cond, CountOf):
        met = unknown = 0
        for item_id in cond.items:
            value = values[instrument.item(item_id).number - 1]
            if value is None:
                unknown += 1
            elif compare(value, cond.op, cond.value):
                met += 1
        if met >= cond.at_least:
            return True
        return False if met + unknown < cond.at_least else None
    raise TypeError(f"unknown condition {cond!r}")


def _derive(
    levels: tuple[tuple[str, Condition], ...],
    default: str,
    instrument: Instrument,
    values: Sequence[Answer],
    total: int | None,
) -> str | None:
    for label, cond in levels:
        result = evaluate(cond, instrument, values, total)
        if result is True:
            return label
        if result is None:
            return None
    return default


def _missing_list(instrument: Instrument, resolved: Sequence[Answer]) -> str:
    return ", ".join(item.field for item, v in zip(instrument.items, resolved, strict=True) if v is None)


def _missing_reason(instrument: Instrument, resolved: Sequence[Answer]) -> str:
    count = sum(v is None for v in resolved)
    noun = "item" if count == 1 else "items"
    return (
        f"{instrument.short_name} total not scored: {count} {noun} unanswered "
        f"({_missing_list(instrument, resolved)}); "
        "a total needs every item answered (no prorating rule)"
    )
