"""What happened against a plan: sessions given (from the sessions capability), doses, scores of the primary
instrument (baseline, before each session, at 24 h, change), tolerability, goals, relapse, and the next step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.plans import SessionOutcome, check_relapse
from ketacare.services import clock, dosing, measurement, sessions
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.measurement import ScoreSummary
from ketacare.services.plans.plans import open_plan_row
from ketacare.services.plans.plans import read_plan as plans_read
from ketacare.services.plans.schemas import (
    CourseRow,
    CourseView,
    FiredRuleRead,
    GoalStatus,
    NextStep,
    PlanContent,
    PlanRead,
    ProposalRead,
    RelapseRead,
    ScorePoint,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.plans import TitrationProposal, TreatmentPlan

if TYPE_CHECKING:  # sessions imports plans (pre-check facts): only the type is needed here
    from ketacare.services.sessions import CourseSession

WINDOW_24H = (
    timedelta(hours=12),
    timedelta(hours=36),
)  # a score in this window after the start counts as 24 h


@dataclass(frozen=True)
class Course:
    """The course's facts as the plan page and the advisor read them."""

    primary: str
    baseline: ScoreSummary | None
    given: list[CourseSession]
    rows: list[CourseRow]
    outcomes: list[SessionOutcome]
    after: list[ScoreSummary]  # primary scores after the first session started


def phase_at(content: PlanContent, number: int) -> str:
    """Return the name of the phase session `number` (1-based) belongs to."""
    total = 0
    for ph in content.phases:
        if ph.sessions is None:
            return ph.name
        total += ph.sessions
        if number <= total:
            return ph.name
    return content.phases[-1].name


def _phase_interval(content: PlanContent, given: int) -> tuple[str, float]:
    total = 0
    for ph in content.phases:
        if ph.sessions is None or given < total + ph.sessions:
            return ph.name, ph.interval_days
        total += ph.sessions
    last = content.phases[-1]
    return last.name, last.interval_days


def _mg_per_kg(s: Session, patient_id: int, c: CourseSession) -> float | None:
    if c.dose_order_id is not None:
        order = dosing.order_of_patient(s, patient_id, c.dose_order_id)
        if order is not None and order.mg_per_kg:
            return order.mg_per_kg
    dose = c.planned_dose_mg or c.delivered_mg
    return round(dose / c.weight_kg, 3) if dose and c.weight_kg else None


def _pct(baseline: float | None, score: float | None) -> float | None:
    if baseline is None or score is None or baseline <= 0:
        return None
    return (score - baseline) / baseline * 100.0


