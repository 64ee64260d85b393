"""Sessions from the dose order, on SQLite and PostgreSQL: booking from a signed, double-checked order of the same
patient carries its dose into the session; another patient's order, an unsigned or an unchecked one is refused
with a clear message and nothing stored; start, pause, resume and stop record the workflow and the pump at once;
confirmations stay unanswered until a person answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from ketacare.domain.errors import InvalidValue
from ketacare.services import patients
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import DoseOrderCreate, DoseOrderSign, DoubleCheckCreate
from ketacare.services.errors import Forbidden
from ketacare.services.patients import MeasurementCreate
from ketacare.services.sessions import from_order, pump, record, workflow
from ketacare.services.sessions.schemas import (
    InfusionStep,
    ScheduleFromOrder,
    SessionChecks,
    SessionCreate,
    TransitionRequest,
)
from ketacare.store.tables.sessions import InfusionEventRow, InfusionSession, SessionTransition
from tests.conftest import PASSWORD
from tests.services.test_sessions import T0, _ready, capabilities, fake_clock  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _now(fake_clock):  # noqa: F811
    """The session clock starts now (the personas' weights were measured now; an order must follow them)."""
    fake_clock.t = datetime.now(UTC) + timedelta(minutes=1)


def _order(personas, patient_id, *, sign=True, check=True):
    o = dose_orders.create_order(
        db=personas.db,
        actor=personas["prescriber"],
        patient_id=patient_id,
        data=DoseOrderCreate(protocol_id="iv-standard"),
    )
    if sign:
        o = dose_orders.sign_order(
            db=personas.db, actor=personas["prescriber"], patient_id=patient_id, order_id=o.id,
            data=DoseOrderSign(version=o.version, password=PASSWORD),
        )
    if sign and check:
        full = dose_orders.get_order(db=personas.db, actor=personas["system"], patient_id=patient_id, order_id=o.id)
        dose_orders.double_check_order(
            db=personas.db, actor=personas["nurse"], patient_id=patient_id, order_id=o.id,
            data=DoubleCheckCreate(version=o.version, check_weight_kg=full.weight_kg, check_dose_mg=full.dose_mg,
                                   check_rate_ml_per_h=full.rate_ml_per_h, password=PASSWORD),
        )
    return dose_orders.get_order(db=personas.db, actor=personas["system"], patient_id=patient_id, order_id=o.id)


def _book(personas, order_id, patient_id=None, who="frontdesk"):
    return from_order.schedule_from_order(
        db=personas.db,
        actor=personas[who],
        data=ScheduleFromOrder(
            patient_id=patient_id or personas.patient_a,
            dose_order_id=order_id,
            chair="Chair 4",
            scheduled_at=T0 + timedelta(hours=1),
        ),
    )


def _sessions(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(InfusionSession))


def test_front_desk_books_from_a_checked_order_and_the_session_carries_its_dose(db, personas, fake_clock):  # noqa: F811
    order = _order(personas, personas.patient_a)
    assert order.status == "double_checked"
    options = from_order.booking_options(db=db, actor=personas["frontdesk"], patient_id=personas.patient_a)
    assert [o.id for o in options.orders] == [order.id]
    booked = _book(personas, order.id)
    assert booked.state == "scheduled" and booked.chair == "Chair 4"
    page = record.get_session(db=db, actor=personas["nurse"], session_id=booked.id)
    assert page.dose_order_id == order.id
    assert page.planned_dose_mg == order.dose_mg
    assert page.planned_duration_min == order.duration_min
    assert page.concentration_mg_per_ml == order.final_concentration_mg_per_ml
    assert page.order is not None and page.order.final_volume_ml == order.final_volume_ml
    assert page.order.rate_ml_per_h == order.rate_ml_per_h
    assert page.order.signed_by_name and page.order.double_checked_by_name
    with pytest.raises(Forbidden):
        _book(personas, order.id, who="therapist")


def test_a_session_cannot_use_another_patients_order(db, personas, fake_clock):  # noqa: F811
    patients.add_measurement(db=db, actor=personas["system"], patient_id=personas.patient_b,
                             data=MeasurementCreate(height="185 cm",
                                                    measured_at=fake_clock.t - timedelta(minutes=5)))
    theirs = _order(personas, personas.patient_b)
    before = _sessions(db)
    with pytest.raises(InvalidValue) as e:
        _book(personas, theirs.id)
    assert e.value.field == "dose_order_id" and "not an order of this patient" in e.value.message
    with pytest.raises(InvalidValue) as e:
        workflow.create_session(
            db=db,
            actor=personas["nurse"],
            data=SessionCreate(patient_id=personas.patient_a, chair="Chair 1", dose_order_id=theirs.id),
        )
    assert e.value.field == "dose_order_id"
    assert _sessions(db) == before


@pytest.mark.parametrize(("sign", "check", "words"), [(False, False, "not signed yet"),
                                                      (True, False, "not yet independently double-checked")])
def test_an_unsigned_or_unchecked_order_cannot_be_used(db, personas, fake_clock, sign, check, words):  # noqa: F811
    order = _order(personas, personas.patient_a, sign=sign, check=check)
    before = _sessions(db)
    with pytest.raises(InvalidValue) as e:
        _book(personas, order.id)
    assert e.value.field == "dose_order_id" and words in e.value.message
    assert _sessions(db) == before
    assert from_order.booking_options(db=db, actor=personas["nurse"], patient_id=personas.patient_a).orders == []


def test_confirmations_stay_unanswered_until_a_person_answers(db, personas, fake_clock):  # noqa: F811
    order = _order(personas, personas.patient_a)
    sid = _book(personas, order.id).id
    page = record.get_session(db=db, actor=personas["nurse"], session_id=sid)
    for k in ("consent_confirmed", "escort_confirmed", "escort_present", "dissociation_resolved",
              "sedation_resolved", "pregnancy_test_negative"):
        assert getattr(page, k) is None, k
    workflow.update_checks(
        db=db, actor=personas["nurse"], session_id=sid,
        data=SessionChecks(version=page.version, escort_confirmed=False),
    )
    page = record.get_session(db=db, actor=personas["nurse"], session_id=sid)
    assert page.consent_confirmed is None and page.escort_confirmed is False  # consent: the signed document now
    assert page.dissociation_resolved is None and page.sedation_resolved is None and page.escort_present is None


def test_start_pause_resume_stop_record_the_workflow_and_the_pump_once(db, personas, fake_clock, capabilities):  # noqa: F811
    order = _order(personas, personas.patient_a)
    sid = _book(personas, order.id, who="nurse").id
    _ready(personas, sid, fake_clock)
    assert workflow.apply_event(db=db, actor=personas["nurse"], session_id=sid,
                                data=TransitionRequest(event="pass_prechecks")).allowed

    def step(kind):
        return from_order.infusion_step(db=db, actor=personas["nurse"], session_id=sid, data=InfusionStep(kind=kind))

    assert step("start").allowed
    fake_clock.advance(10)
    assert step("pause").state == "paused"
    fake_clock.advance(2)
    assert step("resume").state == "infusing"
    fake_clock.advance(5)
    assert step("stop").state == "recovery"
    with db.session() as s:
        events = s.execute(select(InfusionEventRow.kind, InfusionEventRow.rate_ml_per_h)
                           .where(InfusionEventRow.session_id == sid).order_by(InfusionEventRow.at)).all()
        moves = s.scalars(select(SessionTransition.event).where(SessionTransition.session_id == sid,
                                                                SessionTransition.allowed)).all()
    assert events == [("start", order.rate_ml_per_h), ("pause", None), ("resume", None), ("stop", None)]
    assert moves[-4:] == ["start_infusion", "pause", "resume", "end_infusion"]
    page = record.get_session(db=db, actor=personas["nurse"], session_id=sid)
    expected = order.rate_ml_per_h * order.final_concentration_mg_per_ml / 60.0 * 15
    assert page.dose.delivered_mg == pytest.approx(expected, rel=1e-3)
    assert page.dose.planned_mg == order.dose_mg


def test_a_refused_step_records_no_pump_event(db, personas, fake_clock, capabilities):  # noqa: F811
    order = _order(personas, personas.patient_a)
    sid = _book(personas, order.id, who="nurse").id
    workflow.apply_event(db=db, actor=personas["nurse"], session_id=sid, data=TransitionRequest(event="check_in"))
    with pytest.raises(InvalidValue) as e:  # not past the pre-checks: no such transition from checked in
        from_order.infusion_step(db=db, actor=personas["nurse"], session_id=sid, data=InfusionStep(kind="start"))
    assert e.value.field == "event"
    with db.session() as s:
        assert pump.pump_rows(s, sid) == []


def test_a_start_without_any_concentration_asks_for_it(db, personas, fake_clock, capabilities):  # noqa: F811
    sid = workflow.create_session(
        db=db, actor=personas["nurse"],
        data=SessionCreate(patient_id=personas.patient_a, chair="Chair 2", planned_dose_mg=35),
    ).id
    _ready(personas, sid, fake_clock)
    workflow.apply_event(db=db, actor=personas["nurse"], session_id=sid, data=TransitionRequest(event="pass_prechecks"))
    with pytest.raises(InvalidValue) as e:
        from_order.infusion_step(db=db, actor=personas["nurse"], session_id=sid,
                                 data=InfusionStep(kind="start", rate_ml_per_h=100))
    assert e.value.field == "concentration_mg_per_ml"
    with db.session() as s:
        assert s.get(InfusionSession, sid).state == "prechecks_passed"
