"""Eligibility screening through the services, from a real record, on SQLite and PostgreSQL (issue #5)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.domain.sources import plain
from ketacare.services import clock
from ketacare.services.eligibility import screening as eligibility
from ketacare.services.eligibility.schemas import ReviewIn, ScreeningAnswersIn
from ketacare.services.errors import Conflict, Forbidden
from ketacare.services.measurement import responses as measurement
from ketacare.services.measurement.schemas import ResponseCreate
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import AllergyCreate, DiagnosisCreate, MedicationCreate, TrialCreate
from ketacare.services.sessions import vitals
from ketacare.services.sessions.schemas import VitalIn
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.eligibility import EligibilityEvaluation
from tests.conftest import PASSWORD

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = NOW

    def __call__(self) -> datetime:
        return self.t


@pytest.fixture
def fake_clock(monkeypatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(clock, "now", c)
    monkeypatch.delenv("KETACARE_ELIGIBILITY_RULE_SET", raising=False)
    return c


ANSWERS = {
    "pregnant": "no",
    "breastfeeding": "no",
    "medical_history_reviewed": "yes",
    "bladder_symptoms": "no",
    "ketamine_hypersensitivity": "no",
    "no_known_allergies": "yes",
    "no_current_medications": "yes",
    "substance.alcohol": "none",
    "substance.ketamine": "none",
}


def screening_bp(personas, pid, sbp, dbp, hr=76, at=None):
    return vitals.record_patient_reading(
        db=personas.db,
        actor=personas["nurse"],
        patient_id=pid,
        data=VitalIn(sbp=sbp, dbp=dbp, hr=hr, measured_at=at or clock.now() - timedelta(minutes=5)),
    )


def ready_patient(personas, *, sbp=128, dbp=82) -> int:
    """Patient A (female, born 1985): GAD, two failed adequate SSRI/SNRI trials, one adequate CBT course,
    GAD-7 15 today, screening vitals, the screening questions answered, no contraindication."""
    db, nurse, pid = personas.db, personas["nurse"], personas.patient_a
    patients.add_diagnosis(db=db, actor=nurse, patient_id=pid, data=DiagnosisCreate(code="F41.1"))
    for drug, dose in (("escitalopram", 20), ("venlafaxine", 225)):
        patients.add_trial(
            db=db,
            actor=nurse,
            patient_id=pid,
            data=TrialCreate(kind="medication", name=drug, dose_mg_per_day=dose, weeks=12,
                             adherence="good", outcome="no_response"),
        )
    patients.add_trial(
        db=db,
        actor=nurse,
        patient_id=pid,
        data=TrialCreate(kind="psychotherapy", name="CBT", sessions=14, weeks=16, adherence="good",
                         outcome="partial_response"),
    )
    measurement.submit_response(
        db=db,
        actor=nurse,
        patient_id=pid,
        data=ResponseCreate(instrument_id="gad7", answers=[3, 3, 3, 2, 2, 1, 1], context="baseline",
                            answered_at=clock.now() - timedelta(hours=1)),
    )
    eligibility.record_answers(db=db, actor=nurse, patient_id=pid, data=ScreeningAnswersIn(answers=ANSWERS))
    screening_bp(personas, pid, sbp, dbp)
    return pid


def run(personas, pid, who="prescriber"):
    return eligibility.evaluate_patient(db=personas.db, actor=personas[who], patient_id=pid)


def test_a_complete_record_without_contraindication_is_eligible(personas, fake_clock):
    pid = ready_patient(personas)
    r = run(personas, pid)
    e = r.evaluation
    assert r.stored and e.decision == "eligible", (e.evaluation["findings"], e.evaluation["missing"])
    tr = e.evaluation["treatment_resistance"]
    assert (tr["status"], tr["stage"], tr["rule_set"]) == ("met", 2, "bokma2019")
    assert tr["failed_adequate_pharmacological"] == 2 and tr["failed_adequate_psychological"] == 1
    assert e.facts["blood_pressure"] == {"systolic_mmhg": 128.0, "diastolic_mmhg": 82.0, "date": "2026-11-26"}
    assert e.facts["severity_scores"] == [{"instrument": "gad7", "total": 15.0, "date": "2026-11-26"}]
    assert e.facts["age_years"] == 41 and e.facts["sex"] == "female"
    assert e.status == "pending_review" and e.evaluated_by == personas["prescriber"].user_id
    assert "screening reading" in e.evaluation["record_sources"]["blood_pressure"]
    with personas.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "evaluate")).all()
        assert [x.resource_id for x in ev] == [str(e.id)]


def test_bp_185_over_105_at_screening_gives_the_shipped_contraindication(personas, fake_clock):
    pid = ready_patient(personas, sbp=185, dbp=105)
    e = run(personas, pid).evaluation
    assert e.decision == "not_eligible"
    f = next(f for f in e.evaluation["findings"] if f["rule_id"] == "CI-BP-UNCONTROLLED")
    assert f["severity"] == "exclude"
    assert "185/105 mmHg" in f["message"] and "180/100" in f["message"]
    assert plain(f["source"]) == "Swiss ketamine product information"
    assert not any(f["rule_id"] == "CA-BP-ELEVATED" for f in e.evaluation["findings"])  # suppressed


def test_benzodiazepine_caution_shows_the_computed_diazepam_equivalents(personas, fake_clock):
    pid = ready_patient(personas)
    patients.add_medication(
        db=personas.db,
        actor=personas["nurse"],
        patient_id=pid,
        data=MedicationCreate(name="diazepam", dose_value=5, dose_unit="mg", times_per_day=3),
    )
    e = run(personas, pid).evaluation
    assert e.decision == "eligible_with_cautions"
    assert e.facts["medications"] == [{"name": "diazepam", "dose_mg_per_day": 15.0, "as_needed": False}]
    f = next(f for f in e.evaluation["findings"] if f["rule_id"] == "INT-BZD-BLUNTED-RESPONSE")
    assert f["severity"] == "caution" and f["values"]["total_mg_per_day"] == 15.0
    assert "15.0 mg/day diazepam-equivalents" in f["message"] and "above the 8 mg/day" in f["message"]


def test_an_empty_record_is_insufficient_and_says_where_to_record(personas, fake_clock):
    e = run(personas, personas.patient_b).evaluation
    assert e.decision == "insufficient_information"
    missing = {m["key"]: m for m in e.evaluation["missing"]}
    assert {"diagnoses", "blood_pressure", "substance_use", "prior_trials", "medications"} <= set(missing)
    assert "pregnant" not in missing  # male
    assert missing["blood_pressure"]["record_url"] == "#screening-vitals"
    assert missing["prior_trials"]["record_url"] == f"/patients/{personas.patient_b}#trial"


def test_re_evaluation_after_a_new_bp_shows_the_difference_and_supersedes(personas, fake_clock):
    pid = ready_patient(personas)
    first = run(personas, pid).evaluation
    again = run(personas, pid)
    assert not again.stored and again.evaluation.id == first.id  # nothing changed: no new row
    fake_clock.t = NOW + timedelta(hours=2)
    screening_bp(personas, pid, 186, 104)
    r = run(personas, pid)
    assert r.stored and r.diff["decision"] == ["eligible", "not_eligible"]
    assert [f["rule_id"] for f in r.diff["findings_added"]] == ["CI-BP-UNCONTROLLED"]
    assert "blood_pressure" in r.diff["facts_changed"]
    assert r.evaluation.previous_id == first.id and r.evaluation.evaluation["diff"] == r.diff
    with personas.db.session() as s:
        assert s.get(EligibilityEvaluation, first.id).status == "superseded"


def test_override_needs_a_reason_and_the_prescriber_role(personas, fake_clock):
    pid = ready_patient(personas, sbp=185, dbp=105)
    e = run(personas, pid).evaluation
    with pytest.raises(ValidationError, match="written reason"):
        ReviewIn(action="override", version=e.version, decision="eligible_with_cautions", reason="", password=PASSWORD)
    data = ReviewIn(action="override", version=e.version, decision="eligible_with_cautions",
                    reason="Repeat BP 150/92 after 10 min rest; cardiology agrees, monitor closely.", password=PASSWORD)
    for who in ("nurse", "therapist", "frontdesk"):
        with pytest.raises(Forbidden):
            eligibility.review_evaluation(db=personas.db, actor=personas[who], patient_id=pid,
                                          evaluation_id=e.id, data=data)
    with pytest.raises(InvalidValue, match="different decision"):
        eligibility.review_evaluation(
            db=personas.db, actor=personas["prescriber"], patient_id=pid, evaluation_id=e.id,
            data=ReviewIn(action="override", version=e.version, decision="not_eligible", reason="x" * 12,
                          password=PASSWORD),
        )
    done = eligibility.review_evaluation(db=personas.db, actor=personas["prescriber"], patient_id=pid,
                                         evaluation_id=e.id, data=data)
    assert (done.status, done.decision, done.effective_decision) == (
        "overridden", "not_eligible", "eligible_with_cautions")
    assert done.override_reason.startswith("Repeat BP") and done.reviewed_by == personas["prescriber"].user_id
    with pytest.raises(Conflict):
        eligibility.review_evaluation(db=personas.db, actor=personas["prescriber"], patient_id=pid,
                                      evaluation_id=e.id, data=data)
    with personas.db.session() as s:
        ov = s.scalars(select(AuditEvent).where(AuditEvent.action == "override")).one()
        assert ov.reason.startswith("Repeat BP") and json.loads(ov.details)["to"] == "eligible_with_cautions"
        assert s.scalars(select(AuditEvent).where(AuditEvent.action == "denied")).all()


def test_current_evaluation_for_sessions(personas, fake_clock):
    pid = ready_patient(personas)
    e = run(personas, pid).evaluation
    with personas.db.session() as s:
        assert eligibility.current_evaluation(s, pid) is None  # pending review
    eligibility.review_evaluation(db=personas.db, actor=personas["prescriber"], patient_id=pid,
                                  evaluation_id=e.id,
                                  data=ReviewIn(action="accept", version=e.version, password=PASSWORD))
    with personas.db.session() as s:
        row = eligibility.current_evaluation(s, pid)
        assert row.id == e.id and eligibility.effective_decision(row) == "eligible"
    fake_clock.t = NOW + timedelta(days=1)
    patients.add_allergy(db=personas.db, actor=personas["nurse"], patient_id=pid,
                         data=AllergyCreate(substance="penicillin"))
    with personas.db.session() as s:
        assert eligibility.current_evaluation(s, pid) is None  # a newer fact: re-evaluate first


def test_rule_set_comes_from_the_clinic_setting(personas, fake_clock, monkeypatch):
    pid = ready_patient(personas)
    monkeypatch.setenv("KETACARE_ELIGIBILITY_RULE_SET", "delphi2024")
    e = run(personas, pid).evaluation
    assert e.rule_set == "delphi2024" and e.evaluation["treatment_resistance"]["rule_set"] == "delphi2024"
    monkeypatch.setenv("KETACARE_ELIGIBILITY_RULE_SET", "nonsense")
    with pytest.raises(InvalidValue, match="unknown rule set"):
        run(personas, pid)


def test_screening_answers_are_checked_and_only_changes_stored(personas, fake_clock):
    pid = personas.patient_a
    with pytest.raises(InvalidValue, match="unknown screening question"):
        eligibility.record_answers(db=personas.db, actor=personas["nurse"], patient_id=pid,
                                   data=ScreeningAnswersIn(answers={"favourite_colour": "blue"}))
    with pytest.raises(InvalidValue):
        eligibility.record_answers(db=personas.db, actor=personas["nurse"], patient_id=pid,
                                   data=ScreeningAnswersIn(answers={"pregnant": "maybe"}))
    one = eligibility.record_answers(db=personas.db, actor=personas["nurse"], patient_id=pid,
                                     data=ScreeningAnswersIn(answers={"pregnant": "no", "bladder_symptoms": "yes"}))
    two = eligibility.record_answers(db=personas.db, actor=personas["nurse"], patient_id=pid,
                                     data=ScreeningAnswersIn(answers={"pregnant": "no", "bladder_symptoms": "no"}))
    assert len(one) == 2 and [a.fact for a in two] == ["bladder_symptoms"]
    with pytest.raises(Forbidden):
        eligibility.record_answers(db=personas.db, actor=personas["frontdesk"], patient_id=pid,
                                   data=ScreeningAnswersIn(answers={"pregnant": "no"}))


def test_pregnancy_answer_excludes(personas, fake_clock):
    pid = ready_patient(personas)
    eligibility.record_answers(db=personas.db, actor=personas["nurse"], patient_id=pid,
                               data=ScreeningAnswersIn(answers={"pregnant": "yes"}))
    e = run(personas, pid).evaluation
    assert e.decision == "not_eligible"
    assert any(f["rule_id"] == "CI-PREGNANCY" for f in e.evaluation["findings"])


def test_a_dated_old_infarction_is_not_a_recent_event(personas, fake_clock):
    pid = ready_patient(personas)
    patients.add_diagnosis(db=personas.db, actor=personas["nurse"], patient_id=pid,
                           data=DiagnosisCreate(code="I21.9", onset_date=date(2019, 5, 1)))
    e = run(personas, pid).evaluation
    rules = {f["rule_id"] for f in e.evaluation["findings"]}
    assert "CI-CARDIO-RECENT" not in rules and "CA-CARDIOVASCULAR-DISEASE" in rules
    assert e.decision == "eligible_with_cautions"
