"""One patient's outcome summary (issue 18 point 2): for the chart, the portal and the progress report."""

from __future__ import annotations

from sqlalchemy import select

from ketacare.domain import outcomes
from ketacare.domain.measurement import load_instrument
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.outcomes.definitions import in_force
from ketacare.services.outcomes.schemas import PatientOutcome, ScorePoint
from ketacare.services.outcomes.snapshot import PatientFacts, baseline_sd, load
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.patients import Patient

RESOURCE = "outcome_summary"

STATUS_WORDS = {
    "no_session": "No treatment session yet",
    "no_baseline": "No score before the first session, so change cannot be judged",
    "no_follow_up": "No score since the first session yet",
    "not_responded": "Not (yet) a response",
    "responded": "Response",
    "remitted": "Remission",
    "relapsed": "Benefit lost after an earlier response (relapse)",
}


def _point(s: outcomes.Score | None) -> ScorePoint | None:
    return None if s is None else ScorePoint(at=s.at, total=s.total)


def outcome_of(p: PatientFacts, d: outcomes.Definitions, baseline_sd: float | None = None) -> PatientOutcome:
    """Return the outcome of one patient's facts on their primary instrument."""
    dx, iid = p.primary(d)
    scores = sorted(p.scores.get(iid, []), key=lambda x: x.at)
    starts = [x.started_at for x in p.sessions]
    a = outcomes.assess(iid, scores, starts, d, baseline_sd=baseline_sd)
    rules = d.outcomes_for(iid)
    n = len(p.sessions)
    effects = sum(x.side_effects for x in p.sessions)
    return PatientOutcome(
        patient_id=p.patient_id,
        instrument_id=iid,
        instrument_name=load_instrument(iid).short_name,
        diagnosis=dx,
        diagnosis_display=p.diagnosis_display.get(dx or ""),
        status=a.status,
        status_words=STATUS_WORDS[a.status],
        baseline=_point(a.baseline),
        best=_point(a.best),
        latest=_point(a.latest),
        change_points=a.change_points,
        percent_change=a.percent_change,
        responded_at=a.responded_at,
        remitted_at=a.remitted_at,
        rapid_response=a.rapid_response,
        relapsed_at=a.relapsed_at,
        days_to_response=a.days_to_response,
        days_followed_after_benefit=a.days_followed_after_response,
        mcic_met=a.mcic_met,
        mcic_points=rules.mcic_points,
        reliable_change=a.reliable_change,
        rci=a.rci,
        response_rule=rules.response.describe(),
        remission_rule=rules.remission.describe(),
        rule_sources=sorted(
            {k for src in (rules.response.source, rules.remission.source) for k in src.split(", ")}
        ),
        unverified=list(rules.unverified),
        reasons=list(a.reasons),
        sessions_given=n,
        first_session_at=a.first_session_at,
        cumulative_dose_mg=sum(x.dose_mg or 0.0 for x in p.sessions),
        side_effects=effects,
        side_effects_grade3_or_more=sum(x.grade3 for x in p.sessions),
        side_effects_per_session=None if n == 0 else effects / n,
        history=[ScorePoint(at=x.at, total=x.total) for x in scores],
        session_times=starts,
    )


def patient_outcome(*, db: Database, actor: Actor, patient_id: int) -> PatientOutcome:
    """Return a patient's outcome summary (staff with a clinical role, or the patient themself); audited."""
    d = in_force(db)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", RESOURCE, patient_id=patient_id)
        facts = load(uow.session, [patient_id]).get(patient_id)
        if facts is None:
            raise NotFound("patient")
        _, iid = facts.primary(d)
        result = outcome_of(facts, d, baseline_sd(uow.session, d, iid))
        who = uow.session.execute(
            select(Patient.given_name, Patient.family_name, Patient.mrn, Patient.date_of_birth).where(
                Patient.id == patient_id
            )
        ).one()
        result.patient_name, result.mrn, result.date_of_birth = f"{who[0]} {who[1]}", who[2], who[3]
        uow.audit(
            "view", RESOURCE, patient_id, patient_id=patient_id,
            details={"instrument": result.instrument_id, "status": result.status},
        )  # fmt: skip
        return result
