"""Input and output shapes of the patient-record use cases (XCreate / XUpdate / XRead), shared by api and web."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Literal, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ketacare.domain import units
from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.diagnoses import find_concept
from ketacare.services.refs import MAX_RECORD_ID, RecordRef

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+() .\-]*$")]
Mrn = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().upper() if isinstance(v, str) else v),
    StringConstraints(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9\-]*$"),
]
SexAtBirth = Literal["female", "male", "intersex", "unknown"]
DoseUnit = Literal["mg", "mcg", "g", "mL", "IU", "units", "puff", "patch", "drop"]
Route = Literal[
    "oral",
    "sublingual",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "transdermal",
    "inhaled",
    "intranasal",
    "topical",
    "other",
]
Adherence = Literal["good", "partial", "poor", "unknown"]
TrialOutcome = Literal[
    "remission", "response", "partial_response", "no_response", "worsened", "not_tolerated", "unknown"
]


def _parse(fn: Callable[[str, str], float], value: object, field: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return fn(str(value), field)
    except InvalidValue as e:
        raise ValueError(e.message) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Contact(_Strict):
    gender_identity: ShortText | None = None
    phone: Phone | None = None
    email: (
        Annotated[str, StringConstraints(max_length=200, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")] | None
    ) = None
    address: Annotated[str, StringConstraints(max_length=500)] | None = None
    emergency_contact_name: ShortText | None = None
    emergency_contact_phone: Phone | None = None
    escort_name: ShortText | None = None
    escort_phone: Phone | None = None


def _not_after_today(value: date | None, what: str) -> date | None:
    if value is not None and value > date.today():
        raise ValueError(f"the {what} cannot be in the future")
    return value


def _check_dob(value: date | None) -> date | None:
    if value is None:
        return value
    if value > date.today():
        raise ValueError("date of birth is in the future")
    if value.year < 1900:
        raise ValueError("date of birth before 1900: check the year")
    return value


class PatientCreate(_Contact):
    """A new patient; weight and height are optional first measurements typed with units ("82 kg")."""

    mrn: Mrn | None = Field(None, description="Medical record number; assigned when empty")
    given_name: Name
    family_name: Name
    date_of_birth: date
    sex_at_birth: SexAtBirth
    weight: str | None = Field(None, description='Body weight with unit, e.g. "82 kg" or "180 lb"')
    height: str | None = Field(None, description='Height with unit, e.g. "175 cm", "69 in" or "5 ft 9 in"')
    primary_clinician_id: RecordRef | None = None
    confirm_not_duplicate: bool = Field(
        False, description="Create even though a patient with the same birth date and a similar name exists"
    )
    confirm_under_18: bool = Field(
        False, description="Create a patient younger than 18 (the program is adult)"
    )

    _dob = field_validator("date_of_birth")(_check_dob)

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_weight, v, "weight") is None else v

    @field_validator("height")
    @classmethod
    def _height(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_height, v, "height") is None else v


class PatientUpdate(_Contact):
    """A change to demographics; `version` is the version the editor read (optimistic locking)."""

    version: int = Field(
        ..., ge=1, le=MAX_RECORD_ID, description="The version you read; a different current version is a conflict"
    )
    mrn: Mrn | None = None
    given_name: Name | None = None
    family_name: Name | None = None
    date_of_birth: date | None = None
    sex_at_birth: SexAtBirth | None = None
    primary_clinician_id: RecordRef | None = None

    _dob = field_validator("date_of_birth")(_check_dob)


class MeasurementCreate(_Strict):
    """A dated body measurement; at least one of weight and height, each typed with its unit."""

    weight: str | None = Field(None, description='e.g. "82 kg" or "180 lb"')
    height: str | None = Field(None, description='e.g. "175 cm" or "5 ft 9 in"')
    measured_at: datetime | None = Field(
        None, description="When measured (ISO 8601 with offset); default now"
    )

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_weight, v, "weight") is None else v

    @field_validator("height")
    @classmethod
    def _height(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_height, v, "height") is None else v

    @field_validator("measured_at")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("measured_at needs a time zone offset, e.g. 2026-11-26T09:30:00+00:00")
        return v

    @model_validator(mode="after")
    def _one_of(self) -> Self:
        if self.weight is None and self.height is None:
            raise ValueError("enter a weight, a height, or both")
        return self

    def weight_kg(self) -> float | None:
        return None if self.weight is None else units.parse_weight(self.weight)

    def height_cm(self) -> float | None:
        return None if self.height is None else units.parse_height(self.height)


class DiagnosisCreate(_Strict):
    code: str = Field(..., description="ICD-10-CM code (F41.1), ICD-11 code (6B00) or concept key (gad)")
    status: Literal["active", "in_remission", "resolved", "history_of"] = "active"
    onset_date: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    _not_future = field_validator("onset_date")(lambda v: _not_after_today(v, "onset date"))

    @field_validator("code")
    @classmethod
    def _known(cls, v: str) -> str:
        try:
            return find_concept(v, "code").concept
        except InvalidValue as e:
            raise ValueError(e.message) from None


class MedicationCreate(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    dose_value: float = Field(..., gt=0, le=100000, description="Dose per administration, in dose_unit")
    dose_unit: DoseUnit
    times_per_day: float | None = Field(None, gt=0, le=24)
    as_needed: bool = False
    route: Route = "oral"
    start_date: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None
    name_checked: bool = Field(
        False,
        description="Record a name that is not on the clinic's drug list as typed (checked by the user)",
    )

    _not_future = field_validator("start_date")(lambda v: _not_after_today(v, "start date"))


Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500),
    Field(description="Why the entry is corrected (kept with the version history)"),
]


class MedicationStop(_Strict):
    version: int = Field(..., ge=1, le=MAX_RECORD_ID)
    end_date: date
    reason: Reason | None = None

    _not_future = field_validator("end_date")(lambda v: _not_after_today(v, "stop date"))


class _Correction(_Strict):
    """A correction of an entry: the version the editor read and the reason, kept with the history."""

    version: int = Field(..., ge=1, le=MAX_RECORD_ID, description="The version you read; a different one is a conflict")
    reason: Reason


class EnteredInError(_Correction):
    """Mark an entry "entered in error": it leaves the active lists and stays in the history with the reason."""


class InErrorReason(_Strict):
    """Mark a reading or a questionnaire response "entered in error" (they are never edited, only set aside)."""

    reason: Reason


class DiagnosisEdit(_Correction):
    status: Literal["active", "in_remission", "resolved", "history_of"] | None = None
    onset_date: date | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    _not_future = field_validator("onset_date")(lambda v: _not_after_today(v, "onset date"))


class MedicationEdit(_Correction):
    """Change a medication's dose (value, unit, times per day), route or note."""

    dose_value: float | None = Field(None, gt=0, le=100000)
    dose_unit: DoseUnit | None = None
    times_per_day: float | None = Field(None, gt=0, le=24)
    route: Route | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class AllergyEdit(_Correction):
    reaction: ShortText | None = None
    severity: Literal["mild", "moderate", "severe", "unknown"] | None = None
    status: Literal["active", "inactive"] | None = None


