"""Shared helpers for the instrument tests."""

from __future__ import annotations

from ketacare.domain.measurement.catalogue import Instrument


def answers_with_total(instrument: Instrument, total: int) -> list[int]:
    """Return answers (all items answered) whose sum is `total`, filling items from the first."""
    assert instrument.min_total <= total <= instrument.max_total
    answers = [item.values[0] for item in instrument.items]
    remaining = total - sum(answers)
    for k, item in enumerate(instrument.items):
        step = min(remaining, item.values[-1] - answers[k])
        answers[k] += step
        remaining -= step
    assert remaining == 0
    return answers
