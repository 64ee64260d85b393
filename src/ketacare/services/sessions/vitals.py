"""Vital signs: one reading by a nurse, or idempotent batches from a monitor gateway; every reading taken during
a session is evaluated by the alert engine in the same transaction (one alert per condition, with hysteresis)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from sqlalchemy import bindparam, or_, select, text, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import Alert, VitalReading, VitalSigns, load_alert_rules
from ketacare.domain.sessions.alerts import AlertRule, evaluate, evaluate_series
from ketacare.services import clock
from ketacare.services.access import Actor, system_actor
from ketacare.services.errors import NotFound
from ketacare.services.sessions import board as board_bus
from ketacare.services.sessions.facts import baseline_row, vitals_of
from ketacare.services.sessions.schemas import BatchResult, GatewayReading, VitalIn, VitalRead
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
        "on_oxygen": r.on_oxygen,
        "context": r.context or context,
        "source": source,
        "client_id": r.client_id,
        "recorded_by": actor.user_id,
    }


_SAME = ("patient_id", "session_id", "received_at", "source", "recorded_by")  # one value per batch
_PER_ROW = {
    "measured_at": "timestamptz[]",
    "sbp_mmhg": "float8[]",
    "dbp_mmhg": "float8[]",
    "hr_per_min": "float8[]",
    "spo2_pct": "float8[]",
    "rr_per_min": "float8[]",
    "temp_c": "float8[]",
    "on_oxygen": "boolean[]",
    "context": "text[]",
    "client_id": "text[]",
}
# PostgreSQL: one short statement with one array per column, whatever the batch size (a multi-row VALUES
# list with 14 placeholders per reading costs more to build and parse than the insert itself).
_PG_UNNEST_INSERT = text(
    f"INSERT INTO vital_signs ({', '.join(_SAME)}, {', '.join(_PER_ROW)}) "
    "SELECT CAST(:patient_id AS integer), CAST(:session_id AS integer), CAST(:received_at AS timestamptz), "
    "CAST(:source AS varchar), CAST(:recorded_by AS integer), u.* FROM unnest("
    + ", ".join(f"CAST(:{c} AS {t})" for c, t in _PER_ROW.items())
    + ") AS u ON CONFLICT (source, client_id) DO NOTHING RETURNING id"
)


def _upsert(insert) -> object:
    return (
        insert(VitalSign.__table__)
        .on_conflict_do_nothing(index_elements=["source", "client_id"])
        .returning(VitalSign.__table__.c.id)
    )


_INSERT_NEW = {"postgresql": _upsert(postgresql.insert), "sqlite": _upsert(sqlite.insert)}


def _insert_new(s: Session, values: list[dict]) -> list[int]:
    """Insert rows whose (source, client_id) is new (INSERT ... ON CONFLICT DO NOTHING); return the new ids."""
    if not values:
        return []
    dialect = s.get_bind().dialect.name
    if (
        dialect == "postgresql"
        and len(values) > 1
        and all(v[c] == values[0][c] for v in values for c in _SAME)
    ):
        params = {c: values[0][c] for c in _SAME} | {c: [v[c] for v in values] for c in _PER_ROW}
        return list(s.execute(_PG_UNNEST_INSERT, params).scalars())
    stmt = _INSERT_NEW[dialect]
    if len(values) == 1:
        return list(s.execute(stmt, values[0]).scalars())
    ids: list[int] = []
    chunk = 500
    for i in range(0, len(values), chunk):
        ids.extend(s.execute(stmt, values[i : i + chunk]).scalars())
    return ids


@dataclass(frozen=True)
class _Chart:
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


def _chart_query():
    S = InfusionSession
    sid = bindparam("sid")
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
_OPEN_ALERTS = select(SessionAlert).where(
    SessionAlert.session_id == bindparam("sid"), SessionAlert.resolved_at.is_(None)
)


def _chart(s: Session, session_id: int) -> _Chart | None:
    """Return the session's state, phase start, signed flag, open-alert flag and baseline, or None."""
    row = s.execute(_CHART, {"sid": session_id}).first()
    if row is None:
        return None
    return _Chart(
        id=row.id,
        patient_id=row.patient_id,
        state=row.state,
        infusion_started_at=row.infusion_started_at,
        phase_start=row.phase_at or row.infusion_started_at or row.updated_at,
        locked=bool(row.locked),
        has_active_alerts=bool(row.open_alerts),
        baseline=None if row.baseline_id is None else _baseline_of(row[-len(_BASELINE_COLS) :]),
    )


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


