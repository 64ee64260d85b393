"""Treatment plan endpoints (issue 16): templates, create from a template, show with the course, change, stop,
titration proposals and the prescriber's decision, relapse flags; informed consent (point 1): documents in force,
the patient's consent on file and status per route, signing (portal or witnessed on a clinic tablet), the
prescriber's countersignature, withdrawal."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep, RecordId
from ketacare.domain.plans import plan_templates
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.plans import consent, plans, progress, proposals, relapse
from ketacare.services.plans.consent_schemas import (
    ConsentCountersignIn,
    ConsentDocumentRead,
    ConsentSignatureRead,
    ConsentSignIn,
    ConsentStatusRead,
    ConsentWithdrawIn,
    PatientConsentsRead,
)
from ketacare.services.plans.schemas import (
    CourseView,
    PlanChange,
    PlanCreate,
    PlanRead,
    PlanStop,
    PlanSummary,
    ProposalDecision,
    ProposalRead,
    RelapseFlag,
)

router = APIRouter(prefix="/patients/{patient_id}/plans", tags=["plans"])
plans_router = APIRouter(tags=["plans"])
consent_router = APIRouter(prefix="/patients/{patient_id}/consent", tags=["consent"])
documents_router = APIRouter(prefix="/consent", tags=["consent"])
ONE = error_responses(401, 403, 404, 422)
SIGN = error_responses(401, 403, 404, 409, 422, 429)
EDIT = error_responses(401, 403, 404, 409, 422)


@plans_router.get("/plan-templates", responses=error_responses(401, 403))
def templates(
    actor: Actor = Depends(Access("treatment_plan", "read", patient_param=None)),
) -> list[dict[str, Any]]:
    """Return the plan templates (id, name, protocol, indications, phases, stop rules), each number with its source."""
    return [
        {
            "id": t.id,
            "name": t.name,
            "protocol": t.protocol,
            "indications": list(t.indications),
            "off_label": t.off_label,
            "summary": t.summary,
            "phases": [
                {
                    "id": p.id,
                    "kind": p.kind,
                    "name": p.name,
                    "sessions": p.sessions,
                    "interval_days": p.interval_days,
                    "source": p.source,
                }
                for p in t.phases
            ],
            "stop_rules": [
                {"id": r.id, "kind": r.kind, "text": r.text, "source": r.source} for r in t.stop_rules
            ],
        }
        for t in plan_templates().values()
    ]


@plans_router.get(
    "/plans/relapse-flags", response_model=list[RelapseFlag], responses=error_responses(401, 403, 422)
)
def relapse_flags(
    db: DbDep, mine: bool = True, actor: Actor = Depends(Access("treatment_plan", "read", patient_param=None))
) -> list[RelapseFlag]:
    """Return plans in force whose response is weakening or lost, with the proposed action (booster, review,
    re-induction); `mine` limits them to the caller's care teams."""
    return relapse.relapse_flags(db=db, actor=actor, mine=mine)


@router.get("", response_model=list[PlanSummary], responses=ONE)
def list_plans(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("treatment_plan", "read"))
) -> list[PlanSummary]:
    """Return the patient's plans, newest first."""
    return plans.list_plans(db=db, actor=actor, patient_id=patient_id)


@router.post("", response_model=PlanRead, status_code=201, responses=SIGN)
def create(
    patient_id: RecordId,
    data: PlanCreate,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "write")),
) -> PlanRead:
    """Create a plan from a template (indication, primary instrument, starting dose, goals); version 1 is signed:
    send your `password` again (or `totp_code`)."""
    return plans.create_plan(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/current", response_model=CourseView | None, responses=ONE)
def current(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("treatment_plan", "read"))
) -> CourseView | None:
    """Return the plan in force (else the newest) with the course so far, relapse check and next step; or null."""
    return progress.get_course(db=db, actor=actor, patient_id=patient_id)


@router.get("/{plan_id}", response_model=CourseView, responses=ONE)
def show(
    patient_id: RecordId,
    plan_id: RecordId,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "read")),
) -> CourseView | None:
    """Return the plan with its signed versions, the course so far, relapse check, next step and proposals."""
    return progress.get_course(db=db, actor=actor, patient_id=patient_id, plan_id=plan_id)


@router.post("/{plan_id}/versions", response_model=PlanRead, status_code=201, responses=SIGN)
def change(
    patient_id: RecordId,
    plan_id: RecordId,
    data: PlanChange,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "write")),
) -> PlanRead:
    """Store a new signed version (dose, phases, goals, assessments, status) with its reason."""
    return plans.change_plan(db=db, actor=actor, patient_id=patient_id, plan_id=plan_id, data=data)


