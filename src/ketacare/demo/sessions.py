"""Demo infusion sessions (issue #7): a few completed, signed sessions with full records, three sessions
infusing now, and a feeder that keeps those three moving on the live board while the demo server runs.

Readings come from the synthetic simulator (`domain/sessions/simulator.py`: a mean-reverting process clamped
inside the intake's plausibility ranges) and go through the same service as a monitor gateway
(`services.sessions.vitals.record_batch`), so alerts, the audit trail and the board behave exactly as with real
devices. Each session's simulated patient (`demo_plan`) follows from its id, so the history seeded here and the
live feed after a server restart continue the same curve. In `EPISODE_CHAIR` the patient has a high-BP episode
that builds while the pump runs and falls back when a nurse pauses it (or the infusion ends).
"""

from __future__ import annotations

import logging
import random
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

import numpy as np

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.domain.datafiles import load_toml
from ketacare.domain.sessions import simulate_vitals
from ketacare.domain.sessions.simulator import (
    ChairPlan,
    ChairState,
    Episode,
    Pump,
    SimulationParams,
    draw_plan,
    initial_state,
    simulate_baseline,
    step,
)
from ketacare.domain.sessions.vitals import VitalSigns
from ketacare.services import clock, dosing, measurement, plans
from ketacare.services.access import Actor
from ketacare.services.sessions import alerts, board, pump, record, side_effects, vitals, workflow
from ketacare.services.sessions.schemas import (
    BoardChair,
    GatewayReading,
    InfusionEventCreate,
    SessionChecks,
    SessionCreate,
    SideEffectCreate,
    SignRequest,
    TransitionRead,
    TransitionRequest,
    VitalIn,
)
from ketacare.store.db import Database

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 50
LIVE_CHAIRS = ("Chair 1", "Chair 2", "Chair 3")
EPISODE_CHAIR = "Chair 2"  # the live demo chair whose patient has a high-BP episode that answers to a pause
FEED_EVERY_S = 5.0
PLAN_SEED = 20261130  # with the session id, fixes each demo session's simulated patient
log = logging.getLogger(__name__)


def demo_plan(session_id: int, chair: str, *, live: bool = True) -> ChairPlan:
    """Return the simulated patient of demo session `session_id`: a baseline below the pre-check limits, a BP
    rise of 10-30 mmHg toward 40 min, and in `EPISODE_CHAIR` (live sessions only) a high-BP episode."""
    demo = {
        k: v["value"]
        for k, v in load_toml("ketacare.domain.sessions.data", "vitals_simulation.toml")["demo"].items()
    }
    rng = np.random.default_rng([PLAN_SEED, session_id])
    b = simulate_baseline(rng)
    if b.sbp is None or b.dbp is None:  # pragma: no cover - simulate_baseline fills every value
        raise RuntimeError("the simulated baseline has no blood pressure")
    sbp = min(b.sbp, float(demo["baseline_max_sbp_mmhg"]))
    base = VitalSigns(
        sbp=sbp, dbp=min(b.dbp, float(demo["baseline_max_dbp_mmhg"]), sbp - 25), hr=b.hr, spo2=b.spo2, rr=b.rr
    )
    lo, hi = demo["sbp_rise_mmhg"]
    episode = Episode.from_data() if live and chair == EPISODE_CHAIR else None
    return draw_plan(rng, baseline=base, sbp_rise_bounds_mmhg=(float(lo), float(hi)), episode=episode)


class _Clinic(Protocol):
    """What a demo session needs of the clinic: the database and the staff accounts (username -> user id)."""

    @property
    def db(self) -> Database: ...

    @property
    def staff(self) -> dict[str, int]: ...


@dataclass(frozen=True)
class _FeederClinic:
    db: Database
    staff: dict[str, int]


def _actor(ctx: _Clinic, role: str) -> Actor:
    return Actor(user_id=ctx.staff[role], username=role, role=role)


