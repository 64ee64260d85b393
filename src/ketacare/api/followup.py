"""Follow-up and discharge instructions (issue 16): the rapid response per session, the next-day calls, the
clinic's discharge instructions (versions) and their acknowledgements at discharge."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import plans
from ketacare.services.access import Actor

router = APIRouter(tags=["plans"])
Scores = Access("scores", "read")
Calls = Access("followup_call", "list")
CallRead = Access("followup_call", "read")
CallWrite = Access("followup_call", "write")
InstructionsRead = Access("discharge_instructions", "read")
InstructionsUpdate = Access("discharge_instructions", "update")
SheetRead = Access("discharge_sheet", "read")
Chart = Access("infusion_session", "chart")


@router.get(
    "/patients/{patient_id}/rapid-response",
    response_model=list[plans.SessionResponse],
    responses=error_responses(401, 403, 404, 422),
)
def get_rapid_response(
    patient_id: int, db: DbDep, instrument_id: str | None = Query(None), actor: Actor = Depends(Scores)
) -> list[plans.SessionResponse]:
    """Each dosing session's baseline, 4 h and 24 h scores, percent change and rapid-response verdict with why."""
    return plans.rapid_response_for_patient(db=db, actor=actor, patient_id=patient_id, instrument_id=instrument_id)


@router.get("/followup/calls", response_model=list[plans.CallTask], responses=error_responses(401, 403))
def get_calls(db: DbDep, actor: Actor = Depends(Calls)) -> list[plans.CallTask]:
    """The next-day calls due today and overdue (then those done today), with the due time (UTC)."""
    return plans.call_tasks(db=db, actor=actor)


@router.post(
    "/sessions/{session_id}/followup-calls",
    response_model=plans.CallRead,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
def post_call(session_id: int, data: plans.CallCreate, db: DbDep, actor: Actor = Depends(CallWrite)) -> plans.CallRead:
    """Record a call attempt: not reached, or reached with every answer (a risk answer raises a safety alert)."""
    return plans.record_call(db=db, actor=actor, session_id=session_id, data=data)


@router.get(
    "/patients/{patient_id}/followup-calls",
    response_model=list[plans.CallRead],
    responses=error_responses(401, 403, 404, 422),
)
def get_patient_calls(patient_id: int, db: DbDep, actor: Actor = Depends(CallRead)) -> list[plans.CallRead]:
    """Every next-day call of a patient, newest first."""
    return plans.calls_for_patient(db=db, actor=actor, patient_id=patient_id)


@router.get(
    "/clinic/discharge-instructions",
    response_model=plans.InstructionsRead,
    responses=error_responses(401, 403),
)
def get_instructions(db: DbDep, actor: Actor = Depends(InstructionsRead)) -> plans.InstructionsRead:
    """The discharge instructions in force (version 0: the shipped text)."""
    return plans.current_instructions(db=db, actor=actor)


@router.put(
    "/clinic/discharge-instructions",
    response_model=plans.InstructionsRead,
    responses=error_responses(401, 403, 409, 422),
)
def put_instructions(
    data: plans.InstructionsUpdate, db: DbDep, actor: Actor = Depends(InstructionsUpdate)
) -> plans.InstructionsRead:
    """Save a new version: heading and sections, the version it replaces (`base_version`) and the reason."""
    return plans.save_instructions(db=db, actor=actor, data=data)


@router.get(
    "/clinic/discharge-instructions/history",
    response_model=list[plans.InstructionsRead],
    responses=error_responses(401, 403),
)
def get_instructions_history(db: DbDep, actor: Actor = Depends(InstructionsRead)) -> list[plans.InstructionsRead]:
    """Every version, newest first, ending with the shipped text (version 0)."""
    return plans.instructions_history(db=db, actor=actor)


@router.get(
    "/sessions/{session_id}/discharge-instructions",
    response_model=plans.DischargeSheet,
    responses=error_responses(401, 403, 404, 422),
)
def get_sheet(session_id: int, db: DbDep, actor: Actor = Depends(SheetRead)) -> plans.DischargeSheet:
    """The instructions of a session (clinic's phone and crisis lines filled in) and its acknowledgements."""
    return plans.discharge_sheet(db=db, actor=actor, session_id=session_id)


@router.post(
    "/sessions/{session_id}/discharge-acknowledgements",
    response_model=plans.DischargeSheet,
    status_code=201,
    responses=error_responses(401, 403, 404, 422),
)
def post_acknowledgement(
    session_id: int, data: plans.AcknowledgementIn, db: DbDep, actor: Actor = Depends(Chart)
) -> plans.DischargeSheet:
    """The patient or the escort acknowledged the instructions (typed name, the version read)."""
    return plans.acknowledge(db=db, actor=actor, session_id=session_id, data=data)
