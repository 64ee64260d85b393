"""Reading appointments with the names a calendar shows (patient, chair, room, attending person): one query with
the names joined, never one lookup per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from ketacare.domain.scheduling import appointment_types
from ketacare.services.scheduling.consent import CONSENT_SERVICE_AVAILABLE
from ketacare.services.scheduling.schemas import AppointmentRead
from ketacare.store.tables import Patient, User
from ketacare.store.tables.scheduling import Appointment, Chair, Room

A = Appointment
_COLUMNS = (
    A.id, A.patient_id, A.type_id, A.dosing, A.starts_at, A.ends_at, A.site_id, A.chair_id, A.room_id,
    A.staff_user_id, A.dose_order_id, A.protocol_id, A.plan_template_id, A.plan_id, A.series_id, A.status,
    A.status_reason, A.session_id, A.version,
)


def named() -> Select[Any, *tuple[Any, ...]]:
    """Return the select of appointments with patient, chair, room and attending names joined (add filters)."""
    return (
        select(*_COLUMNS, Patient.family_name, Patient.given_name, Patient.mrn, Chair.label, Room.name,
               User.display_name)
        .join(Patient, Patient.id == A.patient_id)
        .outerjoin(Chair, Chair.id == A.chair_id)
        .outerjoin(Room, Room.id == A.room_id)
        .outerjoin(User, User.id == A.staff_user_id)
    )


def _read(row: Any) -> AppointmentRead:
    t = appointment_types().get(row.type_id)
    # rows as stored (aware UTC, checked on the way in): constructed without re-validating (a week is ~500)
    return AppointmentRead.model_construct(
        id=row.id,
        patient_id=row.patient_id,
        patient_name=f"{row.family_name}, {row.given_name}",
        patient_mrn=row.mrn,
        type_id=row.type_id,
        type_name=t.name if t else row.type_id,
        dosing=row.dosing,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        site_id=row.site_id,
        chair_id=row.chair_id,
        chair_label=row.label,
        room_id=row.room_id,
        room_name=row.name,
        staff_id=row.staff_user_id,
        staff_name=row.display_name,
        dose_order_id=row.dose_order_id,
        protocol_id=row.protocol_id,
        plan_template_id=row.plan_template_id,
        plan_id=row.plan_id,
        series_id=row.series_id,
        status=row.status,
        status_reason=row.status_reason,
        session_id=row.session_id,
        consent_checked=CONSENT_SERVICE_AVAILABLE,
        version=row.version,
    )


def read_rows(s: Session, q: Select[Any, *tuple[Any, ...]]) -> list[AppointmentRead]:
    """Run a `named()` select and return the appointments as calendars show them."""
    return [_read(r) for r in s.execute(q)]


def reads(s: Session, rows: Sequence[Appointment]) -> list[AppointmentRead]:
    """Return stored appointments as calendars show them, in the given order (one query for all of them)."""
    if not rows:
        return []
    s.flush()
    found = {r.id: r for r in read_rows(s, named().where(A.id.in_([a.id for a in rows])))}
    return [found[a.id] for a in rows]


def appointment_read(s: Session, a: Appointment) -> AppointmentRead:
    """Return one stored appointment as calendars show it."""
    return reads(s, [a])[0]


class Names:
    """Patients' names and MRNs, each read once per use case (for lists that are not appointments)."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self._patients: dict[int, tuple[str, str]] = {}

    def patients(self, ids: Sequence[int]) -> None:
        want = {i for i in ids if i not in self._patients}
        if want:
            rows = self.s.execute(
                select(Patient.id, Patient.family_name, Patient.given_name, Patient.mrn).where(Patient.id.in_(want))
            )
            for pid, family, given, mrn in rows:
                self._patients[pid] = (f"{family}, {given}", mrn)

    def patient(self, pid: int) -> tuple[str, str]:
        self.patients([pid])
        return self._patients.get(pid, ("?", "?"))
