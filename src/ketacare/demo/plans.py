"""Demo treatment plans (issue 16): synthetic patients at every stage of a course, with sessions and scores that fit it:
planned (no session yet), in induction (a titration proposal waiting), in maintenance (responder), relapsed
after a response (flagged for re-induction), and stopped (the patient's choice). Sessions run through the same
services as in a clinic, with the clock set back (synthetic history)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from ketacare.demo import consent as demo_consent
from ketacare.demo.dosing import _order as demo_order
from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.demo.sessions import Clock, run_short_session
from ketacare.services import clock, dosing, measurement, patients
from ketacare.services.access import Actor
from ketacare.services.patients import PatientCreate
from ketacare.services.plans import plans, proposals
from ketacare.services.plans.schemas import Goal, PlanChange, PlanCreate, PlanStop, ProposalDecision
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
    clock.now = Clock(at)
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
                answered_at=at,
            ),
        )
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
    clock.now = Clock(plan_at)
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
    rng = random.Random(pid)  # noqa: S311 - synthetic demo values, not security
    for k, days in enumerate(stage.session_days_ago):
        start = _at(now, days)
        sid = run_short_session(db, nurse, prescriber, pid, order, start, rng)
        if sid is None:
            return
        score(db, nurse, pid, stage.before[k], "pre_session", None, start - timedelta(minutes=20))
        score(db, nurse, pid, stage.after_24h[k], "follow_up_24h", None, start + timedelta(hours=24))
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


PEOPLE = (  # synthetic: given name, family name, birth year offset, sex, weight, height
    ("Ines", "Carvalho", 41, "female", "64 kg", "166 cm"),
    ("Daniel", "Okoro", 35, "male", "82 kg", "181 cm"),
    ("Marta", "Lindqvist", 52, "female", "70 kg", "170 cm"),
    ("Samuel", "Brennan", 29, "male", "77 kg", "178 cm"),
    ("Priya", "Raman", 46, "female", "59 kg", "160 cm"),
    (
        "Rosa",
        "Delgado",
        38,
        "female",
        "68 kg",
        "164 cm",
    ),  # ready: baseline and order, no plan (browser journey)
)
READY_MRN = "K0300006"


def _patient(ctx: DemoContext, k: int) -> int:
    given, family, age, sex, weight, height = PEOPLE[k]
    mrn = f"K03{k + 1:05d}"
    found = patients.search_patients(db=ctx.db, actor=ctx.actor, q=mrn, per_page=5)
    for p in found.items:
        if p.mrn == mrn:
            return p.id
    return patients.create_patient(
        db=ctx.db,
        actor=ctx.actor,
        data=PatientCreate(
            mrn=mrn,
            given_name=given,
            family_name=family,
            date_of_birth=date(ctx.today.year - age, 3 + k, 10 + k),
            sex_at_birth=sex,
            weight=weight,
            height=height,
            primary_clinician_id=ctx.staff.get("prescriber"),
        ),
    ).id


def extend(ctx: DemoContext) -> None:
    """Seed one synthetic patient per course stage (each with a signed, double-checked order), and one patient
    ready for a plan (baseline score and order, no plan yet)."""
    now = datetime.now(UTC)
    prescriber = Actor(ctx.staff["prescriber"], "prescriber", "prescriber")
    nurse = Actor(ctx.staff["nurse"], "nurse", "nurse")
    tomorrow = datetime.combine(ctx.today + timedelta(days=1), time(15, 0), tzinfo=UTC)
    for k in range(len(PEOPLE)):
        pid = _patient(ctx, k)
        demo_order(ctx, prescriber, nurse, pid, tomorrow + timedelta(minutes=30 * k))
        with ctx.db.session() as s:
            order = dosing.usable_order(s, pid)
        if order is None:
            continue
        if k < len(STAGES):
            demo_consent.give(ctx, pid, order.route)  # the sessions' pre-check reads the signed consent
            _course(ctx, STAGES[k], pid, order, now)
        else:
            score(ctx.db, nurse, pid, 16, "baseline", None, now - timedelta(days=12))
