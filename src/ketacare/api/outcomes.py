"""Treatment outcomes (issue 18): one patient's outcome summary and the clinic dashboard's aggregates."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import outcomes
from ketacare.services.access import Actor

router = APIRouter(tags=["outcomes"])


@router.get(
    "/patients/{patient_id}/outcome",
    response_model=outcomes.PatientOutcome,
    responses=error_responses(401, 403, 404, 422),
)
def get_patient_outcome(
    patient_id: int, db: DbDep, actor: Actor = Depends(Access("outcome_summary", "read"))
) -> outcomes.PatientOutcome:
    """Baseline, best and latest score on the primary instrument, response and remission with dates, sessions,
    cumulative dose and side effects, and the rules used (with their sources)."""
    return outcomes.patient_outcome(db=db, actor=actor, patient_id=patient_id)


@router.get("/outcomes", response_model=outcomes.Dashboard, responses=error_responses(401, 403, 422))
def get_dashboard(
    filters: Annotated[outcomes.OutcomeFilters, Query()],
    db: DbDep,
    actor: Actor = Depends(Access("outcomes", "read")),
) -> outcomes.Dashboard:
    """The clinic's outcomes for the filtered cohort: flow, rates with 95 % Wilson intervals, trajectories,
    Kaplan-Meier time to relapse, a mixed-effects model, side effects per 100 sessions, blood-pressure rises."""
    return outcomes.dashboard(db=db, actor=actor, filters=filters)
