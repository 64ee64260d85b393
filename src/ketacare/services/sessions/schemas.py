"""Input and output shapes of the infusion-session use cases, shared by the API, the pages and the PDF.

Times in outputs are `datetime` (UTC); their JSON form is `datetime.isoformat()`, as the API always sent.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    SerializerFunctionWrapHandler,
    StringConstraints,
    model_serializer,
    model_validator,
)

from ketacare.services.access import SigningCredentials
from ketacare.services.refs import Version

Product = Literal["racemic_ketamine", "esketamine"]
Context = Literal["screening", "baseline", "during", "recovery", "other"]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
ClientId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
DeviceId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


# A record id sent in a body (patient, dose order). Ids are INTEGER columns, 32-bit on PostgreSQL: a larger number
# names no record, so it is a refused field (HTTP 422) before anything looks it up, like `RecordId` in a path.
RecordRef = Annotated[int, Field(ge=1, le=2**31 - 1)]
Time = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class SessionCreate(_Strict):
    """A session to schedule: patient, chair, product, time; the dose order if already known."""

    patient_id: RecordRef
    chair: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    product: Product = "racemic_ketamine"
    scheduled_at: datetime | None = None
    dose_order_id: RecordRef | None = None
    planned_dose_mg: float | None = Field(None, gt=0, le=1000)
    planned_duration_min: float | None = Field(None, gt=0, le=600)
    concentration_mg_per_ml: float | None = Field(None, gt=0, le=100)
    weight_kg: float | None = Field(None, gt=0, le=400)


class SessionChecks(_Strict):
    """Pre-check confirmations and discharge assessments; send only what changed, with the version read."""

    version: Version
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
    discharge_instructions_given: bool | None = Field(
        None, description="Written discharge instructions were given to the patient and the escort"
    )
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


class ScheduleFromOrder(_Strict):
    """Book a session from a signed, double-checked dose order of the same patient: chair and planned time."""

    patient_id: RecordRef
    dose_order_id: RecordRef
    chair: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    scheduled_at: datetime


class OrderChoice(BaseModel):
    """A dose order a session may be booked from, as the booking form lists it (no dose: front desk books too)."""

    id: int
    protocol_id: str
    drug: str
    route: str
    signed_by_name: str | None
    signed_at: datetime | None
    double_checked_by_name: str | None
    double_checked_at: datetime | None


class InfusionStep(_Strict):
    """One action that is both a workflow event and a pump event: start (from the order), pause, resume, stop.

    The rate defaults to the order's (start) or the rate before the pause (resume); the concentration is the
    order's unless the session has none, then it must be given."""

    kind: Literal["start", "pause", "resume", "stop"]
    rate_ml_per_h: float | None = Field(None, gt=0, le=2000)
    concentration_mg_per_ml: float | None = Field(None, gt=0, le=100)
    override: OverrideIn | None = None


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


class OverrideUsed(BaseModel):
    """A failed check the actor overrode, with the reason given."""

    guard_id: str
    message: str
    by: str
    role: str
    reason: str


class TransitionRead(BaseModel):
    allowed: bool
    event: str
    from_state: str
    state: str
    failed_guards: list[GuardRead] = []
    overrides_used: list[OverrideUsed] = []


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
    device_id: DeviceId | None = Field(
        None, description="The monitor that took the reading; a client id is unique per session and device"
    )

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
    device_id: str = ""
    conflict_of: int | None = None
    entered_in_error: bool = False


class ReadingConflict(BaseModel):
    """A reading re-sent under a stored key (session, device, client id) with other values: kept, never dropped."""

    client_id: str
    device_id: str
    stored_id: int = Field(description="The id under which this conflicting reading was kept")
    conflicts_with: int = Field(description="The reading first stored under the same key")


class BatchResult(BaseModel):
    received: int
    stored: int = Field(description="Readings stored, conflicting ones included")
    duplicates: int = Field(
        description="Readings identical to one already stored under the same key (not stored)"
    )
    conflicts: list[ReadingConflict] = []
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


class SignRequest(_Strict, SigningCredentials):
    """Sign the record as it is now with your password (or one-time code) again; `digest` (optional) must match
    what the signer was shown."""

    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None


