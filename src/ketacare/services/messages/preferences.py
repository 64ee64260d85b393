"""A patient's opt-out of non-essential messages (reminders, questionnaires due); essential ones always go."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.messages.schemas import PreferenceRead, PreferenceUpdate
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.messages import MessagePreference

RESOURCE = "message_preferences"


def opted_out(s: Session, patient_id: int) -> bool:
    """Return whether the patient opted out of non-essential messages."""
    row = s.get(MessagePreference, patient_id)
    return bool(row and row.opt_out_non_essential)


def _read(patient_id: int, row: MessagePreference | None) -> PreferenceRead:
    if row is None:
        return PreferenceRead(patient_id=patient_id, opt_out_non_essential=False)
    return PreferenceRead(
        patient_id=patient_id, opt_out_non_essential=row.opt_out_non_essential, changed_at=row.changed_at
    )


def read(*, db: Database, actor: Actor, patient_id: int) -> PreferenceRead:
    """Return the patient's message preference."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        if uow.session.get(Patient, patient_id) is None:
            raise NotFound("patient")
        uow.audit("view", RESOURCE, patient_id, patient_id=patient_id)
        return _read(patient_id, uow.session.get(MessagePreference, patient_id))


def update(*, db: Database, actor: Actor, patient_id: int, data: PreferenceUpdate) -> PreferenceRead:
    """Opt the patient out of, or back into, non-essential messages (audited)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("update", RESOURCE, patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        row = s.get(MessagePreference, patient_id)
        if row is None:
            row = MessagePreference(patient_id=patient_id, opt_out_non_essential=False, changed_at=clock.now())
            s.add(row)
        row.opt_out_non_essential = data.opt_out_non_essential
        row.changed_by, row.changed_at = actor.user_id, clock.now()
        s.flush()
        uow.audit(
            "update",
            RESOURCE,
            patient_id,
            patient_id=patient_id,
            details={"opt_out_non_essential": data.opt_out_non_essential},
        )
        return _read(patient_id, row)