def build_course(s: Session, plan: PlanRead, now: datetime) -> Course:
    """Return the course so far: sessions since the plan began, scores, and the advisor's view of them."""
    primary = plan.content.assessments.primary
    since = s.scalar(  # sessions belong to this plan unless an earlier plan of the patient was stopped after them
        select(func.max(TreatmentPlan.stopped_at)).where(
            TreatmentPlan.patient_id == plan.patient_id, TreatmentPlan.id < plan.id
        )
    )
    given = [c for c in sessions.course_sessions(s, plan.patient_id, now) if since is None or c.started_at > since]
    scores = measurement.score_series(s, plan.patient_id, [primary, "cadss6"])
    prim = [x for x in scores if x.instrument_id == primary and x.total is not None]
    first = given[0].started_at if given else None
    before_first = [x for x in prim if first is None or x.answered_at <= first]
    baseline = before_first[-1] if before_first else None  # the last score before treatment began
    rows: list[CourseRow] = []
    outcomes: list[SessionOutcome] = []
    base_total = baseline.total if baseline else None
    for i, c in enumerate(given):
        nxt = given[i + 1].started_at if i + 1 < len(given) else None
        prev = given[i - 1].started_at if i else None
        linked = [x for x in prim if x.session_id == c.session_id]
        pre = [x for x in linked if x.context == "pre_session"] or [
            x for x in prim if x.answered_at <= c.started_at and (prev is None or x.answered_at > prev)
        ]
        post = [
            x
            for x in prim
            if x.context == "follow_up_24h"
            and (
                x.session_id == c.session_id
                or (
                    c.started_at + WINDOW_24H[0] <= x.answered_at <= c.started_at + WINDOW_24H[1]
                    and (nxt is None or x.answered_at < nxt)
                )
            )
        ]
        cadss = [x.total for x in scores if x.instrument_id == "cadss6" and x.session_id == c.session_id]
        before = pre[-1].total if pre else None
        at24 = post[0].total if post else None
        mgkg = _mg_per_kg(s, plan.patient_id, c)
        latest = at24 if at24 is not None else before
        rows.append(
            CourseRow(
                number=i + 1,
                session_id=c.session_id,
                started_at=c.started_at,
                phase=phase_at(plan.content, i + 1),
                dose_mg=c.delivered_mg if c.delivered_mg else c.planned_dose_mg,
                dose_mg_per_kg=mgkg,
                score_before=before,
                score_24h=at24,
                change_pct=_pct(base_total, latest),
                peak_sbp_rise_mmhg=c.peak_sbp_rise_mmhg,
                cadss6_total=max((x for x in cadss if x is not None), default=None),
                side_effects=list(c.side_effects),
                rescue=list(c.rescue),
                aborted=c.aborted,
            )
        )
        if mgkg is not None:
            outcomes.append(
                SessionOutcome(
                    number=i + 1,
                    day=(c.started_at - given[0].started_at).total_seconds() / 86400.0,
                    dose_mg_per_kg=mgkg,
                    score_before=before,
                    score_24h=at24,
                    peak_sbp_rise_mmhg=c.peak_sbp_rise_mmhg,
                    cadss6_total=rows[-1].cadss6_total,
                    max_side_effect_grade=c.max_side_effect_grade,
                    rescue_given=bool(c.rescue),
                    judged_intolerable=c.aborted,
                )
            )
    after = [x for x in prim if first is not None and x.answered_at > first]
    return Course(primary, baseline, given, rows, outcomes, after)


def _proposals(s: Session, plan_id: int) -> list[ProposalRead]:
    rows = s.scalars(
        select(TitrationProposal)
        .where(TitrationProposal.plan_id == plan_id)
        .order_by(TitrationProposal.created_at.desc(), TitrationProposal.id.desc())
    ).all()
    return [ProposalRead.model_validate(r) for r in rows]


def relapse_of(course: Course, now: datetime) -> RelapseRead:
    """Return the relapse check of the course (data: `domain/plans/data/relapse.toml`)."""
    days = (now - course.given[-1].started_at).total_seconds() / 86400.0 if course.given else None
    base = course.baseline.total if course.baseline else None
    check = check_relapse(base, [x.total for x in course.after if x.total is not None], days)
    return RelapseRead(
        state=check.state,
        action=check.action,
        action_text=check.action_text,
        best_change_pct=check.best_change_pct,
        latest_change_pct=check.latest_change_pct,
        rules=[FiredRuleRead(id=r.id, text=r.text, source=r.source) for r in check.rules],
        note=check.note,
        flagged=check.flagged,
    )


def _days(value: float) -> str:
    """Return a number of days for people to read: "2.3", "7"."""
    return f"{value:.1f}".removesuffix(".0")


