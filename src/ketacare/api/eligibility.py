"""Eligibility screening endpoints (issue #5): latest evaluation, (re-)evaluate, prescriber review, answers."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
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
# What the routes can answer besides success: every route needs a login and a role allowed by the policy.
ONE = error_responses(401, 403, 404, 422)
EDIT = error_responses(401, 403, 404, 409, 422)
SIGN = error_responses(401, 403, 404, 409, 422, 429)  # a signature: also 429 after repeated wrong passwords


@router.get("", response_model=EvaluationRead | None, responses=ONE)
def latest(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("eligibility", "read"))
) -> EvaluationRead | None:
    """Return the newest stored evaluation (decision, findings, missing facts, stage, review), or null."""
    return eligibility.latest_evaluation(db=db, actor=actor, patient_id=patient_id)


@router.post("/evaluate", response_model=EvaluateResult, responses=ONE)
def evaluate(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("eligibility", "evaluate"))
) -> EvaluateResult:
    """Evaluate the record now with the clinic's rule set; a new row is stored only when something changed."""
    return eligibility.evaluate_patient(db=db, actor=actor, patient_id=patient_id)


@router.post("/{evaluation_id}/review", response_model=EvaluationRead, responses=SIGN)
def review(
    patient_id: RecordId,
    evaluation_id: RecordId,
    data: ReviewIn,
    db: DbDep,
    actor: Actor = Depends(Access("eligibility", "decide")),
) -> EvaluationRead:
    """Accept the decision (meaning: approved), or override it (`decision` + a written `reason`; meaning:
    authored); send the `version` you read.

    Signing: send your `password` again (or `totp_code` when your account uses one); a wrong or
    missing one answers 422 naming that field and stores nothing; repeated failures answer 429 with
    Retry-After."""
    return eligibility.review_evaluation(
        db=db, actor=actor, patient_id=patient_id, evaluation_id=evaluation_id, data=data
    )


@router.post("/answers", response_model=list[ScreeningAnswerRead], status_code=201, responses=ONE)
def record_answers(
    patient_id: RecordId,
    data: ScreeningAnswersIn,
    db: DbDep,
    actor: Actor = Depends(Access("patient_clinical", "write")),
) -> list[ScreeningAnswerRead]:
    """Record screening answers (pregnancy, breastfeeding, substance use, ...); returns the ones that changed."""
    return eligibility.record_answers(db=db, actor=actor, patient_id=patient_id, data=data)