def _override_all(db: Database, prescriber: Actor, sid: int, event: str, reason: str) -> TransitionRead:
    """Demo only: the issues that provide orders/questionnaires may not be seeded; a prescriber override is
    recorded (with its reason) exactly as the workflow would in a clinic."""
    r = workflow.apply_event(db=db, actor=prescriber, session_id=sid, data=TransitionRequest(event=event))
    if r.allowed:
        return r
    overridable = [g.id for g in r.failed_guards if "prescriber" in g.overridable_by]
    from ketacare.services.sessions.schemas import OverrideIn

    return workflow.apply_event(
        db=db,
        actor=prescriber,
        session_id=sid,
        data=TransitionRequest(event=event, override=OverrideIn(guard_ids=overridable, reason=reason)),
    )


class _Clock:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


def _usable_orders(db: Database, pids: list[int], need: int) -> list[tuple[int, dosing.DoseOrderRead]]:
    """Return (patient id, usable dose order) pairs from the dose-order demo."""
    found: list[tuple[int, dosing.DoseOrderRead]] = []
    for pid in pids:
        with db.session() as s:
            order = dosing.usable_order(s, pid)
        if order is not None:
            found.append((pid, order))
            if len(found) >= need:
                break
    return found


def _calm_baseline(rng: np.random.Generator) -> VitalSigns:
    """A simulated baseline with the blood pressure capped at 136/86 mmHg, so the demo sessions may start."""
    base = simulate_baseline(rng)
    if base.sbp is None or base.dbp is None:  # pragma: no cover - the simulator always gives a blood pressure
        raise RuntimeError("the vitals simulator gave no baseline blood pressure")
    return type(base)(
        sbp=min(base.sbp, 136.0), dbp=min(base.dbp, 86.0), hr=base.hr, spo2=base.spo2, rr=base.rr
    )


def _session(
    ctx: _Clinic,
    pid: int,
    chair: str,
    start: datetime,
    *,
    live: bool,
    rng: np.random.Generator,
    order: dosing.DoseOrderRead | None = None,
) -> int | None:
    """Run one session through the services with the clock set to `start` (synthetic history)."""
    db = ctx.db
    dose = float(getattr(order, "dose_mg", None) or 35.0)
    duration = float(getattr(order, "duration_min", None) or 40.0)
    conc = getattr(order, "final_concentration_mg_per_ml", None)
    nurse, prescriber = _actor(ctx, "nurse"), _actor(ctx, "prescriber")
    real_now = clock.now
    fake = _Clock(start - timedelta(minutes=30))
    clock.now = fake
    try:
        sid = workflow.create_session(
            db=db,
            actor=nurse,
            data=SessionCreate(
                patient_id=pid,
                chair=chair,
                scheduled_at=fake.t,
                planned_dose_mg=dose,
                planned_duration_min=duration,
                concentration_mg_per_ml=conc,
                dose_order_id=getattr(order, "id", None),
            ),
        ).id
        workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="check_in"))
        v = record.get_session(db=db, actor=nurse, session_id=sid)
        workflow.update_checks(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SessionChecks(
                version=v.version,
                escort_confirmed=True,
                pregnancy_test_negative=True,
                last_food_at=fake.t - timedelta(hours=4),
                last_liquid_at=fake.t - timedelta(hours=1),
            ),
        )
        if not live:
            _assess(db, nurse, pid, sid, *_pre_session(rng))
        plan = demo_plan(sid, chair, live=live)
        base = plan.baseline
        vitals.record_session_reading(
            db=db,
            actor=nurse,
            session_id=sid,
            data=VitalIn(sbp=base.sbp, dbp=base.dbp, hr=base.hr, spo2=base.spo2, rr=base.rr),
        )
        reason = "Demo clinic: order and questionnaires reviewed on paper (synthetic data)"
        if not _override_all(db, prescriber, sid, "pass_prechecks", reason).allowed:
            return None  # e.g. no signed dose order in this demo: the session waits at check-in
        fake.t = start
        if not _override_all(db, prescriber, sid, "start_infusion", reason).allowed:
            return None
        pump.add_infusion_event(
            db=db,
            actor=nurse,
            session_id=sid,
            data=InfusionEventCreate(kind="start", rate_mg_per_min=dose / duration, at=start),
        )
        trace = simulate_vitals(rng, plan=plan, infusion_min=duration, recovery_min=80, cadence_min=5)
        horizon = (clock_now_real() - start).total_seconds() / 60.0 if live else 10_000
        readings = [
            GatewayReading(
                client_id=f"demo-{sid}-{k}",
                measured_at=start + timedelta(minutes=r.t_min),
                sbp=r.sbp,
                dbp=r.dbp,
                hr=r.hr,
                spo2=r.spo2,
                rr=r.rr,
            )
            for k, r in enumerate(trace)
            if r.t_min <= horizon and (r.t_min <= 40 or not live)
        ]
        fake.t = start + timedelta(minutes=min(horizon, duration))
        if readings:
            vitals.record_batch(
                db=db, actor=nurse, session_id=sid, readings=[x for x in readings if x.measured_at <= fake.t]
            )
        if live:
            return sid
        pump.add_infusion_event(
            db=db, actor=nurse, session_id=sid, data=InfusionEventCreate(kind="stop", at=fake.t)
        )
        side_effects.add_side_effect(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SideEffectCreate(
                type="dissociation",
                grade=1,
                onset_at=start + timedelta(minutes=12),
                resolved_at=start + timedelta(minutes=70),
            ),
        )
        workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="end_infusion"))
        _assess(db, nurse, pid, sid, ("cadss6", [1, 1, 0, 1, 0, 0], "during_session"), ("moaas", [5], "during_session"))
        fake.t = start + timedelta(minutes=120)
        rest = [x for x in readings if x.measured_at > start + timedelta(minutes=duration)]
        if rest:
            vitals.record_batch(db=db, actor=nurse, session_id=sid, readings=rest)
        _acknowledge_all(db, nurse, sid)
        v = record.get_session(db=db, actor=nurse, session_id=sid)
        workflow.update_checks(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SessionChecks(
                version=v.version,
                aldrete_score=10,
                aldrete_respiration_spo2_full=True,
                dissociation_occurred=True,
                dissociation_resolved=True,
                sedation_occurred=False,
                sedation_resolved=True,
                escort_present=True,
                discharge_instructions_given=True,
            ),
        )
        _ready_to_leave(db, nurse, pid, sid)
        _override_all(
            db, prescriber, sid, "discharge", "Demo clinic: assessed fit for discharge (synthetic data)"
        )
        fake.t += timedelta(minutes=5)
        record.sign_session(db=db, actor=nurse, session_id=sid, data=SignRequest(password=DEMO_PASSWORD))
        record.sign_session(db=db, actor=prescriber, session_id=sid, data=SignRequest(password=DEMO_PASSWORD))
        return sid
    finally:
        clock.now = real_now