class AddendumCreate(_Strict):
    text: Text


# ---------------------------------------------------------------- outputs


class PatientLabel(BaseModel):
    id: int
    name: str
    mrn: str


class SessionSummary(BaseModel):
    """A session as scheduled, with the version to send back with changes."""

    id: int
    patient_id: int
    chair: str
    product: str
    state: str
    scheduled_at: Time | None
    version: int


class SessionListItem(SessionSummary):
    patient: PatientLabel


class SessionFields(BaseModel):
    """The session's own columns as they go into the signed record (the one list of them)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    chair: str
    product: str
    state: str
    scheduled_at: Time | None
    checked_in_at: Time | None
    prechecks_passed_at: Time | None
    infusion_started_at: Time | None
    infusion_ended_at: Time | None
    discharged_at: Time | None
    aborted_at: Time | None
    abort_reason: str | None
    dose_order_id: int | None
    planned_dose_mg: float | None
    planned_duration_min: float | None
    concentration_mg_per_ml: float | None
    weight_kg: float | None
    consent_confirmed: bool | None
    last_food_at: Time | None
    last_liquid_at: Time | None
    escort_confirmed: bool | None
    escort_present: bool | None
    pregnancy_test_applicable: bool | None
    pregnancy_test_negative: bool | None
    aldrete_score: int | None
    dissociation_occurred: bool | None
    dissociation_resolved: bool | None
    sedation_occurred: bool | None
    sedation_resolved: bool | None
    respiratory_depression_occurred: bool | None
    respiratory_depression_resolved: bool | None
    lot_number: str | None
    could_have_left_min: float | None
    rems_enrolled: bool | None
    rems_first_treatment: bool | None
    concomitant_benzodiazepines: bool | None
    concomitant_non_benzodiazepine_hypnotics: bool | None
    concomitant_psychostimulants: bool | None
    concomitant_maois: bool | None
    concomitant_opioids: bool | None
    aldrete_respiration_spo2_full: bool | None = None
    discharge_instructions_given: bool | None = None


# The REMS form's patient and concomitant-medication answers (issue 11): in the signed record only once recorded,
# so records signed before these questions existed keep their digest.
REMS_FORM_FIELDS: tuple[str, ...] = (
    "rems_enrolled",
    "rems_first_treatment",
    "concomitant_benzodiazepines",
    "concomitant_non_benzodiazepine_hypnotics",
    "concomitant_psychostimulants",
    "concomitant_maois",
    "concomitant_opioids",
)
# Answers added later than the record format (issue 11): omitted from the signed data while unanswered, so records
# signed before them keep their digest.
OPTIONAL_RECORD_FIELDS: tuple[str, ...] = (*REMS_FORM_FIELDS, "aldrete_respiration_spo2_full")


class SessionConsent(BaseModel):
    """The signed consent on file for the session's route (issue 16): what the pre-check reads, in words."""

    status: str  # in_force | missing | expired | superseded | not_countersigned | withdrawn
    in_force: bool
    reason: str
    route: str | None = None
    template_id: str | None = None
    title: str | None = None
    version: str | None = None
    current_version: str | None = None
    signed_at: datetime | None = None
    countersigned_at: datetime | None = None
    expires_at: datetime | None = None


class CourseSafetyLine(BaseModel):
    """One course-safety check before the infusion: "ok", "due" (a warning), "hold" (its guard fails) or
    "not_required", with the reason in plain words and its source."""

    id: str
    label: str
    status: str
    reason: str
    source: str


class GuardStatus(BaseModel):
    """The next guarded event from this state and which of its checks fail now (`event` None: nothing next);
    before the infusion also the course-safety lines (pregnancy test, toxicology, PUF, misuse, cumulative dose)."""

    event: str | None
    failed: list[GuardRead] = []
    checked: list[str] = []
    evidence: dict[str, str] = {}
    course_safety: list[CourseSafetyLine] = []


class PkCurve(BaseModel):
    """Predicted plasma concentration of what was given (ng/mL over minutes from the first pump event), or the
    reason there is none (`error`)."""

    model: str
    times_min: list[float] = []
    plasma_ng_per_ml: list[float] = []
    until_min: float | None = None
    error: str | None = None


