"""Session alerts: raised and resolved by the alert engine as readings arrive (one alert per condition, with
hysteresis), acknowledged by a nurse, and the overdue-reading sweep for monitors that go silent."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import BindParameter, Select, bindparam, or_, select, text, true
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import (
    VitalReading,
    VitalSigns,
    load_alert_rules,
)
from ketacare.domain.sessions.alerts import AlertRule, evaluate, evaluate_series
from ketacare.services import clinic, clock
from ketacare.services.access import Actor, people, system_actor
from ketacare.services.errors import NotFound
from ketacare.services.sessions import alarm_rows
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.common import board_changes, open_session, patient_label
from ketacare.services.sessions.facts import baseline_row, vitals_of
from ketacare.services.sessions.schemas import (
    AlarmAcknowledgement,
    AlarmHistoryItem,
    AlertAck,
    AlertRead,
    EscalatedAlarm,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import (
    InfusionSession,
    SessionAlert,
    SessionSignature,
    SessionTransition,
    VitalSign,
)


def alert_status(a: SessionAlert) -> str:
    """The alarm's state: raised, acknowledged, resolved_unacknowledged (latched) or resolved (closed)."""
    if a.resolved_at:
        return "resolved"
    if a.acknowledged_at:
        return "acknowledged"
    return "resolved_unacknowledged" if a.cleared_at else "raised"


_STATUS_TEXT = {
    "raised": "active, not acknowledged",
    "acknowledged": "acknowledged",
    "resolved_unacknowledged": "resolved, not acknowledged",
    "resolved": "closed",
}


def alert_read(a: SessionAlert) -> AlertRead:
    status = alert_status(a)
    return AlertRead(
        id=a.id,
        rule_id=a.rule_id,
        priority=a.priority,
        title=a.title,
        advice=a.advice,
        actions=list(a.actions or []),
        trigger=a.trigger,
        source=a.source,
        raised_at=a.raised_at,
        acknowledged_by=a.acknowledged_by_name,
        acknowledged_at=a.acknowledged_at,
        action_taken=a.action_taken,
        resolved_at=a.resolved_at,
        resolution=a.resolution,
        status=status,
        version=a.version,
        group=a.group,
        status_text=_STATUS_TEXT[status],
        needs_acknowledgement=status in ("raised", "resolved_unacknowledged"),
        condition_present=a.resolved_at is None and a.cleared_at is None,
        cleared_at=a.cleared_at,
        clear_reason=a.clear_reason,
        peak_priority=a.peak_priority or a.priority,
        peak_title=a.peak_title or a.title,
        latching=bool(a.latching),
        escalated=a.escalated_at is not None and a.acknowledged_at is None and a.resolved_at is None,
        escalated_at=a.escalated_at,
        reraised=a.reraised or 0,
        acknowledgements=[
            AlarmAcknowledgement(by=x["by"], at=x["at"], action_taken=x["action_taken"])
            for x in (a.acknowledgements or [])
        ],
        history=[AlarmHistoryItem(at=e["at"], kind=e["kind"], text=e["text"]) for e in (a.events or [])],
    )


