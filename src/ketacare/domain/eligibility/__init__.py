"""Pure eligibility core for ketamine in treatment-resistant anxiety disorders (issue #5).

Public API:
    facts_from_dict(d) -> ScreeningFacts            parse the JSON facts document (facts.schema.json)
    facts_to_dict(facts) -> dict                     canonical document for storage
    evaluate(facts, settings=None) -> Evaluation     decision, findings, missing facts, TR stage
    diff_evaluations(old, new) -> EvaluationDiff     compare two (stored) evaluations
    rules() -> tuple[Rule, ...]                      the rule catalogue (data/rules.toml)
    diazepam_equivalent_mg_per_day(drug, mg_per_day) benzodiazepine conversion (data/medications.toml)
    generic_name(name), drug_classes(generic)        the drug table (data/medications.toml)
"""

from __future__ import annotations

from ketacare.domain.eligibility.diff import EvaluationDiff, diff_evaluations
from ketacare.domain.eligibility.engine import decide, evaluate
from ketacare.domain.eligibility.facts import (
    Allergy,
    BloodPressure,
    Condition,
    Diagnosis,
    HeartRate,
    Medication,
    PriorTrial,
    ScreeningFacts,
    SeverityScore,
    SubstanceUse,
    facts_from_dict,
    facts_to_dict,
)
from ketacare.domain.eligibility.model import (
    DECISIONS,
    EligibilitySettings,
    Evaluation,
    Finding,
    MissingFact,
    TreatmentResistance,
    TrialAssessment,
    decision_rank,
)
from ketacare.domain.eligibility.resistance import assess_treatment_resistance
from ketacare.domain.eligibility.tables import (
    Rule,
    catalogue_version,
    diazepam_equivalent_mg_per_day,
    drug_classes,
    generic_name,
    rule_sets,
    rules,
)

__all__ = [
    "DECISIONS",
    "Allergy",
    "BloodPressure",
    "Condition",
    "Diagnosis",
    "EligibilitySettings",
    "Evaluation",
    "EvaluationDiff",
    "Finding",
    "HeartRate",
    "Medication",
    "MissingFact",
    "PriorTrial",
    "Rule",
    "ScreeningFacts",
    "SeverityScore",
    "SubstanceUse",
    "TreatmentResistance",
    "TrialAssessment",
    "assess_treatment_resistance",
    "catalogue_version",
    "decide",
    "decision_rank",
    "diazepam_equivalent_mg_per_day",
    "diff_evaluations",
    "drug_classes",
    "evaluate",
    "facts_from_dict",
    "facts_to_dict",
    "generic_name",
    "rule_sets",
    "rules",
]
