"""Infusion-session use cases: schedule, guarded transitions with audited overrides, pump events and the dose
actually delivered (with its PK curve), alerts, side effects, rescue doses, the live board, signing and addenda."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain import pk
from ketacare.domain.eligibility import drug_classes, generic_name
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import (
    EventRecord,
    InfusionEvent,
    Override,
    RemsSessionRecord,
    SideEffect,
    VitalReading,
    canonical_json,
    concomitant_hints,
    delivered_dose,
    record_digest,
    rems_missing_fields,
    transition,
)
from ketacare.domain.sessions.session import (
    InvalidTransition,
    allowed_events,
    check_guards,
)
from ketacare.domain.sessions.side_effects import grade_label
from ketacare.services import clock
from ketacare.services.access import Actor, roles_for
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.sessions import board as board_bus
from ketacare.services.sessions.assessments import assessment_status
from ketacare.services.sessions.facts import FactsReport, gather
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import (
    AddendumCreate,
    AlertAck,
    GuardRead,
    InfusionEventCreate,
    SessionChecks,
    SessionCreate,
    SideEffectCreate,
    SignRequest,
    TransitionRead,
    TransitionRequest,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import BodyMeasurement, Medication, Patient
from ketacare.store.tables.dosing import DoseOrderRecord
from ketacare.store.tables.sessions import (
    InfusionEventRow,
    InfusionSession,
    RescueGivenRow,
    SessionAddendum,
    SessionAlert,
    SessionSignature,
    SessionTransition,
    SideEffectRow,
    VitalSign,
)

ACTIVE_STATES = ("checked_in", "prechecks_passed", "infusing", "paused", "recovery")
SIGNING_ROLES = roles_for("sign", "infusion_session")
_TIME_FIELDS = {
    "checked_in": "checked_in_at",
    "prechecks_passed": "prechecks_passed_at",
    "discharged": "discharged_at",
    "aborted": "aborted_at",
}


# ---------------------------------------------------------------- helpers


def _get(s: Session, session_id: int) -> InfusionSession:
    sess = s.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("session")
    return sess


def _open(uow: UnitOfWork, session_id: int, action: str = "chart") -> InfusionSession:
    sess = _get(uow.session, session_id)
    uow.authorize(action, "infusion_session", patient_id=sess.patient_id)
    return sess


def _signatures(s: Session, session_id: int) -> list[SessionSignature]:
    return list(
        s.scalars(
            select(SessionSignature)
            .where(SessionSignature.session_id == session_id)
            .order_by(SessionSignature.id)
        )
    )


def _refuse_if_signed(s: Session, sess: InfusionSession) -> None:
    if _signatures(s, sess.id):
        raise InvalidValue("session", "the session record is signed: later changes are added as addenda")


def _changed(uow: UnitOfWork, session_id: int, *kinds: str) -> list[board_bus.BoardChange]:
    return board_bus.notify_in_transaction(uow.session, [board_bus.BoardChange(session_id, k) for k in kinds])


def _weight(s: Session, sess: InfusionSession) -> float | None:
    if sess.weight_kg:
        return sess.weight_kg
    return s.scalar(
        select(BodyMeasurement.weight_kg)
        .where(BodyMeasurement.patient_id == sess.patient_id, BodyMeasurement.weight_kg.is_not(None))
        .order_by(BodyMeasurement.measured_at.desc())
        .limit(1)
    )


def _iso(x: datetime | None) -> str | None:
    return None if x is None else x.isoformat()


# ---------------------------------------------------------------- schedule and checks


def create_session(*, db: Database, actor: Actor, data: SessionCreate) -> dict[str, Any]:
    """Schedule a session for a patient in a chair."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("chart", "infusion_session", patient_id=data.patient_id)
        s = uow.session
        if s.get(Patient, data.patient_id) is None:
            raise NotFound("patient")
        if data.dose_order_id is not None and s.get(DoseOrderRecord, data.dose_order_id) is None:
            raise InvalidValue("dose_order_id", "there is no dose order with this number")
        now = clock.now()
        sess = InfusionSession(
            patient_id=data.patient_id,
            chair=data.chair,
            product=data.product,
            state="scheduled",
            scheduled_at=data.scheduled_at or now,
            dose_order_id=data.dose_order_id,
            planned_dose_mg=data.planned_dose_mg,
            planned_duration_min=data.planned_duration_min,
            concentration_mg_per_ml=data.concentration_mg_per_ml,
            weight_kg=data.weight_kg,
            overrides=[],
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        s.add(sess)
        s.flush()
        uow.audit(
            "create", "infusion_session", sess.id, patient_id=sess.patient_id, details={"chair": sess.chair}
        )
        return _summary(sess)


def _summary(sess: InfusionSession) -> dict[str, Any]:
    return {
        "id": sess.id,
        "patient_id": sess.patient_id,
        "chair": sess.chair,
        "product": sess.product,
        "state": sess.state,
        "scheduled_at": _iso(sess.scheduled_at),
        "version": sess.version,
    }


def update_checks(*, db: Database, actor: Actor, session_id: int, data: SessionChecks) -> dict[str, Any]:
    """Record pre-check confirmations or discharge assessments (refused once the record is signed)."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        _refuse_if_signed(s, sess)
        if sess.version != data.version:
            raise Conflict("session", current_version=sess.version, sent_version=data.version)
        changes = data.model_dump(exclude_unset=True, exclude={"version"})
        now = clock.now()
        for key in ("last_food_at", "last_liquid_at"):
            if changes.get(key) and changes[key] > now:
                raise InvalidValue(key, "this time is in the future")
        changed = sorted(k for k, v in changes.items() if getattr(sess, k) != v)
        for k in changed:
            setattr(sess, k, changes[k])
        if changed:
            sess.updated_at = now
            s.flush()
        uow.audit(
            "update", "infusion_session", sess.id, patient_id=sess.patient_id, details={"fields": changed}
        )
        local = _changed(uow, sess.id, "checks")
    board_bus.publish_after_commit(db, local)
    return _summary(sess)


# ---------------------------------------------------------------- transitions


def _guard_reads(failed) -> list[GuardRead]:
    rules = default_session_rules()
    return [
        GuardRead(
            id=g.id,
            message=g.message,
            source=g.source,
            overridable_by=list(rules.guards[g.id].override_roles),
        )
        for g in failed
    ]


def _annotate(failed, report: FactsReport):
    from dataclasses import replace

    return tuple(
        replace(g, message=f"{g.message} [{report.notes[g.id]}]") if g.id in report.notes else g
        for g in failed
    )


def apply_event(*, db: Database, actor: Actor, session_id: int, data: TransitionRequest) -> TransitionRead:
    """Apply a state-machine event with the guard facts as they are now; record and audit it either way.

    A refused event changes nothing but is stored in session_transitions (with the failed guards) and audited.
    An override names the failed guards and a reason; the rules decide whether the actor's role may override.
    """
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        _refuse_if_signed(s, sess)
        now = clock.now()
        report = gather(s, sess, now)
        override = None
        if data.override is not None:
            override = Override(
                by=actor.username,
                role=actor.role,
                reason=data.override.reason,
                guard_ids=frozenset(data.override.guard_ids),
            )
        try:
            result = transition(sess.state, data.event, report.facts, override=override, reason=data.reason,
                                rules=default_session_rules())
        except InvalidTransition as e:
            raise InvalidValue("event", e.message) from None
        failed = _annotate(result.failed_guards, report)
        used = [
            {"guard_id": o.guard_id, "message": o.message, "by": o.by, "role": o.role, "reason": o.reason}
            for o in result.overrides_used
        ]
        s.add(
            SessionTransition(
                session_id=sess.id,
                event=str(result.event),
                from_state=str(result.previous_state),
                to_state=str(result.new_state),
                allowed=result.allowed,
                failed_guards=[{"id": g.id, "message": g.message} for g in failed],
                overrides=used,
                reason=data.reason,
                by_user_id=actor.user_id,
                by_username=actor.username,
                role=actor.role,
                at=now,
            )
        )
        details = {
            "event": str(result.event),
            "from": str(result.previous_state),
            "to": str(result.new_state),
        }
        if result.allowed:
            sess.state = str(result.new_state)
            if result.new_state.value in _TIME_FIELDS:
                setattr(sess, _TIME_FIELDS[result.new_state.value], now)
            if data.event == "start_infusion":
                sess.infusion_started_at = now
            if data.event == "end_infusion" or (
                data.event == "abort" and sess.infusion_started_at and not sess.infusion_ended_at
            ):
                sess.infusion_ended_at = now
            if data.event == "abort":
                sess.abort_reason = data.reason
            if used:
                sess.overrides = list(sess.overrides or []) + [
                    {**u, "event": data.event, "at": now.isoformat()} for u in used
                ]
            sess.updated_at = now
            s.flush()
            if data.event == "discharge" and report.evidence:
                details["evidence"] = dict(report.evidence)  # instrument result or nurse confirmation
            uow.audit("update", "infusion_session", sess.id, patient_id=sess.patient_id, details=details)
            for u in used:
                uow.audit(
                    "override",
                    "infusion_session",
                    sess.id,
                    patient_id=sess.patient_id,
                    reason=u["reason"],
                    details={"guard": u["guard_id"], "event": data.event},
                )
        else:
            uow.audit(
                "update",
                "infusion_session",
                sess.id,
                patient_id=sess.patient_id,
                outcome="refused",
                details={**details, "failed": [g.id for g in failed]},
            )
        local = _changed(uow, sess.id, "state")
    board_bus.publish_after_commit(db, local)
    return TransitionRead(
        allowed=result.allowed,
        event=str(result.event),
        from_state=str(result.previous_state),
        state=str(result.new_state),
        failed_guards=_guard_reads(failed),
        overrides_used=used,
    )


def guard_status(s: Session, sess: InfusionSession, now: datetime) -> dict[str, Any]:
    """Return the next meaningful guarded event and which of its guards fail now (for the board and page)."""
    nxt = {
        "checked_in": "pass_prechecks",
        "prechecks_passed": "start_infusion",
        "paused": "resume",
        "recovery": "discharge",
    }.get(sess.state)
    if nxt is None:
        return {"event": None, "failed": []}
    rules = default_session_rules()
    tr = rules.find(sess.state, nxt)  # type: ignore[arg-type]
    report = gather(s, sess, now)
    failed = _annotate(check_guards(rules, tr.guards, report.facts), report) if tr else ()
    return {
        "event": nxt,
        "failed": [g.model_dump() for g in _guard_reads(failed)],
        "checked": list(tr.guards) if tr else [],
        "evidence": dict(report.evidence) if nxt == "discharge" else {},
    }


# ---------------------------------------------------------------- pump events, dose, PK


def _domain_events(rows: list[InfusionEventRow]) -> list[InfusionEvent]:
    return [
        InfusionEvent(
            kind=r.kind,  # type: ignore[arg-type]
            t=r.at,
            rate_ml_per_h=r.rate_ml_per_h,
            rate_mg_per_min=r.rate_mg_per_min,
            bolus_mg=r.bolus_mg,
            bolus_ml=r.bolus_ml,
        )
        for r in rows
    ]


def _events(s: Session, session_id: int) -> list[InfusionEventRow]:
    return list(
        s.scalars(
            select(InfusionEventRow)
            .where(InfusionEventRow.session_id == session_id)
            .order_by(InfusionEventRow.at, InfusionEventRow.id)
        )
    )


def _concentration(sess: InfusionSession, rows: list[InfusionEventRow]) -> float | None:
    for r in reversed(rows):
        if r.concentration_mg_per_ml:
            return r.concentration_mg_per_ml
    return sess.concentration_mg_per_ml


def dose_summary(
    s: Session, sess: InfusionSession, now: datetime, *, with_pk: bool = False
) -> dict[str, Any]:
    """Return delivered vs ordered dose (mg, mg/kg), time left, and optionally the PK curve of what was given."""
    rows = _events(s, sess.id)
    planned = sess.planned_dose_mg
    out: dict[str, Any] = {
        "planned_mg": planned,
        "delivered_mg": 0.0,
        "delivered_mg_per_kg": None,
        "difference_mg": None,
        "difference_pct": None,
        "running": False,
        "time_left_min": None,
        "infusing_min": 0.0,
        "pk": None,
    }
    if not rows:
        return out
    weight = _weight(s, sess)
    t0 = rows[0].at
    d = delivered_dose(
        _domain_events(rows),
        concentration_mg_per_ml=_concentration(sess, rows),
        weight_kg=weight,
        ordered_dose_mg=planned,
        until=max(now, rows[-1].at),
        t0=t0,
    )
    out.update(
        delivered_mg=round(d.delivered_mg, 2),
        delivered_mg_per_kg=None if d.delivered_mg_per_kg is None else round(d.delivered_mg_per_kg, 3),
        difference_mg=None if d.difference_mg is None else round(d.difference_mg, 2),
        difference_pct=None if d.difference_pct is None else round(d.difference_pct, 1),
        running=d.running,
        infusing_min=round(d.infusing_min, 1),
    )
    if d.running and planned and d.segments:
        rate = d.segments[-1].mg_per_min
        left = max(planned - d.delivered_mg, 0.0)
        out["time_left_min"] = round(left / rate, 1) if rate > 0 else None
    if with_pk and weight and (d.segments or d.boluses):
        out["pk"] = _pk_curve(d, weight)
    return out


def _pk_curve(d, weight_kg: float) -> dict[str, Any] | None:
    reg = pk.Regimen()
    for seg in d.segments:
        if seg.t_end_min > seg.t_start_min:
            reg = reg.infusion(max(seg.t_start_min, 0.0), seg.t_end_min, seg.mg_per_min)
    for b in d.boluses:
        reg = reg.bolus(max(b.t_min, 0.0), b.dose_mg)
    model = pk.default_model_id()
    try:
        params = pk.individualize(model, weight_kg)
    except InvalidValue as e:
        return {"model": model, "error": e.message}
    end = max(d.until_min, 1.0) + 60.0
    times = np.linspace(0.0, end, 61)
    prof = pk.simulate(params, reg, times)
    return {
        "model": model,
        "times_min": [round(float(t), 1) for t in times],
        "plasma_ng_per_ml": [round(float(c), 1) for c in prof.plasma_ng_per_ml],
        "until_min": round(d.until_min, 1),
    }


def add_infusion_event(
    *, db: Database, actor: Actor, session_id: int, data: InfusionEventCreate
) -> dict[str, Any]:
    """Record a pump event after checking the whole event sequence still makes sense."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        _refuse_if_signed(s, sess)
        if sess.state not in ("prechecks_passed", "infusing", "paused", "recovery"):
            raise InvalidValue(
                "kind", f"pump events are recorded once pre-checks have passed (session is {sess.state})"
            )
        if data.kind == "start" and sess.state == "prechecks_passed":
            raise InvalidValue(
                "kind", "start the infusion on the session first (its checks run then), then the pump"
            )
        now = clock.now()
        at = data.at or now
        if at > now + timedelta(minutes=1):
            raise InvalidValue("at", "the pump event is dated in the future")
        row = InfusionEventRow(
            session_id=sess.id,
            kind=data.kind,
            at=at,
            rate_ml_per_h=data.rate_ml_per_h,
            rate_mg_per_min=data.rate_mg_per_min,
            concentration_mg_per_ml=data.concentration_mg_per_ml,
            bolus_mg=data.bolus_mg,
            bolus_ml=data.bolus_ml,
            recorded_by=actor.user_id,
            created_at=now,
        )
        rows = _events(s, sess.id) + [row]
        rows.sort(key=lambda r: r.at)
        delivered_dose(
            _domain_events(rows),
            concentration_mg_per_ml=_concentration(sess, rows),
            until=max(now, rows[-1].at),
            t0=rows[0].at,
        )  # raises InvalidValue for an impossible sequence
        s.add(row)
        s.flush()
        uow.audit(
            "administer" if data.kind in ("start", "bolus") else "update",
            "infusion_event",
            row.id,
            patient_id=sess.patient_id,
            details={"kind": data.kind, "session_id": sess.id},
        )
        summary = dose_summary(s, sess, now)
        local = _changed(uow, sess.id, "infusion")
    board_bus.publish_after_commit(db, local)
    return {"id": row.id, "dose": summary}


# ---------------------------------------------------------------- alerts, side effects, rescue


def _alert_dict(a: SessionAlert) -> dict[str, Any]:
    return {
        "id": a.id,
        "rule_id": a.rule_id,
        "priority": a.priority,
        "title": a.title,
        "advice": a.advice,
        "actions": list(a.actions or []),
        "trigger": a.trigger,
        "source": a.source,
        "raised_at": _iso(a.raised_at),
        "acknowledged_by": a.acknowledged_by_name,
        "acknowledged_at": _iso(a.acknowledged_at),
        "action_taken": a.action_taken,
        "resolved_at": _iso(a.resolved_at),
        "resolution": a.resolution,
        "status": "resolved" if a.resolved_at else ("acknowledged" if a.acknowledged_at else "raised"),
        "version": a.version,
    }


def acknowledge_alert(
    *, db: Database, actor: Actor, session_id: int, alert_id: int, data: AlertAck
) -> dict[str, Any]:
    """Acknowledge a raised alert: records who and what was done; it stays visible until resolved."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        a = s.get(SessionAlert, alert_id)
        if a is None or a.session_id != sess.id:
            raise NotFound("alert")
        if a.acknowledged_at is not None:
            raise InvalidValue("alert", f"already acknowledged by {a.acknowledged_by_name}")
        now = clock.now()
        a.acknowledged_by, a.acknowledged_by_name = actor.user_id, actor.username
        a.acknowledged_at, a.action_taken = max(now, a.raised_at), data.action_taken
        s.flush()
        uow.audit(
            "acknowledge",
            "session_alert",
            a.id,
            patient_id=sess.patient_id,
            details={"rule": a.rule_id, "action_taken": data.action_taken},
        )
        local = _changed(uow, sess.id, "alert")
    board_bus.publish_after_commit(db, local)
    return _alert_dict(a)


def _minutes_from(sess: InfusionSession, at: datetime) -> float:
    t0 = sess.infusion_started_at or sess.checked_in_at or sess.scheduled_at
    return (at - t0).total_seconds() / 60.0


def add_side_effect(*, db: Database, actor: Actor, session_id: int, data: SideEffectCreate) -> dict[str, Any]:
    """Record a side effect with its grade (1 mild ... 5 death), onset and resolution."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        _refuse_if_signed(s, sess)
        now = clock.now()
        onset = data.onset_at or now
        SideEffect(
            type=data.type,  # type: ignore[arg-type]
            grade=data.grade,
            onset_min=_minutes_from(sess, onset),
            resolved_min=None if data.resolved_at is None else _minutes_from(sess, data.resolved_at),
            description=data.description,
        )
        row = SideEffectRow(
            session_id=sess.id,
            type=data.type,
            grade=data.grade,
            onset_at=onset,
            resolved_at=data.resolved_at,
            description=data.description or None,
            recorded_by=actor.user_id,
            created_at=now,
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create",
            "side_effect",
            row.id,
            patient_id=sess.patient_id,
            details={"type": data.type, "grade": data.grade},
        )
        local = _changed(uow, sess.id, "checks")
    board_bus.publish_after_commit(db, local)
    return {"id": row.id, "type": row.type, "grade": row.grade, "grade_label": grade_label(row.grade)}


# ---------------------------------------------------------------- record, REMS, signing, addenda


def _vital_rows(s: Session, session_id: int) -> list[VitalSign]:
    return list(
        s.scalars(
            select(VitalSign)
            .where(VitalSign.session_id == session_id)
            .order_by(VitalSign.measured_at, VitalSign.id)
        )
    )


def session_record(s: Session, sess: InfusionSession) -> dict[str, Any]:
    """Return the session record as plain data (the thing that is serialized canonically and signed)."""
    p = s.get(Patient, sess.patient_id)
    fields = [
        "id",
        "patient_id",
        "chair",
        "product",
        "state",
        "scheduled_at",
        "checked_in_at",
        "prechecks_passed_at",
        "infusion_started_at",
        "infusion_ended_at",
        "discharged_at",
        "aborted_at",
        "abort_reason",
        "dose_order_id",
        "planned_dose_mg",
        "planned_duration_min",
        "concentration_mg_per_ml",
        "weight_kg",
        "consent_confirmed",
        "last_food_at",
        "last_liquid_at",
        "escort_confirmed",
        "escort_present",
        "pregnancy_test_applicable",
        "pregnancy_test_negative",
        "aldrete_score",
        "dissociation_occurred",
        "dissociation_resolved",
        "sedation_occurred",
        "sedation_resolved",
        "respiratory_depression_occurred",
        "respiratory_depression_resolved",
        "lot_number",
        "could_have_left_min",
    ]
    rec: dict[str, Any] = {
        "format": "ketacare.session_record/1",
        "session": {f: getattr(sess, f) for f in fields},
    }
    # REMS form answers added in issue 11: only when recorded, so records signed before them keep their digest.
    rec["session"].update({f: getattr(sess, f) for f in REMS_FORM_FIELDS if getattr(sess, f) is not None})
    rec["patient"] = {
        "id": p.id,
        "mrn": p.mrn,
        "name": f"{p.family_name}, {p.given_name}",
        "dob": p.date_of_birth,
    }
    rec["transitions"] = [
        {
            "event": t.event,
            "from": t.from_state,
            "to": t.to_state,
            "allowed": t.allowed,
            "failed_guards": t.failed_guards,
            "overrides": t.overrides,
            "reason": t.reason,
            "by": t.by_username,
            "role": t.role,
            "at": t.at,
        }
        for t in s.scalars(
            select(SessionTransition)
            .where(SessionTransition.session_id == sess.id)
            .order_by(SessionTransition.id)
        )
    ]
    rec["infusion_events"] = [
        {
            "kind": e.kind,
            "at": e.at,
            "rate_ml_per_h": e.rate_ml_per_h,
            "rate_mg_per_min": e.rate_mg_per_min,
            "concentration_mg_per_ml": e.concentration_mg_per_ml,
            "bolus_mg": e.bolus_mg,
            "bolus_ml": e.bolus_ml,
        }
        for e in _events(s, sess.id)
    ]
    rec["vitals"] = [
        {
            "measured_at": v.measured_at,
            "received_at": v.received_at,
            "sbp_mmhg": v.sbp_mmhg,
            "dbp_mmhg": v.dbp_mmhg,
            "hr_per_min": v.hr_per_min,
            "spo2_pct": v.spo2_pct,
            "rr_per_min": v.rr_per_min,
            "temp_c": v.temp_c,
            "context": v.context,
            "source": v.source,
            "client_id": v.client_id,
        }
        for v in _vital_rows(s, sess.id)
    ]
    rec["alerts"] = [
        {k: v for k, v in _alert_dict(a).items() if k != "version"}
        for a in s.scalars(
            select(SessionAlert).where(SessionAlert.session_id == sess.id).order_by(SessionAlert.id)
        )
    ]
    rec["side_effects"] = [
        {
            "type": x.type,
            "grade": x.grade,
            "onset_at": x.onset_at,
            "resolved_at": x.resolved_at,
            "description": x.description,
            **({"resolution": x.resolution} if x.resolution else {}),
        }
        for x in s.scalars(
            select(SideEffectRow).where(SideEffectRow.session_id == sess.id).order_by(SideEffectRow.id)
        )
    ]
    rec["rescue"] = [
        {
            "drug": r.drug,
            "dose_mg": r.dose_mg,
            "route": r.route,
            "indication": r.indication,
            "given_at": r.given_at,
            "by": r.given_by_name,
            **({"side_effect_id": r.side_effect_id} if r.side_effect_id else {}),
        }
        for r in s.scalars(
            select(RescueGivenRow).where(RescueGivenRow.session_id == sess.id).order_by(RescueGivenRow.id)
        )
    ]
    rows = _events(s, sess.id)
    if rows:
        end = sess.infusion_ended_at or sess.discharged_at or sess.aborted_at or rows[-1].at
        d = delivered_dose(
            _domain_events(rows),
            concentration_mg_per_ml=_concentration(sess, rows),
            weight_kg=_weight(s, sess),
            ordered_dose_mg=sess.planned_dose_mg,
            until=max(end, rows[-1].at),
            t0=rows[0].at,
        )
        rec["dose"] = {
            "delivered_mg": round(d.delivered_mg, 3),
            "delivered_mg_per_kg": None if d.delivered_mg_per_kg is None else round(d.delivered_mg_per_kg, 4),
            "ordered_mg": d.ordered_mg,
        }
    return rec


# Session columns for the REMS form's patient and concomitant-medication questions (yes/no each).
REMS_FORM_FIELDS: tuple[str, ...] = (
    "rems_enrolled",
    "rems_first_treatment",
    "concomitant_benzodiazepines",
    "concomitant_non_benzodiazepine_hypnotics",
    "concomitant_psychostimulants",
    "concomitant_maois",
    "concomitant_opioids",
)


def rems_medication_hints(s: Session, sess: InfusionSession) -> dict[str, list[str]] | None:
    """Return the active medications beside each REMS concomitant-medication question (None for racemic ketamine)."""
    if sess.product != "esketamine":
        return None
    meds = s.scalars(
        select(Medication)
        .where(Medication.patient_id == sess.patient_id, Medication.active.is_(True))
        .order_by(Medication.id)
    )
    listed = []
    for m in meds:
        generic = generic_name(m.name)
        shown = m.name if generic == m.name.strip().lower() else f"{m.name} ({generic})"
        listed.append((shown, drug_classes(generic)))
    return concomitant_hints(listed)


def rems_check(s: Session, sess: InfusionSession) -> list[dict[str, str]] | None:
    """Return the esketamine REMS form fields still missing (None for racemic ketamine)."""
    if sess.product != "esketamine":
        return None
    t0 = sess.infusion_started_at
    readings: list[VitalReading] = []
    if t0 is not None:
        for v in _vital_rows(s, sess.id):
            try:
                readings.append(
                    VitalReading(
                        sbp=v.sbp_mmhg,
                        dbp=v.dbp_mmhg,
                        hr=v.hr_per_min,
                        spo2=v.spo2_pct,
                        rr=v.rr_per_min,
                        t_min=(v.measured_at - t0).total_seconds() / 60.0,
                    )
                )
            except InvalidValue:
                continue
    end = sess.discharged_at or sess.aborted_at
    d = dose_summary(s, sess, end or clock.now())

    def ev(occ: bool | None, res: bool | None) -> EventRecord | None:
        return None if occ is None else EventRecord(occ, res if occ else None)

    base_ok = None
    if sess.prechecks_passed_at is not None:
        base_ok = not any(
            o.get("guard_id") == "baseline_vitals_within_limits" for o in (sess.overrides or [])
        )
    record = RemsSessionRecord(
        readings=tuple(readings),
        monitoring_end_min=None if (end is None or t0 is None) else (end - t0).total_seconds() / 60.0,
        sedation=ev(sess.sedation_occurred, sess.sedation_resolved),
        dissociation=ev(sess.dissociation_occurred, sess.dissociation_resolved),
        respiratory_depression=ev(sess.respiratory_depression_occurred, sess.respiratory_depression_resolved),
        vitals_acceptable_before_administration=base_ok,
        vitals_acceptable_before_completion=None if sess.discharged_at is None else True,
        dose_mg=d["delivered_mg"] or sess.planned_dose_mg,
        lot_number=sess.lot_number,
        could_have_left_min=sess.could_have_left_min,
        enrolled=sess.rems_enrolled,
        first_treatment=sess.rems_first_treatment,
        concomitant_benzodiazepines=sess.concomitant_benzodiazepines,
        concomitant_non_benzodiazepine_hypnotics=sess.concomitant_non_benzodiazepine_hypnotics,
        concomitant_psychostimulants=sess.concomitant_psychostimulants,
        concomitant_maois=sess.concomitant_maois,
        concomitant_opioids=sess.concomitant_opioids,
    )
    return [{"field": m.field, "message": m.message, "source": m.source} for m in rems_missing_fields(record)]


def sign_session(*, db: Database, actor: Actor, session_id: int, data: SignRequest) -> dict[str, Any]:
    """Sign the finished record as nurse or prescriber: canonical JSON and its SHA-256 are stored."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id, "sign")
        s = uow.session
        if actor.role not in SIGNING_ROLES:
            raise InvalidValue("role", "only the nurse and the prescriber sign a session record")
        if sess.state not in ("discharged", "aborted"):
            raise InvalidValue(
                "session", f"the session is {sess.state}: sign once it is discharged or aborted"
            )
        sigs = _signatures(s, sess.id)
        if any(g.role == actor.role for g in sigs):
            raise InvalidValue("role", f"the {actor.role} signature is already on this record")
        rec = session_record(s, sess)
        canon = canonical_json(rec)
        digest = hashlib.sha256(canon).hexdigest()
        if data.digest and data.digest != digest:
            raise InvalidValue(
                "digest", "the record changed since you reviewed it: review it again before signing"
            )
        if sigs and sigs[0].digest_sha256 != digest:
            raise InvalidValue("digest", "the record no longer matches the first signature: it was altered")
        now = clock.now()
        sig = SessionSignature(
            session_id=sess.id,
            role=actor.role,
            user_id=actor.user_id,
            username=actor.username,
            digest_sha256=digest,
            canonical=canon.decode("utf-8"),
            signed_at=now,
        )
        s.add(sig)
        s.flush()
        uow.audit(
            "sign",
            "infusion_session",
            sess.id,
            patient_id=sess.patient_id,
            details={"sha256": digest, "role": actor.role},
        )
    return {"role": sig.role, "by": sig.username, "sha256": digest, "signed_at": _iso(now)}


def _addendum_digest(prev: str, text: str, author: str, role: str, at: datetime) -> str:
    return record_digest({"prev": prev, "text": text, "author": author, "role": role, "at": at})


def add_addendum(*, db: Database, actor: Actor, session_id: int, data: AddendumCreate) -> dict[str, Any]:
    """Add a later change to a signed record: chained to the signed digest, never an edit."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id)
        s = uow.session
        sigs = _signatures(s, sess.id)
        if not sigs:
            raise InvalidValue("session", "the record is not signed yet: change it directly")
        last = s.scalars(
            select(SessionAddendum)
            .where(SessionAddendum.session_id == sess.id)
            .order_by(SessionAddendum.id.desc())
            .limit(1)
        ).first()
        prev = last.digest_sha256 if last else sigs[0].digest_sha256
        now = clock.now()
        digest = _addendum_digest(prev, data.text, actor.username, actor.role, now)
        row = SessionAddendum(
            session_id=sess.id,
            text=data.text,
            author_id=actor.user_id,
            author_name=actor.username,
            role=actor.role,
            prev_digest=prev,
            digest_sha256=digest,
            at=now,
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create", "session_addendum", row.id, patient_id=sess.patient_id, details={"session_id": sess.id}
        )
    return {"id": row.id, "sha256": digest, "prev_sha256": prev}


def verify_record(s: Session, sess: InfusionSession) -> dict[str, Any]:
    """Recompute the canonical digest and the addendum chain; say whether the signed record is intact."""
    sigs = _signatures(s, sess.id)
    current = record_digest(session_record(s, sess))
    problems = []
    for g in sigs:
        if hashlib.sha256(g.canonical.encode("utf-8")).hexdigest() != g.digest_sha256:
            problems.append(f"the stored {g.role} signature does not match its own canonical text")
        if g.digest_sha256 != current:
            problems.append(f"the record no longer matches the {g.role} signature")
    prev = sigs[0].digest_sha256 if sigs else None
    for a in s.scalars(
        select(SessionAddendum).where(SessionAddendum.session_id == sess.id).order_by(SessionAddendum.id)
    ):
        if (
            a.prev_digest != prev
            or _addendum_digest(a.prev_digest, a.text, a.author_name, a.role, a.at) != a.digest_sha256
        ):
            problems.append(f"addendum {a.id} is altered or out of chain")
        prev = a.digest_sha256
    return {"signed": bool(sigs), "current_sha256": current, "intact": not problems, "problems": problems}


# ---------------------------------------------------------------- reads: session page, list, board


def _vital_dict(v: VitalSign) -> dict[str, Any]:
    return {
        "id": v.id,
        "measured_at": _iso(v.measured_at),
        "received_at": _iso(v.received_at),
        "sbp": v.sbp_mmhg,
        "dbp": v.dbp_mmhg,
        "hr": v.hr_per_min,
        "spo2": v.spo2_pct,
        "rr": v.rr_per_min,
        "temp_c": v.temp_c,
        "context": v.context,
        "source": v.source,
    }


def _patient_label(p: Patient) -> dict[str, Any]:
    return {"id": p.id, "name": f"{p.family_name}, {p.given_name}", "mrn": p.mrn}


def get_session(*, db: Database, actor: Actor, session_id: int) -> dict[str, Any]:
    """Return everything the session page shows (one view event in the audit trail)."""
    with UnitOfWork(db, actor) as uow:
        sess = _open(uow, session_id, "read")
        s = uow.session
        now = clock.now()
        p = s.get(Patient, sess.patient_id)
        out = {
            **{
                k: (v.isoformat() if isinstance(v, datetime) else v)
                for k, v in session_record(s, sess)["session"].items()
            },
            **{f: getattr(sess, f) for f in REMS_FORM_FIELDS},
            "version": sess.version,
            "overrides": sess.overrides or [],
            "patient": _patient_label(p),
            "vitals": [_vital_dict(v) for v in _vital_rows(s, sess.id)],
            "alerts": [
                _alert_dict(a)
                for a in s.scalars(
                    select(SessionAlert)
                    .where(SessionAlert.session_id == sess.id)
                    .order_by(SessionAlert.id.desc())
                )
            ],
            "transitions": [
                {
                    "event": t.event,
                    "from": t.from_state,
                    "to": t.to_state,
                    "allowed": t.allowed,
                    "failed_guards": t.failed_guards,
                    "overrides": t.overrides,
                    "reason": t.reason,
                    "by": t.by_username,
                    "role": t.role,
                    "at": _iso(t.at),
                }
                for t in s.scalars(
                    select(SessionTransition)
                    .where(SessionTransition.session_id == sess.id)
                    .order_by(SessionTransition.id)
                )
            ],
            "infusion_events": [
                {
                    "id": e.id,
                    "kind": e.kind,
                    "at": _iso(e.at),
                    "rate_ml_per_h": e.rate_ml_per_h,
                    "rate_mg_per_min": e.rate_mg_per_min,
                    "bolus_mg": e.bolus_mg,
                    "bolus_ml": e.bolus_ml,
                    "concentration_mg_per_ml": e.concentration_mg_per_ml,
                }
                for e in _events(s, sess.id)
            ],
            "side_effects": [
                {
                    "id": x.id,
                    "type": x.type,
                    "grade": x.grade,
                    "grade_label": grade_label(x.grade),
                    "onset_at": _iso(x.onset_at),
                    "resolved_at": _iso(x.resolved_at),
                    "resolution": x.resolution,
                    "description": x.description,
                }
                for x in s.scalars(
                    select(SideEffectRow)
                    .where(SideEffectRow.session_id == sess.id)
                    .order_by(SideEffectRow.id)
                )
            ],
            "rescue": [
                {
                    "id": r.id,
                    "drug": r.drug,
                    "dose_mg": r.dose_mg,
                    "route": r.route,
                    "indication": r.indication,
                    "given_at": _iso(r.given_at),
                    "by": r.given_by_name,
                    "side_effect_id": r.side_effect_id,
                }
                for r in s.scalars(select(RescueGivenRow).where(RescueGivenRow.session_id == sess.id))
            ],
            "signatures": [
                {"role": g.role, "by": g.username, "sha256": g.digest_sha256, "signed_at": _iso(g.signed_at)}
                for g in _signatures(s, sess.id)
            ],
            "addenda": [
                {
                    "id": a.id,
                    "text": a.text,
                    "by": a.author_name,
                    "role": a.role,
                    "at": _iso(a.at),
                    "sha256": a.digest_sha256,
                    "prev_sha256": a.prev_digest,
                }
                for a in s.scalars(
                    select(SessionAddendum)
                    .where(SessionAddendum.session_id == sess.id)
                    .order_by(SessionAddendum.id)
                )
            ],
            "dose": dose_summary(
                s,
                sess,
                sess.infusion_ended_at or now if sess.state not in ("infusing", "paused") else now,
                with_pk=True,
            ),
            "guards": guard_status(s, sess, now),
            "assessments": assessment_status(s, sess),
            "events_possible": [str(e) for e in allowed_events(sess.state)],
            "rems_missing": rems_check(s, sess),
            "rems_hints": rems_medication_hints(s, sess),
            "verification": verify_record(s, sess),
        }
        uow.audit("view", "infusion_session", sess.id, patient_id=sess.patient_id)
        return out


def record_for_pdf(*, db: Database, actor: Actor, session_id: int) -> dict[str, Any]:
    """Return the session page data for printing (audited as an export)."""
    data = get_session(db=db, actor=actor, session_id=session_id)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session", patient_id=data["patient_id"])
        uow.audit(
            "export", "infusion_session", session_id, patient_id=data["patient_id"], details={"format": "pdf"}
        )
    return data


def list_sessions(
    *, db: Database, actor: Actor, states: tuple[str, ...] | None = None, limit: int = 200
) -> list[dict]:
    """List sessions (newest first), optionally only some states."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        s = uow.session
        q = select(InfusionSession, Patient).join(Patient, Patient.id == InfusionSession.patient_id)
        if states:
            q = q.where(InfusionSession.state.in_(states))
        rows = s.execute(q.order_by(InfusionSession.scheduled_at.desc()).limit(limit)).all()
        uow.audit("list", "infusion_session", details={"results": len(rows)})
        return [{**_summary(sess), "patient": _patient_label(p)} for sess, p in rows]


def _chair(s: Session, sess: InfusionSession, p: Patient, now: datetime) -> dict[str, Any]:
    recent = list(
        s.scalars(
            select(VitalSign)
            .where(VitalSign.session_id == sess.id)
            .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
            .limit(20)
        )
    )[::-1]
    latest: dict[str, Any] = {}
    for v in recent:
        for key, col in (
            ("sbp", "sbp_mmhg"),
            ("dbp", "dbp_mmhg"),
            ("hr", "hr_per_min"),
            ("spo2", "spo2_pct"),
            ("rr", "rr_per_min"),
        ):
            val = getattr(v, col)
            if val is not None:
                latest[key] = {"value": val, "at": _iso(v.measured_at)}
    alerts = [
        _alert_dict(a)
        for a in s.scalars(
            select(SessionAlert)
            .where(SessionAlert.session_id == sess.id, SessionAlert.resolved_at.is_(None))
            .order_by(SessionAlert.raised_at.desc())
        )
    ]
    order = {"high": 0, "medium": 1, "low": 2}
    alerts.sort(key=lambda a: (order.get(a["priority"], 3), a["status"] != "raised"))
    elapsed = (
        None
        if sess.infusion_started_at is None
        else round((now - sess.infusion_started_at).total_seconds() / 60.0, 1)
    )
    return {
        "session_id": sess.id,
        "chair": sess.chair,
        "state": sess.state,
        "product": sess.product,
        "patient": _patient_label(p),
        "latest": latest,
        "trend": {
            "sbp": [v.sbp_mmhg for v in recent if v.sbp_mmhg is not None],
            "hr": [v.hr_per_min for v in recent if v.hr_per_min is not None],
            "spo2": [v.spo2_pct for v in recent if v.spo2_pct is not None],
        },
        "last_reading_at": _iso(recent[-1].measured_at) if recent else None,
        "dose": dose_summary(s, sess, now),
        "elapsed_min": elapsed,
        "alerts": alerts,
        "guards": guard_status(s, sess, now),
        "version": sess.version,
    }


def board_snapshot(*, db: Database, actor: Actor, audit_view: bool = True) -> list[dict[str, Any]]:
    """Return every active chair for the live board (ordered by chair)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        s = uow.session
        now = clock.now()
        rows = s.execute(
            select(InfusionSession, Patient)
            .join(Patient, Patient.id == InfusionSession.patient_id)
            .where(InfusionSession.state.in_(ACTIVE_STATES))
            .order_by(InfusionSession.chair, InfusionSession.id)
        ).all()
        chairs = [_chair(s, sess, p, now) for sess, p in rows]
        if audit_view:
            # One event per patient on the board, so each patient's "who viewed my record" shows it.
            for sess, p in rows:
                uow.audit("view", "session_board", sess.id, patient_id=p.id, details={"chair": sess.chair})
            if not rows:
                uow.audit("view", "session_board", details={"chairs": 0})
        return chairs


def board_chair(*, db: Database, actor: Actor, session_id: int) -> dict[str, Any] | None:
    """Return one chair for a live update (None when the session is no longer active). Not audited per push:
    the board view itself was audited when opened."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        s = uow.session
        sess = s.get(InfusionSession, session_id)
        if sess is None:
            return None
        p = s.get(Patient, sess.patient_id)
        chair = _chair(s, sess, p, clock.now())
        chair["active"] = sess.state in ACTIVE_STATES
        return chair


def active_session_count(db: Database) -> int:
    """Return how many sessions are active (for the demo feeder; no patient data)."""
    with db.session() as s:
        return (
            s.scalar(
                select(func.count())
                .select_from(InfusionSession)
                .where(InfusionSession.state.in_(ACTIVE_STATES))
            )
            or 0
        )
