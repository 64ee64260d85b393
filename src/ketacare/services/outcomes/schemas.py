"""Typed shapes of outcomes shared by the API, the pages, the PDFs and the CLI."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class OutcomeFilters(BaseModel):
    """Which patients the dashboard counts: first session between the dates (clinic-local days), and groups."""

    model_config = ConfigDict(extra="forbid")

    date_from: date | None = Field(None, description="First session on or after this day (clinic's local date)")
    date_to: date | None = Field(None, description="First session on or before this day (clinic's local date)")
    diagnosis: str | None = Field(None, max_length=64, description="Primary diagnosis concept, e.g. gad")
    protocol: str | None = Field(None, max_length=64, description="Protocol id of the patient's dose orders")
    clinician_id: int | None = Field(None, ge=1, description="Primary clinician (user id)")
    site_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="Site of the chair of the patient's first session (site id)"
    )

    @field_validator("date_to")
    @classmethod
    def _ordered(cls, v: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("date_from")
        if v is not None and start is not None and v < start:
            raise ValueError("must be on or after the start date")
        return v


class ScorePoint(BaseModel):
    """One total (points) at a time (UTC)."""

    at: datetime
    total: float


class RateRead(BaseModel):
    """k of n as a proportion (0-1) with its 95 % Wilson interval; None when n is 0."""

    k: int
    n: int
    proportion: float | None
    low: float | None
    high: float | None


class PatientOutcome(BaseModel):
    """One patient's outcome on the primary instrument, with dates, sessions, dose and side effects."""

    patient_id: int
    patient_name: str = ""  # filled for one patient's summary; the dashboard never shows names
    mrn: str = ""
    date_of_birth: date | None = None
    instrument_id: str
    instrument_name: str
    diagnosis: str | None
    diagnosis_display: str | None
    status: str
    status_words: str
    baseline: ScorePoint | None
    best: ScorePoint | None
    latest: ScorePoint | None
    change_points: float | None
    percent_change: float | None
    responded_at: datetime | None
    remitted_at: datetime | None
    rapid_response: bool | None
    relapsed_at: datetime | None
    days_to_response: float | None
    days_followed_after_benefit: float | None  # to the relapse, or to the last score (censored)
    mcic_met: bool | None
    mcic_points: float | None
    reliable_change: bool | None
    rci: float | None
    response_rule: str
    remission_rule: str
    rule_sources: list[str]
    unverified: list[str]
    reasons: list[str]
    sessions_given: int
    first_session_at: datetime | None
    cumulative_dose_mg: float
    side_effects: int
    side_effects_grade3_or_more: int
    side_effects_per_session: float | None
    history: list[ScorePoint]
    session_times: list[datetime]


class FlowStage(BaseModel):
    """One stage of the cohort flow: how many patients reached it and where the count comes from."""

    id: str
    label: str
    count: int
    how: str


class StopReason(BaseModel):
    """Why treated patients stopped (a coded reason, never free text)."""

    reason: str
    count: int


class GroupRate(BaseModel):
    """Response and remission in one group (a diagnosis, protocol, dose band, session or fixed point)."""

    group: str
    label: str
    response: RateRead
    remission: RateRead


class TrajectoryPoint(BaseModel):
    """Mean percent change from baseline at a week since the first session, with its 95 % band."""

    week: int
    n: int
    mean: float | None
    low: float | None
    high: float | None


class SurvivalPoint(BaseModel):
    """Kaplan-Meier: probability (0-1) of staying free of relapse at `day` after the first benefit."""

    day: float
    survival: float
    low: float | None
    high: float | None


class AtRisk(BaseModel):
    """Patients still at risk (followed and not relapsed) at `day`."""

    day: int
    n: int


class ModelEstimate(BaseModel):
    """The mixed-effects model of percent change over sessions, and what it says in words."""

    fitted: bool
    patients: int
    scores: int
    slope_per_session: float | None
    slope_low: float | None
    slope_high: float | None
    intercept: float | None
    words: str


class CountBin(BaseModel):
    """How many sessions fell in one bin of the largest systolic rise (mmHg, lower bound inclusive)."""

    label: str
    low: float
    high: float | None
    count: int


class AdverseEvents(BaseModel):
    """Side effects recorded per 100 sessions, overall, of grade 3 or more, and per type."""

    sessions: int
    events: int
    per_100: float | None
    grade3_per_100: float | None
    by_type: list[tuple[str, int, float | None]]


class Dashboard(BaseModel):
    """The clinic's outcomes for the filtered cohort (issue 18)."""

    filters: OutcomeFilters
    patients: int
    judged: int  # with a baseline and a score after the first session
    flow: list[FlowStage]
    stop_reasons: list[StopReason]
    overall: GroupRate
    rapid_response: RateRead
    by_diagnosis: list[GroupRate]
    by_protocol: list[GroupRate]
    by_dose_band: list[GroupRate]
    by_session: list[GroupRate]
    at_points: list[GroupRate]
    trajectory: list[TrajectoryPoint]
    survival: list[SurvivalPoint]
    at_risk: list[AtRisk]
    relapses: int
    followed_after_benefit: int
    model: ModelEstimate
    adverse: AdverseEvents
    bp_rise: list[CountBin]
    bp_rise_median: float | None
    bp_rise_sessions: int
    options: dict[str, list[tuple[str, str]]]
    definitions: list[tuple[str, str, str]]  # (what, rule in words, sources)
