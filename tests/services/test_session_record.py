"""The signed session record, complete (issue 12 point 8), on SQLite and PostgreSQL: record format 2 holds the
order with its prescriber and checker, the assessments, the discharge checklist with who and when, the escort and
the written instructions; a record signed in format 1 still verifies; the format is explicit and versioned."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from ketacare.domain.sessions import canonical_json
from ketacare.services import plans
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.sessions import alerts as session_alerts
from ketacare.services.sessions import formulary, pump, record, side_effects, vitals, workflow
from ketacare.services.sessions.formulary import FormularyEntryIn, RescueGive
from ketacare.services.sessions.schemas import (
    RECORD_FORMAT,
    RECORD_FORMATS,
    RECORD_V1,
    RECORD_V2,
    AddendumCreate,
    AlertAck,
    GatewayReading,
    InfusionEventCreate,
    SessionChecks,
    SessionCreate,
    SessionFields,
    SideEffectCreate,
    SignRequest,
    VitalIn,
)
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession, SessionSignature, VitalSign
from tests.conftest import PASSWORD
from tests.services.test_sessions import (  # noqa: F401 - fixtures
    ALDRETE_10,
    _ev,
    _rate,
    _start,
    capabilities,
    fake_clock,
    with_scores,
)

ONDANSETRON = dict(
    drug="ondansetron", route="iv", indications=["nausea", "vomiting"], dose_min=4, dose_max=8, dose_unit="mg",
    max_doses_per_session=2, max_total_per_session=12, approved_by="Dr A. Okafor, medical director",
    source="Clinic rescue protocol v3 (2026)",
)  # fmt: skip


def checked_order(personas, fake_clock, capabilities) -> int:  # noqa: F811
    """Return a real signed and double-checked dose order of patient A (the prescriber signs, the nurse checks);
    the clock moves to an hour after the weight on record."""
    fake_clock.t = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    pid, db = personas.patient_a, personas.db
    o = dose_orders.create_order(
        db=db, actor=personas["prescriber"], patient_id=pid, data=DoseOrderCreate(protocol_id="iv-standard")
    )
    o = dose_orders.sign_order(
        db=db,
        actor=personas["prescriber"],
        patient_id=pid,
        order_id=o.id,
        data=DoseOrderSign(version=o.version, password=PASSWORD),
    )
    dose_orders.double_check_order(
        db=db, actor=personas["nurse"], patient_id=pid, order_id=o.id,
        data=DoubleCheckCreate(version=o.version, check_weight_kg=70.0, check_dose_mg=o.dose_mg,
                               check_rate_ml_per_h=o.rate_ml_per_h, password=PASSWORD),
    )  # fmt: skip
    capabilities["order"].id = o.id  # the session guards read the same order
    return o.id


def complete_session(personas, fake_clock, capabilities) -> int:  # noqa: F811
    """Run a whole session: order, pump, a held 186/104 (HIGH alarm, acknowledged), a side effect left unresolved,
    a rescue dose, the end-of-infusion and discharge assessments, the escort and instructions, discharge."""
    db, nurse = personas.db, personas["nurse"]
    with db.session() as s:
        s.execute(
            update(Patient).where(Patient.id == personas.patient_a)
            .values(escort_name="Carl Anders", escort_phone="+1 555 010 2020")
        )  # fmt: skip
    order_id = checked_order(personas, fake_clock, capabilities)
    sid = workflow.create_session(
        db=db, actor=nurse,
        data=SessionCreate(patient_id=personas.patient_a, chair="Chair 1", dose_order_id=order_id,
                           planned_dose_mg=35, planned_duration_min=40, concentration_mg_per_ml=1.0),
    ).id  # fmt: skip
    _start(personas, sid, fake_clock)
    start = fake_clock.t
    pump.add_infusion_event(
        db=db,
        actor=nurse,
        session_id=sid,
        data=InfusionEventCreate(kind="start", rate_ml_per_h=52.5, at=start),
    )
    high = [
        GatewayReading(client_id=f"hi-{k}", measured_at=start + timedelta(minutes=10 + k), sbp=186, dbp=104,
                       hr=88, spo2=97, rr=14)
        for k in range(3)
    ]  # fmt: skip
    fake_clock.advance(13)
    vitals.record_batch(db=db, actor=nurse, session_id=sid, readings=high)
    alarm = record.get_session(db=db, actor=nurse, session_id=sid).alerts[0]
    session_alerts.acknowledge_alert(
        db=db, actor=nurse, session_id=sid, alert_id=alarm.id,
        data=AlertAck(action_taken="paused the pump, rechecked 178/100, prescriber called"),
    )  # fmt: skip
    entry = formulary.add_entry(db=db, actor=personas["prescriber"], data=FormularyEntryIn(**ONDANSETRON))
    se = side_effects.add_side_effect(
        db=db, actor=nurse, session_id=sid,
        data=SideEffectCreate(type="nausea", grade=2, onset_at=start + timedelta(minutes=12)),
    ).id  # fmt: skip
    formulary.give_rescue(
        db=db, actor=nurse, session_id=sid,
        data=RescueGive(entry_id=entry.id, dose=4, dose_unit="mg", side_effect_id=se),
    )  # fmt: skip
    fake_clock.t = start + timedelta(minutes=40)
    pump.add_infusion_event(
        db=db, actor=nurse, session_id=sid, data=InfusionEventCreate(kind="stop", at=fake_clock.t)
    )
    assert _ev(personas, sid, "end_infusion").state == "recovery"
    _rate(personas, sid, "cadss6", [0, 1, 0, 0, 0, 0], "during_session")
    _rate(personas, sid, "moaas", [5], "during_session")
    fake_clock.advance(65)
    vitals.record_session_reading(
        db=db, actor=nurse, session_id=sid, data=VitalIn(sbp=128, dbp=80, hr=74, spo2=98, rr=14)
    )
    _rate(personas, sid, "aldrete", ALDRETE_10, "post_session")
    v = record.get_session(db=db, actor=nurse, session_id=sid)
    workflow.update_checks(
        db=db, actor=nurse, session_id=sid,
        data=SessionChecks(version=v.version, escort_present=True, discharge_instructions_given=True),
    )  # fmt: skip
    for party, name in (("patient", "Ada Patient"), ("escort", "Sam Escort")):
        plans.acknowledge(db=db, actor=nurse, session_id=sid,
                          data=plans.AcknowledgementIn(party=party, name=name, instructions_version=0))
    fake_clock.advance(2)
    r = _ev(personas, sid, "discharge")
    assert r.allowed, r.failed_guards
    return sid


def _signed(personas, sid) -> dict:
    record.sign_session(db=personas.db, actor=personas["nurse"], session_id=sid, data=SignRequest(password=PASSWORD))
    with personas.db.session() as s:
        sig = s.query(SessionSignature).filter_by(session_id=sid).one()
        return json.loads(sig.canonical)


def test_each_format_lists_its_parts_and_session_columns_and_the_newest_lists_every_column():
    parts, columns = RECORD_FORMATS[RECORD_FORMAT]
    assert set(columns) == set(SessionFields.model_fields)  # a new column needs a decision: a new format
    v1_parts, v1_columns = RECORD_FORMATS[RECORD_V1]
    assert "discharge_instructions_given" not in v1_columns and set(v1_columns) < set(columns)
    assert set(parts) - set(v1_parts) == {"order", "assessments", "discharge", "escort", "instructions",
                                          "acknowledgements"}  # fmt: skip


def test_the_signed_record_holds_the_order_checklist_escort_and_instructions_with_who_and_when(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
):
    sid = complete_session(personas, fake_clock, with_scores)
    discharged_at = fake_clock.t
    signed = _signed(personas, sid)
    assert signed["format"] == "ketacare.session_record/3"
    order = signed["order"]
    assert (order["signed_by_name"], order["double_checked_by_name"]) == ("prescriber", "nurse")
    assert order["dose_mg"] == 35 and order["signed_at"] and order["double_checked_at"]
    scores = {a["id"]: (a["status"], a["total"]) for a in signed["assessments"]}
    assert (
        scores["cadss6"] == ("done", 1)
        and scores["moaas"] == ("done", 5)
        and scores["aldrete"] == ("done", 10)
    )
    d = signed["discharge"]
    assert (d["event"], d["by"], d["role"]) == ("discharge", "nurse", "nurse")
    assert d["at"] == discharged_at.isoformat()
    items = {i["id"]: i for i in d["items"]}
    assert items["escort_present"]["result"] == "met" and items["escort_present"]["by"] == "nurse"
    assert items["sedation_resolved"]["detail"].startswith("MOAA/S 5 (questionnaire response #")
    assert items["aldrete_at_threshold"]["detail"].startswith("Modified Aldrete 10 (questionnaire response #")
    assert items["aldrete_at_threshold"]["by"] == "nurse"  # who entered the questionnaire
    assert items["observation_time_met"]["detail"] == "1 h 07 min observed"
    assert items["rems_observation_2h"]["result"] == "not_applicable"
    assert items["instructions_given"]["result"] == "yes" and items["instructions_given"]["by"] == "nurse"
    assert signed["escort"]["present"] is True and signed["escort"]["present_by"] == "nurse"
    assert signed["escort"]["confirmed"] is True and signed["escort"]["name"] == "Carl Anders"
    ins = signed["instructions"]
    assert ins["given"] is True and ins["by"] == "nurse" and any("drive" in x for x in ins["items"])
    acks = signed["acknowledgements"]
    assert acks["instructions_version"] == 0
    assert [(a["party"], a["name"], a["recorded_by"]) for a in acks["items"]] == [
        ("patient", "Ada Patient", "nurse"), ("escort", "Sam Escort", "nurse")]
    assert items["instructions_acknowledged"]["result"] == "met"
    assert "escort Sam Escort" in items["instructions_acknowledged"]["detail"]
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification
    assert v.signed and v.intact


def test_a_record_signed_in_format_2_still_verifies_without_the_acknowledgements(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
):
    sid = complete_session(personas, fake_clock, with_scores)
    with personas.db.session() as s:  # signed before format 3 existed, as that code stored it
        old = record.session_record(s, s.get(InfusionSession, sid), RECORD_V2).signed_data()
        canon = canonical_json(old)
        s.add(
            SessionSignature(
                session_id=sid, role="nurse", user_id=personas["nurse"].user_id, username="nurse",
                digest_sha256=hashlib.sha256(canon).hexdigest(), canonical=canon.decode(),
                signed_at=fake_clock.t,
            )
        )  # fmt: skip
    assert "acknowledgements" not in old and old["format"] == RECORD_V2
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification
    assert v.intact, v.problems


def test_a_record_signed_in_format_1_still_verifies_and_later_signatures_keep_its_format(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
):
    sid = complete_session(personas, fake_clock, with_scores)
    with personas.db.session() as s:  # a record signed before format 2 existed, as that code stored it
        sess = s.get(InfusionSession, sid)
        old = record.session_record(s, sess, RECORD_V1).signed_data()
        canon = canonical_json(old)
        s.add(
            SessionSignature(
                session_id=sid, role="nurse", user_id=personas["nurse"].user_id, username="nurse",
                digest_sha256=hashlib.sha256(canon).hexdigest(), canonical=canon.decode(),
                signed_at=fake_clock.t,
            )
        )  # fmt: skip
    assert set(old) == {"format", "session", "patient", "transitions", "infusion_events", "vitals", "alerts",
                        "side_effects", "rescue", "dose"}  # fmt: skip
    assert "discharge_instructions_given" not in old["session"]
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification
    assert v.intact, v.problems
    second = record.sign_session(
        db=personas.db, actor=personas["prescriber"], session_id=sid, data=SignRequest(password=PASSWORD)
    )
    assert second.sha256 == hashlib.sha256(canon).hexdigest()
    with personas.db.session() as s:  # someone edits a stored reading behind the application's back
        s.execute(update(VitalSign).where(VitalSign.session_id == sid).values(hr_per_min=50))
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification
    assert not v.intact and "no longer matches the nurse signature" in v.problems[0]


def test_the_record_says_who_answered_each_question_and_a_changed_answer_keeps_the_latest(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
):
    sid = complete_session(personas, fake_clock, with_scores)
    with personas.db.session() as s:
        rec = record.session_record(s, s.get(InfusionSession, sid))
    assert rec.escort is not None and rec.escort.confirmed_by == "nurse"
    assert rec.escort.confirmed_at is not None and rec.escort.present_at is not None
    assert rec.escort.confirmed_at < rec.escort.present_at


def test_an_aborted_session_records_who_ended_it_and_no_discharge_checklist(
    personas,
    fake_clock,  # noqa: F811
    capabilities,  # noqa: F811
):
    sid = workflow.create_session(
        db=personas.db, actor=personas["nurse"],
        data=SessionCreate(patient_id=personas.patient_a, chair="Chair 2", planned_dose_mg=35),
    ).id  # fmt: skip
    _start(personas, sid, fake_clock)
    fake_clock.advance(5)
    assert _ev(personas, sid, "abort", reason="patient asked to stop").state == "aborted"
    with personas.db.session() as s:
        rec = record.session_record(s, s.get(InfusionSession, sid))
    assert rec.discharge is not None and rec.discharge.event == "abort" and rec.discharge.items == []
    assert rec.instructions is not None and rec.instructions.given is None


def test_an_addendum_keeps_the_record_verified_and_is_chained(personas, fake_clock, with_scores):  # noqa: F811
    sid = complete_session(personas, fake_clock, with_scores)
    _signed(personas, sid)
    add = record.add_addendum(
        db=personas.db, actor=personas["prescriber"], session_id=sid,
        data=AddendumCreate(text="Phoned next day: well, nausea gone."),
    )  # fmt: skip
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid)
    assert v.verification.intact and v.addenda[0].sha256 == add.sha256
    with pytest.raises(Exception, match="signed"):
        workflow.update_checks(
            db=personas.db, actor=personas["nurse"], session_id=sid,
            data=SessionChecks(version=v.version, discharge_instructions_given=False),
        )  # fmt: skip


def test_a_signature_naming_an_unknown_format_reads_as_altered_and_the_page_still_opens(
    personas,
    fake_clock,  # noqa: F811
    with_scores,  # noqa: F811
):
    sid = complete_session(personas, fake_clock, with_scores)
    _signed(personas, sid)
    with personas.db.session() as s:
        s.execute(
            update(SessionSignature)
            .where(SessionSignature.session_id == sid)
            .values(canonical='{"format":"ketacare.session_record/99"}')
        )
    v = record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification
    assert not v.intact
    assert any("names no known record format" in p for p in v.problems)


def test_a_score_cannot_be_linked_to_a_signed_session_and_the_record_stays_verified(
    personas, fake_clock, with_scores  # noqa: F811
):
    from ketacare.domain.errors import InvalidValue
    from ketacare.services import measurement
    from ketacare.services.measurement.schemas import ResponseCreate

    sid = complete_session(personas, fake_clock, with_scores)
    _signed(personas, sid)
    next_day = ResponseCreate(
        instrument_id="gad7", answers=[1, 1, 1, 0, 0, 0, 1], context="post_session", session_id=sid
    )
    with pytest.raises(InvalidValue, match="already signed") as refused:
        measurement.submit_response(db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
                                    data=next_day)  # fmt: skip
    assert refused.value.field == "session_id"
    kept = measurement.submit_response(
        db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a,
        data=next_day.model_copy(update={"session_id": None}),
    )  # fmt: skip
    assert kept.session_id is None
    assert record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification.intact


def test_a_reading_or_score_in_a_signed_record_is_not_set_aside_and_the_record_stays_verified(
    personas, fake_clock, with_scores  # noqa: F811
):
    from ketacare.domain.errors import InvalidValue
    from ketacare.services.measurement import responses as measurement
    from ketacare.services.patients.schemas import InErrorReason
    from ketacare.services.sessions import vital_corrections
    from ketacare.store.tables.measurement import QuestionnaireResponse

    sid = complete_session(personas, fake_clock, with_scores)
    _signed(personas, sid)
    with personas.db.session() as s:
        vital_id = s.query(VitalSign.id).filter(VitalSign.session_id == sid).first()[0]
        response_id = s.query(QuestionnaireResponse.id).filter(QuestionnaireResponse.session_id == sid).first()[0]
    reason = InErrorReason(reason="cuff was on the wrong patient")
    with pytest.raises(InvalidValue, match="addendum") as refused:
        vital_corrections.mark_vital_entered_in_error(
            db=personas.db, actor=personas["nurse"], session_id=sid, vital_id=vital_id, data=reason
        )
    assert refused.value.field == "vital_id"
    with pytest.raises(InvalidValue, match="addendum") as refused:
        measurement.mark_response_entered_in_error(
            db=personas.db, actor=personas["nurse"], patient_id=personas.patient_a, response_id=response_id,
            data=reason,
        )  # fmt: skip
    assert refused.value.field == "response_id"
    with personas.db.session() as s:
        assert not s.get(VitalSign, vital_id).entered_in_error
        assert not s.get(QuestionnaireResponse, response_id).entered_in_error
    assert record.get_session(db=personas.db, actor=personas["nurse"], session_id=sid).verification.intact
