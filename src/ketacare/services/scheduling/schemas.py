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
    """A new start (and optionally chair, room or attending person) for a booked appointment."""

    version: Version
    starts_at: datetime
    chair_id: RecordRef | None = None
    room_id: RecordRef | None = None
    staff_id: RecordRef | None = None
    shift_later: bool = Field(
        False, description="Move the plan's later sessions by the same local time too (all checked, all or none)"
    )


class StatusChange(_Strict):
    """Cancel an appointment or record a no-show, with the reason."""

    version: Version
    reason: Reason


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
