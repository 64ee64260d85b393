"""Side effects, graded 1 mild ... 5 death (rescue medication and resolving side effects: `formulary`)."""

from __future__ import annotations

from datetime import datetime

from ketacare.domain.sessions import (
    SideEffect,
)
from ketacare.domain.sessions.side_effects import grade_label
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.common import board_changes, open_session, refuse_if_signed
from ketacare.services.sessions.schemas import (
    SideEffectCreate,
    SideEffectResult,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.sessions import (
    InfusionSession,
    SideEffectRow,
)


def _minutes_from(sess: InfusionSession, at: datetime) -> float:
    t0 = sess.infusion_started_at or sess.checked_in_at or sess.scheduled_at
    return (at - t0).total_seconds() / 60.0


def add_side_effect(
    *, db: Database, actor: Actor, session_id: int, data: SideEffectCreate
) -> SideEffectResult:
    """Record a side effect with its grade (1 mild ... 5 death), onset and resolution."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        refuse_if_signed(s, sess)
        now = clock.now()
        onset = data.onset_at or now
        SideEffect(
            type=data.type,  # type: ignore[arg-type]
            grade=data.grade,
            onset_min=_minutes_from(sess, onset),
            resolved_min=None if data.resolved_at is None else _minutes_from(sess, data.resolved_at),
            description=data.description,
        )
        row = SideEffectRow(
            session_id=sess.id,
            type=data.type,
            grade=data.grade,
            onset_at=onset,
            resolved_at=data.resolved_at,
            description=data.description or None,
            recorded_by=actor.user_id,
            created_at=now,
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create",
            "side_effect",
            row.id,
            patient_id=sess.patient_id,
            details={"type": data.type, "grade": data.grade},
        )
        local = board_changes(uow, sess.id, "checks")
    board_bus.publish_after_commit(db, local)
    return SideEffectResult(id=row.id, type=row.type, grade=row.grade, grade_label=grade_label(row.grade))