def _ready_to_leave(db: Database, nurse: Actor, pid: int, sid: int) -> None:
    """The nurse rates the Aldrete score; the patient and the escort on record acknowledge the instructions."""
    _assess(db, nurse, pid, sid, ("aldrete", ALDRETE_10, "post_session"))
    sheet = plans.discharge_sheet(db=db, actor=nurse, session_id=sid)
    names = {"patient": sheet.patient_name, "escort": sheet.escort_name or "Escort (name not on record)"}
    for party in ("patient", "escort"):
        plans.acknowledge(db=db, actor=nurse, session_id=sid, data=plans.AcknowledgementIn(
            party=party, name=names[party], instructions_version=sheet.instructions.version))


def _acknowledge_all(db: Database, nurse: Actor, sid: int) -> None:
    """Acknowledge every alarm of the session that waits for it (latched HIGH alarms too), with the action."""
    from ketacare.services.sessions.schemas import AlertAck

    for a in record.get_session(db=db, actor=nurse, session_id=sid).alerts:
        if a.needs_acknowledgement:
            alerts.acknowledge_alert(
                db=db,
                actor=nurse,
                session_id=sid,
                alert_id=a.id,
                data=AlertAck(action_taken="rechecked, patient comfortable"),
            )


CSSRS_NONE: dict[str, int | None] = {"cssrs_1": 0, "cssrs_2": 0, "cssrs_6": 0}  # no risk; 3-5 and 6b skipped
ALDRETE_10: dict[str, int | None] = {
    f"aldrete_{i}": 2 for i in ("activity", "respiration", "circulation", "consciousness", "spo2")
}


Answers = dict[str, int | None] | list[int | None]


