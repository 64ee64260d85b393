"""Due and overdue questionnaires, from the assessment plan (domain), enrolment, session times and answers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import outcomes as domain_outcomes
from ketacare.domain.measurement import load_instrument
from ketacare.domain.measurement.schedule import Answered, DueStatus, due_status, load_plan
from ketacare.services import clock, patients
from ketacare.services.access import Actor
from ketacare.services.measurement.responses import session_times
from ketacare.services.measurement.schemas import DueRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Diagnosis, Patient
from ketacare.store.tables.measurement import QuestionnaireResponse

OPEN = ("due", "overdue")


def statuses_for(
    s: Session, patients: Iterable[Patient], *, now: datetime, plan_id: str = "standard"
) -> dict[int, list[DueStatus]]:
    """Return each patient's plan items with their status (no authorization: callers authorize)."""
    plan = load_plan(plan_id)
    plist = list(patients)
    ids = [p.id for p in plist]
    if not ids:
        return {}
    answered: dict[int, list[Answered]] = {}
    first: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = s.execute(
            select(
                QuestionnaireResponse.patient_id,
                QuestionnaireResponse.instrument_id,
                QuestionnaireResponse.context,
                QuestionnaireResponse.answered_at,
            ).where(
                QuestionnaireResponse.patient_id.in_(chunk), QuestionnaireResponse.entered_in_error.is_(False)
            )
        )
        for pid, iid, ctx, at in rows:
            answered.setdefault(pid, []).append(Answered(iid, ctx, at))
            if pid not in first or at < first[pid]:
                first[pid] = at
    primaries = primary_instruments(s, ids)
    out = {}
    for p in plist:
        enrolled = min(p.created_at, first.get(p.id, p.created_at))
        out[p.id] = due_status(
            plan,
            enrolled_at=enrolled,
            sessions=session_times(s, p.id),
            answered=answered.get(p.id, []),
            now=now,
            primaries=primaries[p.id],
        )
    return out


def primary_instruments(s: Session, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Return each patient's primary instruments: one per active diagnosis (oldest first), else the default."""
    defs = _outcome_definitions(s)
    concepts: dict[int, list[str]] = {}
    for start in range(0, len(ids), 500):
        rows = s.execute(
            select(Diagnosis.patient_id, Diagnosis.concept)
            .where(Diagnosis.patient_id.in_(ids[start : start + 500]), Diagnosis.status == "active")
            .order_by(Diagnosis.created_at, Diagnosis.id)
        )
        for pid, concept in rows:
            concepts.setdefault(pid, []).append(concept)
    out: dict[int, tuple[str, ...]] = {}
    for pid in ids:
        found = [defs.primary_instrument(c) for c in concepts.get(pid, [])] or [defs.primary_default]
        out[pid] = tuple(dict.fromkeys(found))
    return out


def _reads(p: Patient, statuses: list[DueStatus], wanted: tuple[str, ...]) -> list[DueRead]:
    return [
        DueRead(
            patient_id=p.id,
            patient_name=f"{p.family_name}, {p.given_name}",
            mrn=p.mrn,
            key=st.item.key,
            instrument_id=st.item.instrument_id,
            instrument_name=load_instrument(st.item.instrument_id).short_name,
            context=st.item.context,
            rater=st.item.rater,
            opens_at=st.item.opens_at,
            overdue_at=st.item.overdue_at,
            expires_at=st.item.expires_at,
            status=st.status,
        )
        for st in statuses
        if st.status in wanted
    ]


def due_list(
    *,
    db: Database,
    actor: Actor,
    clinician_id: int | None = None,
    statuses: tuple[str, ...] = OPEN,
    limit: int = 500,
) -> list[DueRead]:
    """List due and overdue questionnaires across patients (optionally one clinician's care-team patients),
    overdue first; expired forms (a pre-session form after its session started) are never listed."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores")
        s = uow.session
        q = select(Patient)
        if clinician_id is not None:  # the clinician's patients: care team or primary clinician
            q = q.where(Patient.id.in_(patients.my_patient_ids(clinician_id)))
        plist = list(s.scalars(q.order_by(Patient.family_name_norm, Patient.id)))
        sts = statuses_for(s, plist, now=clock.now())
        out: list[DueRead] = []
        for p in plist:
            out.extend(_reads(p, sts.get(p.id, []), statuses))
        out.sort(key=lambda d: (d.status != "overdue", d.overdue_at if d.status == "overdue" else d.opens_at))
        uow.audit("list", "questionnaire_due", details={"items": len(out), "clinician_id": clinician_id})
        return out[:limit]


def my_due(*, db: Database, actor: Actor) -> list[DueRead]:
    """List the questionnaires a patient may fill in now (patient-rated, due or overdue), for the portal."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores", patient_id=actor.patient_id)
        s = uow.session
        p = s.get(Patient, actor.patient_id)
        if p is None:
            return []
        sts = statuses_for(s, [p], now=clock.now())
        items = [d for d in _reads(p, sts.get(p.id, []), OPEN) if d.rater == "patient"]
        uow.audit("list", "questionnaire_due", patient_id=p.id, details={"items": len(items)})
        return items


def _outcome_definitions(s: Session) -> domain_outcomes.Definitions:
    """Return the outcome definitions in force (imported here: the outcomes capability reads measurement)."""
    from ketacare.services import outcomes

    return outcomes.in_force_in(s)
