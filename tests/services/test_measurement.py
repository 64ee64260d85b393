"""Measurement services on both engines: answers stored, scores recomputed, alerts raised, links single-use."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from ketacare.config import Settings
from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.measurement import links as measurement_links
from ketacare.services.measurement import responses as measurement
from ketacare.services.measurement import schedule as measurement_schedule
from ketacare.services.measurement.schemas import AlertAcknowledge, LinkCreate, ResponseCreate
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import DiagnosisCreate
from ketacare.store.tables import AuditEvent, Patient
from ketacare.store.tables.measurement import QuestionnaireItemAnswer, QuestionnaireResponse, SafetyAlert

PHQ9_RISK = [1, 1, 2, 1, 0, 1, 1, 0, 1]


def _set_primary(personas, who="prescriber"):
    with personas.db.session() as s:
        s.get(Patient, personas.patient_a).primary_clinician_id = personas[who].user_id


def _count(db, table):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_every_item_answer_is_stored_and_the_score_recomputed(personas):
    r = measurement.submit_response(
        db=personas.db,
        actor=personas["nurse"],
        patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="gad7", answers=[3, 2, 2, 1, 1, 0, 3], context="baseline"),
    )
    assert (
        r.total == 12
        and r.severity == "moderate"
        and r.answered_by_role == "clinician"
        and r.via == "clinician"
    )
    with personas.db.session() as s:
        rows = s.execute(
            select(QuestionnaireItemAnswer.item_id, QuestionnaireItemAnswer.value)
            .where(QuestionnaireItemAnswer.response_id == r.response_id)
            .order_by(QuestionnaireItemAnswer.id)
        ).all()
    assert [v for _, v in rows] == [3, 2, 2, 1, 1, 0, 3] and rows[0][0] == "gad7_1"


def test_missing_item_is_stored_as_none_and_no_total(personas):
    r = measurement.submit_response(
        db=personas.db,
        actor=personas["patient_a"],
        patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="gad7", answers={"gad7_1": 2, "gad7_2": 1}),
    )
    assert (
        r.total is None
        and r.answers["gad7_3"] is None
        and r.via == "portal"
        and r.answered_by_role == "patient"
    )


def test_invalid_answer_refused_and_nothing_stored(personas):
    with pytest.raises(InvalidValue) as e:
        measurement.submit_response(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="gad7", answers=[4, 0, 0, 0, 0, 0, 0]),
        )
    assert "gad7_1" in e.value.field
    assert _count(personas.db, QuestionnaireResponse) == 0


def test_patient_cannot_write_another_patients_scores(personas):
    with pytest.raises(NotFound):
        measurement.submit_response(
            db=personas.db,
            actor=personas["patient_b"],
            patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="gad7", answers=[0] * 7),
        )


def test_suicide_risk_raises_alert_for_primary_clinician_and_is_audited(personas):
    _set_primary(personas)
    r = measurement.submit_response(
        db=personas.db,
        actor=personas["patient_a"],
        patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="phq9", answers=PHQ9_RISK),
    )
    assert "suicide_risk" in r.flags and r.alert_id is not None
    mine = measurement.list_alerts(db=personas.db, actor=personas["prescriber"])
    assert [a.id for a in mine] == [r.alert_id] and mine[0].patient_id == personas.patient_a
    assert measurement.list_alerts(db=personas.db, actor=personas["nurse"]) == []
    with pytest.raises(InvalidValue):
        measurement.acknowledge_alert(
            db=personas.db,
            actor=personas["prescriber"],
            alert_id=r.alert_id,
            data=AlertAcknowledge(action_taken="ok          ", version=1),
        )
    done = measurement.acknowledge_alert(
        db=personas.db,
        actor=personas["prescriber"],
        alert_id=r.alert_id,
        data=AlertAcknowledge(
            action_taken="Called patient, C-SSRS low risk, safety plan reviewed", version=1
        ),
    )
    assert done.acknowledged_by == personas["prescriber"].user_id
    assert measurement.list_alerts(db=personas.db, actor=personas["prescriber"]) == []
    with pytest.raises(Conflict):
        measurement.acknowledge_alert(
            db=personas.db,
            actor=personas["prescriber"],
            alert_id=r.alert_id,
            data=AlertAcknowledge(action_taken="again, called again", version=1),
        )
    with personas.db.session() as s:
        kinds = s.execute(
            select(AuditEvent.action, AuditEvent.resource_type).where(
                AuditEvent.patient_id == personas.patient_a
            )
        ).all()
    assert ("create", "safety_alert") in kinds and ("acknowledge", "safety_alert") in kinds


def test_latest_scores_and_responses_for_session(personas):
    from ketacare.services.sessions import workflow
    from ketacare.services.sessions.schemas import SessionCreate

    session_id = workflow.create_session(
        db=personas.db, actor=personas["nurse"], data=SessionCreate(patient_id=personas.patient_a, chair="Chair 1")
    ).id
    for answers, ctx, sid in (
        ([2] * 7, "baseline", None),
        ([1] * 7, "pre_session", session_id),
        ([0] * 7, "post_session", session_id),
    ):
        measurement.submit_response(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="gad7", answers=answers, context=ctx, session_id=sid),
        )
    with personas.db.session() as s:
        latest = measurement.latest_scores(s, personas.patient_a)
        assert [(x.instrument_id, x.total, x.context) for x in latest] == [("gad7", 0.0, "post_session")]
        assert measurement.latest_scores(s, personas.patient_a, context="baseline")[0].total == 14
        assert [x.context for x in measurement.responses_for_session(s, session_id)] == [
            "pre_session",
            "post_session",
        ]
        assert measurement.latest_scores(s, personas.patient_b) == []
        assert isinstance(measurement.session_times(s, personas.patient_a), list)


def test_score_history_change_from_baseline_and_outcomes(personas):
    for answers, ctx in (
        ([3, 3, 2, 2, 2, 2, 2, 0, 0], "baseline"),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], "follow_up"),
    ):
        measurement.submit_response(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="phq9", answers=answers, context=ctx),
        )
    h = measurement.score_history(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a)
    s = h.series[0]
    assert s.baseline.total == 16 and s.points[-1].change == -12
    assert s.points[-1].outcomes["response"] is True and s.points[-1].outcomes["remission"] is True


def _settings(db):
    return Settings(database_url=db.url, link_key="k" * 32, public_url="https://clinic.example")


def test_link_is_single_use_and_reuse_stores_nothing(personas):
    _set_primary(personas)
    st = _settings(personas.db)
    link = measurement_links.issue_link(
        db=personas.db,
        actor=personas["nurse"],
        settings=st,
        patient_id=personas.patient_a,
        data=LinkCreate(instrument_id="phq9", due_date=date.today()),
    )
    assert link.url.startswith("https://clinic.example/q/")
    res = measurement_links.submit_via_link(
        db=personas.db,
        settings=st,
        token=link.token,
        answers=dict(zip([f"phq9_{i}" for i in range(1, 10)], PHQ9_RISK, strict=True)),
    )
    assert res.alert_id is not None and res.patient_id == personas.patient_a
    before = (
        _count(personas.db, QuestionnaireResponse),
        _count(personas.db, AuditEvent),
        _count(personas.db, SafetyAlert),
    )
    with pytest.raises(measurement_links.LinkRefused) as e:
        measurement_links.submit_via_link(
            db=personas.db, settings=st, token=link.token, answers={"phq9_1": 0}
        )
    assert e.value.reason == "used"
    assert (
        _count(personas.db, QuestionnaireResponse),
        _count(personas.db, AuditEvent),
        _count(personas.db, SafetyAlert),
    ) == before
    with personas.db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "questionnaire_response")).one()
    assert ev.patient_id == personas.patient_a and ev.actor_username == f"link:patient:{personas.patient_a}"
    assert json.loads(ev.details)["via"] == "link"


def test_expired_or_forged_link_refused(personas, monkeypatch):
    st = _settings(personas.db)
    link = measurement_links.issue_link(
        db=personas.db,
        actor=personas["nurse"],
        settings=st,
        patient_id=personas.patient_a,
        data=LinkCreate(instrument_id="gad7", due_date=date.today(), valid_days=0),
    )
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + timedelta(days=2))
    with pytest.raises(measurement_links.LinkRefused) as e:
        measurement_links.submit_via_link(
            db=personas.db, settings=st, token=link.token, answers={"gad7_1": 1}
        )
    assert e.value.reason == "expired"
    monkeypatch.setattr(clock, "now", real)
    payload, sig = link.token.split(".")
    with pytest.raises(measurement_links.LinkRefused) as e:
        measurement_links.open_link(db=personas.db, settings=st, token=payload + "." + sig[::-1])
    assert e.value.reason == "invalid"
    other = Settings(database_url=personas.db.url, link_key="another key")
    with pytest.raises(measurement_links.LinkRefused):
        measurement_links.open_link(db=personas.db, settings=other, token=link.token)
    assert _count(personas.db, QuestionnaireResponse) == 0


def test_link_key_generated_and_kept_when_not_configured(personas):
    st = Settings(database_url=personas.db.url)
    link = measurement_links.issue_link(
        db=personas.db,
        actor=personas["nurse"],
        settings=st,
        patient_id=personas.patient_a,
        data=LinkCreate(instrument_id="gad7", due_date=date.today()),
    )
    assert (
        measurement_links.open_link(db=personas.db, settings=st, token=link.token).patient_id
        == personas.patient_a
    )


def test_due_list_shows_baseline_due_and_portal_only_patient_rated(personas):
    items = measurement_schedule.due_list(db=personas.db, actor=personas["nurse"])
    mine = [d for d in items if d.patient_id == personas.patient_a]
    assert {d.instrument_id for d in mine} == {"gad7", "phq9"} and {d.context for d in mine} == {"baseline"}
    measurement.submit_response(
        db=personas.db,
        actor=personas["patient_a"],
        patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="gad7", answers=[0] * 7, context="baseline"),
    )
    portal = measurement_schedule.my_due(db=personas.db, actor=personas["patient_a"])
    assert [d.instrument_id for d in portal] == ["phq9"]


def test_due_list_adds_each_active_diagnosis_primary_once(personas):
    def baseline(pid):
        items = measurement_schedule.due_list(db=personas.db, actor=personas["nurse"])
        return sorted(d.instrument_id for d in items if d.patient_id == pid and d.context == "baseline")

    pa = personas.patient_a
    for code, status in (("sad", "active"), ("gad", "active"), ("panic", "resolved")):
        dx = DiagnosisCreate(code=code, status=status)
        patients.add_diagnosis(db=personas.db, actor=personas["prescriber"], patient_id=pa, data=dx)
    assert baseline(pa) == ["gad7", "mini_spin", "phq9"]  # GAD-7 once; the resolved panic disorder adds nothing
    portal = measurement_schedule.my_due(db=personas.db, actor=personas["patient_a"])
    assert {d.instrument_name for d in portal} == {"GAD-7", "Mini-SPIN", "PHQ-9"}


def test_a_response_linked_to_no_session_is_refused_and_nothing_stored(personas):
    with pytest.raises(InvalidValue, match="session_id"):
        measurement.submit_response(
            db=personas.db,
            actor=personas["nurse"],
            patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="gad7", answers=[1] * 7, context="pre_session", session_id=999999),
        )
    with personas.db.session() as s:
        assert measurement.latest_scores(s, personas.patient_a) == []
