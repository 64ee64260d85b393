"""Treatment outcomes (issue 18): definitions as data, one trajectory's outcome, and the statistics of rates.

    shipped() -> Definitions                       response, remission, rapid response, relapse, RCI, windows
    assess(instrument, scores, sessions, defs)     baseline, best, latest, status with dates, time to response
    wilson(k, n) / mean_band(values)               rates with Wilson intervals, means with t bands
"""

from ketacare.domain.outcomes.definitions import (
    Definitions,
    DoseBand,
    FixedPoint,
    InstrumentOutcomes,
    Rule,
    parse,
    shipped,
    with_primary_instruments,
)
from ketacare.domain.outcomes.statistics import MeanBand, Rate, mean_band, per_100, sample_sd, wilson
from ketacare.domain.outcomes.trajectory import (
    Assessment,
    PointScore,
    Score,
    Status,
    assess,
    nearest_in_window,
    reliable_change_index,
)

__all__ = [
    "Assessment",
    "Definitions",
    "DoseBand",
    "FixedPoint",
    "InstrumentOutcomes",
    "MeanBand",
    "PointScore",
    "Rate",
    "Rule",
    "Score",
    "Status",
    "assess",
    "mean_band",
    "nearest_in_window",
    "parse",
    "per_100",
    "reliable_change_index",
    "sample_sd",
    "shipped",
    "wilson",
    "with_primary_instruments",
]
