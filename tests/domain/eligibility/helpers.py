"""Shared screening-fact builders for the eligibility tests."""

from __future__ import annotations

import copy
from typing import Any

from ketacare.domain.eligibility import EligibilitySettings, Evaluation, evaluate, facts_from_dict

ACCEPTANCE_PATIENT: dict[str, Any] = {
    "schema_version": "1",
    "screening_date": "2025-03-10",
    "age_years": 38,
    "sex": "female",
    "pregnant": False,
    "breastfeeding": False,
    "diagnoses": ["F41.1"],
    "conditions": [],
    "blood_pressure": {"systolic_mmhg": 124, "diastolic_mmhg": 78, "date": "2025-03-10"},
    "heart_rate": {"bpm": 72, "date": "2025-03-10"},
    "medications": [{"name": "duloxetine", "dose_mg_per_day": 60}],
    "allergies": [],
    "substance_use": [],
    "prior_trials": [
        {
            "kind": "medication",
            "drug": "sertraline",
            "dose_mg_per_day": 150,
            "weeks": 12,
            "adherence": "good",
            "outcome": "non_response",
        },
        {
            "kind": "medication",
            "drug": "venlafaxine",
            "dose_mg_per_day": 225,
            "weeks": 10,
            "adherence": "good",
            "outcome": "partial_response",
            "reduction_pct": 30,
        },
        {
            "kind": "psychotherapy",
            "therapy": "cbt",
            "sessions": 14,
            "weeks": 16,
            "adherence": "good",
            "outcome": "non_response",
        },
    ],
    "severity_scores": [{"instrument": "GAD-7", "total": 15, "date": "2025-03-10"}],
}


def patient(**changes: Any) -> dict[str, Any]:
    """Return a deep copy of the acceptance patient with top-level fields replaced."""
    d = copy.deepcopy(ACCEPTANCE_PATIENT)
    d.update(copy.deepcopy(changes))
    return d


def run(d: dict[str, Any], rule_set: str | None = None) -> Evaluation:
    """Parse and evaluate a facts document."""
    return evaluate(facts_from_dict(d), EligibilitySettings(rule_set=rule_set))


def fired(e: Evaluation) -> set[str]:
    """Return the rule ids that fired."""
    return {f.rule_id for f in e.findings}


def finding(e: Evaluation, rule_id: str):
    """Return the first finding of a rule (AssertionError if it did not fire)."""
    for f in e.findings:
        if f.rule_id == rule_id:
            return f
    raise AssertionError(f"{rule_id} did not fire; fired: {sorted(fired(e))}")