def _evaluate(
    s: Session, chart: _Chart, values: Sequence[dict], new_ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Run the alert engine at each new reading of the session, in device-time order; persist raised/resolved.

    The engine sees, at each new reading, the readings of the last `_window_min` minutes up to it; the whole
    batch is evaluated in one pass (`evaluate_series`), which decides what evaluating reading by reading did.
    """
    if chart.state not in ALERT_PHASES or chart.infusion_started_at is None or not new_ids:
        return [], []
    rules = alert_rules()
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
    by_id: dict[str, SessionAlert] = {}
    if chart.has_active_alerts:
        by_id = {str(a.id): a for a in s.scalars(_OPEN_ALERTS, {"sid": chart.id})}
    changes = evaluate_series(
        history,
        baseline,
        rules,
        [tmin(r[1]) for r in steps],
        [_to_alert(a, t0) for a in by_id.values()],
        phase=chart.state,
        phase_start_min=tmin(chart.phase_start),
        window_min=w,
    )
    raised_ids: list[int] = []
    resolved_ids: list[int] = []
    for r, ch in zip(steps, changes, strict=True):
        when = r[1]
        for a in ch.resolved:
            row = by_id.get(a.id)
            if row is None:
                continue
            row.resolved_at = max(when, row.raised_at)
            row.resolution = a.resolution
            resolved_ids.append(row.id)
        for a in ch.raised:
            row = SessionAlert(
                session_id=chart.id,
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
            by_id[a.id] = row  # the engine names a raised alert `rule@minute`; later steps resolve it by that
            raised_ids.append(row.id)
    return raised_ids, resolved_ids


def _chart_for_write(uow: UnitOfWork, session_id: int) -> _Chart:
    chart = _chart(uow.session, session_id)
    if chart is None:
        raise NotFound("session")
    uow.authorize("chart", "infusion_session", patient_id=chart.patient_id)
    if chart.locked:
        raise InvalidValue("session", "the session record is signed: add an addendum instead of new readings")
    return chart


def _store(
    uow: UnitOfWork, chart: _Chart, readings: Sequence[VitalIn], source: str, actor: Actor
) -> BatchResult:
    s = uow.session
    now = clock.now()
    ctx = default_context(chart.state)
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
                patient_id=chart.patient_id,
                session_id=chart.id,
                context=ctx,
                source=source,
                actor=actor,
                now=now,
            )
        )
    ids = _insert_new(s, values)
    raised, resolved = _evaluate(s, chart, values, ids)
    result = BatchResult(
        received=len(readings),
        stored=len(ids),
        duplicates=len(readings) - len(ids),
        alerts_raised=raised,
        alerts_resolved=resolved,
    )
    details: dict = {"source": source, "stored": result.stored, "duplicates": result.duplicates}
    if len(readings) > 1 or raised or resolved:
        details.update(received=result.received, alerts_raised=len(raised), alerts_resolved=len(resolved))
    client_ids = [r.client_id for r in readings if r.client_id is not None]
    if client_ids:
        details["client_ids"] = {"first": client_ids[0], "last": client_ids[-1]}
    uow.audit("create", "vital_signs", chart.id, patient_id=chart.patient_id, details=details)
    for aid in raised:
        uow.audit(
            "create", "session_alert", aid, patient_id=chart.patient_id, details={"session_id": chart.id}
        )
    return result


def _notify(uow: UnitOfWork, session_id: int, result: BatchResult) -> list[board_bus.BoardChange]:
    """Queue ONE board notice for the batch ('alert' when alerts changed, else 'vitals')."""
    kind = "alert" if result.alerts_raised or result.alerts_resolved else "vitals"
    return board_bus.notify_in_transaction(uow.session, [board_bus.BoardChange(session_id, kind)])


def record_batch(
    *, db: Database, actor: Actor, session_id: int, readings: Sequence[GatewayReading]
) -> BatchResult:
    """Store a gateway batch once per client id (a re-posted batch stores nothing new) and evaluate alerts.

    One transaction, one multi-row INSERT ... ON CONFLICT DO NOTHING, one pass of the alert engine, one audit
    event for the readings (plus one per alert raised) and one board notice.
    """
    with UnitOfWork(db, actor) as uow:
        chart = _chart_for_write(uow, session_id)
        result = _store(uow, chart, readings, "gateway", actor)
        local = _notify(uow, session_id, result)
    board_bus.publish_after_commit(db, local)
    return result


def record_session_reading(*, db: Database, actor: Actor, session_id: int, data: VitalIn) -> BatchResult:
    """Store one reading entered by a nurse for a session and evaluate alerts."""
    with UnitOfWork(db, actor) as uow:
        chart = _chart_for_write(uow, session_id)
        result = _store(uow, chart, [data], "nurse", actor)
        local = _notify(uow, session_id, result)
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


# ---------------------------------------------------------------- overdue-reading sweep

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


def _sweep_one(
    uow: UnitOfWork, chart: _Chart, rules: tuple[AlertRule, ...], now: datetime
) -> tuple[int, int]:
    """Evaluate the overdue rules of one session at `now`; store and audit what they raise or resolve."""
    s = uow.session
    t0 = chart.infusion_started_at
    assert t0 is not None

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
    by_id: dict[str, SessionAlert] = {}
    if chart.has_active_alerts:
        by_id = {str(a.id): a for a in s.scalars(_OPEN_ALERTS, {"sid": chart.id}) if a.group in groups}
    changes = evaluate(
        readings,
        None,
        rules,
        now_min,
        [_to_alert(a, t0) for a in by_id.values()],
        phase=chart.state,
        phase_start_min=min(tmin(chart.phase_start), now_min),
    )
    for a in changes.resolved:
        row = by_id.get(a.id)
        if row is None:
            continue
        row.resolved_at, row.resolution = max(now, row.raised_at), a.resolution
        uow.audit(
            "update",
            "session_alert",
            row.id,
            patient_id=chart.patient_id,
            details={"session_id": chart.id, "rule": row.rule_id, "resolution": a.resolution},
        )
    for a in changes.raised:
        row = SessionAlert(
            session_id=chart.id,
            rule_id=a.rule_id,
            group=a.group,
            rank=a.rank,
            priority=a.priority,
            title=a.title,
            advice=a.advice,
            actions=list(a.actions),
            source=a.source,
            trigger=a.trigger,
            raised_at=now,
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create",
            "session_alert",
            row.id,
            patient_id=chart.patient_id,
            details={"session_id": chart.id, "rule": a.rule_id, "by": "overdue sweep"},
        )
    return len(changes.raised), len(changes.resolved)


def sweep_overdue(*, db: Database, now: datetime | None = None) -> int:
    """Evaluate the overdue-reading rules of every session in an alert phase at `now`; return alerts raised.

    A monitor that goes silent sends nothing, so these rules cannot wait for a reading. Same engine and
    de-duplication as a reading (a condition already alerting raises nothing new); raised alerts are stored,
    audited as `system:monitor` and pushed to the board. On PostgreSQL one app process sweeps at a time
    (`pg_try_advisory_xact_lock`; the others skip this round).
    """
    rules = _overdue_rules()
    if not rules:
        return 0
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
            chart = _chart(s, sid)
            if chart is None or chart.locked or chart.state not in ALERT_PHASES:
                continue
            n_raised, n_resolved = _sweep_one(uow, chart, rules, at)
            raised += n_raised
            if n_raised or n_resolved:
                changed.append(board_bus.BoardChange(sid, "alert"))
        local = board_bus.notify_in_transaction(s, changed)
    board_bus.publish_after_commit(db, local)
    return raised
