"""Demo treatment plans (issue 16): patients at every stage of a course, with sessions and scores that fit it:
planned (no session yet), in induction (a titration proposal waiting), in maintenance (responder), relapsed
after a response (flagged for re-induction), and stopped (the patient's choice). Sessions run through the same
services as in a clinic, with the clock set back (synthetic history)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.demo.sessions import ALDRETE_10, _acknowledge_all, _Clock, _override_all
from ketacare.services import clock, dosing, measurement
from ketacare.services.access import Actor
from ketacare.services.plans import plans, proposals
from ketacare.services.plans.schemas import Goal, PlanChange, PlanCreate, PlanStop, ProposalDecision
from ketacare.services.sessions import pump, record, side_effects, vitals, workflow
from ketacare.services.sessions.schemas import (
    InfusionEventCreate,
    SessionChecks,
    SessionCreate,
    SideEffectCreate,
    SignRequest,
    TransitionRequest,
    VitalIn,
)
from ketacare.store.db import Database

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 60  # after the dose orders (30) and the sessions demo (50)


@dataclass(frozen=True)
class Stage:
    """One demo course: days ago of each session, GAD-7 before each session and 24 h after, later follow-ups."""

    name: str
    plan_days_ago: float
    session_days_ago: tuple[float, ...]
    before: tuple[int, ...]
    after_24h: tuple[int, ...]
    baseline: int
    follow_up: tuple[tuple[float, int], ...] = ()  # (days ago, GAD-7) without a session


STAGES = (
    Stage("planned", 2, (), (), (), 16),
    Stage("induction", 10, (9, 7, 5), (17, 15, 13), (14, 12, 9), 17),
    Stage(
        "maintenance", 40, (38, 36, 34, 31, 29, 27, 20), (18, 14, 11, 9, 8, 7, 6), (15, 11, 9, 7, 6, 5, 5), 18
    ),
    Stage(
        "relapsed",
        75,
        (73, 71, 69, 66, 64, 62, 55),
        (17, 14, 10, 8, 7, 6, 7),
        (14, 10, 8, 6, 6, 5, 6),
        17,
        ((30, 9), (12, 14), (3, 15)),
    ),
    Stage("stopped", 30, (28, 26, 24), (15, 15, 14), (15, 14, 14), 15),
)


def _gad7(total: int) -> list[int]:
    """Item answers (0-3 each) adding up to `total` (0-21)."""
    items = [total // 7] * 7
    for i in range(total - sum(items)):
        items[i] += 1
    return items


def score(
    db: Database, nurse: Actor, pid: int, total: int, context: str, sid: int | None, at: datetime
) -> None:
    real = clock.now
    clock.now = _Clock(at)
    try:
        measurement.submit_response(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=measurement.ResponseCreate(
                instrument_id="gad7",
                answers=_gad7(total),
                context=context,
                session_id=sid,
                answered_at=at,  # type: ignore[arg-type]
            ),
        )
    finally:
        clock.now = real


def run_session(
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
                consent_confirmed=True,
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


def _at(now: datetime, days_ago: float) -> datetime:
    return (now - timedelta(days=days_ago)).replace(hour=14, minute=0, second=0, microsecond=0)


def _course(ctx: DemoContext, stage: Stage, pid: int, order: dosing.DoseOrderRead, now: datetime) -> None:
    db = ctx.db
    nurse = Actor(ctx.staff["nurse"], "nurse", "nurse")
    prescriber = Actor(ctx.staff["prescriber"], "prescriber", "prescriber")
    plan_at = _at(now, stage.plan_days_ago) - timedelta(hours=3)
    score(db, nurse, pid, stage.baseline, "baseline", None, plan_at - timedelta(hours=2))
    real = clock.now
    clock.now = _Clock(plan_at)
    try:
        plan = plans.create_plan(
            db=db,
            actor=prescriber,
            patient_id=pid,
            data=PlanCreate(
                template_id="iv-induction",
                indication="gad",
                goals=[Goal(instrument_id="gad7", target_score=7)],
                reason="Treatment-resistant GAD; agreed with the patient (synthetic demo)",
                password=DEMO_PASSWORD,
            ),
        )
    finally:
        clock.now = real
    rng = random.Random(pid)
    for k, days in enumerate(stage.session_days_ago):
        start = _at(now, days)
        sid = run_session(db, nurse, prescriber, pid, order, start, rng)
        if sid is None:
            return
        score(db, nurse, pid, stage.before[k], "pre_session", sid, start - timedelta(minutes=20))
        score(db, nurse, pid, stage.after_24h[k], "follow_up_24h", sid, start + timedelta(hours=24))
    for days, total in stage.follow_up:
        score(db, nurse, pid, total, "follow_up", None, _at(now, days))
    if stage.name in ("induction", "maintenance"):
        prop = proposals.propose(db=db, actor=prescriber, patient_id=pid, plan_id=plan.id)
        if stage.name == "maintenance":
            proposals.decide(
                db=db,
                actor=prescriber,
                patient_id=pid,
                proposal_id=prop.id,
                data=ProposalDecision(version=prop.version, decision="accept", password=DEMO_PASSWORD),
            )
            plans.change_plan(
                db=db,
                actor=prescriber,
                patient_id=pid,
                plan_id=plan.id,
                data=PlanChange(
                    version=plan.version,
                    status="maintenance",
                    reason="Responder at the end of induction (GAD-7 down by more than half)",
                    password=DEMO_PASSWORD,
                ),
            )
    if stage.name == "stopped":
        plans.stop_plan(
            db=db,
            actor=prescriber,
            patient_id=pid,
            plan_id=plan.id,
            data=PlanStop(
                version=plan.version,
                stop_kind="patient-choice",
                reason="The patient chose to stop after three infusions (synthetic demo)",
                password=DEMO_PASSWORD,
            ),
        )


def extend(ctx: DemoContext) -> None:
    """Seed one patient per course stage, from patients with a usable dose order and no session yet."""
    now = datetime.now(UTC)
    with ctx.db.session() as s:
        candidates = [(pid, dosing.usable_order(s, pid)) for pid in ctx.patient_ids[10:]]
    pairs = [(pid, o) for pid, o in candidates if o is not None][: len(STAGES)]
    for stage, (pid, order) in zip(STAGES, pairs, strict=False):
        _course(ctx, stage, pid, order, now)
