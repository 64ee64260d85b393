"""Break-glass: emergency access to clinical records with a reason, for a limited time, reviewed afterwards."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.services import clock
from ketacare.services.access.actor import Actor
from ketacare.services.access.schemas import BreakGlassRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.account_admin import BreakGlass

DURATIONS_MIN = (15, 30, 60)  # what the form offers; the longest is the limit
MIN_REASON_CHARS = 10


def open_window(s: Session, user_id: int, now: datetime) -> bool:
    """Return True when `user_id` has an open break-glass window."""
    return (
        s.scalar(
            select(BreakGlass.id)
            .where(BreakGlass.user_id == user_id, BreakGlass.ended_at.is_(None), BreakGlass.expires_at > now)
            .limit(1)
        )
        is not None
    )


def _read(s: Session, row: BreakGlass) -> BreakGlassRead:
    end = row.ended_at or min(row.expires_at, clock.now())
    events = s.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.actor_user_id == row.user_id,
            AuditEvent.occurred_at >= row.started_at,
            AuditEvent.occurred_at <= end,
            AuditEvent.patient_id.is_not(None),
        )
    )
    r = BreakGlassRead.model_validate(row)
    r.events = int(events or 0)
    return r


def start(*, db: Database, actor: Actor, reason: str, minutes: int) -> BreakGlassRead:
    """Open an emergency access window for the actor (reason required; flagged for review)."""
    errors: dict[str, str] = {}
    reason = " ".join((reason or "").split())
    if len(reason) < MIN_REASON_CHARS:
        errors["reason"] = "say why you need emergency access (at least 10 characters)"
    if minutes not in DURATIONS_MIN:
        errors["minutes"] = f"choose {', '.join(str(m) for m in DURATIONS_MIN)} minutes"
    if errors:
        raise InvalidValues(errors)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("break_glass", "emergency_access")
        if actor.user_id is None:  # the policy grants break-glass to accounts only
            raise InvalidValue("reason", "emergency access is for a person's own login")
        now = clock.now()
        row = BreakGlass(
            user_id=actor.user_id,
            username=actor.username,
            reason=reason,
            started_at=now,
            expires_at=now + timedelta(minutes=minutes),
        )
        uow.session.add(row)
        uow.session.flush()
        uow.audit("break_glass", "emergency_access", row.id, reason=reason, details={"minutes": minutes})
        return _read(uow.session, row)


def end(*, db: Database, actor: Actor) -> None:
    """Close the actor's open break-glass window now."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("break_glass", "emergency_access")
        now = clock.now()
        rows = uow.session.scalars(
            select(BreakGlass).where(
                BreakGlass.user_id == actor.user_id,
                BreakGlass.ended_at.is_(None),
                BreakGlass.expires_at > now,
            )
        ).all()
        for row in rows:
            row.ended_at = now
            uow.audit("update", "emergency_access", row.id, details={"ended": True})


def current(*, db: Database, actor: Actor) -> BreakGlassRead | None:
    """Return the actor's open window, if any."""
    with db.session() as s:
        row = s.scalar(
            select(BreakGlass).where(
                BreakGlass.user_id == actor.user_id,
                BreakGlass.ended_at.is_(None),
                BreakGlass.expires_at > clock.now(),
            )
        )
        return None if row is None else _read(s, row)


def list_windows(*, db: Database, actor: Actor, limit: int = 100) -> list[BreakGlassRead]:
    """Return break-glass windows, those not yet reviewed first (the security page)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "security")
        rows = uow.session.scalars(
            select(BreakGlass)
            .order_by(BreakGlass.reviewed_at.is_not(None), BreakGlass.started_at.desc())
            .limit(limit)
        ).all()
        return [_read(uow.session, r) for r in rows]


def review(*, db: Database, actor: Actor, window_id: int, note: str) -> BreakGlassRead:
    """Record an administrator's review of one break-glass window."""
    note = " ".join((note or "").split())
    if not note:
        raise InvalidValue(
            "note", "write what the review found (e.g. justified: patient collapsed in waiting room)"
        )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("review", "security")
        row = uow.session.get(BreakGlass, window_id)
        if row is None:
            raise InvalidValue("window", "no break-glass access has that id")
        if row.reviewed_at is not None:
            raise InvalidValue("note", f"already reviewed by {row.reviewed_by}")
        row.reviewed_by, row.reviewed_at, row.review_note = actor.username, clock.now(), note
        uow.audit("review", "emergency_access", row.id, reason=note)
        return _read(uow.session, row)
