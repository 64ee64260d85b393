"""A patient's given sessions as a course sees them: dose, blood-pressure rise, side effects and rescue per session
(read by the plans capability), and the doses given session by session for cumulative-dose safety (`doses_given`).
No authorization here: the caller has authorized reading the course."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.sessions.common import dosing_weight, vital_rows
from ketacare.services.sessions.pump import dose_summary
from ketacare.store.tables import BodyMeasurement
from ketacare.store.tables.sessions import InfusionEventRow, InfusionSession, RescueGivenRow, SideEffectRow


@dataclass(frozen=True)
class CourseSession:
    """One session in which the infusion (or dose) was started."""

    session_id: int
    started_at: datetime
    state: str
    dose_order_id: int | None
    planned_dose_mg: float | None
    delivered_mg: float | None
    weight_kg: float | None
    baseline_sbp_mmhg: float | None
    peak_sbp_mmhg: float | None
    max_side_effect_grade: int
    side_effects: tuple[str, ...]
    rescue: tuple[str, ...]
    aborted: bool
    abort_reason: str | None

    @property
    def peak_sbp_rise_mmhg(self) -> float | None:
        """Return the highest systolic BP minus the baseline (mmHg), None without both."""
        if self.baseline_sbp_mmhg is None or self.peak_sbp_mmhg is None:
            return None
        return self.peak_sbp_mmhg - self.baseline_sbp_mmhg


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def course_sessions(s: Session, patient_id: int, now: datetime) -> list[CourseSession]:
    """Return the patient's sessions whose infusion started, oldest first, with tolerability facts."""
    rows = s.scalars(
        select(InfusionSession)
        .where(InfusionSession.patient_id == patient_id, InfusionSession.infusion_started_at.is_not(None))
        .order_by(InfusionSession.infusion_started_at, InfusionSession.id)
    ).all()
    out: list[CourseSession] = []
    for sess in rows:
        started = _aware(sess.infusion_started_at) if sess.infusion_started_at else now
        vitals = [v for v in vital_rows(s, sess.id) if v.sbp_mmhg is not None]
        before = [v for v in vitals if _aware(v.measured_at) <= started]
        after = [v for v in vitals if _aware(v.measured_at) > started]
        baseline = before[-1].sbp_mmhg if before else (vitals[0].sbp_mmhg if vitals else None)
        peak = max((v.sbp_mmhg for v in after if v.sbp_mmhg is not None), default=None)
        effects = s.scalars(select(SideEffectRow).where(SideEffectRow.session_id == sess.id)).all()
        rescue = s.scalars(select(RescueGivenRow).where(RescueGivenRow.session_id == sess.id)).all()
        dose = dose_summary(s, sess, now)
        out.append(
            CourseSession(
                session_id=sess.id,
                started_at=started,
                state=sess.state,
                dose_order_id=sess.dose_order_id,
                planned_dose_mg=sess.planned_dose_mg,
                delivered_mg=dose.delivered_mg,
                weight_kg=dosing_weight(s, sess),
                baseline_sbp_mmhg=baseline,
                peak_sbp_mmhg=peak,
                max_side_effect_grade=max((e.grade for e in effects), default=0),
                side_effects=tuple(f"{e.type.replace('_', ' ')} (grade {e.grade})" for e in effects),
                rescue=tuple(f"{r.drug} {r.dose_mg:g} mg {r.route}" for r in rescue),
                aborted=sess.aborted_at is not None,
                abort_reason=sess.abort_reason,
            )
        )
    return out


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
