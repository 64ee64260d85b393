"""Course safety through the services, on SQLite and PostgreSQL: recorded results feed the session pre-checks
(an expired pregnancy test blocks them), PUF above 16 holds, cumulative dose from the sessions given, and every
read and write is authorized and audited."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from ketacare.domain.errors import InvalidValue
from ketacare.services import plans
from ketacare.services.errors import Forbidden
from ketacare.services.sessions import record, vitals, workflow
from ketacare.services.sessions.schemas import OverrideIn, SessionChecks, VitalIn
from ketacare.store.tables import AuditEvent
from tests.services.test_sessions import T0, _ev, _new, capabilities, fake_clock  # noqa: F401  (fixtures)


def _prepared(personas, clock_now):
    """A checked-in session with every confirmation except the pregnancy test (the course records decide)."""
    sid = _new(personas)
    _ev(personas, sid, "check_in")
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    workflow.update_checks(
        db=personas.db, actor=personas["nurse"], session_id=sid,
        data=SessionChecks(version=v.version, escort_confirmed=True,
                           last_food_at=clock_now.t - timedelta(hours=3),
                           last_liquid_at=clock_now.t - timedelta(hours=1)),
    )
    vitals.record_session_reading(db=personas.db, actor=personas["nurse"], session_id=sid,
                                  data=VitalIn(sbp=124, dbp=78, hr=72, spo2=98, rr=14))
    return sid


def _applicable(personas, pid, yes=True):
    plans.record_pregnancy_applicability(
        db=personas.db, actor=personas["nurse"], patient_id=pid,
        data=plans.PregnancyApplicabilityIn(applicable=yes, reason="asked at intake"),
    )


def _test(personas, pid, days_ago, result="negative"):
    return plans.record_pregnancy_test(
        db=personas.db, actor=personas["nurse"], patient_id=pid,
        data=plans.PregnancyTestIn(taken_at=T0 - timedelta(days=days_ago), result=result, method="urine hCG"),
    )


def test_an_expired_pregnancy_test_blocks_the_prechecks_until_a_new_one(personas, fake_clock, capabilities):  # noqa: F811
    pid = personas.patient_a
    _applicable(personas, pid)
    _test(personas, pid, days_ago=10)
    sid = _prepared(personas, fake_clock)
    r = _ev(personas, sid, "pass_prechecks")
    assert not r.allowed
    failed = {g.id: g.message for g in r.failed_guards}
    assert set(failed) == {"pregnancy_test_negative"}
    assert "10 days ago" in failed["pregnancy_test_negative"] and "counts for 7 days" in failed[
        "pregnancy_test_negative"]
    page = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    lines = {c.id: c for c in page.guards.course_safety}
    assert lines["pregnancy"].status == "hold" and lines["puf"].status == "due"  # PUF never done: a warning
    _test(personas, pid, days_ago=0)
    assert _ev(personas, sid, "pass_prechecks").allowed


def test_applicability_is_asked_not_inferred_from_sex(personas, fake_clock, capabilities):  # noqa: F811
    pid = personas.patient_a
    sid = _prepared(personas, fake_clock)
    r = _ev(personas, sid, "pass_prechecks")
    msg = {g.id: g.message for g in r.failed_guards}["pregnancy_test_negative"]
    assert "not recorded whether pregnancy tests apply" in msg
    _applicable(personas, pid, yes=False)
    assert _ev(personas, sid, "pass_prechecks").allowed


def test_puf_above_16_holds_the_session_with_its_reason(personas, fake_clock, capabilities):  # noqa: F811
    pid = personas.patient_a
    _applicable(personas, pid, yes=False)
    plans.record_puf(db=personas.db, actor=personas["nurse"], patient_id=pid,
                     data=plans.PufIn(taken_at=T0 - timedelta(days=1), total=20))
    sid = _prepared(personas, fake_clock)
    r = _ev(personas, sid, "pass_prechecks")
    failed = {g.id: g.message for g in r.failed_guards}
    assert set(failed) == {"course_safety_clear"} and "PUF total 20" in failed["course_safety_clear"]
    r = _ev(personas, sid, "pass_prechecks", who="prescriber",
            override=OverrideIn(guard_ids=["course_safety_clear"], reason="urology review booked; patient wishes"))
    assert r.allowed  # a prescriber may override with a reason


def test_cumulative_dose_counts_the_sessions_given(personas, fake_clock, capabilities):  # noqa: F811
    pid = personas.patient_a
    _applicable(personas, pid, yes=False)
    sid = _prepared(personas, fake_clock)
    assert _ev(personas, sid, "pass_prechecks").allowed
    assert _ev(personas, sid, "start_infusion").allowed
    panel = plans.course_safety(db=personas.db, actor=personas["prescriber"], patient_id=pid)
    assert [d.session_id for d in panel.doses] == [sid]
    assert panel.cumulative.racemic_window_mg == 35.0 and panel.cumulative.racemic_window_mg_per_kg == 0.5
    assert {c.id: c.status for c in panel.checks}["cumulative_dose"] == "ok"


def test_bad_input_is_refused_and_nothing_stored(personas, fake_clock):  # noqa: F811
    pid, db, nurse = personas.patient_a, personas.db, personas["nurse"]
    with pytest.raises(InvalidValue) as e:
        plans.record_pregnancy_test(db=db, actor=nurse, patient_id=pid, data=plans.PregnancyTestIn(
            taken_at=T0 + timedelta(hours=1), result="negative", method="urine hCG"))
    assert e.value.field == "taken_at"
    with pytest.raises(InvalidValue) as e:
        plans.record_pregnancy_test(db=db, actor=nurse, patient_id=pid, data=plans.PregnancyTestIn(
            taken_at=T0, result="negative", method="dipstick guess"))
    assert e.value.field == "method"
    with pytest.raises(InvalidValue) as e:
        plans.record_misuse_check(db=db, actor=nurse, patient_id=pid,
                                  data=plans.MisuseCheckIn(checked_at=T0, signs=["invented"]))
    assert e.value.field == "signs"
    with pytest.raises(InvalidValue) as e:
        plans.record_tox_result(db=db, actor=nurse, patient_id=pid,
                                data=plans.ToxResultIn(taken_at=T0, result="positive"))
    assert e.value.field == "substances"
    with pytest.raises(ValidationError):
        plans.PufIn(taken_at=T0, total=36)
    assert plans.course_safety(db=db, actor=nurse, patient_id=pid).records == []


def test_access_and_audit(personas, fake_clock):  # noqa: F811
    pid, db = personas.patient_a, personas.db
    for who in ("frontdesk", "researcher", "patient_a"):
        with pytest.raises(Forbidden):
            plans.course_safety(db=db, actor=personas[who], patient_id=pid)
    with pytest.raises(Forbidden):
        _applicable_as(personas, "therapist", pid)
    rec = _test(personas, pid, days_ago=1)
    with db.session() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.resource_type == "course_safety",
                                                AuditEvent.action == "create")).all()
    assert [(e.resource_id, e.patient_id) for e in ev] == [(str(rec.id), pid)]


def _applicable_as(personas, who, pid):
    plans.record_pregnancy_applicability(
        db=personas.db, actor=personas[who], patient_id=pid,
        data=plans.PregnancyApplicabilityIn(applicable=True, reason="asked at intake"),
    )