class TrialEdit(_Correction):
    dose_mg_per_day: float | None = Field(None, gt=0, le=10000)
    sessions: int | None = Field(None, ge=0, le=1000)
    weeks: float | None = Field(None, gt=0, le=1040)
    adherence: Adherence | None = None
    outcome: TrialOutcome | None = None
    reason_stopped: ShortText | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None


class MeasurementEdit(_Correction):
    """Correct a weight or height as typed with its unit."""

    weight: str | None = Field(None, description='e.g. "82 kg" or "180 lb"')
    height: str | None = Field(None, description='e.g. "175 cm" or "5 ft 9 in"')

    @field_validator("weight")
    @classmethod
    def _weight(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_weight, v, "weight") is None else v

    @field_validator("height")
    @classmethod
    def _height(cls, v: str | None) -> str | None:
        return None if _parse(units.parse_height, v, "height") is None else v


class RevisionRead(BaseModel):
    """One correction in an entry's history: what was done, why, by whom, the entry before and after."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    entity: str
    entity_id: int
    action: str
    reason: str
    before: dict[str, object]
    after: dict[str, object]
    changed_by: int | None
    changed_by_name: str = ""
    changed_at: datetime


class AllergyCreate(_Strict):
    substance: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    reaction: ShortText | None = None
    severity: Literal["mild", "moderate", "severe", "unknown"] = "unknown"


class TrialCreate(_Strict):
    """A prior treatment trial (medication or psychotherapy)."""

    kind: Literal["medication", "psychotherapy"]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    dose_mg_per_day: float | None = Field(
        None, gt=0, le=10000, description="Highest daily dose reached, mg/day"
    )
    sessions: int | None = Field(None, ge=0, le=1000)
    start_date: date | None = None
    end_date: date | None = None
    weeks: float | None = Field(None, gt=0, le=1040, description="Duration in weeks when dates are unknown")
    adherence: Adherence = "unknown"
    outcome: TrialOutcome = "unknown"
    reason_stopped: ShortText | None = None
    note: Annotated[str, StringConstraints(max_length=2000)] | None = None

    _not_future = field_validator("start_date", "end_date")(lambda v: _not_after_today(v, "date"))

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise ValueError("end_date is before start_date")
        if self.kind == "psychotherapy" and self.dose_mg_per_day is not None:
            raise ValueError("a psychotherapy trial has sessions, not a dose in mg/day")
        return self

    def duration_weeks(self) -> float | None:
        if self.weeks is not None:
            return self.weeks
        if self.start_date and self.end_date:
            return round((self.end_date - self.start_date).days / 7.0, 1)
        return None


class _Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PatientSummary(_Read):
    id: int
    mrn: str
    given_name: str
    family_name: str
    date_of_birth: date
    sex_at_birth: str
    version: int


class PatientRead(PatientSummary):
    gender_identity: str | None
    phone: str | None
    email: str | None
    address: str | None
    emergency_contact_name: str | None
    emergency_contact_phone: str | None
    escort_name: str | None
    escort_phone: str | None
    primary_clinician_id: int | None
    created_at: datetime
    updated_at: datetime


class MeasurementRead(_Read):
    id: int
    measured_at: datetime
    weight_kg: float | None
    height_cm: float | None
    entered_as: str | None
    bmi_kg_per_m2: float | None = None
    entered_in_error: bool = False
    version: int = 1


class DiagnosisRead(_Read):
    id: int
    concept: str
    display: str
    icd10cm: str | None
    icd11: str | None
    status: str
    onset_date: date | None
    note: str | None
    version: int


class MedicationRead(_Read):
    id: int
    name: str
    dose_value: float
    dose_unit: str
    times_per_day: float | None
    as_needed: bool
    route: str
    start_date: date | None
    end_date: date | None
    active: bool
    entered_in_error: bool = False
    note: str | None
    version: int


class AllergyRead(_Read):
    id: int
    substance: str
    reaction: str | None
    severity: str
    status: str = "active"
    version: int = 1


class TrialRead(_Read):
    id: int
    kind: str
    name: str
    dose_mg_per_day: float | None
    sessions: int | None
    start_date: date | None
    end_date: date | None
    weeks: float | None
    adherence: str
    outcome: str
    reason_stopped: str | None
    note: str | None
    entered_in_error: bool = False
    version: int


class ClinicalRecord(BaseModel):
    measurements: list[MeasurementRead]
    latest_weight_kg: float | None
    latest_weight_at: datetime | None
    latest_height_cm: float | None
    latest_bmi_kg_per_m2: float | None
    diagnoses: list[DiagnosisRead]
    medications: list[MedicationRead]
    allergies: list[AllergyRead]
    trials: list[TrialRead]
    revisions: list[RevisionRead] = Field(
        default_factory=list, description="Every correction of this record's entries, newest first"
    )


class ChartRead(BaseModel):
    """A patient chart; `clinical` is absent for roles that may not read clinical data (front desk)."""

    patient: PatientRead
    clinical: ClinicalRecord | None
    sections_hidden: list[str]


class PatientPage(BaseModel):
    items: list[PatientSummary]
    total: int
    page: int
    per_page: int


class CareTeamUpdate(_Strict):
    """A patient's care team: one prescriber, any number of nurses, one therapist (user ids; none = empty)."""

    prescriber_id: RecordRef | None = None
    nurse_ids: list[RecordRef] = Field(default_factory=list, max_length=20)
    therapist_id: RecordRef | None = None


class CareTeamMemberRead(BaseModel):
    user_id: int
    name: str
    team_role: str


class ClinicianOption(BaseModel):
    user_id: int
    name: str


class CareTeamRead(BaseModel):
    """A patient's care team, and for each position the clinicians who may hold it."""

    patient_id: int
    members: list[CareTeamMemberRead]
    member_ids: dict[str, list[int]] = Field(default_factory=dict, description="User ids in each position")
    options: dict[str, list[ClinicianOption]]
