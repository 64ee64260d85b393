"""Vital signs: one reading by a nurse, or idempotent batches from a monitor gateway; every reading taken during
a session is evaluated by the alert engine in the same transaction (one alert per condition, with hysteresis)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.monitoring import Alert, VitalReading, evaluate, load_alert_rules
from ketacare.domain.monitoring.alerts import AlertRule
from ketacare.services import board_bus, clock
from ketacare.services.actor import Actor
from ketacare.services.errors import NotFound
from ketacare.services.schemas_sessions import BatchResult, GatewayReading, VitalIn, VitalRead
from ketacare.services.session_facts import baseline_row, vitals_of
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession, SessionAlert, SessionSignature, VitalSign

ALERT_PHASES = ("infusing", "paused", "recovery")
_FUTURE_TOLERANCE = timedelta(minutes=5)  # device clocks drift; refuse readings further in the future


@cache
def alert_rules() -> tuple[AlertRule, ...]:
    """Return the clinic's alert rules (shipped defaults; clinic overrides are applied by the domain loader)."""
    return load_alert_rules()


def _window_min(rules: Sequence[AlertRule]) -> float:
    longest = max([r.sustained_min for r in rules] + [r.max_gap_min for r in rules] + [5.0])
    return longest + 5.0


def latest_vitals(session: Session, patient_id: int, context: str | None = None) -> VitalSign | None:
    """Return the patient's latest reading (optionally of one context, e.g. 'screening'), or None."""
    q = select(VitalSign).where(VitalSign.patient_id == patient_id)
    if context is not None:
        q = q.where(VitalSign.context == context)
    return session.scalars(q.order_by(VitalSign.measured_at.desc(), VitalSign.id.desc()).limit(1)).first()


def default_context(state: str) -> str:
    """Return the reading context implied by the session state."""
    if state in ("scheduled", "checked_in", "prechecks_passed"):
        return "baseline"
    if state in ("infusing", "paused"):
        return "during"
    if state == "recovery":
        return "recovery"
    return "other"


def _domain_check(r: VitalIn) -> None:
    VitalReading(sbp=r.sbp, dbp=r.dbp, hr=r.hr, spo2=r.spo2, rr=r.rr)  # plausibility + dbp < sbp


def _row_values(
    r: VitalIn,
    *,
    patient_id: int,
    session_id: int | None,
    context: str,
    source: str,
    actor: Actor,
    now: datetime,
) -> dict:
    measured = r.measured_at or now
    if measured.tzinfo is None:
        raise InvalidValue(
            "measured_at", "give the device time with its time zone (e.g. 2026-11-26T10:15:00Z)"
        )
    if measured > now + _FUTURE_TOLERANCE:
        raise InvalidValue("measured_at", "the reading is dated in the future: check the monitor's clock")
    return {
        "patient_id": patient_id,
        "session_id": session_id,
        "measured_at": measured,
        "received_at": now,
        "sbp_mmhg": r.sbp,
        "dbp_mmhg": r.dbp,
        "hr_per_min": r.hr,
        "spo2_pct": r.spo2,
        "rr_per_min": r.rr,
        "temp_c": r.temp_c,
        "context": r.context or context,
        "source": source,
        "client_id": r.client_id,
        "recorded_by": actor.user_id,
    }


def _insert_new(s: Session, values: list[dict]) -> list[int]:
    """Insert rows whose (source, client_id) is new; return the ids actually inserted."""
    if not values:
        return []
    dialect = s.get_bind().dialect.name
    ins = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(VitalSign)
    stmt = ins.on_conflict_do_nothing(index_elements=["source", "client_id"]).returning(VitalSign.id)
    ids: list[int] = []
    chunk = 500
    for i in range(0, len(values), chunk):
        ids.extend(s.scalars(stmt, values[i : i + chunk]).all())
    return ids


def _locked(s: Session, session_id: int) -> bool:
    return (
        s.scalar(select(SessionSignature.id).where(SessionSignature.session_id == session_id).limit(1))
        is not None
    )


def _phase_start(s: Session, sess: InfusionSession) -> datetime:
    from ketacare.store.tables.sessions import SessionTransition

    at = s.scalar(
        select(SessionTransition.at)
        .where(
            SessionTransition.session_id == sess.id,
            SessionTransition.allowed.is_(True),
            SessionTransition.to_state == sess.state,
        )
        .order_by(SessionTransition.at.desc())
        .limit(1)
    )
    return at or sess.infusion_started_at or sess.updated_at


