"""Therapy goals tracked across visits: add a goal, record progress (status and what was seen)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.therapy import check_goal_status, goal_statuses
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.therapy.common import patient_or_404
from ketacare.services.therapy.schemas import GoalCreate, GoalProgressRead, GoalRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.therapy import TherapyGoal, TherapyGoalProgress


def goal_reads(s: Session, patient_id: int, visible_note_ids: set[int]) -> list[GoalRead]:
    """Return the patient's goals with their progress; progress written with a note the reader may not open is
    left out (it belongs to that private note)."""
    goals = list(s.scalars(select(TherapyGoal).where(TherapyGoal.patient_id == patient_id).order_by(TherapyGoal.id)))
    progress: dict[int, list[GoalProgressRead]] = {}
    if goals:
        rows = s.scalars(
            select(TherapyGoalProgress)
            .where(TherapyGoalProgress.goal_id.in_([g.id for g in goals]))
            .order_by(TherapyGoalProgress.at, TherapyGoalProgress.id)
        )
        for r in rows:
            if r.note_id is None or r.note_id in visible_note_ids:
                progress.setdefault(r.goal_id, []).append(
                    GoalProgressRead(status=r.status, progress=r.progress, at=r.at, note_id=r.note_id)
                )
    labels = goal_statuses()
    return [
        GoalRead(
            id=g.id,
            goal=g.goal,
            status=g.status,
            status_label=labels.get(g.status, g.status),
            created_at=g.created_at,
            updated_at=g.updated_at,
            version=g.version,
            progress=progress.get(g.id, []),
        )
        for g in goals
    ]


def add_goal(*, db: Database, actor: Actor, patient_id: int, data: GoalCreate) -> GoalRead:
    """Add a therapy goal for a patient."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "therapy", patient_id=patient_id)
        s, now = uow.session, clock.now()
        patient_or_404(s, patient_id)
        check_goal_status(data.status)
        if actor.user_id is None:
            raise InvalidValue("goal", "a goal needs a person's own account: sign in as yourself")
        g = TherapyGoal(
            patient_id=patient_id, goal=data.goal, status=data.status, created_by=actor.user_id,
            created_at=now, updated_at=now,
        )
        s.add(g)
        s.flush()
        uow.audit("create", "therapy_goal", g.id, patient_id=patient_id, details={"status": g.status})
        return next(r for r in goal_reads(s, patient_id, set()) if r.id == g.id)
