"""The live board's reads: every active chair (latest vitals, trend, dose progress, open alerts, guard status)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.sessions.alerts import alert_read
from ketacare.services.sessions.common import patient_label
from ketacare.services.sessions.pump import dose_summary
from ketacare.services.sessions.schemas import BoardChair, ChairTrend, LatestValue
from ketacare.services.sessions.workflow import guard_statuses
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import BodyMeasurement, Patient
from ketacare.store.tables.sessions import (
    InfusionEventRow,
    InfusionSession,
    SessionAlert,
    VitalSign,
)

ACTIVE_STATES = ("checked_in", "prechecks_passed", "infusing", "paused", "recovery")


BOARD_TREND = 20  # readings per chair on the board (trend and latest values)


class _BoardRows:
    """What the board shows for many chairs, loaded in a fixed number of queries instead of a few per chair (issue
    #12: 24 chairs took 97 round trips per render on PostgreSQL; issue 15: the guard facts of the chairs not yet
    infusing took ~12 statements each)."""

    def __init__(self, s: Session, sessions: list[InfusionSession], now: datetime) -> None:
        ids = [x.id for x in sessions]
        self.guards = guard_statuses(s, sessions, now)
        self.vitals: dict[int, list[VitalSign]] = {i: [] for i in ids}
        self.alerts: dict[int, list[SessionAlert]] = {i: [] for i in ids}
        self.events: dict[int, list[InfusionEventRow]] = {i: [] for i in ids}
        self.weights: dict[int, float] = {}
        if not ids:
            return
        rank = (
            func.row_number()
            .over(
                partition_by=VitalSign.session_id,
                order_by=(VitalSign.measured_at.desc(), VitalSign.id.desc()),
            )
            .label("rank")
        )
        newest = (
            select(VitalSign.id, rank)
            .where(VitalSign.session_id.in_(ids), VitalSign.entered_in_error.is_(False))
            .subquery()
        )
        for v in s.scalars(
            select(VitalSign)
            .join(newest, newest.c.id == VitalSign.id)
            .where(newest.c.rank <= BOARD_TREND)
            .order_by(VitalSign.session_id, VitalSign.measured_at, VitalSign.id)
        ):
            self.vitals[v.session_id or 0].append(v)  # every row has a session (selected by it)
        for a in s.scalars(
            select(SessionAlert)
            .where(SessionAlert.session_id.in_(ids), SessionAlert.resolved_at.is_(None))
            .order_by(SessionAlert.session_id, SessionAlert.raised_at.desc())
        ):
            self.alerts[a.session_id].append(a)
        for e in s.scalars(
            select(InfusionEventRow)
            .where(InfusionEventRow.session_id.in_(ids))
            .order_by(InfusionEventRow.session_id, InfusionEventRow.at, InfusionEventRow.id)
        ):
            self.events[e.session_id].append(e)
        need = list({x.patient_id for x in sessions if not x.weight_kg})
        if need:
            latest = (
                select(
                    BodyMeasurement.patient_id,
                    BodyMeasurement.weight_kg,
                    func.row_number()
                    .over(
                        partition_by=BodyMeasurement.patient_id, order_by=BodyMeasurement.measured_at.desc()
                    )
                    .label("rank"),
                )
                .where(BodyMeasurement.patient_id.in_(need), BodyMeasurement.weight_kg.is_not(None))
                .subquery()
            )
            self.weights = {
                pid: w
                for pid, w in s.execute(
                    select(latest.c.patient_id, latest.c.weight_kg).where(latest.c.rank == 1)
                )
            }

    def weight(self, sess: InfusionSession) -> float | None:
        return sess.weight_kg or self.weights.get(sess.patient_id)


def _chair(
    s: Session, sess: InfusionSession, p: Patient, now: datetime, pre: _BoardRows | None = None
) -> BoardChair:
    if pre is None:
        pre = _BoardRows(s, [sess], now)
    recent, open_alerts = pre.vitals[sess.id], pre.alerts[sess.id]
    latest: dict[str, LatestValue] = {}
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
                latest[key] = LatestValue(value=val, at=v.measured_at)
    alerts = [alert_read(a) for a in open_alerts]
    order = {"high": 0, "medium": 1, "low": 2}
    alerts.sort(key=lambda a: (not a.escalated, not a.needs_acknowledgement, order.get(a.peak_priority, 3)))
    elapsed = (
        None
        if sess.infusion_started_at is None
        else round((now - sess.infusion_started_at).total_seconds() / 60.0, 1)
    )
    return BoardChair(
        session_id=sess.id,
        chair=sess.chair,
        state=sess.state,
        product=sess.product,
        patient=patient_label(p),
        latest=latest,
        trend=ChairTrend(
            sbp=[v.sbp_mmhg for v in recent if v.sbp_mmhg is not None],
            hr=[v.hr_per_min for v in recent if v.hr_per_min is not None],
            spo2=[v.spo2_pct for v in recent if v.spo2_pct is not None],
        ),
        last_reading_at=recent[-1].measured_at if recent else None,
        dose=dose_summary(s, sess, now, rows=pre.events[sess.id], weight=pre.weight(sess)),
        elapsed_min=elapsed,
        alerts=alerts,
        guards=pre.guards[sess.id],
        version=sess.version,
        active=sess.state in ACTIVE_STATES,
    )


# The board's chairs: the sessions in the given states with their patients (the states bound, so that the
# rehearsal runs this very statement with a state no session has).
_CHAIRS_IN = (
    select(InfusionSession, Patient)
    .join(Patient, Patient.id == InfusionSession.patient_id)
    .where(InfusionSession.state.in_(bindparam("states", expanding=True)))
    .order_by(InfusionSession.chair, InfusionSession.id)
)


def board_snapshot(*, db: Database, actor: Actor, audit_view: bool = True) -> list[BoardChair]:
    """Return every active chair for the live board (ordered by chair)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        s = uow.session
        now = clock.now()
        rows = s.execute(_CHAIRS_IN, {"states": list(ACTIVE_STATES)}).all()
        pre = _BoardRows(s, [sess for sess, _ in rows], now)
        chairs = [_chair(s, sess, p, now, pre) for sess, p in rows]
        if audit_view:
            # One event per patient on the board, so each patient's "who viewed my record" shows it.
            for sess, p in rows:
                uow.audit("view", "session_board", sess.id, patient_id=p.id, details={"chair": sess.chair})
            if not rows:
                uow.audit("view", "session_board", details={"chairs": 0})
        return chairs


