"""Follow-up after a session (issue 16): the rapid response per session, the nurse's next-day calls (a risk
answer raises a safety alert), and the discharge instructions that discharge waits for (both engines)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock, measurement, plans
from ketacare.services.errors import Conflict, Forbidden, NotFound
from ketacare.services.sessions import workflow
from ketacare.services.sessions.schemas import SessionCreate, TransitionRequest
from ketacare.store.tables import AuditEvent
from ketacare.store.tables.measurement import SafetyAlert
from ketacare.store.tables.sessions import InfusionSession

CALM = {"suicidal_thoughts": "no", "feels_safe": "yes", "side_effects": ["none"], "mood": "better",
        "sleep": "normal", "driving_advice_kept": "yes"}
NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 12:00 in New York; the test clinic runs on UTC


@pytest.fixture
def fixed_now(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: NOW)
    return NOW


def _session(personas, *, state: str, ended: datetime | None, discharged: datetime | None = None) -> int:
    """A session of patient A already in `state` (set directly: the workflow is tested in test_sessions)."""
    sid = workflow.create_session(db=personas.db, actor=personas["nurse"],
                                  data=SessionCreate(patient_id=personas.patient_a, chair="Chair 1")).id
    started = ended - timedelta(minutes=40) if ended else None
    with personas.db.session() as s:
        s.execute(update(InfusionSession).where(InfusionSession.id == sid).values(
            state=state, infusion_started_at=started, infusion_ended_at=ended, discharged_at=discharged))
    return sid


def _gad7(personas, total: int, at: datetime, context: str, sid: int) -> None:
    answers = [min(3, max(0, total - 3 * i)) for i in range(7)]
    assert sum(answers) == total
    measurement.submit_response(db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
                                data=measurement.ResponseCreate(instrument_id="gad7", answers=answers,
                                                                context=context, session_id=sid, answered_at=at))


def test_the_rapid_response_of_each_session_uses_the_scores_before_and_4_h_and_24_h_after(personas, fixed_now):
    end = NOW - timedelta(hours=25)
    sid = _session(personas, state="discharged", ended=end, discharged=end + timedelta(hours=1))
    _gad7(personas, 14, end - timedelta(hours=2), "pre_session", sid)
    _gad7(personas, 9, end + timedelta(hours=4), "post_session", sid)
    _gad7(personas, 6, end + timedelta(hours=24), "follow_up_24h", sid)
    [r] = plans.rapid_response_for_patient(db=personas.db, actor=personas["prescriber"],
                                           patient_id=personas.patient_a)
    assert (r.session_id, r.instrument_id, r.responder) == (sid, "gad7", "yes")
    assert r.baseline.total == 14 and [t.score.total for t in r.timepoints] == [9, 6]
    assert round(r.timepoints[1].change_pct) == -57 and "57 % lower" in r.why
    with pytest.raises(Forbidden):
        plans.rapid_response_for_patient(db=personas.db, actor=personas["frontdesk"], patient_id=personas.patient_a)
    with pytest.raises(InvalidValue) as e:
        plans.rapid_response_for_patient(db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
                                         instrument_id="nope")
    assert e.value.field == "instrument_id"


def test_the_nurse_sees_yesterdays_discharges_and_a_completed_call_records_who_and_when(personas, fixed_now):
    yesterday = _session(personas, state="discharged", ended=NOW - timedelta(hours=27),
                         discharged=NOW - timedelta(hours=26))
    today = _session(personas, state="discharged", ended=NOW - timedelta(hours=2), discharged=NOW - timedelta(hours=1))
    tasks = plans.call_tasks(db=personas.db, actor=personas["nurse"])
    assert [(t.session_id, t.status) for t in tasks] == [(yesterday, "due")]  # today's call is not yet due
    assert tasks[0].due_at == datetime(2026, 11, 30, 10, 0, tzinfo=UTC) and tasks[0].patient_name == "Anders, Alice"
    attempt = plans.record_call(db=personas.db, actor=personas["nurse"], session_id=yesterday,
                                data=plans.CallCreate(reached=False, notes="voicemail"))
    assert attempt.outcome == "not_reached" and attempt.answers == {}
    assert plans.call_tasks(db=personas.db, actor=personas["nurse"])[0].attempts == 1
    done = plans.record_call(db=personas.db, actor=personas["nurse"], session_id=yesterday,
                             data=plans.CallCreate(reached=True, answers={**CALM, "sleep": "none"}))
    assert (done.outcome, done.by_username, done.called_at) == ("completed", "nurse", NOW)
    assert done.concern_items == ["sleep"] and done.risk_items == [] and done.safety_alert_id is None
    [t] = plans.call_tasks(db=personas.db, actor=personas["nurse"])
    assert t.status == "done"
    with pytest.raises(InvalidValue) as e:  # once completed, a second completion is refused
        plans.record_call(db=personas.db, actor=personas["nurse"], session_id=yesterday,
                          data=plans.CallCreate(reached=True, answers=CALM))
    assert "already completed by nurse" in e.value.message
    with pytest.raises(InvalidValue) as e:  # the call follows a discharge
        plans.record_call(db=personas.db, actor=personas["nurse"], session_id=_session(
            personas, state="recovery", ended=NOW - timedelta(minutes=30)), data=plans.CallCreate(reached=False))
    assert e.value.field == "session"
    with pytest.raises(Forbidden):
        plans.call_tasks(db=personas.db, actor=personas["frontdesk"])
    with pytest.raises(Forbidden):
        plans.record_call(db=personas.db, actor=personas["therapist"], session_id=today,
                          data=plans.CallCreate(reached=False))
    with personas.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "followup_call",
                                                    AuditEvent.action == "create")).all()
    assert len(events) == 2 and all(e.patient_id == personas.patient_a for e in events)


def test_a_risk_answer_raises_a_safety_alert_and_an_incomplete_call_stores_nothing(personas, fixed_now):
    sid = _session(personas, state="discharged", ended=NOW - timedelta(hours=27), discharged=NOW - timedelta(hours=26))
    with pytest.raises(InvalidValue) as e:
        plans.record_call(db=personas.db, actor=personas["nurse"], session_id=sid,
                          data=plans.CallCreate(reached=True, answers={"suicidal_thoughts": "no"}))
    assert {"feels_safe", "mood"} <= set(e.value.errors)
    assert plans.calls_for_patient(db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a) == []
    call = plans.record_call(db=personas.db, actor=personas["nurse"], session_id=sid,
                             data=plans.CallCreate(reached=True, answers={**CALM, "suicidal_thoughts": "yes"}))
    assert call.risk_items == ["suicidal_thoughts"] and call.safety_alert_id is not None
    with personas.db.session() as s:
        alert = s.get(SafetyAlert, call.safety_alert_id)
        assert (alert.kind, alert.patient_id, alert.acknowledged_at) == ("followup_call_risk", personas.patient_a, None)


def test_discharge_waits_for_both_acknowledgements_of_the_instructions_in_force(personas, fixed_now):
    sid = _session(personas, state="recovery", ended=NOW - timedelta(minutes=90))
    nurse = personas["nurse"]

    def failed() -> set[str]:
        r = workflow.apply_event(db=personas.db, actor=nurse, session_id=sid,
                                 data=TransitionRequest(event="discharge"))
        assert not r.allowed  # other discharge checks fail too in this bare session
        return {g.id for g in r.failed_guards}

    assert "instructions_acknowledged" in failed()
    sheet = plans.discharge_sheet(db=personas.db, actor=nurse, session_id=sid)
    assert sheet.instructions.version == 0 and not sheet.complete
    assert any("drive" in line for sec in sheet.instructions.sections for line in sec.lines)
    assert sheet.instructions.crisis_lines[0].number == "988"
    plans.acknowledge(db=personas.db, actor=nurse, session_id=sid,
                      data=plans.AcknowledgementIn(party="patient", name="Alice Anders", instructions_version=0))
    assert "instructions_acknowledged" in failed()  # the escort has not acknowledged yet
    with pytest.raises(InvalidValue) as e:
        plans.acknowledge(db=personas.db, actor=nurse, session_id=sid,
                          data=plans.AcknowledgementIn(party="patient", name="Alice Anders", instructions_version=0))
    assert "already acknowledged" in e.value.message
    with pytest.raises(InvalidValue) as e:
        plans.acknowledge(db=personas.db, actor=nurse, session_id=sid,
                          data=plans.AcknowledgementIn(party="escort", name="Carl", instructions_version=3))
    assert e.value.field == "instructions_version"
    sheet = plans.acknowledge(db=personas.db, actor=nurse, session_id=sid,
                              data=plans.AcknowledgementIn(party="escort", name="Carl Anders", instructions_version=0))
    assert sheet.complete and [a.party for a in sheet.acknowledgements] == ["patient", "escort"]
    assert "instructions_acknowledged" not in failed()
    with pytest.raises(Forbidden):
        plans.acknowledge(db=personas.db, actor=personas["frontdesk"], session_id=sid,
                          data=plans.AcknowledgementIn(party="escort", name="X Y", instructions_version=0))


def test_the_clinic_edits_the_instructions_as_versions_with_a_reason_and_a_patient_reads_their_own(
    personas, fixed_now
):
    current = plans.current_instructions(db=personas.db, actor=personas["nurse"])
    data = plans.InstructionsUpdate(heading="After today", sections=[
        {"title": "Call us", "lines": ["Ring {clinic_phone} any time."]}], reason="Shorter text", base_version=0)
    with pytest.raises(Forbidden):
        plans.save_instructions(db=personas.db, actor=personas["nurse"], data=data)
    saved = plans.save_instructions(db=personas.db, actor=personas["admin"], data=data)
    assert (saved.version, saved.reason, saved.changed_by_name) == (1, "Shorter text", "Admin")
    with pytest.raises(Conflict):  # an edit of the old version is refused
        plans.save_instructions(db=personas.db, actor=personas["admin"], data=data)
    history = plans.instructions_history(db=personas.db, actor=personas["admin"])
    assert [h.version for h in history] == [1, 0] and history[1].heading == current.heading
    sid = _session(personas, state="discharged", ended=NOW - timedelta(hours=3), discharged=NOW - timedelta(hours=1))
    [sheet] = plans.patient_sheets(db=personas.db, actor=personas["patient_a"], patient_id=personas.patient_a)
    assert sheet.session_id == sid and sheet.instructions.version == 1
    assert sheet.instructions.sections[0].lines[0].startswith("Ring ")
    with pytest.raises(NotFound):  # another patient's record is hidden, as everywhere
        plans.patient_sheets(db=personas.db, actor=personas["patient_b"], patient_id=personas.patient_a)
