"""Booking: one appointment, a plan template's induction series (all or nothing), reschedule, cancel, no-show, and
starting the infusion session an appointment was booked for. Every refusal names its field and the conflict."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ketacare.domain import scheduling as core
from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.plans import plan_templates
from ketacare.services import clinic, clock, dosing, messages, plans, sessions
from ketacare.services.access import Actor, may
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.scheduling.consent import consent_problem
from ketacare.services.scheduling.reads import appointment_read, reads
from ketacare.services.scheduling.requests import settle
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    AppointmentRead,
    ConflictRead,
    Reschedule,
    SeriesCreate,
    SeriesRead,
    StatusChange,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient, User
from ketacare.store.tables.scheduling import Appointment, Chair, Room, WorkingHours

LIVE = ("booked", "started")  # statuses that hold their chair, room and person
LONGEST = timedelta(days=1)  # no appointment lasts longer: bounds the index range of an overlap query


class BookingRefused(InvalidValues):
    """A booking refused for conflicts: `errors` maps each form field to its messages, `conflicts` lists them."""

    def __init__(self, conflicts: list[ConflictRead]) -> None:
        errors: dict[str, str] = {}
        for c in conflicts:
            prefix = f"session {c.session_number}: " if c.session_number is not None else ""
            errors[c.field] = "; ".join(filter(None, [errors.get(c.field), prefix + c.message]))
        super().__init__(errors)
        self.conflicts = conflicts


@dataclass(frozen=True)
class _Plan:
    """What one proposed appointment needs checked, resolved from the request."""

    type: core.AppointmentType
    slot: core.Slot
    site_id: int
    chair: Chair | None
    room: Room | None
    staff: User | None
    order: dosing.DoseOrderRead | None


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidValues(errors)


def _type(type_id: str) -> core.AppointmentType:
    t = core.appointment_types().get(type_id)
    if t is None:
        raise InvalidValue(
            "type_id",
            f"unknown appointment type {type_id!r}: use one of {', '.join(core.appointment_types())}",
        )
    return t


def _staff_attends(user: User, type_id: str) -> bool:
    return may(
        Actor(user_id=user.id, username=user.username, role=user.role), type_id, "appointment_attendance"
    )


def _local_day(t: datetime, tz: tzinfo) -> date:
    return t.astimezone(tz).date()


def covering_order(
    s: Session, patient_id: int, on: date, tz: tzinfo, order_id: int | None
) -> tuple[dosing.DoseOrderRead | None, str | None]:
    """Return the signed, double-checked dose order covering a dosing appointment on local day `on` (the one
    named, else the newest that covers the day), or the reason there is none."""
    covers = timedelta(days=core.booking_rules().order_covers_days)

    def problem(o: dosing.DoseOrderRead) -> str | None:
        first = _local_day(o.planned_start, tz)
        if o.status != "double_checked":
            return f"dose order #{o.id} is not signed and double-checked"
        if not first <= on <= first + covers:
            return (
                f"dose order #{o.id} covers {first.isoformat()} to {(first + covers).isoformat()}, "
                f"not {on.isoformat()}: a prescriber writes a new order"
            )
        return None

    if order_id is not None:
        o = dosing.order_of_patient(s, patient_id, order_id)
        if o is None:
            return None, f"dose order #{order_id} is not an order of this patient"
        return (None, problem(o)) if problem(o) else (o, None)
    orders = dosing.usable_orders(s, patient_id)
    for o in orders:
        if problem(o) is None:
            return o, None
    return (
        None,
        f"no signed, double-checked dose order covers {on.isoformat()}: a prescriber signs one and a second "
        "person double-checks it before a dosing appointment is booked",
    )


def _resolve(
    s: Session,
    tz: tzinfo,
    *,
    patient_id: int,
    type_id: str,
    starts_at: datetime,
    chair_id: int | None,
    room_id: int | None,
    staff_id: int | None,
    order_id: int | None,
    ref: int | None = None,
) -> _Plan:
    """Check the request's own fields (each refusal beside its field) and return what the conflict check needs."""
    t = _type(type_id)
    errors: dict[str, str] = {}
    chair = s.get(Chair, chair_id) if chair_id is not None else None
    room = s.get(Room, room_id) if room_id is not None else None
    staff = s.get(User, staff_id) if staff_id is not None else None
    if t.needs_chair and (chair is None or not chair.active):
        errors["chair_id"] = (
            "choose a treatment chair" if chair_id is None else f"chair #{chair_id} does not exist"
        )
    if t.needs_room and (room is None or not room.active):
        errors["room_id"] = "choose a room" if room_id is None else f"room #{room_id} does not exist"
    if staff is None or not staff.is_active:
        errors["staff_id"] = f"choose the {t.staff_label.lower()} who attends"
    elif not _staff_attends(staff, t.id):
        errors["staff_id"] = f"{staff.display_name} does not attend {t.name.lower()} appointments"
    order: dosing.DoseOrderRead | None = None
    if t.dosing:
        order, why = covering_order(s, patient_id, _local_day(starts_at, tz), tz, order_id)
        if why:
            errors["dose_order_id"] = why
        elif order is not None:
            consent = consent_problem(s, patient_id, order.route, starts_at)
            if consent:
                errors["patient_id"] = consent
    _refuse(errors)
    site_id = chair.site_id if chair else room.site_id if room else _default_site(s)
    end = starts_at + timedelta(minutes=t.duration_min)
    slot = core.Slot(
        start=starts_at,
        end=end,
        patient_id=patient_id,
        dosing=t.dosing,
        chair_id=chair_id if chair else None,
        room_id=room_id if room else None,
        staff_id=staff_id,
        ref=ref,
    )
    return _Plan(t, slot, site_id, chair, room, staff, order)


