"""Patient record endpoints."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from ketacare.api.deps import DbDep, RecordId, in_thread
from ketacare.domain.patients.diagnoses import code_list, code_list_version
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.patients import care_team, corrections, export
from ketacare.services.patients import records as patients
from ketacare.services.patients.export import PatientExport
from ketacare.services.patients.schemas import (
    AllergyCreate,
    AllergyEdit,
    AllergyRead,
    CareTeamRead,
    CareTeamUpdate,
    ChartRead,
    DiagnosisCreate,
    DiagnosisEdit,
    DiagnosisRead,
    EnteredInError,
    MeasurementCreate,
    MeasurementEdit,
    MeasurementRead,
    MedicationCreate,
    MedicationEdit,
    MedicationRead,
    MedicationStop,
    PatientCreate,
    PatientPage,
    PatientRead,
    PatientUpdate,
    RevisionRead,
    TrialCreate,
    TrialEdit,
    TrialRead,
)

router = APIRouter(prefix="/patients", tags=["patients"])
WriteClinical = Access("patient_clinical", "write")
# Reference data of the record, outside the /patients prefix: the diagnosis code list (/api/v1/codes/diagnoses).
codes_router = APIRouter(tags=["patients"])
# What the routes can answer besides success: every route needs a login and a role allowed by the policy.
LIST = error_responses(401, 403, 422)
ONE = error_responses(401, 403, 404, 422)
EDIT = error_responses(401, 403, 404, 409, 422)


@router.get("", response_model=PatientPage, responses=LIST)
def list_patients(
    db: DbDep,
    q: str | None = Query(None, max_length=100, description="name prefix, MRN or YYYY-MM-DD"),
    page: int = Query(1, ge=1, le=100_000),
    per_page: int = Query(25, ge=1, le=200),
    mine: bool = Query(False, description="only the patients whose care team includes you"),
    actor: Actor = Depends(Access("patient", "list")),
) -> PatientPage:
    """List patients, or search by name prefix ("smi", "smith, jo"), MRN or date of birth."""
    return patients.search_patients(db=db, actor=actor, q=q, page=page, per_page=per_page, mine=mine)


@router.post("", response_model=PatientRead, status_code=201, responses=LIST)
def create_patient(
    data: PatientCreate, db: DbDep, actor: Actor = Depends(Access("patient", "create"))
) -> PatientRead:
    """Create a patient; weight and height, if given, must carry units ("82 kg", "5 ft 9 in")."""
    return patients.create_patient(db=db, actor=actor, data=data)


@router.get("/{patient_id}", response_model=ChartRead, responses=ONE)
async def read_chart(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("patient", "read"))
) -> ChartRead:
    """Read a patient's chart (clinical sections only for roles allowed to read them)."""
    return await in_thread(patients.get_chart, db=db, actor=actor, patient_id=patient_id)


