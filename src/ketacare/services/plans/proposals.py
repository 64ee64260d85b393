"""Titration proposals: the advisor (`domain/plans/titration.py`) run on the real course, stored with the rules
that fired; the prescriber accepts, edits or rejects (signed, audited); an accepted or edited proposal pre-fills
the next dose order."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.dosing import Protocol, load_protocol
from ketacare.domain.errors import InvalidValue
from ketacare.domain.plans import DoseLimits, propose_next
from ketacare.services import clock, dosing
from ketacare.services.access import Actor, signing
from ketacare.services.errors import Conflict, Forbidden, NotFound
from ketacare.services.plans.plans import _signer_name, read_plan
from ketacare.services.plans.progress import _phase_interval, build_course
from ketacare.services.plans.schemas import OrderPrefill, ProposalDecision, ProposalRead
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.plans import TitrationProposal, TreatmentPlan


def dose_limits(p: Protocol, interval_days: float) -> DoseLimits:
    """Return the advisor's limits from the protocol: hard maximum, lowest dose, steps (mg/kg)."""
    top = p.limit("mg_per_kg_max", "hard")
    low = p.limit("mg_per_kg_min", "hard") or p.limit("mg_per_kg_min", "soft")
    if top is None:
        raise InvalidValue(
            "plan", f"protocol {p.id} has no hard mg/kg limit: the advisor cannot propose a dose"
        )
    steps = tuple(float(x) for x in p.raw.get("dose", {}).get("steps_mg_per_kg", ()))
    return DoseLimits(
        hard_max_mg_per_kg=top.value,
        min_mg_per_kg=low.value if low else min(steps or (p.default_mg_per_kg or top.value,)),
        steps_mg_per_kg=steps,
        interval_days=interval_days,
    )


