"""What every sessions use case shares: load and authorize a session, refuse changes to a signed record,
queue a board notice, the dosing weight, the patient label, people's names and the session's readings in time
order."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.services.errors import NotFound
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.schemas import PatientLabel
from ketacare.services.uow import UnitOfWork
from ketacare.store.tables import BodyMeasurement, Patient, User
from ketacare.store.tables.sessions import (
    InfusionSession,
    SessionSignature,
    VitalSign,
)


def load_session(s: Session, session_id: int) -> InfusionSession:
    sess = s.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("session")
    return sess


def session_patient(s: Session, sess: InfusionSession) -> Patient:
    """Return the patient a session belongs to (the foreign key guarantees one)."""
    p = s.get(Patient, sess.patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def open_session(uow: UnitOfWork, session_id: int, action: str = "chart") -> InfusionSession:
    sess = load_session(uow.session, session_id)
    uow.authorize(action, "infusion_session", patient_id=sess.patient_id)
    return sess


def signatures(s: Session, session_id: int) -> list[SessionSignature]:
    return list(
        s.scalars(
            select(SessionSignature)
            .where(SessionSignature.session_id == session_id)
            .order_by(SessionSignature.id)
        )
    )


def refuse_if_signed(s: Session, sess: InfusionSession) -> None:
    if signatures(s, sess.id):
        raise InvalidValue("session", "the session record is signed: later changes are added as addenda")


def board_changes(uow: UnitOfWork, session_id: int, *kinds: str) -> list[board_bus.BoardChange]:
    return board_bus.notify_in_transaction(uow.session, [board_bus.BoardChange(session_id, k) for k in kinds])


def dosing_weight(s: Session, sess: InfusionSession) -> float | None:
    if sess.weight_kg:
        return sess.weight_kg
    return s.scalar(
        select(BodyMeasurement.weight_kg)
        .where(
            BodyMeasurement.patient_id == sess.patient_id,
            BodyMeasurement.weight_kg.is_not(None),
            BodyMeasurement.entered_in_error.is_(False),
        )
        .order_by(BodyMeasurement.measured_at.desc())
        .limit(1)
    )


def patient_label(p: Patient) -> PatientLabel:
    return PatientLabel(id=p.id, name=f"{p.family_name}, {p.given_name}", mrn=p.mrn)


def vital_rows(s: Session, session_id: int) -> list[VitalSign]:
    return list(
        s.scalars(
            select(VitalSign)
            .where(VitalSign.session_id == session_id, VitalSign.entered_in_error.is_(False))
            .order_by(VitalSign.measured_at, VitalSign.id)
        )
    )


def people_names(s: Session, usernames: set[str]) -> dict[str, str]:
    """Return the name each user name stands for, as records print it (the one place that says how a person is
    named; today the account's display name, later with credentials); an unknown user name stays as it is."""
    names = {u: u for u in usernames}
    if usernames:
        for username, display in s.execute(
            select(User.username, User.display_name).where(User.username.in_(sorted(usernames)))
        ):
            names[username] = display.strip() or username
    return names
