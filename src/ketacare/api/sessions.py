"""Infusion-session endpoints: schedule, transitions, checks, pump events, vitals (nurse and gateway batches),
alerts, side effects, rescue, signing and addenda, and the live board snapshot."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ketacare.api.deps import DbDep, RecordId, in_thread
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.patients import InErrorReason
from ketacare.services.sessions import (
    alerts,
    formulary,
    pump,
    record,
    side_effects,
    vital_corrections,
    vitals,
    workflow,
)
from ketacare.services.sessions import board as board_reads
from ketacare.services.sessions.schemas import (
    AddendumCreate,
    AddendumResult,
    AlertAck,
    AlertRead,
    BatchResult,
    BoardChair,
    InfusionEventCreate,
    InfusionEventResult,
    SessionChecks,
    SessionCreate,
    SessionDetail,
    SessionListItem,
    SessionSummary,
    SideEffectCreate,
    SideEffectResult,
    SignatureRead,
    SignRequest,
    TransitionRead,
    TransitionRequest,
    VitalBatch,
    VitalIn,
    VitalRead,
)

router = APIRouter(tags=["infusion sessions"])
Read = Access("infusion_session", "read")
Chart = Access("infusion_session", "chart")
# What a write to one session can answer besides success: not signed in, role not allowed, no such session,
# a refused field (nothing stored).
WRITE = error_responses(401, 403, 404, 422)
REFUSED_TRANSITION: dict[int | str, dict[str, Any]] = {
    409: {
        "model": TransitionRead,
        "description": "The event was refused: every failed check, nothing changed",
    }
}


@router.post("/sessions", status_code=201, response_model=SessionSummary, responses=WRITE)
def create_session(data: SessionCreate, db: DbDep, actor: Actor = Depends(Chart)) -> SessionSummary:
    """Schedule a session (patient, chair, product, time; planned dose if known)."""
    return workflow.create_session(db=db, actor=actor, data=data)


@router.get("/sessions", response_model=list[SessionListItem], responses=error_responses(401, 403, 422))
def list_sessions(db: DbDep, state: str | None = None, actor: Actor = Depends(Read)) -> list[SessionListItem]:
    """List sessions, newest first; `state=infusing,recovery` filters."""
    states = tuple(x for x in (state or "").split(",") if x) or None
    return workflow.list_sessions(db=db, actor=actor, states=states)


@router.get(
    "/sessions/{session_id}", response_model=SessionDetail, responses=error_responses(401, 403, 404, 422)
)
def read_session(session_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> SessionDetail:
    """Read a session: vitals, alerts, transitions, dose delivered vs ordered with the PK curve, guard status."""
    return record.get_session(db=db, actor=actor, session_id=session_id)


@router.patch(
    "/sessions/{session_id}/checks",
    response_model=SessionSummary,
    responses=error_responses(401, 403, 404, 409, 422),
)
def update_checks(
    session_id: RecordId, data: SessionChecks, db: DbDep, actor: Actor = Depends(Chart)
) -> SessionSummary:
    """Record pre-check confirmations and discharge assessments (send the version you read)."""
    return workflow.update_checks(db=db, actor=actor, session_id=session_id, data=data)


@router.post(
    "/sessions/{session_id}/transitions",
    response_model=TransitionRead,
    responses={**WRITE, **REFUSED_TRANSITION},
)
def transition(
    session_id: RecordId, data: TransitionRequest, db: DbDep, actor: Actor = Depends(Chart)
) -> TransitionRead | JSONResponse:
    """Apply an event (check_in, pass_prechecks, start_infusion, ...). A refusal answers 409 with every failed
    check; an override names the checks and gives a reason."""
    result = workflow.apply_event(db=db, actor=actor, session_id=session_id, data=data)
    if not result.allowed:
        return JSONResponse(result.model_dump(), status_code=409)
    return result


@router.post(
    "/sessions/{session_id}/infusion-events",
    status_code=201,
    response_model=InfusionEventResult,
    responses=WRITE,
)
def add_infusion_event(
    session_id: RecordId, data: InfusionEventCreate, db: DbDep, actor: Actor = Depends(Chart)
) -> InfusionEventResult:
    """Record a pump event; answers the dose delivered so far."""
    return pump.add_infusion_event(db=db, actor=actor, session_id=session_id, data=data)


@router.post("/sessions/{session_id}/vitals", response_model=BatchResult, status_code=201, responses=WRITE)
def add_vitals(session_id: RecordId, data: VitalIn, db: DbDep, actor: Actor = Depends(Chart)) -> BatchResult:
    """Record one reading (nurse entry); alerts are evaluated at once."""
    return vitals.record_session_reading(db=db, actor=actor, session_id=session_id, data=data)


@router.post("/sessions/{session_id}/vitals/batch", response_model=BatchResult, responses=WRITE)
async def add_vitals_batch(
    session_id: RecordId, data: VitalBatch, db: DbDep, actor: Actor = Depends(Chart)
) -> BatchResult:
    """Monitor gateway: many readings, each with a client id and device time; a retried batch stores once."""
    return await in_thread(vitals.record_batch, db=db, actor=actor, session_id=session_id, readings=data.readings)


@router.post(
    "/sessions/{session_id}/alerts/{alert_id}/acknowledge", response_model=AlertRead, responses=WRITE
)
def acknowledge(
    session_id: RecordId, alert_id: RecordId, data: AlertAck, db: DbDep, actor: Actor = Depends(Chart)
) -> AlertRead:
    """Acknowledge an alarm with the action taken (who and when are recorded); a latched HIGH alarm whose
    condition is over closes, one whose condition persists stays visible until it resolves."""
    return alerts.acknowledge_alert(db=db, actor=actor, session_id=session_id, alert_id=alert_id, data=data)


@router.post(
    "/sessions/{session_id}/side-effects", status_code=201, response_model=SideEffectResult, responses=WRITE
)
def add_side_effect(
    session_id: RecordId, data: SideEffectCreate, db: DbDep, actor: Actor = Depends(Chart)
) -> SideEffectResult:
    """Record a side effect with grade (1 mild ... 5 death) and times."""
    return side_effects.add_side_effect(db=db, actor=actor, session_id=session_id, data=data)


@router.post(
    "/sessions/{session_id}/rescue", status_code=201, response_model=formulary.RescueRead, responses=WRITE
)
def give_rescue(
    session_id: RecordId, data: formulary.RescueGive, db: DbDep, actor: Actor = Depends(Chart)
) -> formulary.RescueRead:
    """Record a rescue dose from the clinic formulary (refused outside the entry's range or session limits)."""
    return formulary.give_rescue(db=db, actor=actor, session_id=session_id, data=data)


@router.post(
    "/sessions/{session_id}/sign", response_model=SignatureRead, responses=error_responses(401, 403, 404, 422, 429)
)
def sign(
    session_id: RecordId, data: SignRequest, db: DbDep, actor: Actor = Depends(Access("infusion_session", "sign"))
) -> SignatureRead:
    """Sign the finished record (nurse, prescriber): the canonical JSON's SHA-256 is stored with the meaning (the
    first signature: authored; the second: approved).

    Signing: send your `password` again (or `totp_code` when your account uses one); a wrong or
    missing one answers 422 naming that field and stores nothing; repeated failures answer 429 with
    Retry-After."""
    return record.sign_session(db=db, actor=actor, session_id=session_id, data=data)


@router.post(
    "/sessions/{session_id}/addenda", status_code=201, response_model=AddendumResult, responses=WRITE
)
def add_addendum(
    session_id: RecordId, data: AddendumCreate, db: DbDep, actor: Actor = Depends(Chart)
) -> AddendumResult:
    """Add a later change to a signed record (never an edit)."""
    return record.add_addendum(db=db, actor=actor, session_id=session_id, data=data)


@router.get("/board", response_model=list[BoardChair], responses=error_responses(401, 403))
def board(db: DbDep, actor: Actor = Depends(Read)) -> list[BoardChair]:
    """Every active chair: latest vitals, trend, infusion progress, alerts, guard status."""
    return board_reads.board_snapshot(db=db, actor=actor)


@router.post("/patients/{patient_id}/vitals", response_model=VitalRead, status_code=201, responses=WRITE)
def add_patient_vitals(
    patient_id: RecordId, data: VitalIn, db: DbDep, actor: Actor = Depends(Access("patient_clinical", "write"))
) -> VitalRead:
    """Record a reading outside a session (context screening by default), e.g. the eligibility BP."""
    return vitals.record_patient_reading(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get(
    "/patients/{patient_id}/vitals",
    response_model=list[VitalRead],
    responses=error_responses(401, 403, 404, 422),
)
def list_patient_vitals(
    patient_id: RecordId,
    db: DbDep,
    context: str | None = None,
    actor: Actor = Depends(Access("patient_clinical", "read")),
) -> list[VitalRead]:
    """List a patient's readings, newest first."""
    return vitals.list_patient_vitals(db=db, actor=actor, patient_id=patient_id, context=context)


@router.post(
    "/sessions/{session_id}/vitals/{vital_id}/entered-in-error", response_model=VitalRead, responses=WRITE
)
def mark_vital_entered_in_error(
    session_id: RecordId, vital_id: RecordId, data: InErrorReason, db: DbDep, actor: Actor = Depends(Chart)
) -> VitalRead:
    """Set a reading aside as entered in error, with a reason: kept, but out of the chart, board and trends."""
    return vital_corrections.mark_vital_entered_in_error(
        db=db, actor=actor, session_id=session_id, vital_id=vital_id, data=data
    )