class DoseSummary(BaseModel):
    """Delivered vs ordered dose (mg, mg/kg), time left at the current rate, minutes infusing."""

    planned_mg: float | None
    delivered_mg: float = 0.0
    delivered_mg_per_kg: float | None = None
    difference_mg: float | None = None
    difference_pct: float | None = None
    running: bool = False
    time_left_min: float | None = None
    infusing_min: float = 0.0
    pk: PkCurve | None = None


class InfusionEventResult(BaseModel):
    id: int
    dose: DoseSummary


class RecordAlert(BaseModel):
    """An alert as it appears in the signed record."""

    id: int
    rule_id: str
    priority: str
    title: str
    advice: str
    actions: list[str]
    trigger: str
    source: str
    raised_at: Time
    acknowledged_by: str | None
    acknowledged_at: Time | None
    action_taken: str | None
    resolved_at: Time | None
    resolution: str | None
    # resolved_unacknowledged: a latched HIGH alarm whose condition is over, waiting for an acknowledgement
    status: Literal["raised", "acknowledged", "resolved_unacknowledged", "resolved"]


class AlarmAcknowledgement(BaseModel):
    """One acknowledgement of an alarm: who, when (ISO time), what they did."""

    by: str
    at: str
    action_taken: str


class AlarmHistoryItem(BaseModel):
    """One line of an alarm's history (opened, changed, resolved, raised again, acknowledged, escalated, closed)."""

    at: str
    kind: str
    text: str


class AlertRead(RecordAlert):
    """An alarm as the API, the session page and the board show it (issue 12: latching, re-raise, escalation)."""

    version: int
    group: str
    status_text: str
    needs_acknowledgement: bool
    condition_present: bool
    cleared_at: Time | None
    clear_reason: str | None
    peak_priority: str
    peak_title: str
    latching: bool
    escalated: bool
    escalated_at: Time | None
    reraised: int
    acknowledgements: list[AlarmAcknowledgement]
    history: list[AlarmHistoryItem]


class EscalatedAlarm(AlertRead):
    """An alarm escalated because nobody acknowledged it in time, with its chair and patient."""

    session_id: int
    chair: str
    patient: PatientLabel


class SideEffectResult(BaseModel):
    id: int
    type: str
    grade: int
    grade_label: str


class RescueResult(BaseModel):
    id: int
    drug: str
    dose_mg: float


class SignatureRead(BaseModel):
    role: str
    by: str
    sha256: str
    signed_at: Time
    meaning: str | None = Field(None, description="What the signature means: authored, reviewed, approved")


class AddendumResult(BaseModel):
    id: int
    sha256: str
    prev_sha256: str


class Verification(BaseModel):
    """Whether the signed record still matches its signatures and its addendum chain."""

    signed: bool
    current_sha256: str
    intact: bool
    problems: list[str]


class RemsMissing(BaseModel):
    field: str
    message: str
    source: str


class RecordPatient(BaseModel):
    id: int
    mrn: str
    name: str
    dob: date