def _default_site(s: Session) -> int:
    from ketacare.store.tables.scheduling import Site

    site = s.scalars(select(Site.id).where(Site.active.is_(True)).order_by(Site.id).limit(1)).first()
    if site is None:
        raise InvalidValue("site_id", "no site is set up: add the clinic's site, chairs and rooms first")
    return int(site)


def _slot(a: Appointment) -> core.Slot:
    return core.Slot(
        start=a.starts_at,
        end=a.ends_at,
        patient_id=a.patient_id,
        dosing=a.dosing,
        chair_id=a.chair_id,
        room_id=a.room_id,
        staff_id=a.staff_user_id,
        ref=a.id,
    )


def nearby(s: Session, slots: list[core.Slot]) -> list[core.Slot]:
    """Return the live bookings that could collide with any of `slots`: overlapping on the same chair, room,
    person or patient, and the patient's dosing appointments within 7 days either side."""
    conds = []
    for p in slots:
        overlap = and_(
            Appointment.starts_at < p.end,
            Appointment.starts_at > p.start - LONGEST,
            Appointment.ends_at > p.start,
        )
        same = [Appointment.patient_id == p.patient_id]
        if p.chair_id is not None:
            same.append(Appointment.chair_id == p.chair_id)
        if p.room_id is not None:
            same.append(Appointment.room_id == p.room_id)
        if p.staff_id is not None:
            same.append(Appointment.staff_user_id == p.staff_id)
        conds += [and_(overlap, c) for c in same]
        if p.dosing:
            conds.append(
                and_(
                    Appointment.patient_id == p.patient_id,
                    Appointment.dosing.is_(True),
                    Appointment.starts_at > p.start - core.WEEK,
                    Appointment.starts_at < p.start + core.WEEK,
                )
            )
    rows = s.scalars(select(Appointment).where(Appointment.status.in_(LIVE), or_(*conds)))
    return [_slot(a) for a in rows]


