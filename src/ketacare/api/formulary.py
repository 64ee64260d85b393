"""The clinic's rescue formulary (issue #12): list, add, change and retire entries; mark a side effect resolved."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.sessions import formulary
from ketacare.services.sessions.formulary import (
    FormularyEntryIn,
    FormularyEntryRead,
    FormularyEntryUpdate,
    FormularyRetire,
    SideEffectRead,
    SideEffectResolve,
)

router = APIRouter(tags=["rescue formulary"])
Read = Access("rescue_formulary", "read")
Configure = Access("rescue_formulary", "configure")


@router.get(
    "/rescue-formulary", response_model=list[FormularyEntryRead], responses=error_responses(401, 403, 422)
)
def list_entries(
    db: DbDep, include_retired: bool = True, actor: Actor = Depends(Read)
) -> list[FormularyEntryRead]:
    """The clinic's rescue medicines: active entries first, then retired ones (kept, never deleted)."""
    return formulary.list_entries(db=db, actor=actor, include_retired=include_retired)


@router.post(
    "/rescue-formulary",
    response_model=FormularyEntryRead,
    status_code=201,
    responses=error_responses(401, 403, 422),
)
def add_entry(data: FormularyEntryIn, db: DbDep, actor: Actor = Depends(Configure)) -> FormularyEntryRead:
    """Add an entry (prescribers): drug, route, dose range with unit, limits per session, approver, source."""
    return formulary.add_entry(db=db, actor=actor, data=data)


@router.get(
    "/rescue-formulary/{entry_id}",
    response_model=FormularyEntryRead,
    responses=error_responses(401, 403, 404, 422),
)
def get_entry(entry_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> FormularyEntryRead:
    """One entry, active or retired."""
    return formulary.get_entry(db=db, actor=actor, entry_id=entry_id)


@router.put(
    "/rescue-formulary/{entry_id}",
    response_model=FormularyEntryRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_entry(
    entry_id: RecordId, data: FormularyEntryUpdate, db: DbDep, actor: Actor = Depends(Configure)
) -> FormularyEntryRead:
    """Change an active entry; send the version you read (a stale edit answers 409 with the current version)."""
    return formulary.update_entry(db=db, actor=actor, entry_id=entry_id, data=data)


@router.post(
    "/rescue-formulary/{entry_id}/retire",
    response_model=FormularyEntryRead,
    responses=error_responses(401, 403, 404, 409, 422),
)
def retire_entry(
    entry_id: RecordId, data: FormularyRetire, db: DbDep, actor: Actor = Depends(Configure)
) -> FormularyEntryRead:
    """Retire an entry with a reason: kept for the record, no longer offered for new doses."""
    return formulary.retire_entry(db=db, actor=actor, entry_id=entry_id, data=data)


@router.post(
    "/sessions/{session_id}/side-effects/{side_effect_id}/resolve",
    response_model=SideEffectRead,
    responses=error_responses(401, 403, 404, 422),
)
def resolve_side_effect(
    session_id: RecordId,
    side_effect_id: RecordId,
    data: SideEffectResolve,
    db: DbDep,
    actor: Actor = Depends(Access("infusion_session", "chart")),
) -> SideEffectRead:
    """Mark a side effect resolved: when (default now) and how."""
    return formulary.resolve_side_effect(
        db=db, actor=actor, session_id=session_id, side_effect_id=side_effect_id, data=data
    )
