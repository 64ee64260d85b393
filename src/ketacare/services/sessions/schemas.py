"""Input and output shapes of the infusion-session use cases (issue #7), shared by api and web."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Product = Literal["racemic_ketamine", "esketamine"]
Context = Literal["screening", "baseline", "during", "recovery", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ClientId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionCreate(_Strict):
    """A session to schedule: patient, chair, product, time; the dose order if already known."""

    patient_id: int
    chair: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    product: Product = "racemic_ketamine"
    scheduled_at: datetime | None = None
    dose_order_id: int | None = None
    planned_dose_mg: float | None = Field(None, gt=0, le=1000)
    planned_duration_min: float | None = Field(None, gt=0, le=600)
    concentration_mg_per_ml: float | None = Field(None, gt=0, le=100)
    weight_kg: float | None = Field(None, gt=0, le=400)


class SessionChecks(_Strict):
    """Pre-check confirmations and discharge assessments; send only what changed, with the version read."""

    version: int
    consent_confirmed: bool | None = None
    last_food_at: datetime | None = None
    last_liquid_at: datetime | None = None
    escort_confirmed: bool | None = None
    pregnancy_test_applicable: bool | None = None
    pregnancy_test_negative: bool | None = None
    aldrete_score: int | None = Field(None, ge=0, le=10)
    aldrete_respiration_spo2_full: bool | None = Field(
        None, description="The modified Aldrete gave 2 points for respiration and 2 for SpO2 (room air)"
    )
    dissociation_occurred: bool | None = None
    dissociation_resolved: bool | None = None
    sedation_occurred: bool | None = None
    sedation_resolved: bool | None = None
    respiratory_depression_occurred: bool | None = None
    respiratory_depression_resolved: bool | None = None
    escort_present: bool | None = None
    lot_number: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    could_have_left_min: float | None = Field(None, ge=0, le=1440)
    rems_enrolled: bool | None = None
    rems_first_treatment: bool | None = None
    concomitant_benzodiazepines: bool | None = None
    concomitant_non_benzodiazepine_hypnotics: bool | None = None
    concomitant_psychostimulants: bool | None = None
    concomitant_maois: bool | None = None
    concomitant_opioids: bool | None = None
    chair: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)] | None = None


class OverrideIn(_Strict):
    """Proceed despite the named failed checks: a reason is required; the role must be allowed by the rules."""

    guard_ids: list[str] = Field(min_length=1)
    reason: Text


class TransitionRequest(_Strict):
    event: Literal[
        "check_in",
        "pass_prechecks",
        "start_infusion",
        "pause",
        "resume",
        "end_infusion",
        "discharge",
        "abort",
    ]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None
    override: OverrideIn | None = None


class GuardRead(BaseModel):
    id: str
    message: str
    source: str
    overridable_by: list[str] = []


class TransitionRead(BaseModel):
    allowed: bool
    event: str
    from_state: str
    state: str
    failed_guards: list[GuardRead] = []
    overrides_used: list[dict[str, Any]] = []


class InfusionEventCreate(_Strict):
    """A pump event; rate in mL/h (with the bag concentration) or mg/min; bolus in mg or mL."""

    kind: Literal["start", "rate_change", "pause", "resume", "stop", "bolus"]
    at: datetime | None = None
    rate_ml_per_h: float | None = Field(None, ge=0, le=2000)
    rate_mg_per_min: float | None = Field(None, ge=0, le=100)
    concentration_mg_per_ml: float | None = Field(None, gt=0, le=100)
    bolus_mg: float | None = Field(None, gt=0, le=500)
    bolus_ml: float | None = Field(None, gt=0, le=500)


class VitalIn(_Strict):
    """One reading: BP mmHg, HR /min, SpO2 %, RR /min, temperature degrees C; device time `measured_at`."""

    measured_at: datetime | None = None
    sbp: float | None = None
    dbp: float | None = None
    hr: float | None = None
    spo2: float | None = None
    rr: float | None = None
    temp_c: float | None = Field(None, ge=25, le=45)
    on_oxygen: bool | None = Field(None, description="SpO2 taken on supplemental oxygen (false: room air)")
    context: Context | None = None
    client_id: ClientId | None = None

    @model_validator(mode="after")
    def _something(self) -> VitalIn:
        if all(getattr(self, k) is None for k in ("sbp", "dbp", "hr", "spo2", "rr", "temp_c")):
            raise ValueError("enter at least one vital sign")
        if (self.sbp is None) != (self.dbp is None):
            raise ValueError("blood pressure needs both systolic and diastolic (e.g. 128/82 mmHg)")
        return self


class GatewayReading(VitalIn):
    client_id: ClientId
    measured_at: datetime


class VitalBatch(_Strict):
    """Many readings from a monitor gateway; each carries its client id so a retried batch stores once."""

    readings: list[GatewayReading] = Field(min_length=1, max_length=5000)


class VitalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    session_id: int | None
    measured_at: datetime
    received_at: datetime
    sbp_mmhg: float | None
    dbp_mmhg: float | None
    hr_per_min: float | None
    spo2_pct: float | None
    rr_per_min: float | None
    temp_c: float | None
    on_oxygen: bool | None = None
    context: str
    source: str
    client_id: str | None


class BatchResult(BaseModel):
    received: int
    stored: int
    duplicates: int
    alerts_raised: list[int] = []
    alerts_resolved: list[int] = []


class AlertAck(_Strict):
    action_taken: Text


class SideEffectCreate(_Strict):
    type: Literal[
        "dissociation",
        "dizziness",
        "nausea",
        "vomiting",
        "headache",
        "raised_bp",
        "anxiety_agitation",
        "blurred_vision",
        "sedation",
        "other",
    ]
    grade: int = Field(ge=1, le=5)
    onset_at: datetime | None = None
    resolved_at: datetime | None = None
    description: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] = ""


class RescueCreate(_Strict):
    entry_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
    dose_mg: float = Field(gt=0)
    route: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16)]
    indication: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    given_at: datetime | None = None


class SignRequest(_Strict):
    """Sign the record as it is now; `digest` (optional) must match what the signer was shown."""

    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class AddendumCreate(_Strict):
    text: Text
