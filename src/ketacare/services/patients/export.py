"""The patient's own copy of their whole record (right of access): every stored row about them, the staff named
in it, and who accessed the record; as machine-readable JSON and as a PDF summary (reports/patients.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from ketacare import __version__
from ketacare.services import clock
from ketacare.services.access import Actor, is_patient_role
from ketacare.services.errors import NotFound
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.patient_rows import patient_rows, referenced_users
from ketacare.store.tables import AuditEvent, User


class StaffMember(BaseModel):
    """A person named in the record (who recorded, signed, checked ...)."""

    id: int
    name: str
    role: str


class AccessEntry(BaseModel):
    """One access to the record: when, who (another patient's account is not named), what, and the outcome."""

    at: datetime
    who: str
    role: str
    action: str
    what: str
    outcome: str


class PatientExport(BaseModel):
    """The whole record of one patient, table by table, as stored (units in the column names: kg, mmHg, mg ...)."""

    format: str = "ketacare-patient-export/1"
    app_version: str
    generated_at: datetime
    generated_for: str = Field(description="Who downloaded it")
    patient_id: int
    mrn: str
    tables: dict[str, list[dict[str, Any]]]
    staff: list[StaffMember]
    access_log: list[AccessEntry]


def export_record(*, db: Database, actor: Actor, patient_id: int) -> PatientExport:
    """Collect the patient's whole record for the patient or their clinician; audited as an export."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("export", "patient_record", patient_id=patient_id)
        s = uow.session
        rows = patient_rows(s, patient_id)
        if not rows["patients"]:
            raise NotFound("patient")
        people = referenced_users(rows)
        staff = [
            StaffMember(id=u.id, name=u.display_name, role=u.role)
            for u in s.scalars(select(User).where(User.id.in_(people)).order_by(User.id))
        ]
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.patient_id == patient_id).order_by(AuditEvent.seq)
        ).all()
        log = [
            AccessEntry(
                at=e.occurred_at,
                who=e.actor_username
                if not is_patient_role(e.actor_role) or e.actor_username == actor.username
                else "another portal account",
                role=e.actor_role,
                action=e.action,
                what=e.resource_type,
                outcome=e.outcome,
            )
            for e in events
        ]
        uow.audit(
            "export",
            "patient_record",
            patient_id,
            patient_id=patient_id,
            details={"tables": len(rows), "rows": sum(len(v) for v in rows.values())},
        )
        return PatientExport(
            app_version=__version__,
            generated_at=clock.now(),
            generated_for=actor.username,
            patient_id=patient_id,
            mrn=str(rows["patients"][0].get("mrn", "")),
            tables=rows,
            staff=staff,
            access_log=log,
        )
