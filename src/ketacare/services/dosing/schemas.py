"""Input and output shapes of the dose-order use cases (create, preview, sign, double check, cancel)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from ketacare.services.access import SigningCredentials
from ketacare.services.refs import MAX_RECORD_ID

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Status = Literal["draft", "signed", "double_checked", "cancelled"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _aware(value: datetime | None) -> datetime | None:
    """Read a time without an offset as UTC (the clinic shows every time in UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class DoseOrderCreate(_Strict):
    """What the prescriber chooses; weight, height, sex and age come from the patient's record."""

    protocol_id: str = Field(..., max_length=40, description="Protocol id, e.g. iv-standard")
    planned_start: datetime | None = Field(None, description="Planned start (ISO 8601; UTC if no offset)")
    mg_per_kg: float | None = Field(None, gt=0, description="Dose in mg/kg (weight-based); default: protocol")
    dose_mg: float | None = Field(None, gt=0, description="Dose in mg (fixed-dose protocols only)")
    weight_basis: Literal["actual", "ideal", "adjusted"] | None = Field(
        None,
        description="Dosing weight basis: required at or above the clinic's BMI threshold (the prescriber "
        "chooses); a basis other than the policy's recommendation needs weight_basis_reason",
    )
    weight_basis_reason: Reason | None = None
    vial_strength_mg_per_ml: float | None = Field(None, gt=0, description="Vial strength; default: protocol")
    soft_limit_reason: Reason | None = Field(None, description="Reason to pass soft limits, when any apply")
    weight_confirmation: Reason | None = Field(
        None, description="Confirmation of a stale or changed weight, when needed"
    )

    _start = field_validator("planned_start")(_aware)

    @field_validator(
        "weight_basis", "weight_basis_reason", "soft_limit_reason", "weight_confirmation", mode="before"
    )
    @classmethod
    def _blank(cls, v: object) -> object:
        return None if isinstance(v, str) and not v.strip() else v


class RecordFacts(BaseModel):
    """The facts taken from the patient's record for a dose order."""

    weight_kg: float | None
    weight_measured_at: datetime | None
    previous_weight_kg: float | None
    height_cm: float | None
    sex: str
    age_years: int
    previous_session_starts: list[datetime] = []
    session_number: int = 1


class LimitMessageRead(BaseModel):
    level: str
    rule: str
    field: str
    message: str
    value: float | None
    limit: float | None
    unit: str
    source: str
    reason: str | None = None


class CandidateDoseRead(BaseModel):
    """The dose one weight basis would give; `dose_mg` is None when a hard limit would refuse it."""

    basis: Literal["actual", "ideal", "adjusted"]
    weight_kg: float
    dose_mg: float | None
    chosen: bool
    policy: bool
    limit_level: Literal["soft", "hard"] | None
    note: str = ""


class PreparationRead(BaseModel):
    """How to prepare the dose: vial strength, volume to draw, diluent, final volume and concentration."""

    form: str
    vial_strength_mg_per_ml: float | None
    draw_volume_ml: float | None
    diluent: str
    diluent_volume_ml: float
    final_volume_ml: float | None
    final_concentration_mg_per_ml: float | None
    devices: int | None = None
    device_mg: float | None = None


class RoundingRead(BaseModel):
    """One rounding step: which quantity, from what to what, the step and the rule."""

    quantity: str
    raw: float
    rounded: float
    step: float
    rule: str


class OrderDetail(BaseModel):
    """The computed order as stored with it (domain `DoseOrder`): every candidate weight, the preparation and the
    rounding steps. Times are ISO 8601 strings, as stored."""

    protocol_id: str
    drug: str
    route: str
    start: str
    end: str
    duration_min: float
    dose_mg: float
    mg_per_kg: float | None
    delivered_mg_per_kg: float | None
    weight_kg: float | None
    weight_measured_at: str | None
    dosing_weight_kg: float | None
    weight_basis: Literal["actual", "ideal", "adjusted"] | None
    policy_weight_basis: Literal["actual", "ideal", "adjusted"] | None
    weight_basis_overridden: bool
    weight_basis_reason: str | None
    bmi_kg_per_m2: float | None
    candidates: list[CandidateDoseRead]
    preparation: PreparationRead
    rate_ml_per_h: float | None
    volume_ml: float | None
    messages: list[LimitMessageRead]
    soft_limit_reason: str | None
    weight_confirmation: str | None
    rounding: list[RoundingRead] = []


class BasisCandidateRead(BaseModel):
    """The dose on one weight basis, with mg/kg of actual weight (what the trials dosed on)."""

    basis: str
    weight_kg: float
    dose_mg: float | None
    chosen: bool
    policy: bool
    recommended: bool
    limit_level: str | None
    note: str = ""
    mg_per_kg_actual: float | None = None


class BasisOptionsRead(BaseModel):
    """At or above the BMI threshold: the candidate bases side by side and the policy's recommendation."""

    bmi_kg_per_m2: float
    bmi_threshold: float
    recommended: str
    choice_required: bool
    mg_per_kg: float
    candidates: list[BasisCandidateRead]
    policy_source: str
    policy_note: str


class DoseOrderPreview(BaseModel):
    """A computed order that is not stored, or the refusal; `needs` lists the reasons still to give."""

    ok: bool
    refused_hard: bool
    facts: RecordFacts
    order: OrderDetail | None
    messages: list[LimitMessageRead]
    needs: list[Literal["soft_limit_reason", "weight_confirmation", "weight_basis", "weight_basis_reason"]]
    error_field: str | None = None
    error: str | None = None
    basis_options: BasisOptionsRead | None = Field(
        None,
        description="At or above the BMI threshold: dose on actual, adjusted and ideal weight with mg/kg of "
        "actual weight for each and the policy's recommendation",
    )
    nearest_mg: list[float] | None = Field(
        None, description="An entered dose that cannot be measured exactly: the nearest doses that can"
    )


class DoubleCheckEntry(BaseModel):
    """One independent double-check attempt, as recorded on the order."""

    by: int | None
    by_name: str
    role: str
    at: datetime
    check_weight_kg: float | None
    check_dose_mg: float | None = Field(None, description="None only in a blinded read (withheld)")
    check_rate_ml_per_h: float | None
    match: bool
    differing_fields: list[str]


BLINDED_REASON = "awaiting your independent double check: enter weight and dose on the double-check form"


class DoseOrderRead(BaseModel):
    """A stored order. `blinded` reads (a signed order, for anyone who may still double-check it) carry no
    weight, dose, rate, volume or concentration: those fields are None (withheld, never zero)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    protocol_id: str
    drug: str
    route: str
    status: Status
    weight_kg: float | None
    weight_measured_at: datetime | None
    previous_weight_kg: float | None
    height_cm: float | None
    sex: str | None
    age_years: int | None
    bmi_kg_per_m2: float | None
    weight_basis: str | None
    policy_weight_basis: str | None
    weight_basis_reason: str | None
    weight_basis_chosen: bool | None = Field(
        None, description="True: the prescriber chose the basis (required at or above the BMI threshold)"
    )
    weight_confirmation: str | None
    soft_limit_reason: str | None
    dosing_weight_kg: float | None
    mg_per_kg: float | None
    dose_mg: float | None
    computed_dose_mg: float | None = Field(
        None, description="mg/kg x dosing weight before rounding to what a syringe can draw (weight-based)"
    )
    mg_per_kg_actual_weight: float | None = Field(None, description="The dose per kg of actual body weight")
    delivered_mg_per_kg: float | None
    vial_strength_mg_per_ml: float | None
    draw_volume_ml: float | None
    diluent: str | None
    diluent_volume_ml: float | None
    final_volume_ml: float | None
    final_concentration_mg_per_ml: float | None
    volume_ml: float | None
    rate_ml_per_h: float | None
    duration_min: float
    planned_start: datetime
    planned_end: datetime
    limit_messages: list[LimitMessageRead] | None
    order_json: OrderDetail | None
    created_by: int | None
    created_by_name: str
    created_at: datetime
    signed_by: int | None
    signed_by_name: str | None
    signed_at: datetime | None
    signed_meaning: str | None = Field(None, description="What the signature means: authored, reviewed, approved")
    double_checked_by: int | None
    double_checked_by_name: str | None
    double_checked_at: datetime | None
    double_checked_meaning: str | None = Field(None, description="What the double-check signature means")
    double_check_entries: list[DoubleCheckEntry]
    cancelled_by: int | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    version: int
    blinded: bool = Field(False, description="True: the order's numbers are withheld from this reader")
    blinded_reason: str | None = None

    @property
    def candidates(self) -> list[CandidateDoseRead]:
        return list(self.order_json.candidates) if self.order_json else []


class DoubleCheckTask(BaseModel):
    """What the second clinician sees before checking: the prescription, never the first entry's numbers."""

    order_id: int
    patient_id: int
    protocol_id: str
    protocol_name: str
    route: str
    status: Status
    version: int
    mg_per_kg: float | None
    weight_basis: str | None
    height_cm: float | None
    sex: str | None
    duration_min: float
    planned_start: datetime
    signed_by_name: str | None
    signed_meaning: str | None = None
    asks_weight: bool
    asks_rate: bool
    attempts: int
    blocked_reason: str | None = Field(None, description="Why this user may not check this order")


class DoseOrderSign(_Strict, SigningCredentials):
    """Sign the order you read: your password (or one-time code) again, at this moment."""

    version: int = Field(..., ge=1, le=MAX_RECORD_ID, description="The version you read")


class DoseOrderCancel(_Strict):
    version: int = Field(..., ge=1, le=MAX_RECORD_ID, description="The version you read")
    reason: Reason = Field(..., min_length=1, description="Why the order is cancelled")


class DoubleCheckCreate(_Strict, SigningCredentials):
    """The second clinician's independent entries (from the scale/chart and their own calculation), signed with
    their password (or one-time code) again."""

    version: int = Field(..., ge=1, le=MAX_RECORD_ID, description="The version you read")
    check_weight_kg: float | None = Field(None, gt=0, description="Weight you read, kg (weight-based orders)")
    check_dose_mg: float = Field(..., gt=0, description="Dose you calculated, mg")
    check_rate_ml_per_h: float | None = Field(None, gt=0, description="Pump rate you calculated, mL/h")


class DoubleCheckOutcome(BaseModel):
    """The result of a double check: which fields differ (never the order's values), and the new status."""

    order_id: int
    match: bool
    differing_fields: list[str]
    status: Status
    version: int
    message: str


class ConcentrationRangeRead(BaseModel):
    """A concentration range (ng/mL) the literature links to an effect, drawn behind the predicted curve."""

    id: str
    label: str
    kind: str = Field(..., description='"band" or "line"')
    low_ng_per_ml: float
    high_ng_per_ml: float
    source: str
    note: str


class OrderCurveRead(BaseModel):
    """The predicted plasma concentration of an IV order (ng/mL over minutes), or why there is none.

    Only the fields that apply are sent: a withheld or impossible curve carries `curve: null`, `note` (and
    `blinded`, `blinded_reason` while the double check is pending) and none of the numbers.
    """

    order_id: int
    curve: None = Field(None, description="Sent as null only when no curve is given (see note)")
    blinded: bool | None = None
    blinded_reason: str | None = None
    note: str | None = None
    model_id: str | None = None
    model_name: str | None = None
    weight_kg: float | None = None
    dose_mg: float | None = None
    duration_min: float | None = None
    times_min: list[float] | None = None
    typical_ng_per_ml: list[float] | None = None
    median_ng_per_ml: list[float] | None = None
    p5_ng_per_ml: list[float] | None = None
    p95_ng_per_ml: list[float] | None = None
    cmax_ng_per_ml: float | None = None
    iiv_cv_percent: dict[str, float] | None = Field(None, description="CV % per PK parameter")
    iiv_published: bool | None = None
    iiv_source: str | None = None
    ranges: list[ConcentrationRangeRead] | None = None
    notes: list[str] | None = None
