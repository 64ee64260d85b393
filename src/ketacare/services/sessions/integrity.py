"""Check every signed session record at once (after a restore, or on demand)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.services.sessions.record import verify_record
from ketacare.store.tables.sessions import InfusionSession, SessionSignature


def verify_signed_records(s: Session) -> tuple[int, list[str]]:
    """Verify every signed session record; return how many were checked and what is wrong, session by session."""
    ids = s.scalars(
        select(SessionSignature.session_id).distinct().order_by(SessionSignature.session_id)
    ).all()
    problems: list[str] = []
    for sid in ids:
        sess = s.get(InfusionSession, sid)
        if sess is None:
            problems.append(f"session {sid}: signed but missing")
            continue
        check = verify_record(s, sess)
        problems.extend(f"session {sid}: {p}" for p in check.problems)
    return len(ids), problems
