"""Vital readings entered in error: kept with the reason, left out of the session chart, board and alert views."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.services import patients
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.sessions.common import signatures
from ketacare.services.sessions.schemas import VitalInError, VitalRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.sessions import VitalSign

_COLUMNS = (
    "measured_at",
    "sbp_mmhg",
    "dbp_mmhg",
    "hr_per_min",
    "spo2_pct",
    "rr_per_min",
    "temp_c",
    "context",
    "source",
    "entered_in_error",
)


def mark_vital_entered_in_error(
    *, db: Database, actor: Actor, session_id: int, vital_id: int, data: patients.InErrorReason
) -> VitalRead:
    """Mark one reading entered in error (e.g. a cuff on the wrong patient): it stays stored with the reason and
    the history, and the session chart, the board and the trend no longer show it."""
    with UnitOfWork(db, actor) as uow:
        s = uow.session
        v = s.get(VitalSign, vital_id)
        uow.authorize("chart", "infusion_session", patient_id=v.patient_id if v else None)
        if v is None or v.session_id != session_id:
            raise NotFound("vital sign")
        if v.entered_in_error:
            raise InvalidValue("reason", "this reading is already marked entered in error")
        if signatures(s, session_id):
            raise InvalidValue(
                "vital_id",
                "this reading is part of the session's signed record, which cannot change; add an addendum to the "
                "record saying it was entered in error and why",
            )
        before = patients.snapshot(v, _COLUMNS)
        v.entered_in_error = True
        s.flush()
        patients.record_revision(
            s,
            actor,
            patient_id=v.patient_id,
            entity="vital_sign",
            entity_id=v.id,
            action="entered_in_error",
            reason=data.reason,
            before=before,
            after=patients.snapshot(v, _COLUMNS),
        )
        uow.audit(
            "update",
            "vital_signs",
            v.id,
            patient_id=v.patient_id,
            details={
                "correction": "entered_in_error",
                "reason": data.reason[:500],
                "session_id": v.session_id,
            },
        )
        return VitalRead.model_validate(v)


def _summary(v: VitalSign) -> str:
    parts = []
    if v.sbp_mmhg is not None and v.dbp_mmhg is not None:
        parts.append(f"BP {v.sbp_mmhg:.0f}/{v.dbp_mmhg:.0f} mmHg")
    for label, value, unit in (
        ("HR", v.hr_per_min, "/min"),
        ("SpO2", v.spo2_pct, "%"),
        ("RR", v.rr_per_min, "/min"),
    ):
        if value is not None:
            parts.append(f"{label} {value:.0f} {unit}".replace(" %", "%"))
    return ", ".join(parts) or "empty reading"


def vitals_in_error(s: Session, patient_id: int, session_id: int) -> list[VitalInError]:
    """Return a session's readings set aside as entered in error, with reason, who and when (no authorization)."""
    rows = {
        v.id: v
        for v in s.scalars(
            select(VitalSign).where(VitalSign.session_id == session_id, VitalSign.entered_in_error.is_(True))
        )
    }
    if not rows:
        return []
    out = []
    for rev in patients.revisions_for(s, patient_id, "vital_sign"):
        v = rows.get(rev.entity_id)
        if v is not None and rev.action == "entered_in_error":
            out.append(
                VitalInError(
                    id=v.id,
                    measured_at=v.measured_at,
                    summary=_summary(v),
                    reason=rev.reason,
                    by=rev.changed_by_name or "—",
                    at=rev.changed_at,
                )
            )
    return out
