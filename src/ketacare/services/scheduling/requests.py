"""The portal's appointments: a patient's own appointments in plain words with their instructions, and requests to
move or cancel one, which the front desk accepts (by moving or cancelling the appointment, `settle`) or declines
with a reason the patient reads. Only a patient's own appointments: another's is "not found"."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import formatting as fmt
from ketacare.domain import scheduling as core
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import bibliography, cite_parts
from ketacare.services import clinic, clock
from ketacare.services.access import Actor, may
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.scheduling.reads import Names
from ketacare.services.scheduling.schemas import (
    PortalAppointment,
    PortalAppointments,
    PortalInstruction,
    RequestCreate,
    RequestDecline,
    RequestRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.scheduling import Appointment, AppointmentRequest, Site

RESOURCE = "appointment_requests"
PAST_SHOWN = timedelta(days=365)  # the portal lists a year of past visits
PAST_LIMIT = 50
OWN_ADVICE = "the clinic's own advice"


def _source_words(source: str) -> str:
    """Return a citation in plain words ("Spravato label; RCEM 2018"), or that it is the clinic's own advice."""
    names = [p.text for p in cite_parts(source) if p.is_source and p.key in bibliography()]
    return "; ".join(names) if names else OWN_ADVICE


def _instructions(type_id: str) -> list[PortalInstruction]:
    items = core.portal_words().instructions.get(type_id, ())
    return [PortalInstruction(text=i.text, source=_source_words(i.source)) for i in items]


def _title(type_id: str) -> str:
    words = core.portal_words().names.get(type_id)
    if words:
        return words
    t = core.appointment_types().get(type_id)
    return t.name if t else "Appointment"


def _request_read(r: AppointmentRequest, a: Appointment, names: Names) -> RequestRead:
    pname, mrn = names.patient(r.patient_id)
    t = core.appointment_types().get(a.type_id)
    return RequestRead(
        id=r.id,
        appointment_id=r.appointment_id,
        patient_id=r.patient_id,
        patient_name=pname,
        patient_mrn=mrn,
        kind=r.kind,
        reason=r.reason,
        preferred_days=list(r.preferred_days or []),
        preferred_times=list(r.preferred_times or []),
        status=r.status,
        answer=r.answer,
        requested_at=r.requested_at,
        handled_at=r.handled_at,
        appointment_type_name=t.name if t else a.type_id,
        appointment_starts_at=a.starts_at,
        version=r.version,
    )


def _latest_requests(s: Session, appointment_ids: Sequence[int]) -> dict[int, AppointmentRequest]:
    out: dict[int, AppointmentRequest] = {}
    if appointment_ids:
        rows = s.scalars(
            select(AppointmentRequest)
            .where(AppointmentRequest.appointment_id.in_(appointment_ids))
            .order_by(AppointmentRequest.requested_at, AppointmentRequest.id)
        )
        for r in rows:
            out[r.appointment_id] = r
    return out


def _may_request(a: Appointment, latest: AppointmentRequest | None, now: datetime) -> bool:
    return a.status == "booked" and a.starts_at > now and (latest is None or latest.status != "pending")


def my_appointments(*, db: Database, actor: Actor, patient_id: int) -> PortalAppointments:
    """Return a patient's coming and past appointments in plain words, each with its instructions and the latest
    request about it (the patient's own, or for staff who may read appointments)."""
    tz, now = clinic.zone(db), clock.now()
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "appointments", patient_id=patient_id)
        s = uow.session
        rows = list(
            s.scalars(
                select(Appointment)
                .where(Appointment.patient_id == patient_id, Appointment.starts_at >= now - PAST_SHOWN)
                .order_by(Appointment.starts_at)
            )
        )
        sites = {x.id: x for x in s.scalars(select(Site))}
        latest = _latest_requests(s, [a.id for a in rows])
        names = Names(s)
        out_up: list[PortalAppointment] = []
        out_past: list[PortalAppointment] = []
        for a in rows:
            t = core.appointment_types().get(a.type_id)
            site = sites.get(a.site_id)
            r = latest.get(a.id)
            item = PortalAppointment(
                id=a.id,
                title=_title(a.type_id),
                starts_at=a.starts_at,
                when=fmt.long_time(a.starts_at, tz, now=now),
                place="by phone" if t is not None and not t.resources else (site.name if site else "the clinic"),
                length=core.about((a.ends_at - a.starts_at).total_seconds() / 60),
                status=a.status,
                instructions=_instructions(a.type_id),
                request=_request_read(r, a, names) if r is not None else None,
                can_request=_may_request(a, r, now),
            )
            (out_up if a.ends_at > now and a.status == "booked" else out_past).append(item)
        uow.audit("list", "appointment", patient_id=patient_id, details={"count": len(rows), "portal": True})
        return PortalAppointments(upcoming=out_up, past=list(reversed(out_past))[:PAST_LIMIT])


