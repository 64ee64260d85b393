"""Scheduling (issue 17): resources, appointments (book, series, reschedule, cancel, no-show, start the session),
calendar ranges and private calendar feeds. A refused booking answers 422 naming each field and the conflict."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep, RecordId
from ketacare.domain.errors import InvalidValue
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.scheduling import booking, calendar, feeds, requests, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    AppointmentRead,
    ChairCreate,
    ChairRead,
    FeedCreated,
    FeedRead,
    PortalAppointments,
    RequestCreate,
    RequestDecline,
    RequestRead,
    Reschedule,
    ResourcesRead,
    RoomCreate,
    RoomRead,
    SeriesCreate,
    SeriesRead,
    ShiftCreate,
    ShiftRead,
    SiteCreate,
    SiteRead,
    StatusChange,
)

router = APIRouter(prefix="/scheduling", tags=["scheduling"])
Read = Access("appointments", "read")
Write = Access("appointments", "write")
Resources = Access("clinic_resources", "read")
Manage = Access("clinic_resources", "manage")
OwnFeed = Access("calendar_feed", "manage_own")
WRITE = error_responses(401, 403, 404, 409, 422)


@router.get("/resources", response_model=ResourcesRead, responses=error_responses(401, 403))
def get_resources(db: DbDep, actor: Actor = Depends(Resources)) -> ResourcesRead:
    """Sites, chairs, rooms, attending staff with working hours, and the appointment types (durations, resources)."""
    return setup.resources(db=db, actor=actor)


@router.post("/sites", status_code=201, response_model=SiteRead, responses=error_responses(401, 403, 422))
def post_site(data: SiteCreate, db: DbDep, actor: Actor = Depends(Manage)) -> SiteRead:
    """Add a site."""
    return setup.add_site(db=db, actor=actor, data=data)


@router.post("/chairs", status_code=201, response_model=ChairRead, responses=error_responses(401, 403, 422))
def post_chair(data: ChairCreate, db: DbDep, actor: Actor = Depends(Manage)) -> ChairRead:
    """Add a treatment chair (its label is what sessions and the board show)."""
    return setup.add_chair(db=db, actor=actor, data=data)


@router.post("/rooms", status_code=201, response_model=RoomRead, responses=error_responses(401, 403, 422))
def post_room(data: RoomCreate, db: DbDep, actor: Actor = Depends(Manage)) -> RoomRead:
    """Add a room."""
    return setup.add_room(db=db, actor=actor, data=data)


@router.post(
    "/working-hours", status_code=201, response_model=ShiftRead, responses=error_responses(401, 403, 422)
)
def post_shift(data: ShiftCreate, db: DbDep, actor: Actor = Depends(Manage)) -> ShiftRead:
    """Add a block of a person's working week (weekday 0 = Monday; minutes from local midnight)."""
    return setup.add_shift(db=db, actor=actor, data=data)


