"""Measurement-based care core: instrument definitions, scoring, batch scoring and outcomes (issue #4).

Definitions are data (`instruments/data/<id>.toml`, one per instrument, each fact with its source from the
sources in `domain/bibliography.toml`); the code here only reads and applies them.
"""

from ketacare.domain.measurement.batch import BatchResult, score_batch, severity_bands
from ketacare.domain.measurement.catalogue import Instrument, all_instruments, instrument_ids, load_instrument
from ketacare.domain.measurement.outcomes import (
    OutcomeResult,
    change_from_baseline,
    evaluate_outcomes,
    percent_change,
)
from ketacare.domain.measurement.schedule import plan_ids
from ketacare.domain.measurement.scoring import ScoreResult, parse_answer_text, score, validate_answers

__all__ = [
    "BatchResult",
    "Instrument",
    "OutcomeResult",
    "ScoreResult",
    "all_instruments",
    "change_from_baseline",
    "evaluate_outcomes",
    "instrument_ids",
    "load_instrument",
    "parse_answer_text",
    "percent_change",
    "plan_ids",
    "score",
    "score_batch",
    "severity_bands",
    "validate_answers",
]