def _to_alert(row: SessionAlert, t0: datetime) -> Alert:
    def m(x: datetime | None) -> float | None:
        return None if x is None else (x - t0).total_seconds() / 60.0

    return Alert(
        id=str(row.id),
        rule_id=row.rule_id,
        group=row.group,
        rank=row.rank,
        priority=row.priority,  # type: ignore[arg-type]
        title=row.title,
        advice=row.advice,
        actions=tuple(row.actions or ()),
        source=row.source,
        raised_at_min=m(row.raised_at) or 0.0,
        trigger=row.trigger,
        status="acknowledged" if row.acknowledged_at else "raised",
        acknowledged_by=row.acknowledged_by_name,
        acknowledged_at_min=m(row.acknowledged_at),
        action_taken=row.action_taken,
    )


def evaluate_session(
    s: Session, sess: InfusionSession, new_ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Run the alert engine over each new reading of `sess`, in device-time order; persist raised/resolved."""
    if sess.state not in ALERT_PHASES or sess.infusion_started_at is None or not new_ids:
        return [], []
    rules = alert_rules()
    t0 = sess.infusion_started_at
    new = set(new_ids)
    first_new = s.scalar(
        select(VitalSign.measured_at).where(VitalSign.id.in_(new)).order_by(VitalSign.measured_at)
    )
    w = _window_min(rules)
    rows = s.execute(
        select(
            VitalSign.id,
            VitalSign.measured_at,
            VitalSign.sbp_mmhg,
            VitalSign.dbp_mmhg,
            VitalSign.hr_per_min,
            VitalSign.spo2_pct,
            VitalSign.rr_per_min,
        )
        .where(
            VitalSign.session_id == sess.id,
            VitalSign.context.in_(("during", "recovery")),
            VitalSign.measured_at >= first_new - timedelta(minutes=w),
        )
        .order_by(VitalSign.measured_at, VitalSign.id)
    ).all()

    def tmin(x: datetime) -> float:
        return (x - t0).total_seconds() / 60.0

    history = [
        VitalReading(
            sbp=r.sbp_mmhg,
            dbp=r.dbp_mmhg,
            hr=r.hr_per_min,
            spo2=r.spo2_pct,
            rr=r.rr_per_min,
            t_min=tmin(r[1]),
        )
        for r in rows
    ]
    times = [h.t_min for h in history]
    try:
        baseline = vitals_of(baseline_row(s, sess))
    except InvalidValue:
        baseline = None
    phase_start = tmin(_phase_start(s, sess))
    active_rows = {
        str(a.id): a
        for a in s.scalars(
            select(SessionAlert).where(SessionAlert.session_id == sess.id, SessionAlert.resolved_at.is_(None))
        )
    }
    active = [_to_alert(a, t0) for a in active_rows.values()]
    raised_ids: list[int] = []
    resolved_ids: list[int] = []
    for i, r in enumerate(rows):
        if r.id not in new:
            continue
        now = history[i].t_min
        lo = bisect.bisect_left(times, now - w)
        hi = bisect.bisect_right(times, now)
        changes = evaluate(
            history[lo:hi], baseline, rules, now, active, phase=sess.state, phase_start_min=phase_start
        )
        if not changes.raised and not changes.resolved:
            continue
        when = r[1]
        gone = set()
        for a in changes.resolved:
            row = active_rows.get(a.id)
            if row is None:
                continue
            row.resolved_at = max(when, row.raised_at)
            row.resolution = a.resolution
            resolved_ids.append(row.id)
            gone.add(a.id)
        active = [a for a in active if a.id not in gone]
        for a in changes.raised:
            row = SessionAlert(
                session_id=sess.id,
                rule_id=a.rule_id,
                group=a.group,
                rank=a.rank,
                priority=a.priority,
                title=a.title,
                advice=a.advice,
                actions=list(a.actions),
                source=a.source,
                trigger=a.trigger,
                raised_at=when,
            )
            s.add(row)
            s.flush()
            active_rows[str(row.id)] = row
            active.append(_to_alert(row, t0))
            raised_ids.append(row.id)
    return raised_ids, resolved_ids


def _session_for_write(uow: UnitOfWork, session_id: int) -> InfusionSession:
    s = uow.session
    sess = s.get(InfusionSession, session_id)
    if sess is None:
        raise NotFound("session")
    uow.authorize("chart", "infusion_session", patient_id=sess.patient_id)
    if _locked(s, session_id):
        raise InvalidValue("session", "the session record is signed: add an addendum instead of new readings")
    return sess


def _store(
    uow: UnitOfWork, sess: InfusionSession, readings: Sequence[VitalIn], source: str, actor: Actor
) -> BatchResult:
    s = uow.session
    now = clock.now()
    ctx = default_context(sess.state)
    values = []
    seen: set[str] = set()
    for k, r in enumerate(readings):
        try:
            _domain_check(r)
        except InvalidValue as e:
            raise InvalidValue(f"readings[{k}].{e.field}", e.message) from None
        if r.client_id is not None:
            if r.client_id in seen:
                continue
            seen.add(r.client_id)
        values.append(
            _row_values(
                r,
                patient_id=sess.patient_id,
                session_id=sess.id,
                context=ctx,
                source=source,
                actor=actor,
                now=now,
            )
        )
    ids = _insert_new(s, values)
    raised, resolved = evaluate_session(s, sess, ids)
    result = BatchResult(
        received=len(readings),
        stored=len(ids),
        duplicates=len(readings) - len(ids),
        alerts_raised=raised,
        alerts_resolved=resolved,
    )
    uow.audit(
        "create",
        "vital_signs",
        sess.id,
        patient_id=sess.patient_id,
        details={"source": source, "stored": result.stored, "duplicates": result.duplicates},
    )
    for aid in raised:
        uow.audit("create", "session_alert", aid, patient_id=sess.patient_id, details={"session_id": sess.id})
    return result


def _publish_and_commit(uow: UnitOfWork, session_id: int, kinds: list[str]) -> list[board_bus.BoardChange]:
    changes = [board_bus.BoardChange(session_id, k) for k in kinds]
    return board_bus.notify_in_transaction(uow.session, changes)


def record_batch(
    *, db: Database, actor: Actor, session_id: int, readings: Sequence[GatewayReading]
) -> BatchResult:
    """Store a gateway batch once per client id (a re-posted batch stores nothing new) and evaluate alerts."""
    with UnitOfWork(db, actor) as uow:
        sess = _session_for_write(uow, session_id)
        result = _store(uow, sess, readings, "gateway", actor)
        local = _publish_and_commit(uow, session_id, ["vitals"] + (["alert"] if result.alerts_raised else []))
    board_bus.publish_after_commit(db, local)
    return result


def record_session_reading(*, db: Database, actor: Actor, session_id: int, data: VitalIn) -> BatchResult:
    """Store one reading entered by a nurse for a session and evaluate alerts."""
    with UnitOfWork(db, actor) as uow:
        sess = _session_for_write(uow, session_id)
        result = _store(uow, sess, [data], "nurse", actor)
        local = _publish_and_commit(uow, session_id, ["vitals"] + (["alert"] if result.alerts_raised else []))
    board_bus.publish_after_commit(db, local)
    return result


def record_patient_reading(*, db: Database, actor: Actor, patient_id: int, data: VitalIn) -> VitalRead:
    """Store one reading outside a session (e.g. the screening BP the eligibility evaluation reads)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("write", "patient_clinical", patient_id=patient_id)
        s = uow.session
        if s.get(Patient, patient_id) is None:
            raise NotFound("patient")
        _domain_check(data)
        now = clock.now()
        values = _row_values(
            data,
            patient_id=patient_id,
            session_id=None,
            context="screening",
            source="nurse",
            actor=actor,
            now=now,
        )
        ids = _insert_new(s, [values])
        if not ids:
            raise InvalidValue("client_id", "this reading was already stored")
        row = s.get(VitalSign, ids[0])
        uow.audit("create", "vital_signs", row.id, patient_id=patient_id, details={"context": row.context})
        return VitalRead.model_validate(row)


def list_patient_vitals(
    *, db: Database, actor: Actor, patient_id: int, context: str | None = None, limit: int = 200
) -> list[VitalRead]:
    """Return a patient's readings, newest first (optionally one context)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "patient_clinical", patient_id=patient_id)
        q = select(VitalSign).where(VitalSign.patient_id == patient_id)
        if context:
            q = q.where(VitalSign.context == context)
        rows = uow.session.scalars(q.order_by(VitalSign.measured_at.desc()).limit(limit)).all()
        uow.audit(
            "view", "vital_signs", patient_id, patient_id=patient_id, details={"context": context or ""}
        )
        return [VitalRead.model_validate(r) for r in rows]
