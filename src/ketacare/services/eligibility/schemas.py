"""Input and output shapes of the eligibility use cases (issue #5), shared by api and web."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ketacare.services.access import SigningCredentials
from ketacare.services.refs import MAX_RECORD_ID

Decision = Literal["eligible", "eligible_with_cautions", "not_eligible", "insufficient_information"]
Status = Literal["pending_review", "accepted", "overridden", "superseded"]


class ReviewIn(SigningCredentials):
    """A prescriber's review: accept the decision, or override it with a written reason; signed with the
    prescriber's password (or one-time code) again."""

    model_config = ConfigDict(extra="forbid")
    action: Literal["accept", "override"]
    version: int = Field(
        ..., ge=1, le=MAX_RECORD_ID, description="The evaluation version you read (optimistic locking)"
    )
    decision: Decision | None = Field(None, description="Override only: the decision you are recording")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)] | None = None

    @model_validator(mode="after")
    def _override_needs_reason(self) -> ReviewIn:
        if self.action == "override":
            if self.decision is None:
                raise ValueError("an override needs the decision you are recording")
            if not self.reason or len(self.reason) < 10:
                raise ValueError("an override needs a written reason (at least 10 characters)")
        return self


YesNo = Literal["yes", "no", "unknown"]
SubstanceStatus = Literal["none", "past", "in_remission", "active_use", "active_disorder"]


class ScreeningAnswersIn(BaseModel):
    """Screening facts the chart has no other place for; fields left out (None) are not changed."""

    model_config = ConfigDict(extra="forbid")
    answers: dict[str, str] = Field(
        ..., description="fact -> value, e.g. {'pregnant': 'no', 'substance.alcohol': 'none'}"
    )
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None


class ScreeningAnswerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    fact: str
    value: str
    note: str | None
    recorded_by: int | None
    recorded_at: datetime


class EvaluationRead(BaseModel):
    """A stored evaluation with its review state."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    evaluated_at: datetime
    evaluated_by: int | None
    rule_set: str
    rule_set_version: str
    catalogue_version: str
    decision: str
    effective_decision: str
    evaluation: dict[str, Any]
    facts: dict[str, Any]
    previous_id: int | None
    status: str
    reviewed_by: int | None
    reviewed_at: datetime | None
    review_meaning: str | None = Field(
        None, description="What the review signature means: authored, approved"
    )
    override_decision: str | None
    override_reason: str | None
    version: int


class EvaluateResult(BaseModel):
    """The outcome of (re-)running the evaluation: stored or not, and the difference from the last one."""

    stored: bool
    evaluation: EvaluationRead
    diff: dict[str, Any] | None
    message: str


class ScreeningPatient(BaseModel):
    """Who the screening page is about."""

    id: int
    name: str
    mrn: str
    sex_at_birth: str
    date_of_birth: date


class ScreeningVitals(BaseModel):
    """The latest blood pressure and heart rate taken at screening."""

    sbp: float | None
    dbp: float | None
    hr: float | None
    measured_at: datetime


class ScreeningView(BaseModel):
    """What the screening page shows: the latest evaluation, the ones before it, answers, screening vitals."""

    user_names: dict[int, str]
    patient: ScreeningPatient
    latest: EvaluationRead | None
    history: list[EvaluationRead]
    answers: dict[str, ScreeningAnswerRead]
    screening_vitals: ScreeningVitals | None
    current_id: int | None = Field(None, description="The evaluation that stands for treatment, if any")