def _pre_session(rng: np.random.Generator) -> tuple[tuple[str, Answers, str], ...]:
    """Return the questionnaires entered before a demo session: a GAD-7 and a C-SSRS screener with no risk."""
    gad7: Answers = [int(x) for x in rng.integers(1, 4, 7)]
    return ("gad7", gad7, "pre_session"), ("cssrs_screen", CSSRS_NONE, "pre_session")


def _assess(db: Database, nurse: Actor, pid: int, sid: int, *entries: tuple[str, Answers, str]) -> None:
    """Enter questionnaires (instrument, answers, context) for the session as the nurse, at the demo clock's time."""
    for instrument, answers, context in entries:
        measurement.submit_response(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=measurement.ResponseCreate(
                instrument_id=instrument, answers=answers, context=context, session_id=sid
            ),
        )


def clock_now_real() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)


def extend(ctx: DemoContext) -> None:
    """Seed completed sessions (signed) for a few patients and three sessions infusing now."""
    rng = np.random.default_rng(ctx.rng.randint(0, 2**31))
    now = clock_now_real().replace(microsecond=0)
    pairs: list[tuple[int, dosing.DoseOrderRead | None]] = [*_usable_orders(ctx.db, ctx.patient_ids, 7)]
    pairs += [(pid, None) for pid in ctx.patient_ids if pid not in {p for p, _ in pairs}][: 7 - len(pairs)]
    for k, (pid, order) in enumerate(pairs[:4]):
        start = now - timedelta(days=7 + 3 * k, hours=2)
        _session(ctx, pid, f"Chair {k % 3 + 1}", start, live=False, rng=rng, order=order)
    for k, chair in enumerate(LIVE_CHAIRS):
        if 4 + k >= len(pairs):
            break  # a very small demo (`ketacare demo --patients 4`) fills fewer chairs
        pid, order = pairs[4 + k]
        start = now - timedelta(minutes=8 + 11 * k)
        _session(ctx, pid, chair, start, live=True, rng=rng, order=order)


