"""Typed inputs and outputs of the plans services shared by the api and web adapters (follow-up and discharge
instructions)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Responder = Literal["yes", "no", "unknown"]
CallStatus = Literal["due", "overdue", "not_yet_due", "done"]
Party = Literal["patient", "escort"]


class ScorePoint(BaseModel):
    """One score of the instrument: total, when answered (UTC), its questionnaire response."""

    total: float
    at: datetime
    response_id: int


class TimepointRead(BaseModel):
    """The score at one time point after the infusion and its percent change from baseline (a fall is negative)."""

    id: str
    label: str
    score: ScorePoint | None
    change_pct: float | None


class SessionResponse(BaseModel):
    """The rapid response of one dosing session: baseline, 4 h and 24 h, verdict and why, with the definition."""

    session_id: int
    patient_id: int
    infusion_ended_at: datetime | None
    instrument_id: str
    instrument_name: str
    baseline: ScorePoint | None
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
    base_version: int


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
    instructions_version: int


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
