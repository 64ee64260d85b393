"""Calendar reads: the clinic's appointments in a time range (front desk), one chair's day (nurse), one person's
day ("my day"), a patient's own appointments. Each read is authorized and audited once, naming the patients."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ketacare.services.access import Actor
from ketacare.services.scheduling.reads import named, read_rows, reads
from ketacare.services.scheduling.schemas import AppointmentRead, CalendarRead, ChairRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.scheduling import Appointment, Chair


def calendar_view(*, db: Database, actor: Actor, start: datetime, end: datetime) -> CalendarRead:
    """Return the active chairs and the appointments starting in [start, end) in one transaction (the calendar
    pages: one read, one audit event)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "appointments")
        s = uow.session
        chairs = [ChairRead(id=c.id, site_id=c.site_id, label=c.label, position=c.position)
                  for c in s.scalars(select(Chair).where(Chair.active.is_(True))
                                     .order_by(Chair.site_id, Chair.position, Chair.label))]
        out = read_rows(s, named()
                        .where(Appointment.starts_at >= start, Appointment.starts_at < end,
                               Appointment.status != "cancelled")
                        .order_by(Appointment.starts_at, Appointment.chair_id, Appointment.id))
        uow.audit("list", "appointment", details={
            "from": start.isoformat(), "to": end.isoformat(), "count": len(out),
            "patient_ids": sorted({a.patient_id for a in out}),
        })
        return CalendarRead(chairs=chairs, appointments=out)


def appointments_between(
    *,
    db: Database,
    actor: Actor,
    start: datetime,
    end: datetime,
    chair_id: int | None = None,
    staff_id: int | None = None,
    include_cancelled: bool = False,
) -> list[AppointmentRead]:
    """Return the appointments starting in [start, end), by time then chair; optionally one chair's or person's."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "appointments")
        q = named().where(Appointment.starts_at >= start, Appointment.starts_at < end)
        if chair_id is not None:
            q = q.where(Appointment.chair_id == chair_id)
        if staff_id is not None:
            q = q.where(Appointment.staff_user_id == staff_id)
        if not include_cancelled:
            q = q.where(Appointment.status != "cancelled")
        out = read_rows(uow.session, q.order_by(Appointment.starts_at, Appointment.chair_id, Appointment.id))
        uow.audit(
            "list",
            "appointment",
            details={
                "from": start.isoformat(),
                "to": end.isoformat(),
                "chair_id": chair_id,
                "staff_id": staff_id,
                "count": len(out),
                "patient_ids": sorted({a.patient_id for a in out}),
            },
        )
        return out


def patient_appointments(
    *, db: Database, actor: Actor, patient_id: int, since: datetime
) -> list[AppointmentRead]:
    """Return a patient's appointments from `since` (the patient's own, or for staff who may read appointments)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "appointments", patient_id=patient_id)
        out = read_rows(uow.session, named()
                        .where(Appointment.patient_id == patient_id, Appointment.starts_at >= since)
                        .order_by(Appointment.starts_at))
        uow.audit("list", "appointment", patient_id=patient_id, details={"count": len(out)})
        return out


def appointment(*, db: Database, actor: Actor, appointment_id: int) -> AppointmentRead:
    """Return one appointment."""
    from ketacare.services.errors import NotFound

    with UnitOfWork(db, actor) as uow:
        a = uow.session.get(Appointment, appointment_id)
        if a is None:
            uow.authorize("read", "appointments")
            raise NotFound("appointment")
        uow.authorize("read", "appointments", patient_id=a.patient_id)
        uow.audit("view", "appointment", a.id, patient_id=a.patient_id)
        return reads(uow.session, [a])[0]
