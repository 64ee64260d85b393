"""De-identification for research exports (domain): age bands, date shifts, keyed pseudonyms, k-anonymity."""

from ketacare.domain.research.deid import (
    DeidRules,
    age_band,
    age_years,
    date_shift_days,
    date_shifts_days,
    pseudonym,
    pseudonym_bytes,
    pseudonyms,
    rules,
    smallest_group,
    suppress_count,
)

__all__ = [
    "DeidRules",
    "age_band",
    "age_years",
    "date_shift_days",
    "date_shifts_days",
    "pseudonym",
    "pseudonym_bytes",
    "pseudonyms",
    "rules",
    "smallest_group",
    "suppress_count",
]