def _shifts(s: Session, user_id: int | None) -> list[core.Shift]:
    if user_id is None:
        return []
    rows = s.scalars(select(WorkingHours).where(WorkingHours.user_id == user_id))
    return [core.Shift(r.user_id, r.weekday, r.start_minute, r.end_minute) for r in rows]


def _conflicts(
    plan: _Plan, existing: list[core.Slot], tz: tzinfo, shifts: list[core.Shift]
) -> list[ConflictRead]:
    limits = core.dosing_limits(plan.order.protocol_id) if plan.type.dosing and plan.order else None
    found = core.find_conflicts(
        plan.slot,
        existing,
        tz,
        shifts=shifts,
        limits=limits,
        chair_name=plan.chair.label if plan.chair else "the chair",
        room_name=plan.room.name if plan.room else "the room",
        staff_name=plan.staff.display_name if plan.staff else "the clinician",
    )
    return [
        ConflictRead(kind=c.kind, field=c.field, message=c.message, with_appointment_id=c.with_ref)
        for c in found
    ]


def _store(
    s: Session,
    plan: _Plan,
    actor: Actor,
    *,
    series_id: str | None = None,
    template_id: str | None = None,
    plan_id: int | None = None,
) -> Appointment:
    now = clock.now()
    a = Appointment(
        site_id=plan.site_id,
        patient_id=plan.slot.patient_id,
        type_id=plan.type.id,
        dosing=plan.type.dosing,
        starts_at=plan.slot.start,
        ends_at=plan.slot.end,
        chair_id=plan.slot.chair_id,
        room_id=plan.slot.room_id,
        staff_user_id=plan.slot.staff_id,
        dose_order_id=plan.order.id if plan.order else None,
        protocol_id=plan.order.protocol_id if plan.order else None,
        plan_template_id=template_id,
        plan_id=plan_id,
        series_id=series_id,
        status="booked",
        created_by=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    s.add(a)
    s.flush()
    return a


def _patient(s: Session, patient_id: int) -> None:
    if s.get(Patient, patient_id) is None:
        raise NotFound("patient")


def _audit_booking(uow: UnitOfWork, a: Appointment, action: str = "create", **extra: object) -> None:
    uow.audit(
        action,
        "appointment",
        a.id,
        patient_id=a.patient_id,
        details={
            "type": a.type_id,
            "starts_at": a.starts_at.isoformat(),
            "chair_id": a.chair_id,
            "room_id": a.room_id,
            "staff_id": a.staff_user_id,
            "dose_order_id": a.dose_order_id,
            "status": a.status,
            **extra,
        },
    )


def book(*, db: Database, actor: Actor, data: AppointmentCreate) -> AppointmentRead:
    """Book one appointment, or refuse it with every conflict named beside its field (nothing stored)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "appointments", patient_id=data.patient_id)
        s = uow.session
        tz = clinic.zone_in(s)
        _patient(s, data.patient_id)
        plan = _resolve(
            s,
            tz,
            patient_id=data.patient_id,
            type_id=data.type_id,
            starts_at=data.starts_at,
            chair_id=data.chair_id,
            room_id=data.room_id,
            staff_id=data.staff_id,
            order_id=data.dose_order_id,
        )
        found = _conflicts(plan, nearby(s, [plan.slot]), tz, _shifts(s, plan.slot.staff_id))
        if found:
            raise BookingRefused(found)
        a = _store(s, plan, actor)
        _audit_booking(uow, a)
        return appointment_read(s, a)


@dataclass(frozen=True)
class _Source:
    """What a series books: the phase, and the plan or template it comes from."""

    phase: core.Spacing
    template_id: str | None
    plan_id: int | None


def _series_source(s: Session, data: SeriesCreate) -> _Source:
    """Return the phase to book: the named template's first phase, else the patient's own plan's (current signed
    version), refusing a plan whose series is already booked."""
    if data.plan_template_id and data.plan_id is None:
        template = plan_templates().get(data.plan_template_id)
        if template is None:
            raise InvalidValue("plan_template_id", f"unknown plan template {data.plan_template_id!r}")
        return _Source(template.induction, template.id, None)
    ind = plans.open_induction(s, data.patient_id)
    if ind is None or (data.plan_id is not None and ind.plan_id != data.plan_id):
        raise InvalidValue(
            "plan_id",
            "this patient has no open treatment plan: a prescriber builds one, or choose a plan template"
            if ind is None
            else f"treatment plan #{data.plan_id} is not this patient's open plan (#{ind.plan_id})",
        )
    booked = list(
        s.scalars(
            select(Appointment.id)
            .where(Appointment.plan_id == ind.plan_id, Appointment.status.in_(LIVE), Appointment.dosing.is_(True))
            .order_by(Appointment.starts_at)
        )
    )
    if booked:
        raise InvalidValue(
            "plan_id",
            f"the plan's {ind.phase.name.lower()} is already booked (appointments "
            f"{', '.join(f'#{i}' for i in booked)}): move or cancel those",
        )
    return _Source(ind.phase, ind.template_id, ind.plan_id)


def _check_series(
    s: Session, tz: tzinfo, plans_: list[_Plan], excluded: set[int], field: str = "first_day"
) -> list[ConflictRead]:
    """Return every session's conflicts, numbered, against the live bookings (but `excluded`) and each other."""
    existing = [e for e in nearby(s, [p.slot for p in plans_]) if e.ref not in excluded]
    shifts = _shifts(s, plans_[0].slot.staff_id) if plans_ else []
    found: list[ConflictRead] = []
    for n, plan in enumerate(plans_, 1):
        others = existing + [p.slot for p in plans_ if p is not plan]
        staff_shifts = shifts if plan.slot.staff_id == plans_[0].slot.staff_id else _shifts(s, plan.slot.staff_id)
        for c in _conflicts(plan, others, tz, staff_shifts):
            found.append(
                c.model_copy(
                    update={"session_number": n, "field": field if c.field == "starts_at" else c.field}
                )
            )
    return found


