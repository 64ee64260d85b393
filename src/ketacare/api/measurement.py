"""Measurement-based care endpoints: questionnaire responses, scores, links, due lists, safety alerts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep, RecordId, SettingsDep, in_thread
from ketacare.domain.measurement import all_instruments
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.measurement import links as measurement_links
from ketacare.services.measurement import responses as measurement
from ketacare.services.measurement import schedule as measurement_schedule
from ketacare.services.measurement.schemas import (
    AlertAcknowledge,
    AlertRead,
    DueRead,
    InstrumentItemRead,
    InstrumentRead,
    LinkCreate,
    LinkRead,
    ResponseCreate,
    ResponseRead,
    ScoreHistory,
    ScoreSummary,
)
from ketacare.services.patients import InErrorReason
from ketacare.services.uow import UnitOfWork

router = APIRouter(tags=["measurement"])
ReadScores = Access("scores", "read")
WriteScores = Access("scores", "write")
# What the routes can answer besides success: every route needs a login and a role allowed by the policy.
ANY = error_responses(401, 403)
LIST = error_responses(401, 403, 422)
ONE = error_responses(401, 403, 404, 422)
EDIT = error_responses(401, 403, 404, 409, 422)


@router.get("/instruments", response_model=list[InstrumentRead], responses=ANY)
def list_instruments(actor: Actor = Depends(Access("codes", "read"))) -> list[InstrumentRead]:
    """List the validated instruments (id, name, rater, items and allowed answers where licensed)."""
    return [
        InstrumentRead(
            id=i.id,
            short_name=i.short_name,
            name=i.name,
            version=i.version,
            rater=i.rater,
            items=[
                InstrumentItemRead(id=it.id, text=it.text, values=list(it.values), labels=list(it.labels))
                for it in i.items
            ],
        )
        for i in all_instruments()
    ]


@router.post("/patients/{patient_id}/responses", response_model=ResponseRead, status_code=201, responses=ONE)
async def submit_response(
    patient_id: RecordId, data: ResponseCreate, db: DbDep, actor: Actor = Depends(WriteScores)
) -> ResponseRead:
    """Store a questionnaire's item answers; the total, band and flags are recomputed (never sent)."""
    return await in_thread(measurement.submit_response, db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/patients/{patient_id}/responses", response_model=list[ResponseRead], responses=ONE)
def list_responses(
    patient_id: RecordId,
    db: DbDep,
    instrument_id: str | None = Query(None, max_length=32),
    actor: Actor = Depends(ReadScores),
) -> list[ResponseRead]:
    """List a patient's questionnaire responses with every item answer, newest first."""
    return measurement.list_responses(db=db, actor=actor, patient_id=patient_id, instrument_id=instrument_id)


@router.get("/patients/{patient_id}/scores/latest", response_model=list[ScoreSummary], responses=ONE)
def latest(patient_id: RecordId, db: DbDep, actor: Actor = Depends(ReadScores)) -> list[ScoreSummary]:
    """Return the newest score per instrument."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "scores", patient_id=patient_id)
        out = measurement.latest_scores(uow.session, patient_id)
        uow.audit("view", "score_summary", patient_id=patient_id, details={"instruments": len(out)})
    return out


@router.get("/patients/{patient_id}/scores/history", response_model=ScoreHistory, responses=ONE)
def history(patient_id: RecordId, db: DbDep, actor: Actor = Depends(ReadScores)) -> ScoreHistory:
    """Return each instrument's totals over time, change from baseline and response/remission outcomes."""
    return measurement.score_history(db=db, actor=actor, patient_id=patient_id)


@router.post(
    "/patients/{patient_id}/questionnaire-links", response_model=LinkRead, status_code=201, responses=ONE
)
def create_link(
    patient_id: RecordId,
    data: LinkCreate,
    db: DbDep,
    settings: SettingsDep,
    actor: Actor = Depends(WriteScores),
) -> LinkRead:
    """Issue a signed one-time questionnaire link bound to this patient, instrument and due date."""
    return measurement_links.issue_link(
        db=db, actor=actor, settings=settings, patient_id=patient_id, data=data
    )


@router.get("/questionnaires/due", response_model=list[DueRead], responses=ONE)
def due(
    db: DbDep,
    mine: bool = False,
    status: str = Query("due,overdue", description="comma-separated: due, overdue, upcoming, done, expired"),
    actor: Actor = Depends(Access("scores", "read", patient_param=None)),
) -> list[DueRead]:
    """List due and overdue questionnaires across patients (`mine=true`: the actor's own patients)."""
    wanted = tuple(x.strip() for x in status.split(",") if x.strip())
    return measurement_schedule.due_list(
        db=db, actor=actor, clinician_id=actor.user_id if mine else None, statuses=wanted
    )


@router.get("/safety-alerts", response_model=list[AlertRead], responses=LIST)
def alerts(
    db: DbDep, mine: bool = True, actor: Actor = Depends(Access("safety_alert", "read"))
) -> list[AlertRead]:
    """List open urgent safety alerts (your own and unassigned ones by default)."""
    return measurement.list_alerts(db=db, actor=actor, mine=mine)


@router.post("/safety-alerts/{alert_id}/acknowledge", response_model=AlertRead, responses=EDIT)
def acknowledge(
    alert_id: RecordId,
    data: AlertAcknowledge,
    db: DbDep,
    actor: Actor = Depends(Access("safety_alert", "acknowledge")),
) -> AlertRead:
    """Acknowledge an urgent alert with the action taken; send the `version` you read."""
    return measurement.acknowledge_alert(db=db, actor=actor, alert_id=alert_id, data=data)


@router.post(
    "/patients/{patient_id}/responses/{response_id}/entered-in-error",
    response_model=ResponseRead,
    responses=ONE,
)
def mark_response_entered_in_error(
    patient_id: RecordId,
    response_id: RecordId,
    data: InErrorReason,
    db: DbDep,
    actor: Actor = Depends(Access("scores", "write")),
) -> ResponseRead:
    """Set a questionnaire response aside as entered in error, with a reason: kept, out of trends and due lists."""
    return measurement.mark_response_entered_in_error(
        db=db, actor=actor, patient_id=patient_id, response_id=response_id, data=data
    )
