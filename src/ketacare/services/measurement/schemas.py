"""Pydantic models for measurement-based care: responses, scores, links, due lists, alerts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.services.refs import RecordRef, Version

Context = Literal[
    "baseline", "pre_session", "during_session", "post_session", "follow_up_24h", "follow_up_7d", "follow_up"
]


class ResponseCreate(BaseModel):
    """A questionnaire as answered: every item's answer (None or absent = unanswered); never a total."""

    model_config = ConfigDict(extra="forbid")
    instrument_id: str = Field(max_length=32)
    answers: dict[str, int | None] | list[int | None]
    context: Context = "follow_up"
    session_id: RecordRef | None = None
    answered_at: datetime | None = None
    declined: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="Item ids of safety questions answered 'prefer not to answer' (flags the clinicians)",
    )


class ScoreSummary(BaseModel):
    """A response's recomputed score, for other use cases (sessions, orders) and the API."""

    response_id: int
    instrument_id: str
    total: float | None
    severity: str | None
    answered_at: datetime
    context: str
    session_id: int | None
    flags: list[str]
    entered_in_error: bool = False


class ResponseRead(ScoreSummary):
    patient_id: int
    instrument_version: str
    answered_by_role: str
    answered_by_user_id: int | None
    via: str
    answers: dict[str, float | None]
    declined: list[str] = []
    subscales: dict[str, int | None] = {}
    reason: str | None = None
    alert_id: int | None = None


class LinkCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    instrument_id: str = Field(max_length=32)
    due_date: date
    context: Context = "follow_up"
    valid_days: int = Field(7, ge=0, le=60)


class LinkRead(BaseModel):
    url: str
    token: str
    instrument_id: str
    due_date: date
    expires_at: datetime


class DueRead(BaseModel):
    patient_id: int
    patient_name: str
    mrn: str
    key: str
    instrument_id: str
    instrument_name: str
    context: str
    rater: str
    opens_at: datetime
    overdue_at: datetime
    expires_at: datetime | None = None
    status: str


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    patient_id: int
    patient_name: str = ""
    mrn: str = ""
    response_id: int | None
    kind: str
    assigned_to: int | None
    raised_at: datetime
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    action_taken: str | None
    version: int
    instrument_id: str | None = None
    total: float | None = None
    detail: str = ""


class AlertAcknowledge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action_taken: str = Field(
        min_length=10, max_length=4000, description="What was done (e.g. called the patient, C-SSRS done)"
    )
    version: Version


class SeriesPoint(BaseModel):
    response_id: int
    answered_at: datetime
    total: float
    severity: str | None
    context: str
    change: float | None
    percent_change: float | None
    outcomes: dict[str, bool | None]


class InstrumentSeries(BaseModel):
    instrument_id: str
    short_name: str
    name: str
    max_total: int
    min_total: int
    bands: list[tuple[int, int, str]]
    baseline: SeriesPoint | None
    points: list[SeriesPoint]
    outcome_notes: dict[str, str]


class ScoreHistory(BaseModel):
    patient_id: int
    series: list[InstrumentSeries]
    session_times: list[datetime]


class InstrumentItemRead(BaseModel):
    """One item of an instrument: its allowed answers, and its text where the licence allows showing it."""

    id: str
    text: str | None = Field(None, description="None where the licence does not allow the item text")
    values: list[int]
    labels: list[str]


class InstrumentRead(BaseModel):
    """A validated instrument as the clinic can use it (id, name, who rates it, its items)."""

    id: str
    short_name: str
    name: str
    version: str
    rater: str
    items: list[InstrumentItemRead]


class CrisisResources(BaseModel):
    """The words shown to a patient after an answer that raises suicide risk; the lines are the clinic's settings."""

    version: str
    source: str
    clinic_must_set_local_numbers: bool
    heading: str
    intro: str

