"""Input and output shapes of the treatment-plan use cases (issue 16), shared by api, web and cli.

Typed inputs and outputs of the plans services shared by the api and web adapters (follow-up and discharge
instructions).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ketacare.services.access import SigningCredentials
from ketacare.services.refs import MAX_RECORD_ID, BaseVersion

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


class PlanInduction(BaseModel):
    """The first phase of a patient's open plan (current version), as scheduling books it in one go."""

    plan_id: int
    patient_id: int
    template_id: str
    protocol_id: str
    plan_version: int
    phase: PhasePlan


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

    version: int = Field(..., ge=1, le=MAX_RECORD_ID, description="The plan version you read (optimistic locking)")
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
    version: int = Field(..., ge=1, le=MAX_RECORD_ID)
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

    version: int = Field(..., ge=1, le=MAX_RECORD_ID)
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


Responder = Literal["yes", "no", "unknown"]
CallStatus = Literal["due", "overdue", "not_yet_due", "done"]
Party = Literal["patient", "escort"]


class TimepointScore(BaseModel):
    """One score of the instrument: total, when answered (UTC), its questionnaire response."""

    total: float
    at: datetime
    response_id: int


class TimepointRead(BaseModel):
    """The score at one time point after the infusion and its percent change from baseline (a fall is negative)."""

    id: str
    label: str
    score: TimepointScore | None
    change_pct: float | None


class SessionResponse(BaseModel):
    """The rapid response of one dosing session: baseline, 4 h and 24 h, verdict and why, with the definition."""

    session_id: int
    patient_id: int
    infusion_ended_at: datetime | None
    instrument_id: str
    instrument_name: str
    baseline: TimepointScore | None
    timepoints: list[TimepointRead]
    responder: Responder
    why: str
    definition: str
    source: str


class CallTask(BaseModel):
    """One next-day call on the nurse's list: the patient, the session, when the call is due and its status."""

    session_id: int
    patient_id: int
    patient_name: str
    mrn: str
    discharged_at: datetime
    due_at: datetime
    status: CallStatus
    attempts: int
    last_attempt_at: datetime | None


_Notes = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]


class CallCreate(BaseModel):
    """A next-day call: not reached (answers empty), or reached with an answer to every question of the form."""

    model_config = ConfigDict(extra="forbid")

    reached: bool
    answers: dict[str, str | list[str]] = Field(default_factory=dict)
    notes: _Notes = ""
    called_at: datetime | None = None


class CallRead(BaseModel):
    """A stored call attempt: outcome, answers, which answers escalated or are concerns, who called and when."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    session_id: int
    patient_id: int
    outcome: Literal["completed", "not_reached"]
    form_version: str
    answers: dict[str, str | list[str]]
    risk_items: list[str]
    concern_items: list[str]
    safety_alert_id: int | None
    notes: str | None
    by_username: str
    called_at: datetime


class CallQuestionRead(BaseModel):
    """One question of the call form with its options (id and label)."""

    id: str
    label: str
    kind: Literal["choice", "multi"]
    options: list[tuple[str, str]]
    risk_when: list[str]
    concern_when: list[str]
    source: str


class CallSheet(BaseModel):
    """Everything the call page shows: the task, the questions, the attempts so far and the rapid response."""

    task: CallTask
    questions: list[CallQuestionRead]
    calls: list[CallRead]
    response: SessionResponse | None
    clinic_phone: str


# --- discharge instructions (point 6) -------------------------------------------------------------------------

_Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
_Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class InstructionSection(BaseModel):
    """One section of the discharge instructions: a heading and its lines."""

    model_config = ConfigDict(extra="forbid")

    title: _Title
    lines: list[_Line] = Field(min_length=1, max_length=20)


class InstructionsIn(BaseModel):
    """The discharge instructions a clinic edits ("{clinic_phone}" in a line is replaced by the clinic's phone)."""

    model_config = ConfigDict(extra="forbid")

    heading: _Title
    sections: list[InstructionSection] = Field(min_length=1, max_length=12)


class InstructionsUpdate(InstructionsIn):
    """A new version of the instructions: why it changed and which version it replaces (stale edits refused)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=2000)]
    base_version: BaseVersion


class InstructionsRead(InstructionsIn):
    """A version of the instructions (0 = shipped text) with who changed it, when and why, and its sources."""

    version: int
    source: str
    changed_by_name: str | None = None
    changed_at: datetime | None = None
    reason: str | None = None


class CrisisLineRead(BaseModel):
    """A crisis line from the clinic's settings."""

    name: str
    number: str
    when: str


class PrintedInstructions(BaseModel):
    """The instructions as given to one patient: text with the clinic's phone filled in, and the crisis lines."""

    version: int
    heading: str
    sections: list[InstructionSection]
    clinic_name: str
    clinic_phone: str
    crisis_lines: list[CrisisLineRead]
    source: str


class AcknowledgementIn(BaseModel):
    """A typed name acknowledging the instructions (the patient's, or the escort's) and which version was read."""

    model_config = ConfigDict(extra="forbid")

    party: Party
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    instructions_version: BaseVersion


class AcknowledgementRead(BaseModel):
    """A stored acknowledgement: who (patient or escort), the typed name, the version, when and who recorded it."""

    model_config = ConfigDict(from_attributes=True)

    party: Party
    name: str
    instructions_version: int
    acknowledged_at: datetime
    recorded_by_username: str


class DischargeSheet(BaseModel):
    """The instructions for a session and the acknowledgements recorded so far."""

    session_id: int
    patient_id: int
    patient_name: str
    instructions: PrintedInstructions
    acknowledgements: list[AcknowledgementRead]
    escort_name: str | None
    complete: bool