class TransitionRow(BaseModel):
    """One applied or refused event (refusals name the failed checks; overrides carry who and why)."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    event: str
    from_: str = Field(alias="from")
    to: str
    allowed: bool
    failed_guards: list[dict[str, Any]]
    overrides: list[dict[str, Any]]
    reason: str | None
    by: str
    role: str
    at: Time


class RecordPumpEvent(BaseModel):
    kind: str
    at: Time
    rate_ml_per_h: float | None
    rate_mg_per_min: float | None
    concentration_mg_per_ml: float | None
    bolus_mg: float | None
    bolus_ml: float | None


class RecordVital(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    measured_at: Time
    received_at: Time
    sbp_mmhg: float | None
    dbp_mmhg: float | None
    hr_per_min: float | None
    spo2_pct: float | None
    rr_per_min: float | None
    temp_c: float | None
    context: str
    source: str
    client_id: str | None
    on_oxygen: bool | None = None

    @model_serializer(mode="wrap")
    def _omit_unstated_oxygen(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("on_oxygen") is None:  # added by issue 11: records signed before it verify unchanged
            data.pop("on_oxygen", None)
        return data


class RecordSideEffect(BaseModel):
    """A side effect in the signed record (`resolution` appears only once one was recorded)."""

    type: str
    grade: int
    onset_at: Time
    resolved_at: Time | None
    description: str | None
    resolution: str | None = None

    @model_serializer(mode="wrap")
    def _omit_empty_resolution(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("resolution"):
            data.pop("resolution", None)
        return data


class RecordRescue(BaseModel):
    """A rescue dose in the signed record (`side_effect_id` appears only when it treated a recorded one)."""

    drug: str
    dose_mg: float
    route: str
    indication: str
    given_at: Time
    by: str
    side_effect_id: int | None = None

    @model_serializer(mode="wrap")
    def _omit_empty_side_effect(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not data.get("side_effect_id"):
            data.pop("side_effect_id", None)
        return data


class RecordDose(BaseModel):
    delivered_mg: float
    delivered_mg_per_kg: float | None
    ordered_mg: float | None


class RecordOrder(BaseModel):
    """The dose order as the signed record holds it (format 2): what was ordered, who signed and who checked it
    (user names; the printed record shows each person's name)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    dose_mg: float
    mg_per_kg: float | None
    weight_basis: str | None
    final_concentration_mg_per_ml: float | None
    final_volume_ml: float | None
    duration_min: float
    signed_by_name: str | None
    signed_at: Time | None
    double_checked_by_name: str | None
    double_checked_at: Time | None


class RecordAssessment(BaseModel):
    """A scheduled assessment of the session with its score, or "due" (format 2)."""

    id: str
    label: str
    instrument_id: str
    status: Literal["done", "due"]
    total: float | None
    severity: str | None
    answered_at: Time | None


class RecordChecklistItem(BaseModel):
    """One line of the discharge checklist: the result, what showed it, who and when (format 2)."""

    id: str
    label: str
    result: Literal["met", "overridden", "not_met", "not_applicable", "yes", "no", "not_answered"]
    detail: str
    by: str | None
    at: Time | None


class RecordEscort(BaseModel):
    """The escort home: who (as recorded at discharge), confirmed at check-in and present at discharge, with
    who answered each and when (format 2)."""

    name: str | None
    phone: str | None
    confirmed: bool | None
    confirmed_by: str | None
    confirmed_at: Time | None
    present: bool | None
    present_by: str | None
    present_at: Time | None


class RecordInstructions(BaseModel):
    """Whether the written discharge instructions were given, by whom and when, and what they say (format 2)."""

    given: bool | None
    by: str | None
    at: Time | None
    items: list[str]


class RecordAcknowledgement(BaseModel):
    """The patient or the escort acknowledged the discharge instructions: typed name, version, when, recorded by."""

    party: str
    name: str
    instructions_version: int
    at: Time
    recorded_by: str


class RecordAcknowledgements(BaseModel):
    """The version of the discharge instructions given and each acknowledgement of it (format 3)."""

    instructions_version: int | None
    items: list[RecordAcknowledgement]


class RecordDischarge(BaseModel):
    """How the session ended (discharge or abort): who, role, when, and the checklist as it stood (format 2)."""

    event: str
    by: str
    role: str
    at: Time
    items: list[RecordChecklistItem]


RECORD_V1 = "ketacare.session_record/1"
RECORD_V2 = "ketacare.session_record/2"
RECORD_V3 = "ketacare.session_record/3"
RECORD_FORMAT = RECORD_V3  # what new signatures use

# Each record format, explicitly: the top-level parts and the session columns it signs. A record keeps the format
# of its first signature, so records signed before a new format still verify. A new session column or part is a
# new format (tests/services/sessions/test_record_format.py fails on a column missing from the newest list).
_V1_SESSION = (
    "id", "patient_id", "chair", "product", "state", "scheduled_at", "checked_in_at", "prechecks_passed_at",
    "infusion_started_at", "infusion_ended_at", "discharged_at", "aborted_at", "abort_reason", "dose_order_id",
    "planned_dose_mg", "planned_duration_min", "concentration_mg_per_ml", "weight_kg", "consent_confirmed",
    "last_food_at", "last_liquid_at", "escort_confirmed", "escort_present", "pregnancy_test_applicable",
    "pregnancy_test_negative", "aldrete_score", "dissociation_occurred", "dissociation_resolved",
    "sedation_occurred", "sedation_resolved", "respiratory_depression_occurred", "respiratory_depression_resolved",
    "lot_number", "could_have_left_min", "rems_enrolled", "rems_first_treatment", "concomitant_benzodiazepines",
    "concomitant_non_benzodiazepine_hypnotics", "concomitant_psychostimulants", "concomitant_maois",
    "concomitant_opioids", "aldrete_respiration_spo2_full",
)  # fmt: skip
_V1_PARTS = (
    "format", "session", "patient", "transitions", "infusion_events", "vitals", "alerts", "side_effects", "rescue",
    "dose",
)  # fmt: skip
RECORD_FORMATS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    RECORD_V1: (_V1_PARTS, _V1_SESSION),
    RECORD_V2: (
        (*_V1_PARTS, "order", "assessments", "discharge", "escort", "instructions"),
        (*_V1_SESSION, "discharge_instructions_given"),
    ),
    RECORD_V3: (
        (*_V1_PARTS, "order", "assessments", "discharge", "escort", "instructions", "acknowledgements"),
        (*_V1_SESSION, "discharge_instructions_given"),
    ),
}


