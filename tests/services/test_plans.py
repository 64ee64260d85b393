"""Treatment plans on SQLite and PostgreSQL: a plan from a template signed by the prescriber (re-authenticated),
new versions with their reason, stop; the course built from real sessions and scores; the titration proposal from
that course with its rules; accept / edit / reject signed and audited; an accepted dose pre-fills the next order;
relapse after a response flagged with its action."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ketacare.demo.plans import score
from ketacare.demo.sessions import run_short_session as run_session
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services import plans as plans_api
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.errors import Conflict, Forbidden
from ketacare.services.plans import plans, progress, proposals
from ketacare.services.plans.schemas import Goal, PlanChange, PlanCreate, PlanStop, ProposalDecision
from ketacare.store.tables.audit import AuditEvent
from ketacare.store.tables.plans import PlanVersion, TitrationProposal, TreatmentPlan
from tests.conftest import PASSWORD
from tests.consent_support import give_consent

NOW = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # after the personas were weighed


class _At:
    def __init__(self, t: datetime) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def at(monkeypatch):
    c = _At(NOW)
    monkeypatch.setattr(clock, "now", c)
    return c


def _create(personas, **kw):
    data = {"template_id": "iv-induction", "indication": "gad", "password": PASSWORD, **kw}
    return plans.create_plan(
        db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a, data=PlanCreate(**data)
    )


def _order(personas, pid, mg_per_kg=None, start=None):
    db, pr, nurse = personas.db, personas["prescriber"], personas["nurse"]
    o = dose_orders.create_order(
        db=db,
        actor=pr,
        patient_id=pid,
        data=DoseOrderCreate(
            protocol_id="iv-standard",
            mg_per_kg=mg_per_kg,
            planned_start=start,
            soft_limit_reason="titration" if mg_per_kg and mg_per_kg > 0.5 else None,
        ),
    )
    o = dose_orders.sign_order(
        db=db,
        actor=pr,
        patient_id=pid,
        order_id=o.id,
        data=DoseOrderSign(version=o.version, password=PASSWORD),
    )
    full = dose_orders.get_order(db=db, actor=personas["system"], patient_id=pid, order_id=o.id)
    dose_orders.double_check_order(
        db=db,
        actor=nurse,
        patient_id=pid,
        order_id=o.id,
        data=DoubleCheckCreate(
            version=o.version,
            check_weight_kg=full.weight_kg,
            check_dose_mg=full.dose_mg,
            check_rate_ml_per_h=full.rate_ml_per_h,
            password=PASSWORD,
        ),
    )
    return dose_orders.get_order(db=db, actor=personas["system"], patient_id=pid, order_id=o.id)


def _count(db, table) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_a_plan_from_a_template_is_signed_and_audited(db, personas, at):
    plan = _create(
        personas, goals=[Goal(instrument_id="gad7", target_score=7)], reason="Treatment-resistant GAD"
    )
    assert plan.status == "active" and plan.current_version == 1
    assert plan.content.dose_mg_per_kg == 0.5  # the protocol's default
    assert [p.sessions for p in plan.content.phases] == [6, 4, None]
    v = plan.versions[0]
    assert (
        v.signed_by_name == "Prescriber"
        and v.signed_meaning == "approved"
        and v.reason == "Treatment-resistant GAD"
    )
    assert any(r.kind == "patient-choice" for r in plan.stop_rules)
    with db.session() as s:
        actions = [
            (e.action, e.resource_type) for e in s.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]
    assert ("create", "treatment_plan") in actions and ("sign", "treatment_plan") in actions


def test_refused_plans_store_nothing(db, personas, at):
    cases = [
        ({"password": "wrong-password"}, "password"),
        ({"indication": "panic", "template_id": "sc-ascending"}, "indication"),
        ({"dose_mg_per_kg": 1.5}, "dose_mg_per_kg"),
        ({"primary_instrument": "nosuch"}, "primary_instrument"),
        ({"template_id": "nosuch"}, "template_id"),
    ]
    for kw, field in cases:
        with pytest.raises(InvalidValue) as e:
            _create(personas, **kw)
        assert e.value.field == field
    assert _count(db, TreatmentPlan) == 0 and _count(db, PlanVersion) == 0
    with pytest.raises(Forbidden):
        plans.create_plan(
            db=db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            data=PlanCreate(template_id="iv-induction", indication="gad", password=PASSWORD),
        )
    _create(personas)
    with pytest.raises(InvalidValue) as e:
        _create(personas)
    assert e.value.field == "template_id"  # one plan in force at a time


def test_a_change_is_a_new_signed_version_with_its_reason_and_stop_ends_the_plan(db, personas, at):
    plan = _create(personas)
    changed = plans.change_plan(
        db=db,
        actor=personas["prescriber"],
        patient_id=personas.patient_a,
        plan_id=plan.id,
        data=PlanChange(
            version=plan.version,
            reason="Twice weekly suits the patient",
            password=PASSWORD,
            phases=[{"id": "induction", "sessions": 8}],
            dose_mg_per_kg=0.6,
        ),
    )
    assert changed.current_version == 2 and changed.content.phases[0].sessions == 8
    fields = {c["field"] for c in changed.versions[-1].changes}
    assert {"dose_mg_per_kg", "phases"} <= fields or "dose_mg_per_kg" in fields
    assert changed.versions[0].content.dose_mg_per_kg == 0.5  # the first version is kept as signed
    with pytest.raises(Conflict):
        plans.change_plan(
            db=db,
            actor=personas["prescriber"],
            patient_id=personas.patient_a,
            plan_id=plan.id,
            data=PlanChange(version=plan.version, reason="stale", password=PASSWORD, dose_mg_per_kg=0.4),
        )
    stopped = plans.stop_plan(
        db=db,
        actor=personas["prescriber"],
        patient_id=personas.patient_a,
        plan_id=plan.id,
        data=PlanStop(
            version=changed.version, stop_kind="patient-choice", reason="Moving abroad", password=PASSWORD
        ),
    )
    assert stopped.status == "stopped" and stopped.stop_kind == "patient-choice"
    view = progress.get_course(db=db, actor=personas["nurse"], patient_id=personas.patient_a)
    assert view is not None and view.next_step.next_session_due is None


def _course(personas, at, scores):
    """A plan 10 days ago, then one session per (before, 24 h) score pair two days apart (real services)."""
    db, pid = personas.db, personas.patient_a
    order = _order(personas, pid)
    at.t = NOW - timedelta(days=12)
    give_consent(personas)  # the sessions' pre-check reads the signed, countersigned consent
    at.t = NOW - timedelta(days=10)
    score(db, personas["nurse"], pid, scores[0][0] + 1, "baseline", None, at.t - timedelta(hours=1))
    plan = _create(personas, goals=[Goal(instrument_id="gad7", target_score=7)])
    for k, (before, after) in enumerate(scores):
        start = NOW - timedelta(days=9 - 2 * k)
        sid = run_session(
            db,
            personas["nurse"],
            personas["prescriber"],
            pid,
            order,
            start,
            random.Random(k),
            password=PASSWORD,
        )
        assert sid is not None
        # entered after the session was given and signed: a signed record takes no new score, so these are kept on
        # the patient's record and the plan finds them by their time
        score(db, personas["nurse"], pid, before, "pre_session", None, start - timedelta(minutes=20))
        score(db, personas["nurse"], pid, after, "follow_up_24h", None, start + timedelta(hours=24))
    at.t = NOW
    return plan


def test_the_course_the_proposal_the_decision_and_the_next_order(db, personas, at):
    pid = personas.patient_a
    plan = _course(personas, at, [(17, 15), (15, 12)])
    view = progress.get_course(db=db, actor=personas["therapist"], patient_id=pid)
    assert view is not None and view.baseline == 17  # the last score before the first session
    assert [r.number for r in view.rows] == [1, 2]
    assert [(r.score_before, r.score_24h) for r in view.rows] == [(17, 15), (15, 12)]
    assert view.rows[0].dose_mg_per_kg == 0.5 and view.rows[0].peak_sbp_rise_mmhg > 0
    assert view.rows[1].change_pct == pytest.approx((12 - 17) / 17 * 100)
    assert view.next_step.sessions_given == 2 and "Session 3" in view.next_step.next_session_text

    prop = proposals.propose(db=db, actor=personas["prescriber"], patient_id=pid, plan_id=plan.id)
    assert prop.kind == "escalate" and prop.dose_mg_per_kg == pytest.approx(
        0.6
    )  # partial response, tolerated
    assert prop.rules and all(r.source for r in prop.rules)
    with pytest.raises(Forbidden):
        proposals.propose(db=db, actor=personas["nurse"], patient_id=pid, plan_id=plan.id)
    with pytest.raises(InvalidValue) as e:  # an edit may not pass the hard limit
        proposals.decide(
            db=db,
            actor=personas["prescriber"],
            patient_id=pid,
            proposal_id=prop.id,
            data=ProposalDecision(
                version=prop.version, decision="edit", dose_mg_per_kg=1.2, reason="faster", password=PASSWORD
            ),
        )
    assert e.value.field == "dose_mg_per_kg"
    with pytest.raises(InvalidValue) as e:  # a rejection needs a reason
        proposals.decide(
            db=db,
            actor=personas["prescriber"],
            patient_id=pid,
            proposal_id=prop.id,
            data=ProposalDecision(version=prop.version, decision="reject", password=PASSWORD),
        )
    assert e.value.field == "reason"
    assert plans_api.order_prefill(db=db, actor=personas["prescriber"], patient_id=pid) is None
    done = proposals.decide(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        proposal_id=prop.id,
        data=ProposalDecision(version=prop.version, decision="accept", password=PASSWORD),
    )
    assert done.status == "accepted" and done.decided_dose_mg_per_kg == pytest.approx(0.6)
    assert done.decided_by_name == "Prescriber" and done.decided_meaning == "approved"
    pre = plans_api.order_prefill(db=db, actor=personas["prescriber"], patient_id=pid)
    assert pre is not None and pre.mg_per_kg == pytest.approx(0.6) and pre.protocol_id == "iv-standard"
    with db.session() as s:
        ev = s.scalars(
            select(AuditEvent).where(
                AuditEvent.resource_type == "titration_proposal", AuditEvent.action == "approve"
            )
        ).one()
    assert '"decision":"accept"' in ev.details
    at.t = NOW + timedelta(minutes=5)
    _order(
        personas, pid, mg_per_kg=0.6, start=NOW + timedelta(days=3)
    )  # the next order follows the proposal: no more pre-fill
    assert plans_api.order_prefill(db=db, actor=personas["prescriber"], patient_id=pid) is None
    with pytest.raises(InvalidValue):
        proposals.decide(
            db=db,
            actor=personas["prescriber"],
            patient_id=pid,
            proposal_id=prop.id,
            data=ProposalDecision(
                version=done.version, decision="reject", reason="changed my mind", password=PASSWORD
            ),
        )
    assert _count(db, TitrationProposal) == 1
    assert plans_api.relapse_flags(db=db, actor=personas["prescriber"], mine=False) == []
    # later: a response (GAD-7 6 against 17), then two scores back near baseline: relapse during the course
    for days, total in ((4, 6), (2, 15), (1, 16)):
        score(db, personas["nurse"], pid, total, "follow_up", None, NOW - timedelta(days=days))
    flags = plans_api.relapse_flags(db=db, actor=personas["prescriber"], mine=False)
    assert [(f.patient_id, f.state, f.action) for f in flags] == [(pid, "relapse", "review")]
    view = progress.get_course(db=db, actor=personas["prescriber"], patient_id=pid)
    assert view.relapse.flagged and all(r.source for r in view.relapse.rules)
