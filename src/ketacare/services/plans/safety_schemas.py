"""Pydantic models for the treatment course's safety records and checks (issue 16 point 7)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _needs_zone(v: datetime) -> datetime:
    if v.tzinfo is None:
        raise ValueError("needs a time zone offset, e.g. 2026-11-26T09:30:00-05:00")
    return v


class PregnancyApplicabilityIn(_Strict):
    """Whether pregnancy tests apply to this patient, and why (never inferred from recorded sex)."""

    applicable: bool
    reason: str = Field(..., min_length=3, max_length=300, description="e.g. 'post-menopausal for 3 years'")


class PregnancyTestIn(_Strict):
    taken_at: datetime = Field(..., description="When the sample was taken (with its offset)")
    result: Literal["negative", "positive"]
    method: str = Field(..., min_length=1, max_length=32, description="One of the clinic's methods")

    _zone = field_validator("taken_at")(_needs_zone)


class ToxResultIn(_Strict):
    taken_at: datetime = Field(..., description="When the urine sample was taken (with its offset)")
    result: Literal["negative", "positive", "expected"] = Field(
        ..., description="'expected': positive only for medicines the patient is prescribed"
    )
    method: str = Field("urine drug screen", min_length=1, max_length=32)
    substances: str | None = Field(None, max_length=300, description="What was positive, in words")

    _zone = field_validator("taken_at")(_needs_zone)


class MisuseCheckIn(_Strict):
    checked_at: datetime = Field(..., description="When the checklist was done (with its offset)")
    signs: list[str] = Field(default_factory=list, max_length=20, description="Ids of the signs seen")
    note: str | None = Field(None, max_length=1000)

    _zone = field_validator("checked_at")(_needs_zone)


class PufIn(_Strict):
    taken_at: datetime = Field(..., description="When the PUF was completed (with its offset)")
    total: int = Field(..., ge=0, le=35, description="PUF total, scored from the clinic's questionnaire")

    _zone = field_validator("taken_at")(_needs_zone)


class SafetyRecordRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    taken_at: datetime
    result: str | None
    method: str | None
    applicable: bool | None
    signs: list[str] | None
    note: str | None
    recorded_by_name: str
    recorded_at: datetime


class CheckRead(BaseModel):
    """One course-safety line: "ok", "due" (warning), "hold" (blocks the pre-check) or "not_required"."""

    id: str
    label: str
    status: str
    reason: str
    source: str


class CumulativeRead(BaseModel):
    window_days: float
    racemic_course_mg: float
    racemic_window_mg: float
    racemic_window_mg_per_kg: float | None
    racemic_window_sessions: int
    esketamine_course_mg: float
    esketamine_window_mg: float
    esketamine_window_sessions: int
    sessions: int


class DoseRead(BaseModel):
    """One session's dose in the course: mg delivered (pump) or planned (device doses), mg/kg when known."""

    model_config = ConfigDict(from_attributes=True)

    session_id: int
    at: datetime
    product: str
    dose_mg: float
    dose_mg_per_kg: float | None
    basis: str


class MisuseSignRead(BaseModel):
    id: str
    text: str
    source: str


class CourseSafetyRead(BaseModel):
    """The course-safety panel: every check with its reason, the totals, the doses and the records."""

    patient_id: int
    patient_name: str
    mrn: str
    at: datetime
    checks: list[CheckRead]
    cumulative: CumulativeRead
    doses: list[DoseRead]
    records: list[SafetyRecordRead]
    puf_latest_total: float | None = None
    puf_latest_at: datetime | None = None
    misuse_signs: list[MisuseSignRead]
    pregnancy_methods: list[str]
    tox_required: bool
