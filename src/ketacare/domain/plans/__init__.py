"""Treatment course (pure domain): the titration advisor (`data/titration.toml`), plan templates
(`data/plan_templates/`) and consent documents (`data/consent/`), all as data with sources."""

from ketacare.domain.plans.consent import (
    ConsentTemplate,
    IndicationEvidence,
    Section,
    consent_for_route,
    consent_templates,
    parse_consent_template,
)
from ketacare.domain.plans.datacheck import DataFileError
from ketacare.domain.plans.relapse import RelapseCheck, check_relapse, relapse_rules
from ketacare.domain.plans.templates import (
    AssessmentSchedule,
    Phase,
    PlanTemplate,
    Review,
    StopRule,
    TherapyPairing,
    parse_plan_template,
    plan_templates,
)
from ketacare.domain.plans.titration import (
    DoseLimits,
    FiredRule,
    Proposal,
    SessionOutcome,
    propose_next,
    titration_rules,
)

__all__ = [
    "AssessmentSchedule",
    "ConsentTemplate",
    "DataFileError",
    "DoseLimits",
    "FiredRule",
    "IndicationEvidence",
    "Phase",
    "PlanTemplate",
    "Proposal",
    "RelapseCheck",
    "Review",
    "Section",
    "SessionOutcome",
    "StopRule",
    "check_relapse",
    "TherapyPairing",
    "consent_for_route",
    "consent_templates",
    "parse_consent_template",
    "parse_plan_template",
    "plan_templates",
    "propose_next",
    "relapse_rules",
    "titration_rules",
]
