"""Individual treatment plans: create from a template (version 1, signed), change (a new signed version with its
reason), stop (a stop rule of the template or the patient's choice), read."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.dosing import Protocol, load_protocol
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import instrument_ids
from ketacare.domain.plans import PlanTemplate, plan_templates
from ketacare.services import clock
from ketacare.services.access import Actor, people, signing
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.plans.schemas import (
    AssessmentPlan,
    Goal,
    PhasePlan,
    PlanChange,
    PlanContent,
    PlanCreate,
    PlanInduction,
    PlanRead,
    PlanStop,
    PlanSummary,
    PlanVersionRead,
    ReviewRead,
    StopRuleRead,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.access import User
from ketacare.store.tables.patients import Patient
from ketacare.store.tables.plans import PlanVersion, TreatmentPlan

OPEN = ("draft", "active", "maintenance")


def template(template_id: str) -> PlanTemplate:
    """Return plan template `template_id`, or refuse naming the field."""
    found = plan_templates().get(template_id)
    if found is None:
        raise InvalidValue("template_id", f"no plan template {template_id!r}: choose one of the list")
    return found


def template_digest(t: PlanTemplate) -> str:
    """Return a short digest of the template file's content (which version of it a plan was built from)."""
    return hashlib.sha256(json.dumps(t.raw, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _check_instrument(field: str, instrument_id: str) -> None:
    if instrument_id not in instrument_ids():
        raise InvalidValue(
            field, f"no instrument {instrument_id!r}: use one of {', '.join(instrument_ids())}"
        )


def _hard_max(p: Protocol, kind: str) -> float | None:
    lim = p.limit(kind, "hard")  # type: ignore[arg-type]
    return None if lim is None else lim.value


def _check_dose(p: Protocol, mg_per_kg: float | None, mg: float | None) -> None:
    if p.dosing == "weight":
        top = _hard_max(p, "mg_per_kg_max")
        if mg_per_kg is not None and top is not None and mg_per_kg > top + 1e-9:
            raise InvalidValue(
                "dose_mg_per_kg", f"{mg_per_kg:g} mg/kg is above the protocol's hard limit of {top:g} mg/kg"
            )
    else:
        if p.allowed_mg and mg is not None and mg not in p.allowed_mg:
            allowed = ", ".join(f"{x:g}" for x in p.allowed_mg)
            raise InvalidValue("dose_mg", f"this protocol gives {allowed} mg only")


def _content(t: PlanTemplate, data: PlanCreate) -> PlanContent:
    p = load_protocol(t.protocol)
    primary = data.primary_instrument or t.assessments.primary
    _check_instrument("primary_instrument", primary)
    for g in data.goals:
        _check_instrument("goals", g.instrument_id)
    mg_per_kg = (data.dose_mg_per_kg or p.default_mg_per_kg) if p.dosing == "weight" else None
    mg = (data.dose_mg or p.default_mg) if p.dosing == "fixed" else None
    _check_dose(p, mg_per_kg, mg)
    return PlanContent(
        protocol_id=p.id,
        dosing=p.dosing,
        dose_mg_per_kg=mg_per_kg,
        dose_mg=mg,
        phases=[
            PhasePlan(
                id=ph.id,
                kind=ph.kind,
                name=ph.name,
                sessions=ph.sessions,
                interval_days=ph.interval_days,
                spaces_out_to_days=ph.spaces_out_to_days,
                responders_only=ph.responders_only,
                source=ph.source,
            )
            for ph in t.phases
        ],
        goals=list(data.goals),
        assessments=AssessmentPlan(
            primary=primary,
            before_each_session=t.assessments.before_each_session,
            after_hours=list(t.assessments.after_hours),
        ),
    )


def _review_when(t: PlanTemplate, after_phase: str | None, week: float | None) -> str:
    if after_phase is not None:
        total = 0
        for ph in t.phases:
            total += ph.sessions or 0
            if ph.id == after_phase:
                return (
                    f"after session {total} (end of {ph.name.lower()})" if ph.sessions else f"after {ph.name}"
                )
    return f"week {week:g}" if week is not None else ""


def read_plan(s: Session, row: TreatmentPlan) -> PlanRead:
    t = plan_templates().get(row.template_id)
    versions = s.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == row.id).order_by(PlanVersion.number)
    ).all()
    vread = [PlanVersionRead.model_validate(v) for v in versions]
    current = next((v for v in vread if v.number == row.current_version), vread[-1])
    return PlanRead(
        id=row.id,
        patient_id=row.patient_id,
        template_id=row.template_id,
        template_name=t.name if t else row.template_id,
        template_version=row.template_version,
        indication=row.indication,
        route=row.route,
        protocol_id=row.protocol_id,
        status=row.status,
        current_version=row.current_version,
        stop_kind=row.stop_kind,
        stop_reason=row.stop_reason,
        stopped_at=row.stopped_at,
        content=current.content,
        versions=vread,
        stop_rules=[
            StopRuleRead(id=r.id, kind=r.kind, text=r.text, after_sessions=r.after_sessions, source=r.source)
            for r in (t.stop_rules if t else ())
        ],
        reviews=[
            ReviewRead(
                id=r.id,
                name=r.name,
                text=r.text,
                when=_review_when(t, r.after_phase, r.week),
                source=r.source,
            )
            for r in (t.reviews if t else ())
        ]
        if t
        else [],
        created_at=row.created_at,
        version=row.version,
    )