def _plan_row(s: Session, patient_id: int, plan_id: int) -> TreatmentPlan:
    row = s.get(TreatmentPlan, plan_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("treatment plan")
    return row


def propose(*, db: Database, actor: Actor, patient_id: int, plan_id: int) -> ProposalRead:
    """Run the titration advisor on the course so far and store its proposal (an older pending one is superseded)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("propose", "treatment_plan", patient_id=patient_id)
        s, now = uow.session, clock.now()
        row = _plan_row(s, patient_id, plan_id)
        if row.status == "stopped":
            raise InvalidValue("plan", "this plan is stopped: no proposal")
        plan = read_plan(s, row)
        p = load_protocol(plan.content.protocol_id)
        if p.dosing != "weight":
            raise InvalidValue(
                "plan", "the advisor proposes weight-based doses (mg/kg); this protocol is dosed in fixed mg"
            )
        course = build_course(s, plan, now)
        if not course.outcomes:
            raise InvalidValue("plan", "no session with a known dose has been given yet: nothing to judge")
        _, interval = _phase_interval(plan.content, len(course.given))
        limits = dose_limits(p, interval)
        baseline = course.baseline.total if course.baseline else None
        result = propose_next(course.outcomes, baseline, limits)
        for old in s.scalars(
            select(TitrationProposal).where(
                TitrationProposal.plan_id == row.id, TitrationProposal.status == "pending"
            )
        ):
            old.status = "superseded"
        prop = TitrationProposal(
            plan_id=row.id,
            patient_id=patient_id,
            created_at=now,
            created_by=actor.user_id,
            sessions_used=len(course.given),
            inputs={
                "baseline": baseline,
                "primary": course.primary,
                "history": [asdict(o) for o in course.outcomes],
                "limits": asdict(limits),
            },
            kind=result.kind,
            dose_mg_per_kg=result.dose_mg_per_kg,
            interval_days=result.interval_days,
            response=result.response,
            change_pct=None if result.change_pct is None else round(result.change_pct, 1),
            rules=[asdict(r) for r in result.rules],
            cautions=list(result.cautions),
            evidence_note=result.evidence_note,
            status="pending",
        )
        s.add(prop)
        s.flush()
        uow.audit(
            "create",
            "titration_proposal",
            prop.id,
            patient_id=patient_id,
            details={"plan": row.id, "kind": result.kind, "rules": [r.id for r in result.rules]},
        )
        return ProposalRead.model_validate(prop)


def decide(
    *, db: Database, actor: Actor, patient_id: int, proposal_id: int, data: ProposalDecision
) -> ProposalRead:
    """Record the prescriber's decision on a proposal (accept, edit with new values, reject), signed."""
    if data.decision != "accept" and (not data.reason or len(data.reason) < 3):
        raise InvalidValue(
            "reason", f"write why you {'edit' if data.decision == 'edit' else 'reject'} the proposal"
        )
    if data.decision == "edit" and data.dose_mg_per_kg is None and data.interval_days is None:
        raise InvalidValue("dose_mg_per_kg", "an edit needs the dose (or the interval) you choose")
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="titration_decision",
        credentials=data,
        policy=("decide", "treatment_plan"),
        resource_id=proposal_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("decide", "treatment_plan", patient_id=patient_id)
        s, now = uow.session, clock.now()
        prop = s.get(TitrationProposal, proposal_id)
        if prop is None or prop.patient_id != patient_id:
            raise NotFound("titration proposal")
        if prop.version != data.version:
            raise Conflict("titration proposal", current_version=prop.version, sent_version=data.version)
        if prop.status != "pending":
            raise InvalidValue("decision", f"this proposal is already {prop.status}")
        limits = prop.inputs.get("limits", {})
        top = float(limits.get("hard_max_mg_per_kg", 0.0)) or None
        if (
            data.decision == "edit"
            and data.dose_mg_per_kg is not None
            and top
            and data.dose_mg_per_kg > top + 1e-9
        ):
            raise InvalidValue(
                "dose_mg_per_kg",
                f"{data.dose_mg_per_kg:g} mg/kg is above the protocol's hard limit of {top:g} mg/kg",
            )
        prop.status = {"accept": "accepted", "edit": "edited", "reject": "rejected"}[data.decision]
        prop.decided_by, prop.decided_by_name, prop.decided_at = actor.user_id, _signer_name(s, actor), now
        prop.decided_meaning, prop.decision_reason = signed.meaning, data.reason
        if data.decision == "accept":
            prop.decided_dose_mg_per_kg, prop.decided_interval_days = prop.dose_mg_per_kg, prop.interval_days
        elif data.decision == "edit":
            prop.decided_dose_mg_per_kg = (
                data.dose_mg_per_kg if data.dose_mg_per_kg is not None else prop.dose_mg_per_kg
            )
            prop.decided_interval_days = (
                data.interval_days if data.interval_days is not None else prop.interval_days
            )
        s.flush()
        uow.audit(
            "reject" if data.decision == "reject" else "approve",
            "titration_proposal",
            prop.id,
            patient_id=patient_id,
            reason=data.reason,
            details={
                "decision": data.decision,
                "proposed_mg_per_kg": prop.dose_mg_per_kg,
                "decided_mg_per_kg": prop.decided_dose_mg_per_kg,
                "decided_interval_days": prop.decided_interval_days,
                **signed.audit_details(),
            },
        )
        return ProposalRead.model_validate(prop)


def get_proposal(*, db: Database, actor: Actor, patient_id: int, proposal_id: int) -> ProposalRead:
    """Return one proposal with its rules and decision."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "treatment_plan", patient_id=patient_id)
        prop = uow.session.get(TitrationProposal, proposal_id)
        if prop is None or prop.patient_id != patient_id:
            raise NotFound("titration proposal")
        uow.audit("view", "titration_proposal", prop.id, patient_id=patient_id)
        return ProposalRead.model_validate(prop)


def order_prefill(*, db: Database, actor: Actor, patient_id: int) -> OrderPrefill | None:
    """Return the dose the next order is pre-filled with: the newest accepted or edited proposal with a dose that
    no dose order has followed yet; None when there is none or the reader may not read plans."""
    try:
        with UnitOfWork(db, actor) as uow:
            uow.authorize("read", "treatment_plan", patient_id=patient_id)
            s = uow.session
            prop = s.scalars(
                select(TitrationProposal)
                .where(
                    TitrationProposal.patient_id == patient_id,
                    TitrationProposal.status.in_(("accepted", "edited")),
                    TitrationProposal.decided_dose_mg_per_kg.is_not(None),
                )
                .order_by(TitrationProposal.decided_at.desc(), TitrationProposal.id.desc())
                .limit(1)
            ).first()
            if prop is None or prop.decided_at is None:
                return None
            plan = s.get(TreatmentPlan, prop.plan_id)
            if plan is None or plan.status == "stopped":
                return None
            newest = max((o.created_at for o in dosing.usable_orders(s, patient_id)), default=None)
            if newest is not None and newest > prop.decided_at:
                return None
            uow.audit("view", "titration_proposal", prop.id, patient_id=patient_id, details={"prefill": True})
            rules = ", ".join(r.get("id", "") for r in prop.rules)
            verb = "accepted" if prop.status == "accepted" else "edited"
            return OrderPrefill(
                proposal_id=prop.id,
                protocol_id=plan.protocol_id,
                mg_per_kg=prop.decided_dose_mg_per_kg,
                dose_mg=None,
                reason=f"Titration proposal {verb} ({prop.kind}; rules {rules})"
                + (f": {prop.decision_reason}" if prop.decision_reason else ""),
                decided_by_name=prop.decided_by_name,
                decided_at=prop.decided_at,
            )
    except Forbidden:
        return None
