"""The doses a patient was given across the course, session by session (for cumulative-dose safety)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.sessions.pump import dose_summary
from ketacare.store.tables import BodyMeasurement
from ketacare.store.tables.sessions import InfusionEventRow, InfusionSession


class GivenDose(BaseModel):
    """One session's dose: mg delivered (pump events) or, with no pump events, the planned mg (`basis`)."""

    session_id: int
    at: datetime
    product: str
    dose_mg: float
    dose_mg_per_kg: float | None
    basis: str  # "delivered" (from pump events) or "planned" (esketamine device doses, no pump record)


def doses_given(s: Session, patient_id: int, now: datetime) -> list[GivenDose]:
    """Return every started session's dose for a patient, oldest first; no authorization here.

    Three statements whatever the course holds: the sessions, their pump events, the latest weight."""
    rows = s.scalars(
        select(InfusionSession)
        .where(InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None))
        .order_by(InfusionSession.infusion_started_at, InfusionSession.id)
    ).all()
    if not rows:
        return []
    events: dict[int, list[InfusionEventRow]] = defaultdict(list)
    for e in s.scalars(
        select(InfusionEventRow)
        .where(InfusionEventRow.session_id.in_([r.id for r in rows]))
        .order_by(InfusionEventRow.at, InfusionEventRow.id)
    ):
        events[e.session_id].append(e)
    latest_weight = _recorded_weight(s, patient_id) if any(not r.weight_kg for r in rows) else None
    out = []
    for sess in rows:
        assert sess.infusion_started_at is not None  # noqa: S101 - narrows the type; filtered above
        weight = sess.weight_kg or latest_weight
        if events[sess.id]:
            d = dose_summary(s, sess, now, rows=events[sess.id], weight=weight)
            mg, per_kg, basis = d.delivered_mg, d.delivered_mg_per_kg, "delivered"
        elif sess.planned_dose_mg is not None:
            mg, basis = sess.planned_dose_mg, "planned"
            per_kg = mg / weight if weight else None
        else:
            continue
        out.append(GivenDose(session_id=sess.id, at=sess.infusion_started_at, product=sess.product, dose_mg=mg,
                             dose_mg_per_kg=per_kg, basis=basis))
    return out


def _recorded_weight(s: Session, patient_id: int) -> float | None:
    """Return the patient's newest recorded weight (kg), for sessions that did not store their own."""
    return s.scalar(
        select(BodyMeasurement.weight_kg)
        .where(
            BodyMeasurement.patient_id == patient_id,
            BodyMeasurement.weight_kg.is_not(None),
            BodyMeasurement.entered_in_error.is_(False),
        )
        .order_by(BodyMeasurement.measured_at.desc())
        .limit(1)
    )