def acknowledge_alert(
    *, db: Database, actor: Actor, session_id: int, alert_id: int, data: AlertAck
) -> AlertRead:
    """Acknowledge an alarm with the action taken: records who and what was done. An alarm whose condition is
    still present stays visible (quieter) until it resolves; a latched alarm whose condition is over closes."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        a = s.get(SessionAlert, alert_id)
        if a is None or a.session_id != sess.id:
            raise NotFound("alert")
        if a.resolved_at is not None:
            raise InvalidValue("alert", "the alarm is closed; there is nothing to acknowledge")
        if a.acknowledged_at is not None:
            raise InvalidValue("alert", f"already acknowledged by {a.acknowledged_by_name}")
        alarm_rows.acknowledge_row(
            a,
            sess.infusion_started_at or a.raised_at,
            by=people.signature_of(s, actor),
            user_id=actor.user_id,
            action_taken=data.action_taken,
            now=clock.now(),
        )
        s.flush()
        uow.audit(
            "acknowledge",
            "session_alert",
            a.id,
            patient_id=sess.patient_id,
            details={
                "rule": a.rule_id,
                "action_taken": data.action_taken,
                "closed": a.resolved_at is not None,
            },
        )
        local = board_changes(uow, sess.id, "alert")
    board_bus.publish_after_commit(db, local)
    return alert_read(a)


ALERT_PHASES = ("infusing", "paused", "recovery")


def alert_rules(s: Session | None = None) -> tuple[AlertRule, ...]:
    """Return the clinic's alert rules: shipped defaults with the thresholds the clinic set in its settings
    (read in `s`'s transaction; without `s`, the shipped defaults)."""
    overrides = clinic.alert_overrides_from(s) if s is not None else {}
    return _rules(json.dumps(overrides, sort_keys=True))


@cache
def _rules(overrides: str) -> tuple[AlertRule, ...]:
    return load_alert_rules(json.loads(overrides))


def _window_min(rules: Sequence[AlertRule]) -> float:
    longest = max([r.sustained_min for r in rules] + [r.max_gap_min for r in rules] + [5.0])
    return longest + 5.0


@dataclass(frozen=True)
class Chart:
    """What a reading needs of its session, read in one query (before the readings are stored)."""

    id: int
    patient_id: int
    state: str
    infusion_started_at: datetime | None
    phase_start: datetime
    locked: bool
    has_active_alerts: bool
    baseline: VitalSigns | None


_BASELINE_COLS = ("sbp_mmhg", "dbp_mmhg", "hr_per_min", "spo2_pct", "rr_per_min")


def _baseline_of(values: Sequence[float | None] | None) -> VitalSigns | None:
    if values is None:
        return None
    try:
        sbp, dbp, hr, spo2, rr = values
        return VitalSigns(sbp=sbp, dbp=dbp, hr=hr, spo2=spo2, rr=rr)
    except InvalidValue:
        return None


def _chart_query() -> Select[tuple[Any, ...]]:
    S = InfusionSession
    sid: BindParameter[int] = bindparam("sid")
    locked = select(SessionSignature.id).where(SessionSignature.session_id == S.id).exists()
    open_alerts = (
        select(SessionAlert.id)
        .where(SessionAlert.session_id == S.id, SessionAlert.resolved_at.is_(None))
        .exists()
    )
    phase_at = (
        select(SessionTransition.at)
        .where(
            SessionTransition.session_id == S.id,
            SessionTransition.allowed.is_(True),
            SessionTransition.to_state == S.state,
        )
        .order_by(SessionTransition.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    base = (
        select(VitalSign.id, *(getattr(VitalSign, c) for c in _BASELINE_COLS))
        .where(VitalSign.session_id == sid, VitalSign.context == "baseline")
        .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
        .limit(1)
        .subquery()
    )
    return (
        select(
            S.id,
            S.patient_id,
            S.state,
            S.infusion_started_at,
            S.updated_at,
            locked.label("locked"),
            open_alerts.label("open_alerts"),
            phase_at.label("phase_at"),
            base.c.id.label("baseline_id"),
            *(base.c[c] for c in _BASELINE_COLS),
        )
        .select_from(S)
        .outerjoin(base, true())
        .where(S.id == sid)
    )


# Built once: constructing and cache-keying a statement costs more than running it on this path.
_CHART = _chart_query()


_HISTORY = (
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
        VitalSign.session_id == bindparam("sid"),
        VitalSign.context.in_(("during", "recovery")),
        VitalSign.measured_at >= bindparam("lo"),
        VitalSign.measured_at <= bindparam("hi"),
    )
    .order_by(VitalSign.measured_at, VitalSign.id)
)


OPEN_ALERTS = select(SessionAlert).where(
    SessionAlert.session_id == bindparam("sid"), SessionAlert.resolved_at.is_(None)
)


def chart_of(s: Session, session_id: int) -> Chart | None:
    """Return the session's state, phase start, signed flag, open-alert flag and baseline, or None."""
    row = s.execute(_CHART, {"sid": session_id}).first()
    if row is None:
        return None
    return Chart(
        id=row.id,
        patient_id=row.patient_id,
        state=row.state,
        infusion_started_at=row.infusion_started_at,
        phase_start=row.phase_at or row.infusion_started_at or row.updated_at,
        locked=bool(row.locked),
        has_active_alerts=bool(row.open_alerts),
        baseline=None if row.baseline_id is None else _baseline_of(row[-len(_BASELINE_COLS) :]),
    )


def evaluate_readings(
    s: Session, chart: Chart, values: Sequence[Mapping[str, Any]], new_ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Run the alert engine at each new reading of the session, in device-time order; persist raised/resolved.

    The engine sees, at each new reading, the readings of the last `_window_min` minutes up to it; the whole
    batch is evaluated in one pass (`evaluate_series`), which decides what evaluating reading by reading did.
    """
    if chart.state not in ALERT_PHASES or chart.infusion_started_at is None or not new_ids:
        return [], []
    rules = alert_rules(s)
    t0 = chart.infusion_started_at
    new = set(new_ids)
    w = _window_min(rules)
    measured = [v["measured_at"] for v in values]
    rows = s.execute(
        _HISTORY, {"sid": chart.id, "lo": min(measured) - timedelta(minutes=w), "hi": max(measured)}
    ).all()
    steps = [r for r in rows if r.id in new]
    if not steps:
        return [], []

    def tmin(x: datetime) -> float:
        return (x - t0).total_seconds() / 60.0

    history = [VitalReading(sbp=r[2], dbp=r[3], hr=r[4], spo2=r[5], rr=r[6], t_min=tmin(r[1])) for r in rows]
    baseline = chart.baseline
    if any(v["context"] == "baseline" for v in values):  # this batch may carry a newer baseline reading
        try:
            baseline = vitals_of(baseline_row(s, chart))  # type: ignore[arg-type]
        except InvalidValue:
            baseline = None
    open_rows = list(s.scalars(OPEN_ALERTS, {"sid": chart.id})) if chart.has_active_alerts else []
    steps_min = [tmin(r[1]) for r in steps]
    changes = evaluate_series(
        history,
        baseline,
        rules,
        steps_min,
        alarm_rows.engine_conditions(open_rows, t0),
        phase=chart.state,
        phase_start_min=tmin(chart.phase_start),
        window_min=w,
    )
    if not any(ch.raised or ch.resolved for ch in changes):
        return [], []
    alarms = open_rows
    if any(ch.raised for ch in changes):  # a condition back within the window reopens its closed alarm
        since = min(measured) - timedelta(minutes=alarm_rows.alarm_policy().reraise_window_min)
        alarms = alarm_rows.alarm_rows(s, chart.id, closed_since=since)
    writes = alarm_rows.track_rows(s, chart.id, t0, alarms, steps_min, changes)
    raised_ids = [r.id for r in writes.opened]
    resolved_ids = list(writes.closed_ids)
    return raised_ids, resolved_ids


SWEEP_ACTOR = system_actor("monitor")


_PG_SWEEP_LOCK = 7_402_114  # pg_try_advisory_xact_lock key: one app process sweeps at a time


_SWEEP_SESSIONS = select(InfusionSession.id).where(
    InfusionSession.state.in_(ALERT_PHASES), InfusionSession.infusion_started_at.is_not(None)
)


def _overdue_rules() -> tuple[AlertRule, ...]:
    return tuple(r for r in alert_rules() if r.kind == "overdue")


def _last_readings(s: Session, session_id: int, rules: Sequence[AlertRule]) -> list[VitalSign]:
    """Return, per overdue rule, the session's latest charted reading of a vital that rule watches."""
    cols = {
        "sbp": VitalSign.sbp_mmhg,
        "dbp": VitalSign.dbp_mmhg,
        "hr": VitalSign.hr_per_min,
        "spo2": VitalSign.spo2_pct,
        "rr": VitalSign.rr_per_min,
    }
    rows: dict[int, VitalSign] = {}
    for rule in rules:
        row = s.scalars(
            select(VitalSign)
            .where(
                VitalSign.session_id == session_id,
                VitalSign.context.in_(("during", "recovery")),
                or_(*(cols[v].is_not(None) for v in rule.vitals)),
            )
            .order_by(VitalSign.measured_at.desc(), VitalSign.id.desc())
            .limit(1)
        ).first()
        if row is not None:
            rows[row.id] = row
    return list(rows.values())


def _sweep_one(uow: UnitOfWork, chart: Chart, rules: tuple[AlertRule, ...], now: datetime) -> tuple[int, int]:
    """Evaluate the overdue rules of one session at `now`; store and audit what they raise or resolve."""
    s = uow.session
    t0 = chart.infusion_started_at
    assert t0 is not None  # noqa: S101 - narrows the type; ensured above

    def tmin(x: datetime) -> float:
        return (x - t0).total_seconds() / 60.0

    now_min = tmin(now)
    # A reading dated a little ahead of this server's clock (device drift) was still received: count it as now.
    readings = [
        VitalReading(
            sbp=r.sbp_mmhg,
            dbp=r.dbp_mmhg,
            hr=r.hr_per_min,
            spo2=r.spo2_pct,
            rr=r.rr_per_min,
            t_min=min(tmin(r.measured_at), now_min),
        )
        for r in _last_readings(s, chart.id, rules)
    ]
    groups = {r.group for r in rules}
    open_rows: list[SessionAlert] = []
    if chart.has_active_alerts:
        open_rows = [a for a in s.scalars(OPEN_ALERTS, {"sid": chart.id}) if a.group in groups]
    changes = evaluate(
        readings,
        None,
        rules,
        now_min,
        alarm_rows.engine_conditions(open_rows, t0),
        phase=chart.state,
        phase_start_min=min(tmin(chart.phase_start), now_min),
    )
    if not changes.raised and not changes.resolved:
        return 0, 0
    rows = open_rows
    if changes.raised:  # a condition back within the window reopens its closed alarm
        since = now - timedelta(minutes=alarm_rows.alarm_policy().reraise_window_min)
        rows = [a for a in alarm_rows.alarm_rows(s, chart.id, closed_since=since) if a.group in groups]
    writes = alarm_rows.track_rows(s, chart.id, t0, rows, [now_min], [changes])
    for row in writes.updated:
        uow.audit(
            "update",
            "session_alert",
            row.id,
            patient_id=chart.patient_id,
            details={
                "session_id": chart.id,
                "rule": row.rule_id,
                "resolution": row.resolution,
                "by": "overdue sweep",
            },
        )
    for row in writes.opened:
        uow.audit(
            "create",
            "session_alert",
            row.id,
            patient_id=chart.patient_id,
            details={"session_id": chart.id, "rule": row.rule_id, "by": "overdue sweep"},
        )
    return len(writes.opened), len(writes.closed_ids)


_ESCALATION_DUE = (
    select(SessionAlert, InfusionSession.infusion_started_at, InfusionSession.patient_id)
    .join(InfusionSession, InfusionSession.id == SessionAlert.session_id)
    .where(
        SessionAlert.resolved_at.is_(None),
        SessionAlert.acknowledged_at.is_(None),
        SessionAlert.escalated_at.is_(None),
    )
    .order_by(SessionAlert.id)
)


def _escalate(uow: UnitOfWork, now: datetime) -> list[int]:
    """Escalate every open alarm left unacknowledged past the policy's time; return the sessions changed."""
    sessions: list[int] = []
    for row, started, patient_id in uow.session.execute(_ESCALATION_DUE).all():
        t0 = started or row.raised_at
        for done in alarm_rows.escalate_rows([row], t0, now):
            uow.audit(
                "update",
                "session_alert",
                done.id,
                patient_id=patient_id,
                details={
                    "session_id": done.session_id,
                    "rule": done.rule_id,
                    "priority": done.peak_priority,
                    "escalated": "not acknowledged in time",
                },
            )
            sessions.append(done.session_id)
    return sessions


def sweep_overdue(*, db: Database, now: datetime | None = None) -> int:
    """Evaluate the overdue-reading rules of every session in an alert phase at `now`; return alerts raised.

    A monitor that goes silent sends nothing, so these rules cannot wait for a reading. Same engine and
    de-duplication as a reading (a condition already alerting raises nothing new); raised alerts are stored,
    audited as `system:monitor` and pushed to the board. The same round escalates every open alarm left
    unacknowledged past the alarm policy's time (an unacknowledged HIGH: board and prescriber's dashboard).
    On PostgreSQL one app process sweeps at a time (`pg_try_advisory_xact_lock`; the others skip this round).
    """
    rules = _overdue_rules()
    raised = 0
    with UnitOfWork(db, SWEEP_ACTOR) as uow:
        s = uow.session
        if s.get_bind().dialect.name == "postgresql" and not s.scalar(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_SWEEP_LOCK}
        ):
            return 0
        uow.authorize("chart", "infusion_session")
        at = now or clock.now()
        changed: list[board_bus.BoardChange] = []
        for sid in list(s.scalars(_SWEEP_SESSIONS)):
            chart = chart_of(s, sid)
            if chart is None or chart.locked or chart.state not in ALERT_PHASES:
                continue
            n_raised, n_resolved = _sweep_one(uow, chart, rules, at)
            raised += n_raised
            if n_raised or n_resolved:
                changed.append(board_bus.BoardChange(sid, "alert"))
        for sid in dict.fromkeys(_escalate(uow, at)):
            changed.append(board_bus.BoardChange(sid, "alert"))
        local = board_bus.notify_in_transaction(s, changed)
    board_bus.publish_after_commit(db, local)
    return raised


_ESCALATED = (
    select(SessionAlert, InfusionSession, Patient)
    .join(InfusionSession, InfusionSession.id == SessionAlert.session_id)
    .join(Patient, Patient.id == InfusionSession.patient_id)
    .where(
        SessionAlert.resolved_at.is_(None),
        SessionAlert.acknowledged_at.is_(None),
        SessionAlert.escalated_at.is_not(None),
    )
    .order_by(SessionAlert.escalated_at, SessionAlert.id)
)


def escalated_alarms(*, db: Database, actor: Actor) -> list[EscalatedAlarm]:
    """Return every open alarm escalated because nobody acknowledged it in time, oldest first, with its chair
    and patient (for the prescriber's dashboard; one view event per patient shown)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        rows = uow.session.execute(_ESCALATED).all()
        out = [
            EscalatedAlarm(
                **alert_read(a).model_dump(), session_id=sess.id, chair=sess.chair, patient=patient_label(p)
            )
            for a, sess, p in rows
        ]
        for a, _sess, p in rows:
            uow.audit("view", "session_alert", a.id, patient_id=p.id, details={"escalated": True})
    return out