def _signer_name(s: Session, actor: Actor) -> str:
    user = s.get(User, actor.user_id) if actor.user_id is not None else None
    return people.user_signature(user) if user is not None else actor.username


def _patient(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def open_plan_row(s: Session, patient_id: int) -> TreatmentPlan | None:
    """Return the patient's plan that is not stopped (at most one), newest first."""
    return s.scalars(
        select(TreatmentPlan)
        .where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.status.in_(OPEN))
        .order_by(TreatmentPlan.created_at.desc(), TreatmentPlan.id.desc())
        .limit(1)
    ).first()


def open_induction(s: Session, patient_id: int) -> PlanInduction | None:
    """Return the first phase of the patient's open plan as its current signed version holds it (what scheduling
    books as a series), or None when the patient has no open plan. No authorization: the caller's use case has it."""
    row = open_plan_row(s, patient_id)
    if row is None:
        return None
    version = s.scalars(
        select(PlanVersion).where(PlanVersion.plan_id == row.id, PlanVersion.number == row.current_version)
    ).one()
    content = PlanContent.model_validate(version.content)
    phase = content.phases[0]
    return PlanInduction(
        plan_id=row.id,
        patient_id=row.patient_id,
        template_id=row.template_id,
        protocol_id=content.protocol_id,
        plan_version=row.current_version,
        phase=phase,
    )


