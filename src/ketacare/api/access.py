"""Users, the audit trail and a patient's access log."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor, audit_views, users
from ketacare.services.access.schemas import AuditEventRead, UserCreate, UserRead
from ketacare.services.refs import MAX_RECORD_ID

router = APIRouter(tags=["admin"])
# What the routes can answer besides success: every route needs a login and a role allowed by the policy.
ANY = error_responses(401, 403)
LIST = error_responses(401, 403, 422)
ONE = error_responses(401, 403, 404, 422)


@router.get("/users", response_model=list[UserRead], responses=ANY)
def list_users(db: DbDep, actor: Actor = Depends(Access("user", "list"))) -> list[UserRead]:
    """List accounts."""
    return users.list_users(db=db, actor=actor)


@router.post("/users", response_model=UserRead, status_code=201, responses=LIST)
def create_user(data: UserCreate, db: DbDep, actor: Actor = Depends(Access("user", "create"))) -> UserRead:
    """Create an account (password policy applies)."""
    return users.create_user(db=db, actor=actor, data=data)


@router.get("/audit/events", response_model=list[AuditEventRead], responses=LIST)
def audit_events(
    db: DbDep,
    username: str | None = None,
    patient_id: int | None = Query(None, ge=1, le=MAX_RECORD_ID),
    action: str | None = None,
    outcome: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = Query(100, ge=1, le=500),
    actor: Actor = Depends(Access("audit", "read", patient_param=None)),
) -> list[AuditEventRead]:
    """Read the audit trail, newest first, with filters."""
    return audit_views.list_events(
        db=db,
        actor=actor,
        username=username,
        patient_id=patient_id,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
    )


@router.get("/patients/{patient_id}/access-log", response_model=list[AuditEventRead], responses=ONE)
def access_log(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("access_log", "read"))
) -> list[AuditEventRead]:
    """Who viewed or changed this patient's record (patients see their own)."""
    return audit_views.access_log(db=db, actor=actor, patient_id=patient_id)
