"""Result types of an eligibility evaluation: findings, missing facts, resistance stage, decision."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Decision = Literal["eligible", "eligible_with_cautions", "not_eligible", "insufficient_information"]
DECISIONS: tuple[str, ...] = (
    "not_eligible",
    "insufficient_information",
    "eligible_with_cautions",
    "eligible",
)
SEVERITY_ORDER: dict[str, int] = {"exclude": 0, "caution": 1, "info": 2}


def decision_rank(decision: str) -> int:
    """Return how eligible a decision is: 0 not_eligible < 1 insufficient < 2 with cautions < 3 eligible."""
    return DECISIONS.index(decision)


@dataclass(frozen=True)
class EligibilitySettings:
    """A clinic's choices for screening; every field left None uses the shipped default (settings.toml).

    rule_set: "bokma2019" or "delphi2024". severity_overrides: rule id -> exclude/caution/info.
    params: rule id -> {param: value} overriding thresholds in rules.toml (e.g. the BP limits).
    """

    rule_set: str | None = None
    severity_overrides: dict[str, str] = field(default_factory=dict)
    params: dict[str, dict[str, Any]] = field(default_factory=dict)
    vitals_max_age_days: int | None = None
    score_max_age_days: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the settings as JSON-ready data."""
        return {
            "rule_set": self.rule_set,
            "severity_overrides": dict(self.severity_overrides),
            "params": {k: dict(v) for k, v in self.params.items()},
            "vitals_max_age_days": self.vitals_max_age_days,
            "score_max_age_days": self.score_max_age_days,
        }


@dataclass(frozen=True)
class Finding:
    """One rule that fired: id, severity, message with computed values, suggested action and source."""

    rule_id: str
    severity: str
    message: str
    action: str
    source: str
    verified: bool
    subject: str
    values: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def key(self) -> tuple[str, str]:
        """Return (rule id, subject): what identifies this finding across evaluations."""
        return (self.rule_id, self.subject)

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as JSON-ready data."""
        return {
            "rule_id": self.rule_id,
            "severity": self.severity,
            "message": self.message,
            "action": self.action,
            "source": self.source,
            "verified": self.verified,
            "subject": self.subject,
            "values": dict(self.values),
        }


@dataclass(frozen=True)
class MissingFact:
    """A fact the decision needs but the record lacks, and where to record it."""

    key: str
    label: str
    where: str
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the missing fact as JSON-ready data."""
        return {"key": self.key, "label": self.label, "where": self.where, "reason": self.reason}


@dataclass(frozen=True)
class TrialAssessment:
    """How one prior trial was judged: counted as a failed adequate trial, or why not."""

    index: int
    kind: str
    name: str
    counted: bool
    reasons: tuple[tuple[str, str], ...] = ()  # (reason code: dose|duration|adherence|not_counted, detail)
    pending: tuple[str, ...] = ()  # missing-fact keys that would decide it

    def to_dict(self) -> dict[str, Any]:
        """Return the trial assessment as JSON-ready data."""
        return {
            "index": self.index,
            "kind": self.kind,
            "name": self.name,
            "counted": self.counted,
            "reasons": [{"reason": r, "detail": d} for r, d in self.reasons],
            "pending": list(self.pending),
        }


@dataclass(frozen=True)
class TreatmentResistance:
    """Treatment-resistance status and stage under one rule set, with the counts behind it."""

    rule_set: str
    rule_set_label: str
    rule_set_version: str
    status: str  # met | not_met | undetermined
    stage: int | None
    stage_label: str
    failed_adequate_pharmacological: int
    failed_adequate_psychological: int
    trials: tuple[TrialAssessment, ...]
    severity: tuple[dict[str, Any], ...]
    severity_met: bool | None
    reason: str
    missing: tuple[MissingFact, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Return the staging as JSON-ready data."""
        return {
            "rule_set": self.rule_set,
            "rule_set_label": self.rule_set_label,
            "rule_set_version": self.rule_set_version,
            "status": self.status,
            "stage": self.stage,
            "stage_label": self.stage_label,
            "failed_adequate_pharmacological": self.failed_adequate_pharmacological,
            "failed_adequate_psychological": self.failed_adequate_psychological,
            "trials": [t.to_dict() for t in self.trials],
            "severity": [dict(s) for s in self.severity],
            "severity_met": self.severity_met,
            "reason": self.reason,
            "missing": [m.to_dict() for m in self.missing],
        }


@dataclass(frozen=True)
class Evaluation:
    """The outcome of screening one patient: decision, findings, missing facts, staging, provenance."""

    decision: str
    findings: tuple[Finding, ...]
    missing: tuple[MissingFact, ...]
    treatment_resistance: TreatmentResistance
    rule_set: str
    catalogue_version: str
    tables_version: str
    screening_date: str
    settings: dict[str, Any]
    facts: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Return the evaluation as JSON-ready data (what the screening service stores)."""
        return {
            "decision": self.decision,
            "findings": [f.to_dict() for f in self.findings],
            "missing": [m.to_dict() for m in self.missing],
            "treatment_resistance": self.treatment_resistance.to_dict(),
            "rule_set": self.rule_set,
            "catalogue_version": self.catalogue_version,
            "tables_version": self.tables_version,
            "screening_date": self.screening_date,
            "settings": self.settings,
            "facts": self.facts,
        }
