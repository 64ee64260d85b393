"""Demo screening (issue #5): generated patients completed so that each decision class is shown (eligible and
accepted, eligible with cautions, not eligible - with a re-evaluation showing the difference after a new BP -
and insufficient information), plus screening vitals, answers and an evaluation for a sample of others.
No patient is added (other demos and the browser tests count them)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from ketacare.demo.patients import DEMO_PASSWORD
from ketacare.services import clock, measurement, patients
from ketacare.services.access import Actor
from ketacare.services.eligibility import screening as eligibility
from ketacare.services.eligibility.schemas import ReviewIn, ScreeningAnswersIn
from ketacare.services.measurement import ResponseCreate
from ketacare.services.patients import TrialCreate
from ketacare.services.sessions import VitalIn, record_patient_reading

if TYPE_CHECKING:
    from ketacare.demo.patients import DemoContext

ORDER = 40
N_SAMPLE = 16
COMPLETE = {
    "medical_history_reviewed": "yes",
    "bladder_symptoms": "no",
    "prior_ketamine_reaction": "no",
    "ketamine_hypersensitivity": "no",
    "substance.alcohol": "none",
    "substance.cannabis": "none",
    "substance.ketamine": "none",
}
TARGETS = ("eligible", "eligible_with_cautions", "not_eligible", "insufficient_information")
MAX_TRIES = 40


def _reading(ctx: DemoContext, pid: int, bp: tuple[float, float], hr: float, minutes_ago: float) -> None:
    record_patient_reading(
        db=ctx.db,
        actor=ctx.actor,
        patient_id=pid,
        data=VitalIn(
            sbp=bp[0],
            dbp=bp[1],
            hr=hr,
            context="screening",
            measured_at=clock.now() - timedelta(minutes=minutes_ago),
        ),
    )


def _prepare(ctx: DemoContext, pid: int) -> None:
    """Complete a generated patient's screening record: adequate failed trials, a current GAD-7, the answers."""
    db, actor = ctx.db, ctx.actor
    chart = patients.get_chart(db=db, actor=actor, patient_id=pid)
    if chart.clinical is None:  # pragma: no cover - the demo actor reads clinical data
        raise RuntimeError("the demo actor cannot read the clinical record")
    failed = [t for t in chart.clinical.trials if t.outcome in ("no_response", "partial_response")]
    if len(failed) < 3:  # the featured patient K0200001 already has two failed drugs and a CBT course
        _add_failed_trials(ctx, pid)
    _complete_screening(ctx, pid)


def _add_failed_trials(ctx: DemoContext, pid: int) -> None:
    db, actor = ctx.db, ctx.actor
    for drug, dose in (("escitalopram", 20.0), ("venlafaxine", 225.0)):
        patients.add_trial(
            db=db,
            actor=actor,
            patient_id=pid,
            data=TrialCreate(
                kind="medication",
                name=drug,
                dose_mg_per_day=dose,
                weeks=12,
                adherence="good",
                outcome="no_response",
            ),
        )
    patients.add_trial(
        db=db,
        actor=actor,
        patient_id=pid,
        data=TrialCreate(
            kind="psychotherapy",
            name="CBT",
            sessions=14,
            weeks=16,
            adherence="good",
            outcome="partial_response",
        ),
    )


def _complete_screening(ctx: DemoContext, pid: int) -> None:
    db, actor = ctx.db, ctx.actor
    measurement.submit_response(
        db=db,
        actor=actor,
        patient_id=pid,
        data=ResponseCreate(
            instrument_id="gad7",
            answers=[3, 3, 2, 2, 2, 2, 2],
            context="baseline",
            answered_at=clock.now() - timedelta(hours=2),
        ),
    )
    answers = {
        **COMPLETE,
        "no_known_allergies": "yes",
        "no_current_medications": "yes",
        "pregnant": "no",
        "breastfeeding": "no",
    }
    eligibility.record_answers(db=db, actor=actor, patient_id=pid, data=ScreeningAnswersIn(answers=answers))


def _try(ctx: DemoContext, prescriber: Actor, pid: int, target: str) -> bool:
    """Make `pid` a demo of `target` if its record allows; return True when its latest decision is `target`."""
    db, actor = ctx.db, ctx.actor
    if target == "insufficient_information":
        return eligibility.evaluate_patient(db=db, actor=actor, patient_id=pid).evaluation.decision == target
    _prepare(ctx, pid)
    bp = {"eligible": (124, 78), "eligible_with_cautions": (148, 92), "not_eligible": (132, 84)}[target]
    _reading(ctx, pid, bp, 74, minutes_ago=90)
    first = eligibility.evaluate_patient(db=db, actor=actor, patient_id=pid).evaluation
    if target == "not_eligible":  # the repeat BP is much higher: the re-evaluation shows the difference
        _reading(ctx, pid, (186, 104), 88, minutes_ago=10)
        return eligibility.evaluate_patient(db=db, actor=actor, patient_id=pid).evaluation.decision == target
    if first.decision == "eligible" == target:
        eligibility.review_evaluation(
            db=db,
            actor=prescriber,
            patient_id=pid,
            evaluation_id=first.id,
            data=ReviewIn(action="accept", version=first.version, password=DEMO_PASSWORD),
        )
    return first.decision == target


def _sample(ctx: DemoContext) -> None:
    """Screening vitals, answers and an evaluation for some of the generated patients (whatever they decide)."""
    rng = ctx.rng
    for pid in ctx.patient_ids[:N_SAMPLE]:
        bp = rng.choice([(118, 76), (126, 80), (134, 86), (146, 94), (152, 96), (184, 102)])
        _reading(ctx, pid, bp, rng.choice([64, 72, 80, 92, 114]), minutes_ago=rng.randint(20, 600))
        answers = {k: v for k, v in COMPLETE.items() if rng.random() < 0.85}
        answers["substance.alcohol"] = rng.choice(["none", "none", "past", "active_use"])
        answers["pregnant"] = "no"
        answers["breastfeeding"] = "no"
        eligibility.record_answers(
            db=ctx.db, actor=ctx.actor, patient_id=pid, data=ScreeningAnswersIn(answers=answers)
        )
        eligibility.evaluate_patient(db=ctx.db, actor=ctx.actor, patient_id=pid)


def extend(ctx: DemoContext) -> None:
    """Add the screening demo: one patient per decision class, and a sample of evaluated patients."""
    prescriber = Actor(user_id=ctx.staff.get("prescriber"), username="prescriber", role="prescriber")
    candidates = iter(reversed(ctx.patient_ids[N_SAMPLE:]))
    for target in TARGETS:
        for _ in range(MAX_TRIES):
            pid = next(candidates, None)
            if pid is None or _try(ctx, prescriber, pid, target):
                break
    _sample(ctx)
