"""The doses a patient was given across the course, session by session (for cumulative-dose safety)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.sessions.common import dosing_weight
from ketacare.services.sessions.pump import dose_summary, pump_rows
from ketacare.store.tables.sessions import InfusionSession


class GivenDose(BaseModel):
    """One session's dose: mg delivered (pump events) or, with no pump events, the planned mg (`basis`)."""

    session_id: int
    at: datetime
    product: str
    dose_mg: float
    dose_mg_per_kg: float | None
    basis: str  # "delivered" (from pump events) or "planned" (esketamine device doses, no pump record)


def doses_given(s: Session, patient_id: int, now: datetime) -> list[GivenDose]:
    """Return every started session's dose for a patient, oldest first; no authorization here."""
    rows = s.scalars(
        select(InfusionSession)
        .where(InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None))
        .order_by(InfusionSession.infusion_started_at, InfusionSession.id)
    ).all()
    out = []
    for sess in rows:
        assert sess.infusion_started_at is not None  # noqa: S101 - narrows the type; filtered above
        weight = dosing_weight(s, sess)
        events = pump_rows(s, sess.id)
        if events:
            d = dose_summary(s, sess, now, rows=events, weight=weight)
            mg, per_kg, basis = d.delivered_mg, d.delivered_mg_per_kg, "delivered"
        elif sess.planned_dose_mg is not None:
            mg, basis = sess.planned_dose_mg, "planned"
            per_kg = mg / weight if weight else None
        else:
            continue
        out.append(GivenDose(session_id=sess.id, at=sess.infusion_started_at, product=sess.product, dose_mg=mg,
                             dose_mg_per_kg=per_kg, basis=basis))
    return out
