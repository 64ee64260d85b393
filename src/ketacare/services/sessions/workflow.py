"""Session workflow: schedule, list, pre-check confirmations and guarded state transitions with audited overrides
(refused events are stored and audited too)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import (
    Override,
    transition,
)
from ketacare.domain.sessions.session import (
    FailedGuard,
    InvalidTransition,
    check_guards,
)
from ketacare.services import clock, dosing
from ketacare.services.access import Actor
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.checklist import closing_snapshot, log_confirmations
from ketacare.services.sessions.common import (
    board_changes,
    open_session,
    patient_label,
    refuse_if_signed,
)
from ketacare.services.sessions.facts import FactsReport, gather, gather_many
from ketacare.services.sessions.rules import default_session_rules
from ketacare.services.sessions.schemas import (
    CourseSafetyLine,
    GuardRead,
    GuardStatus,
    SessionChecks,
    SessionCreate,
    SessionListItem,
    SessionSummary,
    TransitionRead,
    TransitionRequest,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import (
    InfusionSession,
    SessionTransition,
)

_TIME_FIELDS = {
    "checked_in": "checked_in_at",
    "prechecks_passed": "prechecks_passed_at",
    "discharged": "discharged_at",
    "aborted": "aborted_at",
}


def create_session(*, db: Database, actor: Actor, data: SessionCreate) -> SessionSummary:
    """Schedule a session for a patient in a chair."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("chart", "infusion_session", patient_id=data.patient_id)
        s = uow.session
        if s.get(Patient, data.patient_id) is None:
            raise NotFound("patient")
        order = None
        if data.dose_order_id is not None:  # only a signed, double-checked order of this same patient
            order = dosing.order_of_patient(s, data.patient_id, data.dose_order_id)
            problem = order_problem(order, data.dose_order_id)
            if problem is not None:
                raise InvalidValue("dose_order_id", problem)
        now = clock.now()
        sess = InfusionSession(
            patient_id=data.patient_id,
            chair=data.chair,
            product=data.product,
            state="scheduled",
            scheduled_at=data.scheduled_at or now,
            dose_order_id=data.dose_order_id,
            planned_dose_mg=_given_or(data.planned_dose_mg, order.dose_mg if order else None),
            planned_duration_min=_given_or(data.planned_duration_min, order.duration_min if order else None),
            concentration_mg_per_ml=_given_or(
                data.concentration_mg_per_ml, order.final_concentration_mg_per_ml if order else None
            ),
            weight_kg=_given_or(data.weight_kg, order.weight_kg if order else None),
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
        return session_summary(sess)


def _given_or(given: float | None, from_order: float | None) -> float | None:
    return given if given is not None else from_order


def order_problem(order: dosing.DoseOrderRead | None, order_id: int) -> str | None:
    """Return why a session cannot be given this order (in clinic words), or None when it can."""
    if order is None:
        return f"dose order #{order_id} is not an order of this patient"
    return {
        "draft": f"dose order #{order_id} is not signed yet: a prescriber signs it, then a second person "
        "double-checks it; only then can a session use it",
        "signed": f"dose order #{order_id} is signed but not yet independently double-checked; a session can use "
        "it once the double check is done",
        "cancelled": f"dose order #{order_id} was cancelled; use a current order",
    }.get(order.status)


def session_summary(sess: InfusionSession) -> SessionSummary:
    return SessionSummary(
        id=sess.id,
        patient_id=sess.patient_id,
        chair=sess.chair,
        product=sess.product,
        state=sess.state,
        scheduled_at=sess.scheduled_at,
        version=sess.version,
    )


def update_checks(*, db: Database, actor: Actor, session_id: int, data: SessionChecks) -> SessionSummary:
    """Record pre-check confirmations or discharge assessments (refused once the record is signed)."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        refuse_if_signed(s, sess)
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
        log_confirmations(s, sess, actor, {k: changes[k] for k in changed}, now)
        if changed:
            sess.updated_at = now
            s.flush()
        uow.audit(
            "update", "infusion_session", sess.id, patient_id=sess.patient_id, details={"fields": changed}
        )
        local = board_changes(uow, sess.id, "checks")
    board_bus.publish_after_commit(db, local)
    return session_summary(sess)


def guard_reads(failed: Iterable[FailedGuard]) -> list[GuardRead]:
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


def annotate(failed: Iterable[FailedGuard], report: FactsReport) -> tuple[FailedGuard, ...]:
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
        sess = open_session(uow, session_id)
        refuse_if_signed(uow.session, sess)
        result = apply_in(uow, sess, data)
        local = board_changes(uow, sess.id, "state")
    board_bus.publish_after_commit(db, local)
    return result


def apply_in(uow: UnitOfWork, sess: InfusionSession, data: TransitionRequest) -> TransitionRead:
    """Apply an event to a loaded, authorized session inside the caller's unit of work (see `apply_event`)."""
    s = uow.session
    actor = uow.actor
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
    failed = annotate(result.failed_guards, report)
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
    details: dict[str, object] = {
        "event": str(result.event),
        "from": str(result.previous_state),
        "to": str(result.new_state),
    }
    if result.allowed:
        if data.event in ("discharge", "abort"):
            sess.discharge_checklist = closing_snapshot(
                s, sess, event=data.event, actor=actor, report=report, overrides_used=used, now=now
            )
        _enter(sess, data, str(result.new_state), now, used)
        s.flush()
        if data.event == "discharge" and report.evidence:
            details["evidence"] = dict(report.evidence)  # instrument result or nurse confirmation
        if data.event == "pass_prechecks" and report.consent is not None and report.consent.in_force:
            c = report.consent  # which signed consent document the pre-check relied on
            details["consent"] = {"document": c.template_id, "version": c.version, "route": c.route,
                                  "signed_at": c.signed_at.isoformat() if c.signed_at else None}  # fmt: skip
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
    return TransitionRead(
        allowed=result.allowed,
        event=str(result.event),
        from_state=str(result.previous_state),
        state=str(result.new_state),
        failed_guards=guard_reads(failed),
        overrides_used=used,
    )


def _enter(
    sess: InfusionSession, data: TransitionRequest, new_state: str, now: datetime, used: list[dict[str, str]]
) -> None:
    """Move the session into the event's new state: the state, its time stamps, the abort reason, overrides."""
    sess.state = new_state
    if sess.state in _TIME_FIELDS:
        setattr(sess, _TIME_FIELDS[sess.state], now)
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


_NEXT_GUARDED = {
    "checked_in": "pass_prechecks",
    "prechecks_passed": "start_infusion",
    "paused": "resume",
    "recovery": "discharge",
}


def guard_status(s: Session, sess: InfusionSession, now: datetime) -> GuardStatus:
    """Return the next meaningful guarded event and which of its guards fail now (for the board and page)."""
    return guard_statuses(s, [sess], now)[sess.id]


def guard_statuses(s: Session, sessions: list[InfusionSession], now: datetime) -> dict[int, GuardStatus]:
    """Return `guard_status` for many sessions (the board's chairs), keyed by session id; the guard facts of all
    of them are read in one set of statements."""
    waiting = [x for x in sessions if x.state in _NEXT_GUARDED]
    reports = gather_many(s, waiting, now)
    rules = default_session_rules()
    out = {x.id: GuardStatus(event=None) for x in sessions}
    for sess in waiting:
        nxt = _NEXT_GUARDED[sess.state]
        tr = rules.find(sess.state, nxt)  # type: ignore[arg-type]
        report = reports[sess.id]
        failed = annotate(check_guards(rules, tr.guards, report.facts), report) if tr else ()
        out[sess.id] = GuardStatus(
            event=nxt,
            failed=guard_reads(failed),
            checked=list(tr.guards) if tr else [],
            evidence=dict(report.evidence) if nxt == "discharge" else {},
            course_safety=[
                CourseSafetyLine(id=c.id, label=c.label, status=c.status, reason=c.reason, source=c.source)
                for c in (report.course.checks if report.course and nxt in ("pass_prechecks", "start_infusion") else ())
            ],
        )
    return out


def list_sessions(
    *, db: Database, actor: Actor, states: tuple[str, ...] | None = None, limit: int = 200
) -> list[SessionListItem]:
    """List sessions (newest first), optionally only some states: time, chair, patient and state."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("list", "infusion_session")
        s = uow.session
        q = select(InfusionSession, Patient).join(Patient, Patient.id == InfusionSession.patient_id)
        if states:
            q = q.where(InfusionSession.state.in_(states))
        rows = s.execute(q.order_by(InfusionSession.scheduled_at.desc()).limit(limit)).all()
        uow.audit("list", "infusion_session", details={"results": len(rows)})
        return [
            SessionListItem(**session_summary(sess).model_dump(), patient=patient_label(p))
            for sess, p in rows
        ]