def _resolve_all(
    s: Session, tz: tzinfo, starts: list[datetime], ask: dict[str, int | None], refs: list[int | None] | None = None
) -> list[_Plan]:
    """Resolve one infusion per start (same patient, chair, person, order), errors numbered by session."""
    out: list[_Plan] = []
    errors: dict[str, str] = {}
    for n, start in enumerate(starts, 1):
        try:
            out.append(
                _resolve(
                    s,
                    tz,
                    patient_id=int(ask["patient_id"] or 0),
                    type_id="infusion",
                    starts_at=start,
                    chair_id=ask["chair_id"],
                    room_id=None,
                    staff_id=ask["staff_id"],
                    order_id=ask["dose_order_id"],
                    ref=refs[n - 1] if refs else None,
                )
            )
        except InvalidValues as e:
            for f, msg in e.errors.items():
                errors[f] = "; ".join(filter(None, [errors.get(f), f"session {n}: {msg}"]))
    _refuse(errors)
    return out


def book_series(*, db: Database, actor: Actor, data: SeriesCreate) -> SeriesRead:
    """Book the first phase of the patient's own plan (or of a named template) from a local start day and time,
    same chair and nurse: all sessions or none, every session's conflicts listed."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "appointments", patient_id=data.patient_id)
        s = uow.session
        tz = clinic.zone_in(s)
        _patient(s, data.patient_id)
        source = _series_source(s, data)
        starts = core.series_starts(source.phase, data.first_day, data.start_time, tz)
        ask = {"patient_id": data.patient_id, "chair_id": data.chair_id, "staff_id": data.staff_id,
               "dose_order_id": data.dose_order_id}
        plans_ = _resolve_all(s, tz, starts, ask)
        found = _check_series(s, tz, plans_, set())
        if found:
            raise BookingRefused(found)
        series_id = str(uuid.uuid4())
        rows = [
            _store(s, p, actor, series_id=series_id, template_id=source.template_id, plan_id=source.plan_id)
            for p in plans_
        ]
        for a in rows:
            _audit_booking(uow, a, series_id=series_id, plan_template_id=source.template_id, plan_id=source.plan_id)
        return SeriesRead(
            series_id=series_id,
            plan_template_id=source.template_id,
            plan_id=source.plan_id,
            appointments=reads(s, rows),
        )


def _open(uow: UnitOfWork, appointment_id: int, version: int | None = None) -> Appointment:
    a = uow.session.get(Appointment, appointment_id)
    if a is None:
        uow.authorize("write", "appointments")
        raise NotFound("appointment")
    uow.authorize("write", "appointments", patient_id=a.patient_id)
    if version is not None and a.version != version:
        raise Conflict("appointment", a.version, version)
    return a


def _later_in_course(s: Session, a: Appointment) -> list[Appointment]:
    """Return the live dosing sessions after `a` of the same plan (or, booked from a template, the same series)."""
    if not a.dosing or (a.plan_id is None and a.series_id is None):
        return []
    same = Appointment.plan_id == a.plan_id if a.plan_id is not None else Appointment.series_id == a.series_id
    return list(
        s.scalars(
            select(Appointment)
            .where(same, Appointment.id != a.id, Appointment.dosing.is_(True), Appointment.status.in_(LIVE),
                   Appointment.starts_at > a.starts_at)
            .order_by(Appointment.starts_at, Appointment.id)
        )
    )


def _squeezed(found: list[ConflictRead], later: list[Appointment]) -> list[ConflictRead]:
    """Return the advice when a refusal comes from the course's own later sessions: move them too."""
    ids = {x.id for x in later}
    hit = sorted(ids & {c.with_appointment_id or 0 for c in found if c.kind in ("interval", "per_week")})
    if not hit:
        return []
    return [
        ConflictRead(
            kind="plan_spacing",
            field="shift_later",
            message=(
                f"the plan's later session{'s' if len(hit) > 1 else ''} ({', '.join(f'#{i}' for i in hit)}) would "
                "be too close: move the later sessions by the same amount, or choose another time"
            ),
            with_appointment_id=hit[0],
        )
    ]


