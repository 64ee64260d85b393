"""Input and output shapes of the treatment-plan use cases (issue 16), shared by api, web and cli."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ketacare.services.access import SigningCredentials

Status = Literal["draft", "active", "maintenance", "stopped"]
StopKind = Literal["no-response", "intolerable", "patient-choice"]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
Indication = Literal["gad", "social-anxiety", "panic", "ptsd"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _blank(v: object) -> object:
    return None if isinstance(v, str) and not v.strip() else v


class Goal(_Strict):
    """A target score on a chosen instrument (at or below it), optionally by a week of the course."""

    instrument_id: str = Field(..., max_length=32)
    target_score: float = Field(..., ge=0, le=200)
    by_week: float | None = Field(None, gt=0, le=104)


class PhasePlan(BaseModel):
    """One phase of this patient's course: sessions (None: open-ended) and days between sessions."""

    id: str
    kind: str
    name: str
    sessions: int | None
    interval_days: float
    spaces_out_to_days: float | None = None
    responders_only: bool = False
    source: str = ""


class AssessmentPlan(BaseModel):
    primary: str
    before_each_session: bool = True
    after_hours: list[float] = Field(default_factory=list)


class PlanContent(BaseModel):
    """What a plan version holds: dose, phases, goals, assessment schedule (the stop rules stay the template's)."""

    protocol_id: str
    dosing: Literal["weight", "fixed"]
    dose_mg_per_kg: float | None = None
    dose_mg: float | None = None
    phases: list[PhasePlan]
    goals: list[Goal]
    assessments: AssessmentPlan


class PlanCreate(_Strict, SigningCredentials):
    """A plan from a template, signed at once by the prescriber (version 1)."""

    template_id: str = Field(..., max_length=64)
    indication: Indication
    primary_instrument: str | None = Field(None, max_length=32, description="Default: the template's")
    dose_mg_per_kg: float | None = Field(None, gt=0, description="Starting dose (weight-based protocols)")
    dose_mg: float | None = Field(None, gt=0, description="Starting dose (fixed-dose protocols)")
    goals: list[Goal] = Field(default_factory=list, max_length=6)
    reason: Reason = "Plan from the template"

    _b = field_validator("primary_instrument", "dose_mg_per_kg", "dose_mg", mode="before")(_blank)


class PhaseEdit(_Strict):
    id: str = Field(..., max_length=40)
    sessions: int | None = Field(None, ge=1, le=60)
    interval_days: float | None = Field(None, gt=0, le=90)


class PlanChange(_Strict, SigningCredentials):
    """A new signed version: only the fields given change; the reason is required."""

    version: int = Field(..., ge=1, description="The plan version you read (optimistic locking)")
    reason: Reason
    dose_mg_per_kg: float | None = Field(None, gt=0)
    dose_mg: float | None = Field(None, gt=0)
    phases: list[PhaseEdit] | None = None
    goals: list[Goal] | None = Field(None, max_length=6)
    primary_instrument: str | None = Field(None, max_length=32)
    after_hours: list[float] | None = Field(None, max_length=6)
    status: Literal["active", "maintenance"] | None = None

    _b = field_validator("primary_instrument", "dose_mg_per_kg", "dose_mg", "status", mode="before")(_blank)


class PlanStop(_Strict, SigningCredentials):
    version: int = Field(..., ge=1)
    stop_kind: StopKind
    reason: Reason


class PlanVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    content: PlanContent
    changes: list[dict[str, object]]
    reason: str
    signed_by_name: str
    signed_at: datetime
    signed_meaning: str


class StopRuleRead(BaseModel):
    id: str
    kind: str
    text: str
    after_sessions: int | None
    source: str


class ReviewRead(BaseModel):
    id: str
    name: str
    text: str
    when: str  # "after session 6", "week 8"
    source: str


class PlanRead(BaseModel):
    id: int
    patient_id: int
    template_id: str
    template_name: str
    template_version: str
    indication: str
    route: str
    protocol_id: str
    status: Status
    current_version: int
    stop_kind: str | None
    stop_reason: str | None
    stopped_at: datetime | None
    content: PlanContent
    versions: list[PlanVersionRead]
    stop_rules: list[StopRuleRead]
    reviews: list[ReviewRead]
    created_at: datetime
    version: int


class FiredRuleRead(BaseModel):
    id: str
    text: str
    source: str


Decision = Literal["accept", "edit", "reject"]


class ProposalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    plan_id: int
    patient_id: int
    created_at: datetime
    sessions_used: int
    kind: str
    dose_mg_per_kg: float | None
    interval_days: float | None
    response: str
    change_pct: float | None
    rules: list[FiredRuleRead]
    cautions: list[str]
    evidence_note: str
    status: str
    decided_by_name: str | None
    decided_at: datetime | None
    decided_meaning: str | None
    decision_reason: str | None
    decided_dose_mg_per_kg: float | None
    decided_interval_days: float | None
    version: int


class ProposalDecision(_Strict, SigningCredentials):
    """Accept the proposal, edit its dose or interval (with a reason), or reject it (with a reason)."""

    version: int = Field(..., ge=1)
    decision: Decision
    dose_mg_per_kg: float | None = Field(None, gt=0, description="Edit: the dose you choose (mg/kg)")
    interval_days: float | None = Field(None, gt=0, le=90, description="Edit: the interval you choose (days)")
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

    _b = field_validator("dose_mg_per_kg", "interval_days", "reason", mode="before")(_blank)


class CourseRow(BaseModel):
    """One given session against the plan."""

    number: int
    session_id: int
    started_at: datetime
    phase: str
    dose_mg: float | None
    dose_mg_per_kg: float | None
    score_before: float | None
    score_24h: float | None
    change_pct: float | None  # latest score of the session against baseline (negative = better)
    peak_sbp_rise_mmhg: float | None
    cadss6_total: float | None
    side_effects: list[str]
    rescue: list[str]
    aborted: bool


class ScorePoint(BaseModel):
    answered_at: datetime
    total: float
    context: str
    session_number: int | None


class GoalStatus(BaseModel):
    goal: Goal
    latest: float | None
    met: bool | None


class RelapseRead(BaseModel):
    state: str
    action: str
    action_text: str
    best_change_pct: float | None
    latest_change_pct: float | None
    rules: list[FiredRuleRead]
    note: str
    flagged: bool


class NextStep(BaseModel):
    phase: str | None
    sessions_given: int
    next_session_due: datetime | None
    next_session_text: str
    next_review: str | None
    proposal_id: int | None


class CourseView(BaseModel):
    """The plan and what happened against it, with the next step."""

    plan: PlanRead
    primary_instrument: str
    baseline: float | None
    baseline_at: datetime | None
    rows: list[CourseRow]
    scores: list[ScorePoint]
    goals: list[GoalStatus]
    relapse: RelapseRead
    next_step: NextStep
    proposals: list[ProposalRead]


class OrderPrefill(BaseModel):
    """What the next dose order is pre-filled with, from an accepted (or edited) titration proposal."""

    proposal_id: int
    protocol_id: str
    mg_per_kg: float | None
    dose_mg: float | None
    reason: str
    decided_by_name: str | None
    decided_at: datetime | None


class RelapseFlag(BaseModel):
    """A plan whose response is weakening or lost, for the prescriber's dashboard."""

    patient_id: int
    patient_name: str
    mrn: str
    plan_id: int
    state: str
    action: str
    action_text: str
    latest_change_pct: float | None


class PlanSummary(BaseModel):
    id: int
    template_id: str
    template_name: str
    status: Status
    current_version: int
    created_at: datetime