@router.post("/{plan_id}/stop", response_model=PlanRead, responses=SIGN)
def stop(
    patient_id: RecordId,
    plan_id: RecordId,
    data: PlanStop,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "write")),
) -> PlanRead:
    """Stop the plan under a stop rule of its template (no-response, intolerable, patient-choice), signed."""
    return plans.stop_plan(db=db, actor=actor, patient_id=patient_id, plan_id=plan_id, data=data)


@router.post("/{plan_id}/proposals", response_model=ProposalRead, status_code=201, responses=ONE)
def propose(
    patient_id: RecordId,
    plan_id: RecordId,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "propose")),
) -> ProposalRead:
    """Run the titration advisor on the course so far; returns the proposal with every rule that fired."""
    return proposals.propose(db=db, actor=actor, patient_id=patient_id, plan_id=plan_id)


@router.post("/proposals/{proposal_id}/decision", response_model=ProposalRead, responses=SIGN)
def decide(
    patient_id: RecordId,
    proposal_id: RecordId,
    data: ProposalDecision,
    db: DbDep,
    actor: Actor = Depends(Access("treatment_plan", "decide")),
) -> ProposalRead:
    """Accept, edit (new dose or interval, with a reason) or reject (with a reason) a proposal, signed; an accepted
    or edited dose pre-fills the next dose order."""
    return proposals.decide(db=db, actor=actor, patient_id=patient_id, proposal_id=proposal_id, data=data)


@documents_router.get("/documents", response_model=list[ConsentDocumentRead], responses=error_responses(401, 403))
def documents(actor: Actor = Depends(Access("account", "read"))) -> list[ConsentDocumentRead]:
    """List the consent documents in force today (id, version, routes, validity); no patient data."""
    return consent.documents()


@consent_router.get("", response_model=PatientConsentsRead, responses=ONE)
def on_file(patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("consent", "read"))) -> PatientConsentsRead:
    """Return the status for each document in force and every signature, newest first."""
    return consent.patient_consents(db=db, actor=actor, patient_id=patient_id)


@consent_router.get("/status", response_model=ConsentStatusRead, responses=ONE)
def status(
    patient_id: RecordId,
    db: DbDep,
    route: str = Query(..., max_length=16, description="iv, sc, im, oral, sublingual or intranasal"),
    at: datetime | None = Query(None, description="Moment to check (aware ISO 8601); default now"),
    actor: Actor = Depends(Access("consent", "read")),
) -> ConsentStatusRead:
    """Return in_force / missing / expired / superseded / not_countersigned / withdrawn with a plain reason."""
    return consent.consent_status_for(db=db, actor=actor, patient_id=patient_id, route=route, at=at)


@consent_router.post("/sign", response_model=ConsentSignatureRead, status_code=201, responses=EDIT)
def sign(
    patient_id: RecordId, data: ConsentSignIn, db: DbDep, actor: Actor = Depends(Access("consent", "sign"))
) -> ConsentSignatureRead:
    """The patient signs the `version` they read, on their own portal account (typed name plus a drawn path or
    a click signature)."""
    data = data.model_copy(update={"signed_via": "portal"})
    return consent.sign_consent(db=db, actor=actor, patient_id=patient_id, data=data)


@consent_router.post("/witnessed", response_model=ConsentSignatureRead, status_code=201, responses=EDIT)
def witnessed(
    patient_id: RecordId, data: ConsentSignIn, db: DbDep, actor: Actor = Depends(Access("consent", "witness"))
) -> ConsentSignatureRead:
    """The patient signs on a clinic tablet; the signed-in staff member is recorded as the witness."""
    data = data.model_copy(update={"signed_via": "clinic_tablet"})
    return consent.sign_consent(db=db, actor=actor, patient_id=patient_id, data=data)


@consent_router.post("/{signature_id}/countersign", response_model=ConsentSignatureRead, responses=SIGN)
def countersign(
    patient_id: RecordId,
    signature_id: RecordId,
    data: ConsentCountersignIn,
    db: DbDep,
    actor: Actor = Depends(Access("consent", "countersign")),
) -> ConsentSignatureRead:
    """The prescriber countersigns (meaning: approved): send the signature's `version` and your `password` (or
    `totp_code`) again; a wrong one answers 422 naming the field, repeated failures 429."""
    return consent.countersign_consent(
        db=db, actor=actor, patient_id=patient_id, signature_id=signature_id, data=data
    )


@consent_router.post("/{signature_id}/withdraw", response_model=ConsentSignatureRead, responses=EDIT)
def withdraw(
    patient_id: RecordId,
    signature_id: RecordId,
    data: ConsentWithdrawIn,
    db: DbDep,
    actor: Actor = Depends(Access("consent", "withdraw")),
) -> ConsentSignatureRead:
    """Record the patient's withdrawal (when, default now, and the reason); sessions by these routes then fail
    their consent pre-check."""
    return consent.withdraw_consent(db=db, actor=actor, patient_id=patient_id, signature_id=signature_id, data=data)
