"""Reading appointments with the names a calendar shows (patient, chair, room, attending person)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.scheduling import appointment_types
from ketacare.services.scheduling.consent import CONSENT_SERVICE_AVAILABLE
from ketacare.services.scheduling.schemas import AppointmentRead
from ketacare.store.tables import Patient, User
from ketacare.store.tables.scheduling import Appointment, Chair, Room


class Names:
    """Chair labels, room names and people's names, each table read once per use case."""

    def __init__(self, s: Session) -> None:
        self.s = s
        self.chairs = {c.id: c.label for c in s.scalars(select(Chair))}
        self.rooms = {r.id: r.name for r in s.scalars(select(Room))}
        self._users: dict[int, str] = {}
        self._patients: dict[int, tuple[str, str]] = {}

    def users(self, ids: Sequence[int | None]) -> None:
        want = {i for i in ids if i is not None and i not in self._users}
        if want:
            for uid, name in self.s.execute(select(User.id, User.display_name).where(User.id.in_(want))):
                self._users[uid] = name

    def patients(self, ids: Sequence[int]) -> None:
        want = {i for i in ids if i not in self._patients}
        if want:
            rows = self.s.execute(
                select(Patient.id, Patient.family_name, Patient.given_name, Patient.mrn).where(
                    Patient.id.in_(want)
                )
            )
            for pid, family, given, mrn in rows:
                self._patients[pid] = (f"{family}, {given}", mrn)

    def user(self, uid: int | None) -> str | None:
        if uid is None:
            return None
        self.users([uid])
        return self._users.get(uid)

    def patient(self, pid: int) -> tuple[str, str]:
        self.patients([pid])
        return self._patients.get(pid, ("?", "?"))


def appointment_read(a: Appointment, names: Names) -> AppointmentRead:
    """Return the appointment as calendars show it."""
    t = appointment_types().get(a.type_id)
    pname, mrn = names.patient(a.patient_id)
    return AppointmentRead(
        id=a.id,
        patient_id=a.patient_id,
        patient_name=pname,
        patient_mrn=mrn,
        type_id=a.type_id,
        type_name=t.name if t else a.type_id,
        dosing=a.dosing,
        starts_at=a.starts_at,
        ends_at=a.ends_at,
        site_id=a.site_id,
        chair_id=a.chair_id,
        chair_label=names.chairs.get(a.chair_id) if a.chair_id else None,
        room_id=a.room_id,
        room_name=names.rooms.get(a.room_id) if a.room_id else None,
        staff_id=a.staff_user_id,
        staff_name=names.user(a.staff_user_id),
        dose_order_id=a.dose_order_id,
        protocol_id=a.protocol_id,
        plan_template_id=a.plan_template_id,
        series_id=a.series_id,
        status=a.status,
        status_reason=a.status_reason,
        session_id=a.session_id,
        consent_checked=CONSENT_SERVICE_AVAILABLE,
        version=a.version,
    )


def reads(s: Session, rows: Sequence[Appointment]) -> list[AppointmentRead]:
    """Return the appointments as calendars show them (names read in three queries, not one per row)."""
    names = Names(s)
    names.users([a.staff_user_id for a in rows])
    names.patients([a.patient_id for a in rows])
    return [appointment_read(a, names) for a in rows]
