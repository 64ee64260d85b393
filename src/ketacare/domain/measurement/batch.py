"""Score many responses to one instrument at once with numpy; results match `scoring.score` row by row.

Input is a 2-D float array, one row per response and one column per item in item order, NaN for a missing
answer. A row holding a value the item does not allow, or an answer its skip logic rules out (C-SSRS "Yes" to
item 3 after "No" to item 2), is not scored: `valid` is False and `invalid_item` is the 0-based index of the
first offending item (the item `scoring.score` would name). Nothing is raised for a
bad row; a wrong number of columns refuses the whole batch with `InvalidValue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement.catalogue import (
    AllOf,
    AnyOf,
    BandSet,
    Compare,
    Condition,
    CountOf,
    Instrument,
    load_instrument,
)

_OPS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal, "==": np.equal}


@dataclass(frozen=True)
class BatchResult:
    """Per-row results. Codes index into the matching `*_labels` tuple; -1 means none / not determined."""

    instrument_id: str
    valid: np.ndarray  # bool
    invalid_item: np.ndarray  # int, -1 when the row is valid
    complete: np.ndarray  # bool: every item answered (after skip logic)
    total: np.ndarray  # float, NaN when not scored
    mean: np.ndarray  # float, NaN unless the instrument reports an item mean
    severity: np.ndarray  # int codes into severity_labels
    severity_labels: tuple[str, ...]
    flags: dict[str, np.ndarray]  # bool per flag
    subscales: dict[str, np.ndarray]  # float, NaN when not scored
    derived: dict[str, np.ndarray]  # int codes into derived_labels[id]
    derived_labels: dict[str, tuple[str, ...]]

    def __len__(self) -> int:
        return int(self.valid.shape[0])

    def row(self, i: int) -> dict[str, Any]:
        """Return row `i` in the same shape as `ScoreResult.to_dict` (subset); None for invalid rows."""
        if not self.valid[i]:
            return {"valid": False, "invalid_item": int(self.invalid_item[i])}

        def num(x: float) -> int | None:
            return None if np.isnan(x) else int(x)

        def label(code: int, labels: tuple[str, ...]) -> str | None:
            return None if code < 0 else labels[code]

        return {
            "valid": True,
            "total": num(self.total[i]),
            "mean": None if np.isnan(self.mean[i]) else float(self.mean[i]),
            "severity": label(int(self.severity[i]), self.severity_labels),
            "subscales": {k: num(v[i]) for k, v in self.subscales.items()},
            "flags": [k for k, v in self.flags.items() if v[i]],
            "derived": {k: label(int(v[i]), self.derived_labels[k]) for k, v in self.derived.items()},
            "complete": bool(self.complete[i]),
        }


def score_batch(instrument_id: str, answers: np.ndarray, *, band_set: str | None = None) -> BatchResult:
    """Score every row of `answers` (n x items, NaN = missing) for `instrument_id`; see module notes."""
    instrument = load_instrument(instrument_id)
    bands = instrument.band_set(band_set)
    x = _answer_matrix(instrument, answers)
    n = x.shape[0]

    present = ~np.isnan(x)
    bad = _disallowed_answers(instrument, x, present)
    any_bad = _rows_any(bad)
    # Skip logic: an answer above the lowest to an item whose gate is definitely false (C-SSRS "Yes" to item 3
    # after "No" to item 2) is an impossible pattern; the row is refused like `scoring.check_skip_logic` does.
    skip_bad = _skip_logic_violations(instrument, x, present & ~any_bad[:, None])
    any_skip_bad = _rows_any(skip_bad)
    valid = ~any_bad & ~any_skip_bad
    invalid_item = np.where(any_bad, bad.argmax(axis=1), np.where(any_skip_bad, skip_bad.argmax(axis=1), -1))

    known, values = _apply_skip_logic(instrument, x, present & valid[:, None], valid)
    complete = _rows_all(known) & valid
    if instrument.total_rule == "sum":
        total = np.where(complete, values.sum(axis=1), np.nan)
    else:
        total = np.full(n, np.nan)
    mean = total / instrument.n_items if instrument.report_mean else np.full(n, np.nan)

    derived, derived_labels = _derived_levels(instrument, known, values, total, valid)
    if instrument.severity_from is not None:
        severity = derived[instrument.severity_from]
        severity_labels = derived_labels[instrument.severity_from]
    else:
        severity, severity_labels = severity_bands(bands, total)

    return BatchResult(
        instrument_id=instrument.id,
        valid=valid,
        invalid_item=invalid_item,
        complete=complete,
        total=total,
        mean=mean,
        severity=severity,
        severity_labels=severity_labels,
        flags=_flags(instrument, known, values, total, valid),
        subscales=_subscales(instrument, known, values, valid),
        derived=derived,
        derived_labels=derived_labels,
    )


def _rows_any(a: np.ndarray) -> np.ndarray:
    """Return, per row of the 2-D bool array `a`, whether any entry is True."""
    out: np.ndarray = np.any(a, axis=1)
    return out


def _rows_all(a: np.ndarray) -> np.ndarray:
    """Return, per row of the 2-D bool array `a`, whether every entry is True."""
    out: np.ndarray = np.all(a, axis=1)
    return out


def _answer_matrix(instrument: Instrument, answers: np.ndarray) -> np.ndarray:
    """Return `answers` as a 2-D float array with one column per item; refuse a wrong number of columns."""
    x = np.asarray(answers, dtype=np.float64)
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2 or x.shape[1] != instrument.n_items:
        got: int | None = int(x.shape[1]) if x.ndim == 2 else None
        short = got is not None and got < instrument.n_items
        field = instrument.items[got].field if got is not None and short else "answers"
        shown = "?" if got is None else got
        message = f"{instrument.short_name} has {instrument.n_items} items, got {shown} answer columns"
        raise InvalidValue(field, message)
    return x


def _disallowed_answers(instrument: Instrument, x: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Return where a given answer is not one of its item's allowed values."""
    bad = np.zeros(x.shape, dtype=bool)
    for k, item in enumerate(instrument.items):
        column = x[:, k]
        allowed = np.asarray(item.values, dtype=np.float64)
        if np.array_equal(allowed, np.arange(allowed[0], allowed[-1] + 1)):
            ok = (column >= allowed[0]) & (column <= allowed[-1]) & (column == np.floor(column))
        else:
            ok = np.isin(column, allowed)
        bad[:, k] = present[:, k] & ~ok
    return bad


