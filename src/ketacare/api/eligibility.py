"""Eligibility screening endpoints (issue #5): latest evaluation, (re-)evaluate, prescriber review, answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.services.access import Actor
from ketacare.services.eligibility import screening as eligibility
from ketacare.services.eligibility.schemas import (
    EvaluateResult,
    EvaluationRead,
    ReviewIn,
    ScreeningAnswerRead,
    ScreeningAnswersIn,
)

router = APIRouter(prefix="/patients/{patient_id}/eligibility", tags=["eligibility"])


@router.get("", response_model=EvaluationRead | None)
def latest(patient_id: int, db: DbDep, actor: Actor = Depends(Access("eligibility", "read"))):
    """Return the newest stored evaluation (decision, findings, missing facts, stage, review), or null."""
    return eligibility.latest_evaluation(db=db, actor=actor, patient_id=patient_id)


@router.post("/evaluate", response_model=EvaluateResult)
def evaluate(patient_id: int, db: DbDep, actor: Actor = Depends(Access("eligibility", "evaluate"))):
    """Evaluate the record now with the clinic's rule set; a new row is stored only when something changed."""
    return eligibility.evaluate_patient(db=db, actor=actor, patient_id=patient_id)


@router.post("/{evaluation_id}/review", response_model=EvaluationRead)
def review(
    patient_id: int,
    evaluation_id: int,
    data: ReviewIn,
    db: DbDep,
    actor: Actor = Depends(Access("eligibility", "decide")),
):
    """Accept the decision, or override it (`decision` + a written `reason`); send the `version` you read."""
    return eligibility.review_evaluation(
        db=db, actor=actor, patient_id=patient_id, evaluation_id=evaluation_id, data=data
    )


@router.post("/answers", response_model=list[ScreeningAnswerRead], status_code=201)
def record_answers(
    patient_id: int,
    data: ScreeningAnswersIn,
    db: DbDep,
    actor: Actor = Depends(Access("patient_clinical", "write")),
):
    """Record screening answers (pregnancy, breastfeeding, substance use, ...); returns the ones that changed."""
    return eligibility.record_answers(db=db, actor=actor, patient_id=patient_id, data=data)