class SessionRecord(BaseModel):
    """The session record that is serialized canonically and signed (`signed_data()`), in format `format`."""

    format: str = RECORD_FORMAT
    session: SessionFields
    patient: RecordPatient
    transitions: list[TransitionRow]
    infusion_events: list[RecordPumpEvent]
    vitals: list[RecordVital]
    alerts: list[RecordAlert]
    side_effects: list[RecordSideEffect]
    rescue: list[RecordRescue]
    dose: RecordDose | None = None
    # format 2
    order: RecordOrder | None = None
    assessments: list[RecordAssessment] = []
    discharge: RecordDischarge | None = None
    escort: RecordEscort | None = None
    instructions: RecordInstructions | None = None
    # format 3
    acknowledgements: RecordAcknowledgements | None = None

    def signed_data(self) -> dict[str, Any]:
        """Return the plain data that is signed: the parts and session columns of this record's format (no `dose`
        key when there were no pump events; the later REMS answers only once recorded)."""
        parts, columns = RECORD_FORMATS[self.format]
        data = self.model_dump(by_alias=True, include=set(parts))
        data["session"] = {k: v for k, v in data["session"].items() if k in columns}
        if data["dose"] is None:
            del data["dose"]
        for name in OPTIONAL_RECORD_FIELDS:
            if data["session"][name] is None:
                del data["session"][name]
        return data


class VitalRow(BaseModel):
    """A reading on the session page (BP mmHg, HR /min, SpO2 %, RR /min, temperature degrees C)."""

    id: int
    measured_at: Time
    received_at: Time
    sbp: float | None
    dbp: float | None
    hr: float | None
    spo2: float | None
    rr: float | None
    temp_c: float | None
    on_oxygen: bool | None = None
    context: str
    source: str
    device_id: str = ""
    conflict_of: int | None = Field(
        None, description="Kept as a conflict with this reading (same key, other values)"
    )


class PumpEventRow(RecordPumpEvent):
    id: int


class SessionSideEffect(BaseModel):
    id: int
    type: str
    grade: int
    grade_label: str
    onset_at: Time
    resolved_at: Time | None
    resolution: str | None
    description: str | None


class SessionRescue(BaseModel):
    id: int
    drug: str
    dose_mg: float
    route: str
    indication: str
    given_at: Time
    by: str
    side_effect_id: int | None


class AddendumRow(BaseModel):
    id: int
    text: str
    by: str
    role: str
    at: Time
    sha256: str
    prev_sha256: str


class AssessmentStatus(BaseModel):
    """A scheduled assessment of the session: done (latest result for this session) or due, with its entry link."""

    id: str
    label: str
    stage: str
    context: str
    status: Literal["done", "due"]
    instrument_id: str
    total: float | None
    severity: str | None
    answered_at: Time | None
    entry_url: str
    source: str