class LiveFeeder:
    """Feed simulated readings for every infusing demo session every few seconds (demo server only).

    Each session keeps its simulator state between ticks (a mean-reverting process, so values never run away).
    A tick that fails for one chair is logged once with its cause (identical failures later are counted, not
    logged again) and the other chairs, and the next ticks, go on.
    """

    def __init__(self, db: Database, every_s: float = FEED_EVERY_S) -> None:
        self.db, self.every_s = db, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-live-feeder", daemon=True)
        self._rng = np.random.default_rng()
        self._params = SimulationParams.from_data()
        self._n = 0
        # session id -> (plan, state, infusion start on the feeder's clock)
        self._chairs: dict[int, tuple[ChairPlan, ChairState, datetime]] = {}
        self.failures: dict[tuple[str, str, str], int] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=3)

    def _run(self) -> None:
        from ketacare.services.access import system_actor

        actor = system_actor("demo-gateway")
        while not self._stop.wait(self.every_s):
            try:
                self.tick(actor)
            except Exception as exc:  # noqa: BLE001 - the demo keeps going
                self._failed("tick", exc)

    def _failed(self, where: str, exc: BaseException) -> None:
        """Log a failure once per (where, cause); count repeats."""
        key = (where, type(exc).__name__, str(exc))
        self.failures[key] = self.failures.get(key, 0) + 1
        if self.failures[key] == 1:
            log.error(
                "demo feeder: %s failed: %s: %s (the feeder goes on; the same failure is not logged again)",
                where,
                type(exc).__name__,
                exc,
                exc_info=exc,
            )

    def _advance(self, c: BoardChair) -> bool:
        """Stop the pump at the planned dose; after 60 min of recovery, discharge and seat a new session.
        Return True when the chair's session changed state (it gets no reading this tick)."""
        from sqlalchemy import select

        from ketacare.store.tables import User

        with self.db.session() as s:
            staff = {
                u.username: u.id
                for u in s.scalars(select(User).where(User.role.in_(("nurse", "prescriber"))))
            }
        if "nurse" not in staff or "prescriber" not in staff:
            return False
        ctx = _FeederClinic(db=self.db, staff=staff)
        nurse, prescriber = _actor(ctx, "nurse"), _actor(ctx, "prescriber")
        d, sid = c.dose, c.session_id
        if c.state == "infusing" and d.planned_mg and d.delivered_mg >= d.planned_mg - 0.05:
            pump.add_infusion_event(
                db=self.db, actor=nurse, session_id=sid, data=InfusionEventCreate(kind="stop")
            )
            workflow.apply_event(
                db=self.db, actor=nurse, session_id=sid, data=TransitionRequest(event="end_infusion")
            )
            return True
        if c.state == "recovery" and (c.elapsed_min or 0) > (d.infusing_min or 40) + 60:
            reason = "Demo clinic: assessed fit for discharge (synthetic data)"
            if _override_all(self.db, prescriber, sid, "discharge", reason).allowed:
                rng = np.random.default_rng()
                with self.db.session() as s:
                    from ketacare.store.tables.sessions import InfusionSession

                    sess = s.get(InfusionSession, sid)
                    if sess is None:  # pragma: no cover - the board listed it a moment ago
                        raise RuntimeError(f"session {sid} is gone")
                    pid, order_id = sess.patient_id, sess.dose_order_id
                order = _usable_orders(self.db, [pid], 1)
                _session(
                    ctx,
                    pid,
                    c.chair,
                    clock.now(),
                    live=True,
                    rng=rng,
                    order=order[0][1] if order else None,
                )
                _ = order_id
                return True
        return False

    def tick(self, actor: Actor) -> int:
        """Post one simulated reading to each infusing/paused/recovering session; return how many were
        posted. A chair whose tick fails is logged (once per cause) and skipped; the others still get theirs."""
        chairs = board.board_snapshot(db=self.db, actor=actor, audit_view=False)
        now = clock.now()
        posted = 0
        for c in chairs:
            where = f"{c.chair} (session {c.session_id})"
            try:
                if self._advance(c):
                    continue
            except Exception as exc:  # noqa: BLE001 - one chair's failure does not stop the others
                self._failed(where + " advance", exc)
            try:
                posted += self._feed(c, now, actor)
            except Exception as exc:  # noqa: BLE001
                self._failed(where + " reading", exc)
        active = {c.session_id for c in chairs}
        for sid in [k for k in self._chairs if k not in active]:
            del self._chairs[sid]
        return posted

    def _feed(self, c: BoardChair, now: datetime, actor: Actor) -> int:
        if c.state not in ("infusing", "paused", "recovery") or c.elapsed_min is None:
            return 0
        sid = c.session_id
        pump_state: Pump
        if c.state == "recovery":
            pump_state = "stopped"
        elif c.state == "paused" or not c.dose.running:
            pump_state = "paused"
        else:
            pump_state = "running"
        if sid not in self._chairs:
            plan = demo_plan(sid, c.chair)
            started = now - timedelta(minutes=float(c.elapsed_min))
            self._chairs[sid] = (plan, initial_state(plan, float(c.elapsed_min), pump_state), started)
        plan, state, started = self._chairs[sid]
        t_min = max((now - started).total_seconds() / 60.0, state.t_min)
        state, r = step(plan, state, self._rng, t_min=t_min, pump=pump_state, params=self._params)
        self._chairs[sid] = (plan, state, started)
        self._n += 1
        reading = GatewayReading(
            client_id=f"demo-live-{sid}-{now.timestamp():.0f}-{self._n}",
            measured_at=now,
            sbp=r.sbp,
            dbp=r.dbp,
            hr=r.hr,
            spo2=r.spo2,
            rr=r.rr,
        )
        vitals.record_batch(db=self.db, actor=actor, session_id=sid, readings=[reading])
        return 1


Clock = _Clock  # a settable clock for synthetic history (other demo modules)