def reschedule(*, db: Database, actor: Actor, appointment_id: int, data: Reschedule) -> AppointmentRead:
    """Move a booked appointment (time, and optionally chair, room or person), checked like a new booking. With
    `shift_later`, the plan's later sessions move by the same local time too, all checked together (all or none);
    without it, a move that squeezes them inside the protocol's spacing is refused saying so."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        tz = clinic.zone_in(s)
        a = _open(uow, appointment_id, data.version)
        if a.status != "booked":
            raise InvalidValue(
                "starts_at", f"this appointment is {a.status.replace('_', ' ')}: only a booked one moves"
            )
        later = _later_in_course(s, a)
        moving = [a, *later] if data.shift_later else [a]
        if data.shift_later and later:
            starts = core.shifted([x.starts_at for x in moving], a.starts_at, data.starts_at, tz)
            ask = {"patient_id": a.patient_id, "chair_id": data.chair_id or a.chair_id,
                   "staff_id": data.staff_id or a.staff_user_id, "dose_order_id": None}
            plans_ = _resolve_all(s, tz, starts, ask, refs=[x.id for x in moving])
            found = _check_series(s, tz, plans_, {x.id for x in moving}, field="starts_at")
        else:
            plans_ = [
                _resolve(
                    s,
                    tz,
                    patient_id=a.patient_id,
                    type_id=a.type_id,
                    starts_at=data.starts_at,
                    chair_id=data.chair_id or a.chair_id,
                    room_id=data.room_id or a.room_id,
                    staff_id=data.staff_id or a.staff_user_id,
                    order_id=None,
                    ref=a.id,
                )
            ]
            found = _conflicts(plans_[0], nearby(s, [plans_[0].slot]), tz, _shifts(s, plans_[0].slot.staff_id))
            found += _squeezed(found, later)
        if found:
            raise BookingRefused(found)
        before = a.starts_at.isoformat()
        previous = {row.id: row.starts_at for row in moving}
        for row, plan in zip(moving, plans_, strict=True):
            row.starts_at, row.ends_at = plan.slot.start, plan.slot.end
            row.chair_id, row.room_id, row.staff_user_id = plan.slot.chair_id, plan.slot.room_id, plan.slot.staff_id
            if plan.order is not None:
                row.dose_order_id, row.protocol_id = plan.order.id, plan.order.protocol_id
            row.updated_at = clock.now()
        s.flush()
        _audit_booking(uow, a, "update", moved_from=before, shifted=[x.id for x in moving[1:]])
        for row in moving[1:]:
            _audit_booking(uow, row, "update", moved_with=a.id)
        for row in moving:  # the patient is told of each moved appointment (reminders follow the new time)
            if row.starts_at != previous[row.id]:
                messages.queue_change(uow, row, previous_starts_at=previous[row.id])
        settle(uow, a, data.request_id)
        return appointment_read(s, a)


def _set_status(
    db: Database, actor: Actor, appointment_id: int, data: StatusChange, status: str
) -> AppointmentRead:
    with UnitOfWork(db, actor) as uow:
        a = _open(uow, appointment_id, data.version)
        if a.status != "booked":
            raise InvalidValue("reason", f"this appointment is already {a.status.replace('_', ' ')}")
        if status == "no_show" and a.starts_at > clock.now():
            raise InvalidValue("reason", "a no-show is recorded once the appointment time has come")
        a.status, a.status_reason, a.updated_at = status, data.reason, clock.now()
        uow.session.flush()
        _audit_booking(uow, a, "update", reason=data.reason)
        if status == "cancelled":
            messages.queue_change(uow, a, previous_starts_at=None)
            settle(uow, a, data.request_id)
        return appointment_read(uow.session, a)


def cancel(*, db: Database, actor: Actor, appointment_id: int, data: StatusChange) -> AppointmentRead:
    """Cancel a booked appointment with the reason (kept; the chair and person are free again)."""
    return _set_status(db, actor, appointment_id, data, "cancelled")


def no_show(*, db: Database, actor: Actor, appointment_id: int, data: StatusChange) -> AppointmentRead:
    """Record that the patient did not come (once the time has come), with what is known."""
    return _set_status(db, actor, appointment_id, data, "no_show")


def start_session(*, db: Database, actor: Actor, appointment_id: int) -> AppointmentRead:
    """Book the infusion session of a dosing appointment from its dose order (chair and time carried over) and link
    it to the appointment. The session is booked by the sessions capability in its own transaction."""
    with UnitOfWork(db, actor) as uow:
        a = _open(uow, appointment_id)
        uow.authorize("schedule", "infusion_session", patient_id=a.patient_id)
        if not a.dosing or a.status != "booked" or a.dose_order_id is None or a.chair_id is None:
            raise InvalidValue(
                "appointment_id",
                "only a booked infusion appointment with its dose order starts a session"
                if a.status == "booked"
                else f"this appointment is {a.status}",
            )
        chair = uow.session.get(Chair, a.chair_id)
        request = sessions.ScheduleFromOrder(
            patient_id=a.patient_id,
            dose_order_id=a.dose_order_id,
            chair=chair.label if chair else "",
            scheduled_at=a.starts_at,
        )
        version = a.version
    booked = sessions.schedule_from_order(db=db, actor=actor, data=request)
    with UnitOfWork(db, actor) as uow:
        a = _open(uow, appointment_id, version)
        a.status, a.session_id, a.updated_at = "started", booked.id, clock.now()
        uow.session.flush()
        _audit_booking(uow, a, "update", session_id=booked.id)
        return appointment_read(uow.session, a)