class SessionOrder(BaseModel):
    """The session's dose order as the record shows it: the dose and which weight it was computed on."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    dose_mg: float | None = None
    mg_per_kg: float | None = None
    computed_dose_mg: float | None = None
    weight_basis: str | None = None
    policy_weight_basis: str | None = None
    weight_basis_chosen: bool | None = None
    weight_basis_reason: str | None = None
    mg_per_kg_actual_weight: float | None = None
    status: str | None = None
    protocol_id: str | None = None
    drug: str | None = None
    route: str | None = None
    vial_strength_mg_per_ml: float | None = None
    draw_volume_ml: float | None = None
    diluent: str | None = None
    diluent_volume_ml: float | None = None
    final_volume_ml: float | None = None
    final_concentration_mg_per_ml: float | None = None
    rate_ml_per_h: float | None = None
    duration_min: float | None = None
    signed_by_name: str | None = None
    double_checked_by_name: str | None = None
    dose_mg_step: float | None = Field(None, description="The protocol's dose step: doses are shown to it")


class SessionDetail(SessionFields):
    """Everything the session page shows."""

    version: int
    overrides: list[dict[str, Any]]
    patient: PatientLabel
    vitals: list[VitalRow]
    alerts: list[AlertRead]
    transitions: list[TransitionRow]
    infusion_events: list[PumpEventRow]
    side_effects: list[SessionSideEffect]
    rescue: list[SessionRescue]
    signatures: list[SignatureRead]
    addenda: list[AddendumRow]
    dose: DoseSummary
    guards: GuardStatus
    assessments: list[AssessmentStatus]
    events_possible: list[str]
    rems_missing: list[RemsMissing] | None
    rems_hints: dict[str, list[str]] | None
    verification: Verification
    order: SessionOrder | None = None
    consent: SessionConsent | None = None  # the signed consent the pre-check reads (issue 16)
    vitals_in_error: list[VitalInError] = []


class VitalInError(BaseModel):
    """A reading set aside as entered in error: kept, with the reason, out of the chart and the alerts."""

    id: int
    measured_at: Time
    summary: str
    reason: str
    by: str
    at: Time


class AlarmLimit(BaseModel):
    """A high-priority alarm threshold of the clinic's rules (e.g. sbp >= 180), drawn on the printed chart."""

    vital: Literal["sbp", "dbp", "hr", "spo2", "rr"]
    op: Literal[">=", ">", "<=", "<"]
    value: float


class RecordPrint(BaseModel):
    """What the printed session record shows: the session page data, the record (newest format), the format the
    signatures cover (None while unsigned), each user name's printed name and the high-priority alarm limits."""

    detail: SessionDetail
    record: SessionRecord
    signed_format: str | None
    names: dict[str, str]
    limits: list[AlarmLimit] = []


class LatestValue(BaseModel):
    value: float
    at: Time


class ChairTrend(BaseModel):
    sbp: list[float]
    hr: list[float]
    spo2: list[float]


class BoardChair(BaseModel):
    """One active chair on the live board. `active` is False when a live update finds the session ended."""

    session_id: int
    chair: str
    state: str
    product: str
    patient: PatientLabel
    latest: dict[str, LatestValue]
    trend: ChairTrend
    last_reading_at: Time | None
    dose: DoseSummary
    elapsed_min: float | None
    alerts: list[AlertRead]
    guards: GuardStatus
    version: int
    active: bool = True


class LiveSession(BaseModel):
    """What the live parts of the session page show (state, times, readings, alarms, pump and dose, the next
    step's checks): read for each live update, without the record's verification and the rest of the page."""

    id: int
    patient_id: int
    chair: str
    product: str
    state: str
    scheduled_at: Time | None
    infusion_started_at: Time | None
    infusion_ended_at: Time | None
    vitals: list[VitalRow]
    alerts: list[AlertRead]
    infusion_events: list[PumpEventRow]
    dose: DoseSummary
    guards: GuardStatus
    order: SessionOrder | None = None


class BookingOptions(BaseModel):
    """What the booking form offers for one patient: the patient and the orders a session can be booked from."""

    patient: PatientLabel
    orders: list[OrderChoice]
