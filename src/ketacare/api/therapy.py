"""Integration therapy endpoints (issue 17): the therapy page's data, notes (private unless shared), signing,
addenda, goals, integration visits due, and the shared notes for the treatment plan."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ketacare.api.deps import DbDep, RecordId
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import therapy
from ketacare.services.access import Actor
from ketacare.services.therapy.schemas import GoalRead

router = APIRouter(prefix="/patients/{patient_id}/therapy", tags=["therapy"])
visits_router = APIRouter(prefix="/therapy", tags=["therapy"])
ONE = error_responses(401, 403, 404, 422)
EDIT = error_responses(401, 403, 404, 409, 422)
SIGN = error_responses(401, 403, 404, 409, 422, 429)
Read = Access("therapy", "read")
Write = Access("therapy", "write")
WriteNote = Access("psychotherapy_note", "create")


@router.get("", response_model=therapy.TherapyView, responses=ONE)
def therapy_page(patient_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> therapy.TherapyView:
    """Notes the caller may open (others' private notes only as bare entries), goals, integration visits."""
    return therapy.therapy_view(db=db, actor=actor, patient_id=patient_id)


@router.post("/notes", response_model=therapy.NoteRead, status_code=201, responses=ONE)
def write_note(
    patient_id: RecordId, data: therapy.NoteCreate, db: DbDep, actor: Actor = Depends(WriteNote)
) -> therapy.NoteRead:
    """Write a visit note. Integration notes answer every risk question (an escalating answer raises an urgent
    safety alert for the care team) and follow an infusion; `sharing` is `private` (default) or `care_team`."""
    return therapy.write_note(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/notes/{note_id}", response_model=therapy.NoteRead, responses=ONE)
def read_note(patient_id: RecordId, note_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> therapy.NoteRead:
    """Open one note: its author, or a member of the patient's care team when it is shared (else 404, audited)."""
    return therapy.get_note(db=db, actor=actor, note_id=note_id, patient_id=patient_id)


@router.post("/notes/{note_id}/sign", response_model=therapy.NoteRead, responses=SIGN)
def sign_note(
    patient_id: RecordId, note_id: RecordId, data: therapy.NoteSign, db: DbDep, actor: Actor = Depends(WriteNote)
) -> therapy.NoteRead:
    """Sign your own note (send the `version` you read and your `password`, or `totp_code`); a wrong one is a 422
    naming that field; repeated failures answer 429."""
    return therapy.sign_note(db=db, actor=actor, note_id=note_id, data=data, patient_id=patient_id)


@router.post("/notes/{note_id}/addenda", response_model=therapy.NoteRead, status_code=201, responses=ONE)
def add_addendum(
    patient_id: RecordId,
    note_id: RecordId,
    data: therapy.NoteAddendumCreate,
    db: DbDep,
    actor: Actor = Depends(WriteNote),
) -> therapy.NoteRead:
    """Correct your own signed note with an addendum (the note itself never changes)."""
    return therapy.add_addendum(db=db, actor=actor, note_id=note_id, data=data, patient_id=patient_id)


@router.post("/goals", response_model=GoalRead, status_code=201, responses=ONE)
def add_goal(patient_id: RecordId, data: therapy.GoalCreate, db: DbDep, actor: Actor = Depends(Write)) -> GoalRead:
    """Add a therapy goal; progress is recorded with each visit's note (`goal_progress`)."""
    return therapy.add_goal(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/plan-notes", response_model=list[therapy.PlanNote], responses=ONE)
def plan_notes(patient_id: RecordId, db: DbDep, actor: Actor = Depends(Read)) -> list[therapy.PlanNote]:
    """The newest notes the caller may open (shared with the care team, or their own), summarised."""
    return therapy.notes_for_plan(db=db, actor=actor, patient_id=patient_id)


@visits_router.get("/visits-due", response_model=list[therapy.VisitDue], responses=error_responses(401, 403, 422))
def visits_due(db: DbDep, mine: bool = True, actor: Actor = Depends(Read)) -> list[therapy.VisitDue]:
    """Integration visits upcoming, due or overdue after recent infusions (the clinic's window: 24-72 h after
    the infusion ends by default), for your care-team patients (`mine`) or the whole clinic."""
    return therapy.integration_visits_due(db=db, actor=actor, mine=mine)