@router.patch("/{patient_id}", response_model=PatientRead, responses=EDIT)
def update_patient(
    patient_id: RecordId, data: PatientUpdate, db: DbDep, actor: Actor = Depends(Access("patient", "update"))
) -> PatientRead:
    """Change demographics; send the `version` you read. A stale version gets 409 with the current version."""
    return patients.update_patient(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/{patient_id}/measurements", response_model=MeasurementRead, status_code=201, responses=ONE)
def add_measurement(
    patient_id: RecordId, data: MeasurementCreate, db: DbDep, actor: Actor = Depends(WriteClinical)
) -> MeasurementRead:
    """Record weight and/or height with units; stored in kg and cm."""
    return patients.add_measurement(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/{patient_id}/diagnoses", response_model=DiagnosisRead, status_code=201, responses=ONE)
def add_diagnosis(
    patient_id: RecordId, data: DiagnosisCreate, db: DbDep, actor: Actor = Depends(WriteClinical)
) -> DiagnosisRead:
    """Add a diagnosis from the shipped ICD-10-CM / ICD-11 list."""
    return patients.add_diagnosis(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/{patient_id}/medications", response_model=MedicationRead, status_code=201, responses=ONE)
def add_medication(
    patient_id: RecordId, data: MedicationCreate, db: DbDep, actor: Actor = Depends(WriteClinical)
) -> MedicationRead:
    """Add a current medication with its dose."""
    return patients.add_medication(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/{patient_id}/medications/{medication_id}/stop", response_model=MedicationRead, responses=EDIT)
def stop_medication(
    patient_id: RecordId,
    medication_id: RecordId,
    data: MedicationStop,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> MedicationRead:
    """Mark a medication stopped, with a reason (it stays on the record and in its history)."""
    return corrections.stop_medication(
        db=db, actor=actor, patient_id=patient_id, medication_id=medication_id, data=data
    )


@router.post("/{patient_id}/allergies", response_model=AllergyRead, status_code=201, responses=ONE)
def add_allergy(
    patient_id: RecordId, data: AllergyCreate, db: DbDep, actor: Actor = Depends(WriteClinical)
) -> AllergyRead:
    """Record an allergy."""
    return patients.add_allergy(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("/{patient_id}/trials", response_model=TrialRead, status_code=201, responses=ONE)
def add_trial(
    patient_id: RecordId, data: TrialCreate, db: DbDep, actor: Actor = Depends(WriteClinical)
) -> TrialRead:
    """Record a prior treatment trial (medication or psychotherapy)."""
    return patients.add_trial(db=db, actor=actor, patient_id=patient_id, data=data)


Entity = Literal["diagnosis", "medication", "allergy", "trial", "measurement"]


@router.post(
    "/{patient_id}/entries/{entity}/{entry_id}/entered-in-error", response_model=RevisionRead, responses=EDIT
)
def mark_entered_in_error(
    patient_id: RecordId,
    entity: Entity,
    entry_id: RecordId,
    data: EnteredInError,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Mark an entry "entered in error" with a reason: it leaves the active lists and stays in its history."""
    return corrections.mark_entered_in_error(
        db=db, actor=actor, patient_id=patient_id, entity=entity, entry_id=entry_id, data=data
    )


@router.get(
    "/{patient_id}/entries/{entity}/{entry_id}/history", response_model=list[RevisionRead], responses=ONE
)
def entry_history(
    patient_id: RecordId,
    entity: Entity,
    entry_id: RecordId,
    db: DbDep,
    actor: Actor = Depends(Access("patient_clinical", "read")),
) -> list[RevisionRead]:
    """Every correction of one entry, newest first: what it was, what it became, why, who, when."""
    return corrections.entry_history(
        db=db, actor=actor, patient_id=patient_id, entity=entity, entry_id=entry_id
    )


@router.patch("/{patient_id}/diagnoses/{entry_id}", response_model=RevisionRead, responses=EDIT)
def edit_diagnosis(
    patient_id: RecordId,
    entry_id: RecordId,
    data: DiagnosisEdit,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Correct a diagnosis (status, onset, note) with a reason; the previous version is kept."""
    return corrections.edit_diagnosis(db=db, actor=actor, patient_id=patient_id, entry_id=entry_id, data=data)


@router.patch("/{patient_id}/medications/{entry_id}", response_model=RevisionRead, responses=EDIT)
def edit_medication(
    patient_id: RecordId,
    entry_id: RecordId,
    data: MedicationEdit,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Change a medication's dose, route or note with a reason (dose checked against the usual maximum)."""
    return corrections.edit_medication(
        db=db, actor=actor, patient_id=patient_id, entry_id=entry_id, data=data
    )


@router.patch("/{patient_id}/allergies/{entry_id}", response_model=RevisionRead, responses=EDIT)
def edit_allergy(
    patient_id: RecordId,
    entry_id: RecordId,
    data: AllergyEdit,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Correct an allergy (reaction, severity, active or not) with a reason."""
    return corrections.edit_allergy(db=db, actor=actor, patient_id=patient_id, entry_id=entry_id, data=data)


@router.patch("/{patient_id}/trials/{entry_id}", response_model=RevisionRead, responses=EDIT)
def edit_trial(
    patient_id: RecordId,
    entry_id: RecordId,
    data: TrialEdit,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Correct a prior treatment trial with a reason."""
    return corrections.edit_trial(db=db, actor=actor, patient_id=patient_id, entry_id=entry_id, data=data)


@router.patch("/{patient_id}/measurements/{entry_id}", response_model=RevisionRead, responses=EDIT)
def edit_measurement(
    patient_id: RecordId,
    entry_id: RecordId,
    data: MeasurementEdit,
    db: DbDep,
    actor: Actor = Depends(WriteClinical),
) -> RevisionRead:
    """Correct a weight or height (with its unit) with a reason."""
    return corrections.edit_measurement(
        db=db, actor=actor, patient_id=patient_id, entry_id=entry_id, data=data
    )


@router.get("/{patient_id}/care-team", response_model=CareTeamRead, responses=ONE)
def read_care_team(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("care_team", "read"))
) -> CareTeamRead:
    """A patient's care team (prescriber, nurses, therapist) and who may join it."""
    return care_team.get_care_team(db=db, actor=actor, patient_id=patient_id)


@router.put("/{patient_id}/care-team", response_model=CareTeamRead, responses=ONE)
def set_care_team(
    patient_id: RecordId,
    data: CareTeamUpdate,
    db: DbDep,
    actor: Actor = Depends(Access("care_team", "manage")),
) -> CareTeamRead:
    """Replace a patient's care team; its members see the patient under "my patients" and their alerts."""
    return care_team.set_care_team(db=db, actor=actor, patient_id=patient_id, data=data)


class DiagnosisCode(BaseModel):
    concept: str
    display: str
    category: str
    icd10cm: str
    icd11: str
    snomed: str
    verified: bool
    source: str


class CodeList(BaseModel):
    version: str
    items: list[DiagnosisCode]


@codes_router.get("/codes/diagnoses", response_model=CodeList, responses=error_responses(401, 403))
def diagnosis_codes(_: Actor = Depends(Access("codes", "read"))) -> CodeList:
    """The shipped diagnosis code list with each code's provenance."""
    return CodeList(version=code_list_version(), items=[DiagnosisCode(**c.__dict__) for c in code_list()])


@router.get("/{patient_id}/export", response_model=PatientExport, responses=ONE)
def export_record(
    patient_id: RecordId,
    db: DbDep,
    actor: Actor = Depends(Access("patient_record", "export", patient_param="patient_id")),
) -> PatientExport:
    """Return the patient's whole record as stored (right of access), with the staff named and the access log."""
    return export.export_record(db=db, actor=actor, patient_id=patient_id)