def _next_step(plan: PlanRead, course: Course, proposals: list[ProposalRead]) -> NextStep:
    given = len(course.given)
    pending = next((p for p in proposals if p.status == "pending"), None)
    decided = next((p for p in proposals if p.status in ("accepted", "edited")), None)
    if plan.status == "stopped":
        return NextStep(
            phase=None,
            sessions_given=given,
            next_session_due=None,
            next_session_text="The plan is stopped: no further sessions.",
            next_review=None,
            proposal_id=None,
        )
    phase, interval = _phase_interval(plan.content, given)
    if decided and decided.sessions_used == given:
        interval = decided.decided_interval_days or decided.interval_days or interval
    if not course.given:
        due, text = (
            None,
            f"First session of {phase.lower()}: book it once consent and a signed dose order are in place.",
        )
    else:
        due = course.given[-1].started_at + timedelta(days=interval)
        text = f"Session {given + 1} ({phase.lower()}), {_days(interval)} days after the last one."
    review = None
    for r in plan.reviews:
        if r.when.startswith("after session"):
            n = int(r.when.split()[2])
            if n >= given:
                review = f"{r.name}: {r.when}"
                break
        elif r.when.startswith("week") and course.given:
            week = float(r.when.split()[1])
            at = course.given[0].started_at + timedelta(days=7 * week)
            if at >= course.given[-1].started_at:
                review = f"{r.name}: {r.when} ({at.date().isoformat()})"
                break
    return NextStep(
        phase=phase,
        sessions_given=given,
        next_session_due=due,
        next_session_text=text,
        next_review=review,
        proposal_id=pending.id if pending else None,
    )


def course_view(s: Session, plan: PlanRead, now: datetime) -> CourseView:
    """Return the plan with the course so far, the relapse check and the next step (no authorization here)."""
    course = build_course(s, plan, now)
    proposals = _proposals(s, plan.id)
    numbers = {c.session_id: i + 1 for i, c in enumerate(course.given)}
    points = [
        ScorePoint(
            answered_at=x.answered_at,
            total=x.total,
            context=x.context,
            session_number=numbers.get(x.session_id) if x.session_id else None,
        )
        for x in ([course.baseline] if course.baseline else []) + course.after
        if x.total is not None
    ]
    latest = course.after[-1].total if course.after else (course.baseline.total if course.baseline else None)
    goals = [
        GoalStatus(
            goal=g,
            latest=latest if g.instrument_id == course.primary else None,
            met=None if latest is None or g.instrument_id != course.primary else latest <= g.target_score,
        )
        for g in plan.content.goals
    ]
    return CourseView(
        plan=plan,
        primary_instrument=course.primary,
        baseline=course.baseline.total if course.baseline else None,
        baseline_at=course.baseline.answered_at if course.baseline else None,
        rows=course.rows,
        scores=points,
        goals=goals,
        relapse=relapse_of(course, now),
        next_step=_next_step(plan, course, proposals),
        proposals=proposals,
    )


def plan_rows_in_force(s: Session, patient_ids: list[int] | None) -> list[TreatmentPlan]:
    """Return plans not stopped (for these patients, or all), oldest first."""
    q = select(TreatmentPlan).where(TreatmentPlan.status.in_(("active", "maintenance")))
    if patient_ids is not None:
        q = q.where(TreatmentPlan.patient_id.in_(patient_ids))
    return list(s.scalars(q.order_by(TreatmentPlan.id)))


def get_course(
    *, db: Database, actor: Actor, patient_id: int, plan_id: int | None = None
) -> CourseView | None:
    """Return the plan (`plan_id`, else the one in force, else the newest) and what happened against it."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "treatment_plan", patient_id=patient_id)
        s = uow.session
        if plan_id is not None:
            row = s.get(TreatmentPlan, plan_id)
            if row is None or row.patient_id != patient_id:
                raise NotFound("treatment plan")
        else:
            row = (
                open_plan_row(s, patient_id)
                or s.scalars(
                    select(TreatmentPlan)
                    .where(TreatmentPlan.patient_id == patient_id)
                    .order_by(TreatmentPlan.created_at.desc(), TreatmentPlan.id.desc())
                    .limit(1)
                ).first()
            )
        if row is None:
            uow.audit("view", "treatment_plan", None, patient_id=patient_id)
            return None
        view = course_view(s, plans_read(s, row), clock.now())
        uow.audit("view", "treatment_plan", row.id, patient_id=patient_id, details={"course": True})
        return view