@router.get(
    "/appointments", response_model=list[AppointmentRead], responses=error_responses(401, 403, 404, 422)
)
def list_appointments(
    db: DbDep,
    start: datetime = Query(description="from (inclusive), ISO 8601 with offset"),
    end: datetime = Query(description="to (exclusive), ISO 8601 with offset"),
    chair_id: int | None = None,
    staff_id: int | None = None,
    actor: Actor = Depends(Read),
) -> list[AppointmentRead]:
    """Appointments starting in [start, end), optionally one chair's or one person's (at most 42 days)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidValue("start" if start.tzinfo is None else "end", "give the time with its UTC offset")
    if not start < end or (end - start).days > 42:
        raise InvalidValue("end", "end must be after start and at most 42 days later")
    return calendar.appointments_between(
        db=db, actor=actor, start=start, end=end, chair_id=chair_id, staff_id=staff_id
    )


@router.post("/appointments", status_code=201, response_model=AppointmentRead, responses=WRITE)
def post_appointment(data: AppointmentCreate, db: DbDep, actor: Actor = Depends(Write)) -> AppointmentRead:
    """Book one appointment. Refused (422) with the reason beside each field: chair, room or person double-booked,
    outside working hours, dosing sessions closer than the protocol allows or too many in 7 days, no dose order."""
    return booking.book(db=db, actor=actor, data=data)


@router.post("/appointments/series", status_code=201, response_model=SeriesRead, responses=WRITE)
def post_series(data: SeriesCreate, db: DbDep, actor: Actor = Depends(Write)) -> SeriesRead:
    """Book the first phase (induction) of the patient's own treatment plan, or of a named plan template, from a local
    day and time: all sessions or none (422 lists each session's conflicts; a plan already booked is refused on
    `plan_id`). The appointments are linked to the plan."""
    return booking.book_series(db=db, actor=actor, data=data)


@router.get(
    "/appointments/{appointment_id}", response_model=AppointmentRead, responses=error_responses(401, 403, 404, 422)
)
def get_appointment(appointment_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> AppointmentRead:
    """One appointment."""
    return calendar.appointment(db=db, actor=actor, appointment_id=appointment_id)


@router.post("/appointments/{appointment_id}/reschedule", response_model=AppointmentRead, responses=WRITE)
def post_reschedule(
    appointment_id: RecordId, data: Reschedule, db: DbDep, actor: Actor = Depends(Write)
) -> AppointmentRead:
    """Move a booked appointment; checked like a new booking. A move that squeezes the plan's later sessions inside
    the protocol's spacing is refused on `shift_later`; with `shift_later` they move by the same local time, all
    checked together."""
    return booking.reschedule(db=db, actor=actor, appointment_id=appointment_id, data=data)


@router.post("/appointments/{appointment_id}/cancel", response_model=AppointmentRead, responses=WRITE)
def post_cancel(
    appointment_id: RecordId, data: StatusChange, db: DbDep, actor: Actor = Depends(Write)
) -> AppointmentRead:
    """Cancel with the reason."""
    return booking.cancel(db=db, actor=actor, appointment_id=appointment_id, data=data)


@router.post("/appointments/{appointment_id}/no-show", response_model=AppointmentRead, responses=WRITE)
def post_no_show(
    appointment_id: RecordId, data: StatusChange, db: DbDep, actor: Actor = Depends(Write)
) -> AppointmentRead:
    """Record a no-show with what is known."""
    return booking.no_show(db=db, actor=actor, appointment_id=appointment_id, data=data)


@router.post("/appointments/{appointment_id}/session", response_model=AppointmentRead, responses=WRITE)
def post_start_session(
    appointment_id: RecordId, db: DbDep, actor: Actor = Depends(Access("infusion_session", "schedule"))
) -> AppointmentRead:
    """Book the infusion session of a dosing appointment from its dose order (chair and time carried over)."""
    return booking.start_session(db=db, actor=actor, appointment_id=appointment_id)


@router.get(
    "/patients/{patient_id}/portal",
    response_model=PortalAppointments,
    responses=error_responses(401, 403, 404, 422),
)
def get_portal(patient_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> PortalAppointments:
    """A patient's coming and past appointments in plain words, in the clinic's local time, with the instructions
    to read before each and the latest request about it (a patient reads only their own)."""
    return requests.my_appointments(db=db, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/appointments/{appointment_id}/requests",
    status_code=201,
    response_model=RequestRead,
    responses=error_responses(401, 403, 404, 422),
)
def post_request(
    patient_id: RecordId,
    appointment_id: RecordId,
    data: RequestCreate,
    db: DbDep,
    actor: Actor = Depends(Access("appointment_requests", "create")),
) -> RequestRead:
    """Ask to move or cancel one's own coming appointment (reason; for a move the days and times that suit). One
    open request per appointment; an appointment of another patient is not found."""
    return requests.request_change(
        db=db, actor=actor, appointment_id=appointment_id, data=data, patient_id=patient_id
    )


@router.get("/requests", response_model=list[RequestRead], responses=error_responses(401, 403))
def list_requests(
    db: DbDep, actor: Actor = Depends(Access("appointment_requests", "handle"))
) -> list[RequestRead]:
    """The patients' open requests, oldest first. Accept one by moving (`reschedule`) or cancelling the appointment
    with its `request_id`; or decline it."""
    return requests.open_requests(db=db, actor=actor)


@router.get(
    "/patients/{patient_id}/requests",
    response_model=list[RequestRead],
    responses=error_responses(401, 403, 404, 422),
)
def list_patient_requests(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("appointment_requests", "read"))
) -> list[RequestRead]:
    """A patient's requests and their answers, newest first."""
    return requests.patient_requests(db=db, actor=actor, patient_id=patient_id)


@router.post(
    "/requests/{request_id}/decline",
    response_model=RequestRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def post_decline(
    request_id: RecordId,
    data: RequestDecline,
    db: DbDep,
    actor: Actor = Depends(Access("appointment_requests", "handle")),
) -> RequestRead:
    """Decline an open request with the reason the patient reads; the appointment is not changed."""
    return requests.decline(db=db, actor=actor, request_id=request_id, data=data)


@router.post("/feeds", status_code=201, response_model=FeedCreated, responses=error_responses(401, 403))
def post_own_feed(db: DbDep, actor: Actor = Depends(OwnFeed)) -> FeedCreated:
    """Create the caller's private calendar feed (the address is shown once; an older one is revoked)."""
    return feeds.create_feed(db=db, actor=actor)


@router.post(
    "/patients/{patient_id}/feeds",
    status_code=201,
    response_model=FeedCreated,
    responses=error_responses(401, 403, 404, 422),
)
def post_patient_feed(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("calendar_feed", "manage"))
) -> FeedCreated:
    """Create a patient's private calendar feed."""
    return feeds.create_feed(db=db, actor=actor, patient_id=patient_id)


@router.post(
    "/feeds/{feed_id}/revoke", response_model=FeedRead, responses=error_responses(401, 403, 404, 422)
)
def post_revoke(
    feed_id: RecordId, db: DbDep, actor: Actor = Depends(Access("calendar_feed", "manage_own"))
) -> FeedRead:
    """Revoke a feed: its address answers 404 from now on."""
    return feeds.revoke_feed(db=db, actor=actor, feed_id=feed_id)
