"""Input and output shapes of the scheduling use cases, shared by the API, the pages and the CLI. Times are aware
UTC datetimes; pages and the CLI parse and show them in the clinic's zone."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, StringConstraints

from ketacare.services.refs import RecordRef, Version

Time = Annotated[datetime, PlainSerializer(datetime.isoformat, return_type=str, when_used="json")]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Status = Literal["booked", "cancelled", "no_show", "started"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class AppointmentCreate(_Strict):
    """An appointment to book: patient, type, start; the chair or room and who attends; for a dosing appointment
    the dose order that covers it (else the newest usable order of the patient is used)."""

    patient_id: RecordRef
    type_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]
    starts_at: datetime
    chair_id: RecordRef | None = None
    room_id: RecordRef | None = None
    staff_id: RecordRef | None = None
    dose_order_id: RecordRef | None = None


class SeriesCreate(_Strict):
    """The first phase (induction) of the patient's own treatment plan, or of a named plan template, to book in one
    go from a local start date and time."""

    patient_id: RecordRef
    plan_id: RecordRef | None = Field(
        None, description="The patient's open plan (the default when no template is named); refused if another"
    )
    plan_template_id: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None
    ) = Field(None, description="Book a template's phase instead of the patient's own plan")
    first_day: date
    start_time: time
    chair_id: RecordRef
    staff_id: RecordRef
    dose_order_id: RecordRef | None = None


class Reschedule(_Strict):
    """A new start (and optionally chair, room or attending person) for a booked appointment; `request_id` names
    the patient's request this move answers (it is marked accepted in the same transaction)."""

    version: Version
    starts_at: datetime
    chair_id: RecordRef | None = None
    room_id: RecordRef | None = None
    staff_id: RecordRef | None = None
    shift_later: bool = Field(
        False, description="Move the plan's later sessions by the same local time too (all checked, all or none)"
    )
    request_id: RecordRef | None = None


class StatusChange(_Strict):
    """Cancel an appointment or record a no-show, with the reason; `request_id` names the patient's cancellation
    request a cancellation answers (marked accepted in the same transaction)."""

    version: Version
    reason: Reason
    request_id: RecordRef | None = None


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
DayPart = Literal["morning", "afternoon", "evening"]
RequestKind = Literal["move", "cancel"]
RequestStatus = Literal["pending", "accepted", "declined"]


class RequestCreate(_Strict):
    """A patient's request to move or cancel an appointment: why, and for a move the days and times that suit."""

    kind: RequestKind
    reason: Reason
    preferred_days: list[Weekday] = Field(default_factory=list, max_length=7)
    preferred_times: list[DayPart] = Field(default_factory=list, max_length=3)


class RequestDecline(_Strict):
    """Decline a patient's request, with the reason the patient reads."""

    version: Version
    reason: Reason


class RequestRead(BaseModel):
    """A patient's request about an appointment and how it was answered."""

    id: int
    appointment_id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    kind: RequestKind
    reason: str
    preferred_days: list[Weekday]
    preferred_times: list[DayPart]
    status: RequestStatus
    answer: str | None
    requested_at: Time
    handled_at: Time | None
    appointment_type_name: str
    appointment_starts_at: Time
    version: int


class PortalInstruction(BaseModel):
    """One thing to do before a visit, and where the advice comes from in plain words."""

    text: str
    source: str


class PortalAppointment(BaseModel):
    """An appointment as the patient reads it in the portal: plain words in the clinic's local time."""

    id: int
    title: str
    starts_at: Time
    when: str = Field(description='The start in the clinic\'s local time, in words ("Tuesday 8 December at 9:00 am")')
    place: str
    length: str = Field(description='How long it takes, in words ("about 2½ hours")')
    status: Status
    instructions: list[PortalInstruction]
    request: RequestRead | None = Field(description="The patient's latest request about this appointment")
    can_request: bool = Field(description="Whether the patient may ask to move or cancel it now")


class PortalAppointments(BaseModel):
    """A patient's coming appointments (soonest first) and the past ones (latest first)."""

    upcoming: list[PortalAppointment]
    past: list[PortalAppointment]


class ConflictRead(BaseModel):
    """One reason a booking was refused: the field it belongs beside and, for a series, which session."""

    kind: str
    field: str
    message: str
    with_appointment_id: int | None = None
    session_number: int | None = None


class AppointmentRead(BaseModel):
    """A booked appointment with the names a calendar shows."""

    id: int
    patient_id: int
    patient_name: str
    patient_mrn: str
    type_id: str
    type_name: str
    dosing: bool
    starts_at: Time
    ends_at: Time
    site_id: int
    chair_id: int | None
    chair_label: str | None
    room_id: int | None
    room_name: str | None
    staff_id: int | None
    staff_name: str | None
    dose_order_id: int | None
    protocol_id: str | None
    plan_template_id: str | None
    plan_id: int | None = Field(None, description="The patient's treatment plan the series was booked from")
    series_id: str | None
    status: Status
    status_reason: str | None
    session_id: int | None
    consent_checked: bool = Field(
        description="Whether the booking checked the signed consent in force for the route (dosing appointments)"
    )
    version: int


class SeriesRead(BaseModel):
    """The appointments a series booked (all or none)."""

    series_id: str
    plan_template_id: str | None
    plan_id: int | None = None
    appointments: list[AppointmentRead]


class SiteRead(BaseModel):
    id: int
    name: str
    address: str


class ChairRead(BaseModel):
    id: int
    site_id: int
    label: str
    position: int


class RoomRead(BaseModel):
    id: int
    site_id: int
    name: str


class ShiftRead(BaseModel):
    """A block of a person's working week in clinic local time (weekday 0 = Monday)."""

    user_id: int
    site_id: int
    weekday: int = Field(ge=0, le=6)
    start_minute: int = Field(ge=0, le=24 * 60)
    end_minute: int = Field(ge=0, le=24 * 60)


class StaffRead(BaseModel):
    """A person who can attend appointments, with the appointment types the policy lets them attend."""

    id: int
    name: str
    role: str
    attends: list[str]


class ResourcesRead(BaseModel):
    """The clinic's sites, chairs, rooms, attending staff and their working hours, and the appointment types."""

    sites: list[SiteRead]
    chairs: list[ChairRead]
    rooms: list[RoomRead]
    staff: list[StaffRead]
    shifts: list[ShiftRead]
    types: list[AppointmentTypeRead]


class AppointmentTypeRead(BaseModel):
    id: str
    name: str
    duration_min: float
    resources: list[str]
    staff_label: str
    dosing: bool
    source: str


class SiteCreate(_Strict):
    name: Name
    address: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""


class ChairCreate(_Strict):
    site_id: RecordRef
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    position: int = Field(0, ge=0, le=1000)


class RoomCreate(_Strict):
    site_id: RecordRef
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]


class ShiftCreate(_Strict):
    user_id: RecordRef
    site_id: RecordRef
    weekday: int = Field(ge=0, le=6)
    start_minute: int = Field(ge=0, le=24 * 60)
    end_minute: int = Field(ge=1, le=24 * 60)


class CalendarRead(BaseModel):
    """The chairs and the appointments a calendar page shows."""

    chairs: list[ChairRead]
    appointments: list[AppointmentRead]


class FeedCreated(BaseModel):
    """A new private calendar feed: its address holds the token, shown once."""

    id: int
    url_path: str
    owner: str


class FeedRead(BaseModel):
    id: int
    user_id: int | None
    patient_id: int | None
    created_at: Time
    revoked_at: Time | None


ResourcesRead.model_rebuild()