def board_chairs(*, db: Database, actor: Actor, session_ids: list[int]) -> dict[int, BoardChair | None]:
    """Return the named chairs for a live update in one load (None: no such session). Not audited per push: the
    board view itself was audited when opened."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "infusion_session")
        s = uow.session
        now = clock.now()
        rows = s.execute(
            select(InfusionSession, Patient)
            .join(Patient, Patient.id == InfusionSession.patient_id)
            .where(InfusionSession.id.in_(session_ids))
        ).all()
        pre = _BoardRows(s, [sess for sess, _ in rows], now)
        found: dict[int, BoardChair | None] = {sid: None for sid in session_ids}
        for sess, p in rows:
            found[sess.id] = _chair(s, sess, p, now, pre)
        return found


# Session ids no row has: the rehearsal's stand-in chairs, one in each state whose board reads differ (guard facts
# before the start, none while infusing, discharge facts in recovery).
_REHEARSAL_STATES = ("checked_in", "prechecks_passed", "infusing", "recovery")


def rehearse(s: Session) -> None:
    """Run the board's reads once with session and patient ids that match no row, so that a new process compiles
    them before its first board page (issue 15: the first page of a process took ~3x a later one's CPU); nothing is
    read, written or audited."""
    now = clock.now()
    s.execute(_CHAIRS_IN, {"states": ["rehearsal"]}).all()
    s.execute(
        select(InfusionSession, Patient)
        .join(Patient, Patient.id == InfusionSession.patient_id)
        .where(InfusionSession.id.in_([-1]))
    ).all()
    stand_ins = [
        InfusionSession(id=-1 - k, patient_id=-1, state=state, chair="", product="racemic_ketamine", overrides=[])
        for k, state in enumerate(_REHEARSAL_STATES)
    ]
    _BoardRows(s, stand_ins, now)


def board_chair(*, db: Database, actor: Actor, session_id: int) -> BoardChair | None:
    """Return one chair for a live update (None when there is no such session); not audited, as `board_chairs`."""
    return board_chairs(db=db, actor=actor, session_ids=[session_id])[session_id]
