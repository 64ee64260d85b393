"""Treatment course (pure domain): the titration advisor, its rules as data (`data/titration.toml`)."""

from ketacare.domain.plans.titration import (
    DoseLimits,
    FiredRule,
    Proposal,
    SessionOutcome,
    propose_next,
    titration_rules,
)

__all__ = ["DoseLimits", "FiredRule", "Proposal", "SessionOutcome", "propose_next", "titration_rules"]
