"""The message log for the front desk and administrators: what went to whom, when, and the result."""

from __future__ import annotations

from sqlalchemy import select

from ketacare.services.access import Actor
from ketacare.services.messages.schemas import MessageRead, Status
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.messages import MessageLog

PAGE = 200


def messages(
    *,
    db: Database,
    actor: Actor,
    status: Status | None = None,
    patient_id: int | None = None,
    limit: int = PAGE,
) -> list[MessageRead]:
    """Return the newest messages (optionally one status or one patient), newest first; the read is audited."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "messages")
        q = (
            select(MessageLog, Patient.given_name, Patient.family_name)
            .join(Patient, Patient.id == MessageLog.patient_id)
            .order_by(MessageLog.due_at.desc(), MessageLog.id.desc())
            .limit(max(1, min(limit, 1000)))
        )
        if status is not None:
            q = q.where(MessageLog.status == status)
        if patient_id is not None:
            q = q.where(MessageLog.patient_id == patient_id)
        out = [
            MessageRead(
                id=m.id,
                patient_id=m.patient_id,
                patient_name=f"{given} {family}",
                appointment_id=m.appointment_id,
                kind=m.kind,
                template_id=m.template_id,
                template_version=m.template_version,
                essential=m.essential,
                due_at=m.due_at,
                status=m.status,
                detail=m.detail,
                to_address=m.to_address,
                subject=m.subject,
                attempts=m.attempts,
                next_attempt_at=m.next_attempt_at,
                sent_at=m.sent_at,
            )
            for m, given, family in uow.session.execute(q)
        ]
        uow.audit(
            "list",
            "message_log",
            patient_id=patient_id,
            details={"rows": len(out), "status": status, "patients": len({m.patient_id for m in out})},
        )
        return out