def create_plan(*, db: Database, actor: Actor, patient_id: int, data: PlanCreate) -> PlanRead:
    """Create a plan from a template with the individual choices; version 1 is signed by the prescriber."""
    t = template(data.template_id)
    if data.indication not in t.indications:
        raise InvalidValue(
            "indication", f"this template is for {', '.join(t.indications)}: choose another template"
        )
    content = _content(t, data)
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="plan_version_sign",
        credentials=data,
        policy=("write", "treatment_plan"),
        resource_id=None,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "treatment_plan", patient_id=patient_id)
        s, now = uow.session, clock.now()
        _patient(s, patient_id)
        if open_plan_row(s, patient_id) is not None:
            raise InvalidValue("template_id", "this patient has a plan in force: change it or stop it first")
        row = TreatmentPlan(
            patient_id=patient_id,
            template_id=t.id,
            template_version=template_digest(t),
            indication=data.indication,
            route=load_protocol(t.protocol).route,
            protocol_id=t.protocol,
            status="active",
            current_version=1,
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        s.add(row)
        s.flush()
        s.add(
            PlanVersion(
                plan_id=row.id,
                number=1,
                content=content.model_dump(mode="json"),
                changes=[{"field": "template", "to": t.id}],
                reason=data.reason,
                signed_by=actor.user_id,
                signed_by_name=_signer_name(s, actor),
                signed_at=now,
                signed_meaning=signed.meaning,
                reauthenticated_by=signed.method,
            )
        )
        s.flush()
        uow.audit("create", "treatment_plan", row.id, patient_id=patient_id, details={"template": t.id})
        uow.audit(
            "sign",
            "treatment_plan",
            row.id,
            patient_id=patient_id,
            details={"plan_version": 1, **signed.audit_details()},
        )
        return read_plan(s, row)


def _load(s: Session, patient_id: int, plan_id: int) -> TreatmentPlan:
    row = s.get(TreatmentPlan, plan_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("treatment plan")
    return row


def _diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _diff(a, b, f"{prefix}{k}.")
        elif a != b:
            out.append({"field": f"{prefix}{k}", "from": a, "to": b})
    return out


def _changed_content(current: PlanContent, data: PlanChange) -> PlanContent:
    new = current.model_copy(deep=True)
    p = load_protocol(current.protocol_id)
    if data.dose_mg_per_kg is not None:
        if p.dosing != "weight":
            raise InvalidValue("dose_mg_per_kg", "this protocol is dosed in mg, not mg/kg")
        new.dose_mg_per_kg = data.dose_mg_per_kg
    if data.dose_mg is not None:
        if p.dosing != "fixed":
            raise InvalidValue("dose_mg", "this protocol is dosed in mg/kg, not mg")
        new.dose_mg = data.dose_mg
    _check_dose(p, new.dose_mg_per_kg, new.dose_mg)
    for edit in data.phases or []:
        phase = next((ph for ph in new.phases if ph.id == edit.id), None)
        if phase is None:
            raise InvalidValue("phases", f"no phase {edit.id!r} in this plan")
        if edit.sessions is not None:
            phase.sessions = edit.sessions
        if edit.interval_days is not None:
            phase.interval_days = edit.interval_days
    if data.goals is not None:
        for g in data.goals:
            _check_instrument("goals", g.instrument_id)
        new.goals = [Goal.model_validate(g.model_dump()) for g in data.goals]
    if data.primary_instrument is not None:
        _check_instrument("primary_instrument", data.primary_instrument)
        new.assessments.primary = data.primary_instrument
    if data.after_hours is not None:
        new.assessments.after_hours = sorted(data.after_hours)
    return new


def change_plan(*, db: Database, actor: Actor, patient_id: int, plan_id: int, data: PlanChange) -> PlanRead:
    """Store a new version of the plan with the changes and their reason, signed by the prescriber."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="plan_version_sign",
        credentials=data,
        policy=("write", "treatment_plan"),
        resource_id=plan_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "treatment_plan", patient_id=patient_id)
        s, now = uow.session, clock.now()
        row = _load(s, patient_id, plan_id)
        if row.version != data.version:
            raise Conflict("treatment plan", current_version=row.version, sent_version=data.version)
        if row.status == "stopped":
            raise InvalidValue("version", "this plan is stopped: start a new plan instead")
        current = read_plan(s, row).content
        new = _changed_content(current, data)
        changes = _diff(current.model_dump(mode="json"), new.model_dump(mode="json"))
        if data.status is not None and data.status != row.status:
            changes.append({"field": "status", "from": row.status, "to": data.status})
            row.status = data.status
        if not changes:
            raise InvalidValue("reason", "nothing changed: change a dose, a phase, a goal or the status")
        row.current_version += 1
        row.updated_at = now
        s.add(
            PlanVersion(
                plan_id=row.id,
                number=row.current_version,
                content=new.model_dump(mode="json"),
                changes=changes,
                reason=data.reason,
                signed_by=actor.user_id,
                signed_by_name=_signer_name(s, actor),
                signed_at=now,
                signed_meaning=signed.meaning,
                reauthenticated_by=signed.method,
            )
        )
        s.flush()
        uow.audit(
            "sign",
            "treatment_plan",
            row.id,
            patient_id=patient_id,
            reason=data.reason,
            details={
                "plan_version": row.current_version,
                "changed": [c["field"] for c in changes],
                **signed.audit_details(),
            },
        )
        return read_plan(s, row)


def stop_plan(*, db: Database, actor: Actor, patient_id: int, plan_id: int, data: PlanStop) -> PlanRead:
    """Stop the plan under one of the template's stop rules (or the patient's choice), signed, with a reason."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="plan_stop",
        credentials=data,
        policy=("write", "treatment_plan"),
        resource_id=plan_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "treatment_plan", patient_id=patient_id)
        s, now = uow.session, clock.now()
        row = _load(s, patient_id, plan_id)
        if row.version != data.version:
            raise Conflict("treatment plan", current_version=row.version, sent_version=data.version)
        if row.status == "stopped":
            raise InvalidValue("stop_kind", "this plan is already stopped")
        row.status, row.stop_kind, row.stop_reason = "stopped", data.stop_kind, data.reason
        row.stopped_at, row.stopped_by, row.updated_at = now, actor.user_id, now
        s.flush()
        uow.audit(
            "update",
            "treatment_plan",
            row.id,
            patient_id=patient_id,
            reason=data.reason,
            details={"status": "stopped", "stop_kind": data.stop_kind, **signed.audit_details()},
        )
        return read_plan(s, row)


def get_plan(*, db: Database, actor: Actor, patient_id: int, plan_id: int) -> PlanRead:
    """Return one plan with its versions."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "treatment_plan", patient_id=patient_id)
        row = _load(uow.session, patient_id, plan_id)
        uow.audit("view", "treatment_plan", row.id, patient_id=patient_id)
        return read_plan(uow.session, row)


def list_plans(*, db: Database, actor: Actor, patient_id: int) -> list[PlanSummary]:
    """Return the patient's plans, newest first."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "treatment_plan", patient_id=patient_id)
        s = uow.session
        _patient(s, patient_id)
        rows = s.scalars(
            select(TreatmentPlan)
            .where(TreatmentPlan.patient_id == patient_id)
            .order_by(TreatmentPlan.created_at.desc(), TreatmentPlan.id.desc())
        ).all()
        uow.audit("list", "treatment_plan", None, patient_id=patient_id)
        out = []
        for r in rows:
            t = plan_templates().get(r.template_id)
            out.append(
                PlanSummary(
                    id=r.id,
                    template_id=r.template_id,
                    template_name=t.name if t else r.template_id,
                    status=r.status,
                    current_version=r.current_version,
                    created_at=r.created_at,
                )
            )
        return out


def signer(db: Database, username: str) -> Actor:
    """Return the actor of an active account (the command line signs as a person, who re-authenticates)."""
    with db.session() as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None or not user.is_active:
            raise InvalidValue("as", f"no active account {username!r}")
        return Actor(user_id=user.id, username=user.username, role=user.role)
