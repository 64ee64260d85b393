"""Relapse flags for the prescriber's dashboard: plans in force whose response is weakening or was lost, with the
proposed action (data: `domain/plans/data/relapse.toml`)."""

from __future__ import annotations

from ketacare.services import clock, patients
from ketacare.services.access import Actor
from ketacare.services.plans.plans import read_plan
from ketacare.services.plans.progress import build_course, plan_rows_in_force, relapse_of
from ketacare.services.plans.schemas import RelapseFlag
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.patients import Patient


def relapse_flags(*, db: Database, actor: Actor, mine: bool = True) -> list[RelapseFlag]:
    """Return the flagged plans of the actor's patients (care team; all patients when `mine` is False)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "treatment_plan")
        s, now = uow.session, clock.now()
        ids = (
            list(s.scalars(patients.my_patient_ids(actor.user_id)))
            if mine and actor.user_id is not None
            else None
        )
        out: list[RelapseFlag] = []
        for row in plan_rows_in_force(s, None if ids is None else sorted(ids)):
            rel = relapse_of(build_course(s, read_plan(s, row), now), now)
            if not rel.flagged:
                continue
            p = s.get(Patient, row.patient_id)
            if p is None:
                continue
            out.append(
                RelapseFlag(
                    patient_id=p.id,
                    patient_name=f"{p.family_name}, {p.given_name}",
                    mrn=p.mrn,
                    plan_id=row.id,
                    state=rel.state,
                    action=rel.action,
                    action_text=rel.action_text,
                    latest_change_pct=rel.latest_change_pct,
                )
            )
        if out:
            uow.audit("list", "treatment_plan", None, details={"relapse_flags": [f.patient_id for f in out]})
        return out
