"""A patient's given sessions as a course sees them: dose, blood-pressure rise, side effects and rescue per session
(read by the plans capability; no authorization here: the caller has authorized reading the course)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.sessions.common import dosing_weight, vital_rows
from ketacare.services.sessions.pump import dose_summary
from ketacare.store.tables.sessions import InfusionSession, RescueGivenRow, SideEffectRow


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