def request_change(
    *, db: Database, actor: Actor, appointment_id: int, data: RequestCreate, patient_id: int | None = None
) -> RequestRead:
    """Store a patient's request to move or cancel their own coming appointment (one open request at a time);
    `patient_id`, when given, must be the appointment's patient."""
    now = clock.now()
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        a = s.get(Appointment, appointment_id)
        if a is None or (patient_id is not None and a.patient_id != patient_id):
            uow.authorize("create", RESOURCE)
            raise NotFound("appointment")
        uow.authorize("create", RESOURCE, patient_id=a.patient_id)
        if a.status != "booked" or a.starts_at <= now:
            raise InvalidValue("kind", "only a coming appointment can be moved or cancelled: call the clinic")
        pending = s.scalar(
            select(AppointmentRequest.id).where(
                AppointmentRequest.appointment_id == a.id, AppointmentRequest.status == "pending"
            )
        )
        if pending is not None:
            raise InvalidValue("kind", "you have already asked about this appointment: the clinic will answer soon")
        if data.kind == "cancel" and (data.preferred_days or data.preferred_times):
            raise InvalidValue("preferred_days", "days and times are for a move: leave them empty to cancel")
        r = AppointmentRequest(
            appointment_id=a.id,
            patient_id=a.patient_id,
            kind=data.kind,
            reason=data.reason,
            preferred_days=list(data.preferred_days),
            preferred_times=list(data.preferred_times),
            status="pending",
            requested_by=actor.user_id,
            requested_at=now,
        )
        s.add(r)
        s.flush()
        uow.audit(
            "create",
            "appointment_request",
            r.id,
            patient_id=a.patient_id,
            details={
                "appointment_id": a.id,
                "kind": r.kind,
                "preferred_days": r.preferred_days,
                "preferred_times": r.preferred_times,
            },
        )
        return _request_read(r, a, Names(s))


def _reads(s: Session, rows: Sequence[AppointmentRequest]) -> list[RequestRead]:
    ids = {r.appointment_id for r in rows}
    appts = {a.id: a for a in s.scalars(select(Appointment).where(Appointment.id.in_(ids)))}
    names = Names(s)
    names.patients([r.patient_id for r in rows])
    return [_request_read(r, appts[r.appointment_id], names) for r in rows]


def open_requests(*, db: Database, actor: Actor) -> list[RequestRead]:
    """Return the pending requests of every patient, oldest first (the front desk's list)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("handle", RESOURCE)
        s = uow.session
        rows = list(
            s.scalars(
                select(AppointmentRequest)
                .where(AppointmentRequest.status == "pending")
                .order_by(AppointmentRequest.requested_at, AppointmentRequest.id)
            )
        )
        out = _reads(s, rows)
        uow.audit(
            "list",
            "appointment_request",
            details={"count": len(out), "patient_ids": sorted({r.patient_id for r in out})},
        )
        return out


def patient_requests(*, db: Database, actor: Actor, patient_id: int) -> list[RequestRead]:
    """Return a patient's requests, newest first (the patient's own, or for those who handle requests)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        s = uow.session
        rows = list(
            s.scalars(
                select(AppointmentRequest)
                .where(AppointmentRequest.patient_id == patient_id)
                .order_by(AppointmentRequest.requested_at.desc(), AppointmentRequest.id.desc())
            )
        )
        uow.audit("list", "appointment_request", patient_id=patient_id, details={"count": len(rows)})
        return _reads(s, rows)


def request(*, db: Database, actor: Actor, request_id: int) -> RequestRead:
    """Return one request (for those who handle requests, or the patient's own)."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        r = s.get(AppointmentRequest, request_id)
        if r is None:
            uow.authorize("read", RESOURCE)
            raise NotFound("request")
        uow.authorize("read", RESOURCE, patient_id=r.patient_id)
        uow.audit("view", "appointment_request", r.id, patient_id=r.patient_id)
        return _reads(s, [r])[0]


def _open(uow: UnitOfWork, request_id: int, version: int | None = None) -> AppointmentRequest:
    r = uow.session.get(AppointmentRequest, request_id)
    if r is None:
        uow.authorize("handle", RESOURCE)
        raise NotFound("request")
    uow.authorize("handle", RESOURCE, patient_id=r.patient_id)
    if version is not None and r.version != version:
        raise Conflict("request", r.version, version)
    if r.status != "pending":
        raise InvalidValue("request_id", f"this request was already {r.status}")
    return r


def decline(*, db: Database, actor: Actor, request_id: int, data: RequestDecline) -> RequestRead:
    """Decline a pending request with the reason the patient reads; the appointment stays as it is."""
    with UnitOfWork(db, actor) as uow:
        r = _open(uow, request_id, data.version)
        r.status, r.answer, r.handled_by, r.handled_at = "declined", data.reason, actor.user_id, clock.now()
        uow.session.flush()
        uow.audit(
            "update",
            "appointment_request",
            r.id,
            patient_id=r.patient_id,
            details={"status": "declined", "appointment_id": r.appointment_id},
        )
        return _reads(uow.session, [r])[0]


def settle(uow: UnitOfWork, a: Appointment, request_id: int | None) -> None:
    """Mark the patient's request accepted because `a` was just moved or cancelled, in the caller's transaction
    (a request about another appointment, or of the other kind, is refused beside `request_id`). Without an id, a
    pending request of that kind about `a` is accepted when the actor handles requests (the change answers it)."""
    wanted = "cancel" if a.status == "cancelled" else "move"
    if request_id is None:
        found = uow.session.scalar(
            select(AppointmentRequest.id).where(
                AppointmentRequest.appointment_id == a.id,
                AppointmentRequest.status == "pending",
                AppointmentRequest.kind == wanted,
            )
        )
        if found is None or not may(uow.actor, "handle", RESOURCE):
            return
        request_id = found
    r = _open(uow, request_id)
    if r.appointment_id != a.id or r.kind != wanted:
        raise InvalidValue("request_id", f"request #{r.id} is not a request to {wanted} this appointment")
    r.status, r.handled_by, r.handled_at = "accepted", uow.actor.user_id, clock.now()
    r.answer = None
    uow.session.flush()
    uow.audit(
        "update",
        "appointment_request",
        r.id,
        patient_id=r.patient_id,
        details={"status": "accepted", "appointment_id": a.id},
    )