def run_short_session(
    db: Database,
    nurse: Actor,
    prescriber: Actor,
    pid: int,
    order: dosing.DoseOrderRead,
    start: datetime,
    rng: random.Random,
    password: str = DEMO_PASSWORD,
) -> int | None:
    """Run one completed, signed session with the clock at `start` (a short synthetic record)."""
    real = clock.now
    fake = _Clock(start - timedelta(minutes=30))
    clock.now = fake
    try:
        dose, duration = float(order.dose_mg or 35.0), float(order.duration_min or 40.0)
        sid = workflow.create_session(
            db=db,
            actor=nurse,
            data=SessionCreate(
                patient_id=pid,
                chair="Chair 4",
                scheduled_at=fake.t,
                planned_dose_mg=dose,
                planned_duration_min=duration,
                concentration_mg_per_ml=order.final_concentration_mg_per_ml,
                dose_order_id=order.id,
            ),
        ).id
        workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="check_in"))
        v = record.get_session(db=db, actor=nurse, session_id=sid)
        workflow.update_checks(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SessionChecks(
                version=v.version,
                escort_confirmed=True,
                pregnancy_test_negative=True,
                last_food_at=fake.t - timedelta(hours=4),
                last_liquid_at=fake.t - timedelta(hours=1),
            ),
        )
        sbp = float(rng.randint(118, 132))
        vitals.record_session_reading(
            db=db,
            actor=nurse,
            session_id=sid,
            data=VitalIn(
                measured_at=fake.t, sbp=sbp, dbp=sbp - 45, hr=72, spo2=98, rr=14, context="baseline"
            ),
        )
        reason = "Demo clinic: checks done on paper (synthetic data)"
        if not _override_all(db, prescriber, sid, "pass_prechecks", reason).allowed:
            return None
        fake.t = start
        if not _override_all(db, prescriber, sid, "start_infusion", reason).allowed:
            return None
        pump.add_infusion_event(
            db=db,
            actor=nurse,
            session_id=sid,
            data=InfusionEventCreate(kind="start", rate_mg_per_min=dose / duration, at=start),
        )
        rise = float(rng.randint(8, 22))
        for minute, extra in ((15, rise * 0.7), (30, rise), (duration, rise * 0.6)):
            fake.t = start + timedelta(minutes=minute)
            vitals.record_session_reading(
                db=db,
                actor=nurse,
                session_id=sid,
                data=VitalIn(
                    measured_at=fake.t, sbp=sbp + extra, dbp=sbp - 45 + extra / 2, hr=78, spo2=98, rr=14
                ),
            )
        pump.add_infusion_event(
            db=db, actor=nurse, session_id=sid, data=InfusionEventCreate(kind="stop", at=fake.t)
        )
        side_effects.add_side_effect(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SideEffectCreate(
                type="dissociation",
                grade=1,
                onset_at=start + timedelta(minutes=10),
                resolved_at=start + timedelta(minutes=50),
            ),
        )
        workflow.apply_event(db=db, actor=nurse, session_id=sid, data=TransitionRequest(event="end_infusion"))
        measurement.submit_response(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=measurement.ResponseCreate(
                instrument_id="cadss6",
                answers=[rng.randint(0, 2) for _ in range(6)],
                context="during_session",
                session_id=sid,
            ),
        )
        fake.t = start + timedelta(minutes=duration + 45)
        vitals.record_session_reading(
            db=db,
            actor=nurse,
            session_id=sid,
            data=VitalIn(
                measured_at=fake.t, sbp=sbp + 2, dbp=sbp - 44, hr=70, spo2=98, rr=14, context="recovery"
            ),
        )
        _acknowledge_all(db, nurse, sid)
        v = record.get_session(db=db, actor=nurse, session_id=sid)
        workflow.update_checks(
            db=db,
            actor=nurse,
            session_id=sid,
            data=SessionChecks(
                version=v.version,
                aldrete_score=10,
                aldrete_respiration_spo2_full=True,
                dissociation_occurred=True,
                dissociation_resolved=True,
                sedation_occurred=False,
                sedation_resolved=True,
                escort_present=True,
                discharge_instructions_given=True,
            ),
        )
        measurement.submit_response(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=measurement.ResponseCreate(
                instrument_id="aldrete", answers=ALDRETE_10, context="post_session", session_id=sid
            ),
        )
        _override_all(db, prescriber, sid, "discharge", "Demo clinic: fit for discharge (synthetic data)")
        fake.t += timedelta(minutes=5)
        record.sign_session(db=db, actor=nurse, session_id=sid, data=SignRequest(password=password))
        return sid
    finally:
        clock.now = real
