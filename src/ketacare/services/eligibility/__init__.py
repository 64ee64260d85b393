"""Eligibility screening: evaluations from the record, prescriber review (services layer).

Other capabilities use eligibility only through the names below.
"""

from ketacare.services.eligibility.screening import (
    ELIGIBLE,
    current_evaluation,
    current_evaluations,
    effective_decision,
)

__all__ = ["ELIGIBLE", "current_evaluation", "current_evaluations", "effective_decision"]
