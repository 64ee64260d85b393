"""Read what outcomes need from the database in a few column-only queries (no ORM objects, no free text).

The loader is shared by the per-patient summary and the dashboard; the callers authorize and audit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, and_, func, select, true
from sqlalchemy.orm import Session

from ketacare.domain.outcomes import Definitions, Score, sample_sd
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.eligibility import EligibilityEvaluation
from ketacare.store.tables.measurement import QuestionnaireResponse
from ketacare.store.tables.patients import Diagnosis, Patient
from ketacare.store.tables.sessions import InfusionSession, SideEffectRow, VitalSign

ELIGIBLE = ("eligible", "eligible_with_cautions")
_Q = TypeVar("_Q", bound=Select)  # type: ignore[type-arg]


@dataclass
class SessionFacts:
    """One session that started (infusion begun): when, dose, side effects and the largest systolic rise."""

    id: int
    started_at: datetime
    aborted: bool
    dose_mg: float | None
    mg_per_kg: float | None
    side_effects: int = 0
    grade3: int = 0
    types: list[str] = field(default_factory=list)
    sbp_rise_mmhg: float | None = None
    chair: str | None = None  # the chair's label (its site is the session's site)


@dataclass
class PatientFacts:
    """What the outcome of one patient is computed from."""

    patient_id: int
    created_at: datetime
    clinician_id: int | None
    diagnoses: list[str] = field(default_factory=list)  # active concepts, oldest first
    diagnosis_display: dict[str, str] = field(default_factory=dict)
    protocols: list[str] = field(default_factory=list)
    screened: bool = False
    eligible: bool = False
    consented: bool = False
    sessions: list[SessionFacts] = field(default_factory=list)
    aborted_before_start: int = 0
    last_state: str | None = None
    scores: dict[str, list[Score]] = field(default_factory=lambda: defaultdict(list))

    def primary(self, d: Definitions) -> tuple[str | None, str]:
        """Return the diagnosis that decides the instrument, and that instrument (clinic's choice)."""
        for concept in self.diagnoses:
            if concept in d.primary_by_diagnosis:
                return concept, d.primary_by_diagnosis[concept]
        dx = self.diagnoses[0] if self.diagnoses else None
        return dx, d.primary_instrument(dx)

    @property
    def protocol(self) -> str | None:
        """Return the protocol of the newest signed dose order, if any."""
        return self.protocols[-1] if self.protocols else None


def load(
    s: Session, patient_ids: Iterable[int] | None = None, *, id_range: tuple[int, int] | None = None
) -> dict[int, PatientFacts]:
    """Return the facts of every patient (or of `patient_ids`, or of the ids in `id_range`, both ends included),
    keyed by patient id."""
    ids = None if patient_ids is None else list(patient_ids)

    def only(col: Any) -> Any:
        if ids is not None:
            return col.in_(ids)
        return true() if id_range is None else col.between(*id_range)

    out: dict[int, PatientFacts] = {}
    for pid, created, clin in s.execute(
        select(Patient.id, Patient.created_at, Patient.primary_clinician_id)
        .where(only(Patient.id))
        .order_by(Patient.id)
    ):
        out[pid] = PatientFacts(patient_id=pid, created_at=created, clinician_id=clin)
    for pid, concept, display in s.execute(
        select(Diagnosis.patient_id, Diagnosis.concept, Diagnosis.display)
        .where(only(Diagnosis.patient_id), Diagnosis.status == "active")
        .order_by(Diagnosis.id)
    ):
        if pid in out:
            out[pid].diagnoses.append(concept)
            out[pid].diagnosis_display[concept] = display
    for pid, proto in s.execute(
        select(DoseOrderRecord.patient_id, DoseOrderRecord.protocol_id)
        .where(only(DoseOrderRecord.patient_id), DoseOrderRecord.signed_at.is_not(None))
        .order_by(DoseOrderRecord.signed_at)
    ):
        if pid in out:
            out[pid].protocols.append(proto)
    for pid, decision in s.execute(
        select(EligibilityEvaluation.patient_id, EligibilityEvaluation.decision)
        .where(only(EligibilityEvaluation.patient_id))
        .order_by(EligibilityEvaluation.evaluated_at)
    ):
        if pid in out:
            out[pid].screened = True
            out[pid].eligible = decision in ELIGIBLE  # the newest decision wins
    for pid, iid, at, total in s.execute(
        select(
            QuestionnaireResponse.patient_id,
            QuestionnaireResponse.instrument_id,
            QuestionnaireResponse.answered_at,
            QuestionnaireResponse.total,
        ).where(
            only(QuestionnaireResponse.patient_id),
            QuestionnaireResponse.entered_in_error.is_(False),
            QuestionnaireResponse.total.is_not(None),
        )
    ):
        if pid in out:
            out[pid].scores[iid].append(Score(at, float(total or 0)))
    sessions = _sessions(s, out, only)
    if sessions:
        _side_effects(s, sessions, ids, id_range)
        _bp_rise(s, sessions, ids, id_range)
    for p in out.values():
        p.sessions.sort(key=lambda x: x.started_at)
    return out


def _sessions(s: Session, out: dict[int, PatientFacts], only: Any) -> dict[int, SessionFacts]:
    """Add every patient's sessions (those whose infusion started) and return them by session id."""
    sessions: dict[int, SessionFacts] = {}
    for sid, pid, state, started, aborted, dose, weight, consent, chair in s.execute(
        select(
            InfusionSession.id,
            InfusionSession.patient_id,
            InfusionSession.state,
            InfusionSession.infusion_started_at,
            InfusionSession.aborted_at,
            InfusionSession.planned_dose_mg,
            InfusionSession.weight_kg,
            InfusionSession.consent_confirmed,
            InfusionSession.chair,
        )
        .where(only(InfusionSession.patient_id))
        .order_by(InfusionSession.scheduled_at)
    ):
        p = out.get(pid)
        if p is None:
            continue
        p.consented = p.consented or bool(consent)
        p.last_state = state
        if started is None:
            p.aborted_before_start += state == "aborted"
            continue
        mg_kg = dose / weight if dose and weight else None
        facts = SessionFacts(sid, started, aborted is not None, dose, mg_kg, chair=chair)
        p.sessions.append(facts)
        sessions[sid] = facts
    return sessions


def _of_patients(
    q: _Q, session_id: Any, ids: list[int] | None, id_range: tuple[int, int] | None, patient_id: Any = None
) -> _Q:
    """Limit rows keyed by session to the sessions of `ids` or `id_range` (None, None: every row; no IN list of
    every session id).

    `patient_id`, the table's own patient column, lets PostgreSQL use its index instead of scanning every row."""
    if ids is None and id_range is None:
        return q

    def only(col: Any) -> Any:
        return col.in_(ids) if ids is not None else col.between(*id_range)  # type: ignore[misc]

    q = q.join(InfusionSession, InfusionSession.id == session_id).where(only(InfusionSession.patient_id))
    return q if patient_id is None else q.where(only(patient_id))


def _side_effects(
    s: Session, sessions: dict[int, SessionFacts], ids: list[int] | None, id_range: tuple[int, int] | None
) -> None:
    q = select(SideEffectRow.session_id, SideEffectRow.type, SideEffectRow.grade)
    for sid, kind, grade in s.execute(_of_patients(q, SideEffectRow.session_id, ids, id_range)):
        f = sessions.get(sid)
        if f is None:
            continue  # a session whose infusion did not start
        f.side_effects += 1
        f.grade3 += grade >= 3
        f.types.append(kind)


def _bp_rise(
    s: Session, sessions: dict[int, SessionFacts], ids: list[int] | None, id_range: tuple[int, int] | None
) -> None:
    """Set each session's largest systolic rise: peak during/recovery minus the highest baseline (mmHg)."""
    q = select(VitalSign.session_id, VitalSign.context, func.max(VitalSign.sbp_mmhg)).where(
        and_(
            VitalSign.entered_in_error.is_(False),
            VitalSign.conflict_of.is_(None),
            VitalSign.sbp_mmhg.is_not(None),
        )
    )
    by_ctx = _of_patients(q, VitalSign.session_id, ids, id_range, VitalSign.patient_id).group_by(
        VitalSign.session_id, VitalSign.context
    )
    peaks: dict[int, dict[str, float]] = defaultdict(dict)
    for sid, ctx, sbp in s.execute(by_ctx):
        if sid in sessions and sbp is not None:
            peaks[sid][ctx] = float(sbp)
    for sid, p in peaks.items():
        during = max((p[c] for c in ("during", "recovery") if c in p), default=None)
        if "baseline" in p and during is not None:
            sessions[sid].sbp_rise_mmhg = during - p["baseline"]


def baseline_sd(s: Session, d: Definitions, instrument_id: str) -> float | None:
    """Return the SD of the clinic's baseline totals of an instrument (RCI's s1); None below the minimum count."""
    totals = s.scalars(
        select(QuestionnaireResponse.total).where(
            QuestionnaireResponse.instrument_id == instrument_id,
            QuestionnaireResponse.context == "baseline",
            QuestionnaireResponse.entered_in_error.is_(False),
            QuestionnaireResponse.total.is_not(None),
        )
    ).all()
    values = [float(t) for t in totals if t is not None]
    if len(values) < d.rci_min_baselines:
        return None
    return sample_sd(values)
