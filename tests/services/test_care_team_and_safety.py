"""Care teams ("my patients", alerts to the whole team), safety questions, responses and vitals in error."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock
from ketacare.services.errors import Forbidden
from ketacare.services.measurement import responses as measurement
from ketacare.services.measurement import schedule as measurement_schedule
from ketacare.services.measurement.schemas import ResponseCreate
from ketacare.services.patients import InErrorReason, care_team
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import CareTeamUpdate
from ketacare.services.sessions import record, vital_corrections, vitals, workflow
from ketacare.services.sessions.schemas import SessionCreate, VitalIn
from ketacare.store.tables.measurement import QuestionnaireItemAnswer, SafetyAlert

PHQ9_BLANK_9 = [1, 1, 2, 1, 0, 1, 1, 0, None]


def _team(personas, pid=None, *, therapist=True, nurse=True):
    return care_team.set_care_team(
        db=personas.db, actor=personas["prescriber"], patient_id=pid or personas.patient_a,
        data=CareTeamUpdate(prescriber_id=personas["prescriber"].user_id,
                            nurse_ids=[personas["nurse"].user_id] if nurse else [],
                            therapist_id=personas["therapist"].user_id if therapist else None))


def test_care_team_is_saved_with_each_position_and_audited(personas):
    team = _team(personas)
    assert [(m.team_role, m.user_id) for m in team.members] == [
        ("prescriber", personas["prescriber"].user_id), ("nurse", personas["nurse"].user_id),
        ("therapist", personas["therapist"].user_id)]
    read = care_team.get_care_team(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a)
    assert len(read.members) == 3 and [o.user_id for o in read.options["therapist"]] == [
        personas["therapist"].user_id]


def test_a_member_must_hold_a_role_allowed_in_that_position(personas):
    with pytest.raises(InvalidValue) as e:
        care_team.set_care_team(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a,
                                data=CareTeamUpdate(therapist_id=personas["nurse"].user_id))
    assert e.value.field == "therapist_id"
    with pytest.raises(Forbidden):  # the therapist reads the team but does not assign it
        care_team.set_care_team(db=personas.db, actor=personas["therapist"], patient_id=personas.patient_a,
                                data=CareTeamUpdate())


def test_my_patients_lists_the_care_team_patients_and_search_still_reaches_all(personas):
    _team(personas)
    mine = patients.search_patients(db=personas.db, actor=personas["therapist"], mine=True)
    assert [p.id for p in mine.items] == [personas.patient_a]
    everyone = patients.search_patients(db=personas.db, actor=personas["therapist"], q="berg")
    assert [p.id for p in everyone.items] == [personas.patient_b]


def test_a_safety_alert_reaches_the_whole_care_team(personas):
    _team(personas)
    r = measurement.submit_response(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a,
                                    data=ResponseCreate(instrument_id="phq9", answers=[1, 1, 2, 1, 0, 1, 1, 0, 2]))
    for who in ("prescriber", "nurse", "therapist"):
        assert [a.id for a in measurement.list_alerts(db=personas.db, actor=personas[who])] == [r.alert_id], who


def test_phq9_item_9_cannot_be_left_blank_silently(personas):
    with pytest.raises(InvalidValue) as e:
        measurement.submit_response(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a,
                                    data=ResponseCreate(instrument_id="phq9", answers=PHQ9_BLANK_9))
    assert e.value.field == "item 9 (phq9_9)" and "Prefer not to answer" in e.value.message
    with personas.db.session() as s:
        assert s.scalars(select(QuestionnaireItemAnswer)).all() == []


def test_prefer_not_to_answer_is_stored_and_flags_the_care_team(personas):
    _team(personas, therapist=True, nurse=False)
    r = measurement.submit_response(
        db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="phq9", answers=PHQ9_BLANK_9, declined=["phq9_9"]))
    assert "safety_item_declined" in r.flags and r.alert_id is not None and r.declined == ["phq9_9"]
    alerts = measurement.list_alerts(db=personas.db, actor=personas["therapist"])
    assert [a.kind for a in alerts] == ["safety_item_declined"]
    assert "prefer not to answer" in alerts[0].detail
    listed = measurement.list_responses(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert listed[0].declined == ["phq9_9"] and listed[0].answers["phq9_9"] is None
    with pytest.raises(InvalidValue):  # "prefer not to answer" is only for safety questions
        measurement.submit_response(
            db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="phq9", answers=[1] * 9, declined=["phq9_1"]))


def test_cssrs_screener_questions_asked_need_an_answer_but_skipped_ones_do_not(personas):
    # Items 3-5 are asked only after a yes to item 2; with item 2 "no" they may stay blank.
    ok = measurement.submit_response(
        db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
        data=ResponseCreate(instrument_id="cssrs_screen", answers=[0, 0, None, None, None, 0, None]))
    assert ok.response_id
    with pytest.raises(InvalidValue):
        measurement.submit_response(
            db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
            data=ResponseCreate(instrument_id="cssrs_screen", answers=[None, 0, None, None, None, 0, None]))


def test_a_response_entered_in_error_leaves_trends_and_due_lists_but_is_kept(personas):
    r = measurement.submit_response(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a,
                                    data=ResponseCreate(instrument_id="gad7", answers=[1] * 7, context="baseline"))
    due_before = measurement_schedule.my_due(db=personas.db, actor=personas["patient_a"])
    assert "gad7" not in [d.instrument_id for d in due_before]
    measurement.mark_response_entered_in_error(
        db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a, response_id=r.response_id,
        data=InErrorReason(reason="answered for the wrong visit"))
    history = measurement.score_history(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert history.series == []
    assert "gad7" in [d.instrument_id for d in measurement_schedule.my_due(db=personas.db,
                                                                             actor=personas["patient_a"])]
    kept = measurement.list_responses(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert kept[0].entered_in_error
    chart = patients.get_chart(db=personas.db, actor=personas["prescriber"], patient_id=personas.patient_a)
    assert [(x.entity, x.reason) for x in chart.clinical.revisions] == [
        ("questionnaire_response", "answered for the wrong visit")]


def test_a_pre_session_form_is_no_longer_due_once_its_session_has_started(personas, monkeypatch):
    start = clock.now() + timedelta(hours=6)
    workflow.create_session(db=personas.db, actor=personas["nurse"], data=SessionCreate(
        patient_id=personas.patient_a, chair="Chair 1", scheduled_at=start))
    contexts = {d.context for d in measurement_schedule.my_due(db=personas.db, actor=personas["patient_a"])}
    assert "pre_session" in contexts
    monkeypatch.setattr(clock, "now", lambda: start + timedelta(hours=1))
    contexts = {d.context for d in measurement_schedule.my_due(db=personas.db, actor=personas["patient_a"])}
    assert "pre_session" not in contexts


def test_a_vital_reading_entered_in_error_is_kept_but_not_charted(personas):
    sid = workflow.create_session(db=personas.db, actor=personas["nurse"], data=SessionCreate(
        patient_id=personas.patient_a, chair="Chair 1")).id
    for sbp in (124, 210):
        vitals.record_session_reading(db=personas.db, actor=personas["nurse"], session_id=sid,
                                      data=VitalIn(sbp=sbp, dbp=80, hr=72))
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    wrong = next(v for v in page.vitals if v.sbp == 210)
    vital_corrections.mark_vital_entered_in_error(db=personas.db, actor=personas["nurse"], session_id=sid,
                                                  vital_id=wrong.id,
                                                  data=InErrorReason(reason="cuff on the wrong arm, artefact"))
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert [v.sbp for v in page.vitals] == [124]
    assert [(x.id, x.reason) for x in page.vitals_in_error] == [(wrong.id, "cuff on the wrong arm, artefact")]
    assert "BP 210/80 mmHg" in page.vitals_in_error[0].summary
    with pytest.raises(Forbidden):
        vital_corrections.mark_vital_entered_in_error(db=personas.db, actor=personas["therapist"],
                                                      session_id=sid, vital_id=wrong.id,
                                                      data=InErrorReason(reason="not mine"))
    with personas.db.session() as s:
        assert s.scalars(select(SafetyAlert)).all() == []