def _skip_logic_violations(instrument: Instrument, x: np.ndarray, well_formed: np.ndarray) -> np.ndarray:
    """Return where an item is answered above its lowest value although its gate is definitely false."""
    raw_values = np.where(well_formed, x, 0.0)
    skip_bad = np.zeros(x.shape, dtype=bool)
    for k, item in enumerate(instrument.items):
        if item.asked_when is not None:
            _, gate_false = _evaluate(item.asked_when, instrument, well_formed, raw_values, None)
            skip_bad[:, k] = well_formed[:, k] & (raw_values[:, k] != item.values[0]) & gate_false
    return skip_bad


def _apply_skip_logic(
    instrument: Instrument, x: np.ndarray, known: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return (known, values): an unanswered item whose gate is definitely false counts as its lowest value."""
    values = np.where(known, x, 0.0)
    for k, item in enumerate(instrument.items):
        if item.asked_when is not None:
            _, gate_false = _evaluate(item.asked_when, instrument, known, values, None)
            skipped = ~known[:, k] & gate_false & valid
            values[:, k] = np.where(skipped, item.values[0], values[:, k])
            known[:, k] |= skipped
    return known, values


def _subscales(
    instrument: Instrument, known: np.ndarray, values: np.ndarray, valid: np.ndarray
) -> dict[str, np.ndarray]:
    index = {item.id: k for k, item in enumerate(instrument.items)}
    subscales: dict[str, np.ndarray] = {}
    for sub in instrument.subscales:
        cols = [index[i] for i in sub.items]
        sub_complete = _rows_all(known[:, cols]) & valid
        subscales[sub.id] = np.where(sub_complete, values[:, cols].sum(axis=1), np.nan)
    return subscales


def _flags(
    instrument: Instrument, known: np.ndarray, values: np.ndarray, total: np.ndarray, valid: np.ndarray
) -> dict[str, np.ndarray]:
    flags: dict[str, np.ndarray] = {}
    for flag in instrument.flags:
        is_true, _ = _evaluate(flag.when, instrument, known, values, total)
        flags[flag.id] = is_true & valid
    return flags


def _derived_levels(
    instrument: Instrument, known: np.ndarray, values: np.ndarray, total: np.ndarray, valid: np.ndarray
) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
    """Return the derived-level codes (int16, -1 when undetermined or invalid) and their labels by level id."""
    n = known.shape[0]
    derived: dict[str, np.ndarray] = {}
    derived_labels: dict[str, tuple[str, ...]] = {}
    for level in instrument.derived:
        code: np.ndarray = np.full(n, level.order.index(level.default), dtype=np.int16)
        decided = np.zeros(n, dtype=bool)
        for label, cond in level.levels:
            is_true, is_false = _evaluate(cond, instrument, known, values, total)
            code = np.where(~decided & is_true, level.order.index(label), code)
            code = np.where(~decided & ~is_true & ~is_false, -1, code)
            decided |= ~is_false
        derived[level.id] = np.where(valid, code, -1).astype(np.int16)
        derived_labels[level.id] = level.order
    return derived, derived_labels


def severity_bands(bands: BandSet | None, total: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Return the severity band codes of `total` (-1 where the total is NaN, not scored) and the band labels."""
    n = total.shape[0]
    if bands is None:
        return np.full(n, -1, dtype=np.int16), ()
    mins = np.asarray([b.min for b in bands.bands], dtype=np.float64)
    scored = ~np.isnan(total)
    code = np.searchsorted(mins, np.where(scored, total, mins[0]), side="right") - 1
    severity = np.where(scored, code, -1).astype(np.int16)
    return severity, tuple(b.label for b in bands.bands)


def _evaluate(
    cond: Condition, instrument: Instrument, known: np.ndarray, values: np.ndarray, total: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Return (definitely true, definitely false) arrays; neither means unknown (a missing answer)."""
    if isinstance(cond, Compare):
        if cond.on == "total":
            if total is None:
                raise ValueError("a skip condition cannot refer to the total")
            is_known = ~np.isnan(total)
            result = _OPS[cond.op](np.where(is_known, total, 0.0), cond.value)
        else:
            k = instrument.item(cond.on).number - 1
            is_known = known[:, k]
            result = _OPS[cond.op](values[:, k], cond.value)
        return is_known & result, is_known & ~result
    if isinstance(cond, AnyOf | AllOf):
        parts = [_evaluate(p, instrument, known, values, total) for p in cond.parts]
        trues = np.stack([t for t, _ in parts])
        falses = np.stack([f for _, f in parts])
        if isinstance(cond, AnyOf):
            return np.any(trues, axis=0), np.all(falses, axis=0)
        return np.all(trues, axis=0), np.any(falses, axis=0)
    if isinstance(cond, CountOf):
        cols = [instrument.item(i).number - 1 for i in cond.items]
        k_known = known[:, cols]
        met = (k_known & _OPS[cond.op](values[:, cols], cond.value)).sum(axis=1)
        unknown = (~k_known).sum(axis=1)
        return met >= cond.at_least, met + unknown < cond.at_least
    raise TypeError(f"unknown condition {cond!r}")
