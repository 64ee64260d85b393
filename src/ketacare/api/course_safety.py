"""Course safety endpoints (issue 16 point 7): the panel, and recording pregnancy-test applicability and results,
urine toxicology, misuse checklists and PUF totals."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import measurement, plans
from ketacare.services.access import Actor

router = APIRouter(prefix="/patients/{patient_id}/course-safety", tags=["plans"])
ONE = error_responses(401, 403, 404, 422)


@router.get("", response_model=plans.CourseSafetyRead, responses=ONE)
def panel(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("course_safety", "read"))
) -> plans.CourseSafetyRead:
    """Return every course-safety check (status and reason), cumulative dose (course and rolling window) and
    the recorded results."""
    return plans.course_safety(db=db, actor=actor, patient_id=patient_id)


@router.post("/pregnancy-applicability", response_model=plans.SafetyRecordRead, status_code=201, responses=ONE)
def pregnancy_applicability(
    patient_id: RecordId,
    data: plans.PregnancyApplicabilityIn,
    db: DbDep,
    actor: Actor = Depends(Access("course_safety", "write")),
) -> plans.SafetyRecordRead:
    """Record whether pregnancy tests apply to this patient, with the reason (never inferred from sex)."""
    return plans.record_pregnancy_applicability(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/pregnancy-tests", response_model=plans.SafetyRecordRead, status_code=201, responses=ONE)
def pregnancy_test(
    patient_id: RecordId,
    data: plans.PregnancyTestIn,
    db: DbDep,
    actor: Actor = Depends(Access("course_safety", "write")),
) -> plans.SafetyRecordRead:
    """Record a pregnancy test: when taken (with offset), negative or positive, and the method."""
    return plans.record_pregnancy_test(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/toxicology", response_model=plans.SafetyRecordRead, status_code=201, responses=ONE)
def toxicology(
    patient_id: RecordId,
    data: plans.ToxResultIn,
    db: DbDep,
    actor: Actor = Depends(Access("course_safety", "write")),
) -> plans.SafetyRecordRead:
    """Record a urine toxicology result; a positive or 'expected' result says what was found."""
    return plans.record_tox_result(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/misuse-checks", response_model=plans.SafetyRecordRead, status_code=201, responses=ONE)
def misuse_check(
    patient_id: RecordId,
    data: plans.MisuseCheckIn,
    db: DbDep,
    actor: Actor = Depends(Access("course_safety", "write")),
) -> plans.SafetyRecordRead:
    """Record the clinic's misuse checklist (ids of the signs seen; an empty list means none)."""
    return plans.record_misuse_check(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/puf", response_model=measurement.ScoreSummary, status_code=201, responses=ONE)
def puf(
    patient_id: RecordId,
    data: plans.PufIn,
    db: DbDep,
    actor: Actor = Depends(Access("course_safety", "write")),
) -> measurement.ScoreSummary:
    """Record a PUF total (0-35) scored from the clinic's questionnaire; stored as a questionnaire response."""
    return plans.record_puf(db=db, actor=actor, patient_id=patient_id, data=data)
