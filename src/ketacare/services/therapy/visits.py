"""Integration visits due after infusions (the clinic's window, data): for "my patients" and for one patient."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.therapy import visit_status, visit_window, window_bounds
from ketacare.services import clock, patients
from ketacare.services.access import Actor
from ketacare.services.therapy.common import infusions, patient_name
from ketacare.services.therapy.schemas import VisitDue
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession
from ketacare.store.tables.therapy import TherapyNote

ORDER = {"overdue": 0, "due": 1, "upcoming": 2, "done": 3, "expired": 4}


def visits_for(s: Session, patient_ids: Iterable[int] | None, now: datetime, *, include_done: bool) -> list[VisitDue]:
    """Return the integration visit after each recent infusion of `patient_ids` (None: every patient of the
    query the caller built), most urgent first (no authorization here)."""
    window = visit_window()
    since = now - timedelta(days=window.lookback_days)
    q = select(InfusionSession.patient_id).where(
        InfusionSession.infusion_ended_at.is_not(None), InfusionSession.infusion_ended_at >= since
    )
    if patient_ids is not None:
        q = q.where(InfusionSession.patient_id.in_(list(patient_ids)))
    wanted = sorted(set(s.scalars(q)))
    if not wanted:
        return []
    covered = set(
        s.scalars(
            select(TherapyNote.session_id).where(
                TherapyNote.patient_id.in_(wanted),
                TherapyNote.kind == "integration",
                TherapyNote.session_id.is_not(None),
            )
        )
    )
    people = {p.id: p for p in s.scalars(select(Patient).where(Patient.id.in_(wanted)))}
    out: list[VisitDue] = []
    for pid in wanted:
        for ref in infusions(s, pid):
            if ref.ended_at is None or ref.ended_at < since:
                continue
            status = visit_status(ref.ended_at, now, window, has_note=ref.session_id in covered)
            if status == "expired" or (status == "done" and not include_done):
                continue
            due_from, due_by = window_bounds(ref.ended_at, window)
            p = people[pid]
            out.append(
                VisitDue(
                    patient_id=pid, patient_name=patient_name(p), mrn=p.mrn, infusion=ref, due_from=due_from,
                    due_by=due_by, status=status,
                )
            )
    out.sort(key=lambda v: (ORDER[v.status], v.due_by))
    return out


def integration_visits_due(*, db: Database, actor: Actor, mine: bool = True) -> list[VisitDue]:
    """List integration visits upcoming, due or overdue after recent infusions, for the actor's care-team
    patients (`mine`) or the whole clinic."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "therapy")
        s = uow.session
        ids = list(s.scalars(patients.my_patient_ids(actor.user_id))) if mine and actor.user_id else None
        out = visits_for(s, ids, clock.now(), include_done=False) if ids is None or ids else []
        uow.audit("list", "integration_visit", details={"mine": mine, "count": len(out)})
        return out
