"""Sessions from the dose order: book a session from a signed, double-checked order of the same patient (its dose,
duration and concentration carried into the session), and the actions that are one workflow event and one pump
event at once (start from the order, pause, resume, stop)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidValue
from ketacare.services import clock, dosing
from ketacare.services.access import Actor
from ketacare.services.errors import NotFound
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.common import board_changes, open_session, patient_label, refuse_if_signed
from ketacare.services.sessions.pump import bag_concentration, pump_rows, record_pump_event
from ketacare.services.sessions.schemas import (
    BookingOptions,
    InfusionEventCreate,
    InfusionStep,
    OrderChoice,
    Product,
    ScheduleFromOrder,
    SessionSummary,
    TransitionRead,
    TransitionRequest,
)
from ketacare.services.sessions.workflow import apply_in, order_problem, session_summary
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import Patient
from ketacare.store.tables.sessions import InfusionSession

# The workflow event each combined action is (the pump event has the action's own name).
STEP_EVENTS = {"start": "start_infusion", "pause": "pause", "resume": "resume", "stop": "end_infusion"}


def usable_linked_order(s: Session, patient_id: int, order_id: int, field: str) -> dosing.DoseOrderRead:
    """Return order `order_id` of this patient when signed and double-checked, else refuse naming `field`."""
    order = dosing.order_of_patient(s, patient_id, order_id)
    problem = order_problem(order, order_id)
    if problem is not None or order is None:
        raise InvalidValue(field, problem or f"dose order #{order_id} cannot be used")
    return order


def product_of(order: dosing.DoseOrderRead) -> Product:
    return "esketamine" if "esketamine" in order.drug.lower() else "racemic_ketamine"


def booking_options(*, db: Database, actor: Actor, patient_id: int) -> BookingOptions:
    """Return the patient and their signed, double-checked dose orders a session can be booked from."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("schedule", "infusion_session", patient_id=patient_id)
        p = uow.session.get(Patient, patient_id)
        if p is None:
            raise NotFound("patient")
        orders = dosing.usable_orders(uow.session, patient_id)
        uow.audit("list", "dose_order", patient_id=patient_id, details={"usable": len(orders)})
        return BookingOptions(
            patient=patient_label(p),
            orders=[OrderChoice.model_validate(o, from_attributes=True) for o in orders],
        )


def schedule_from_order(*, db: Database, actor: Actor, data: ScheduleFromOrder) -> SessionSummary:
    """Book a session for a chair and time from a usable dose order of the same patient, carrying its dose,
    duration, concentration and weight into the session."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("schedule", "infusion_session", patient_id=data.patient_id)
        s = uow.session
        if s.get(Patient, data.patient_id) is None:
            raise NotFound("patient")
        order = usable_linked_order(s, data.patient_id, data.dose_order_id, "dose_order_id")
        now = clock.now()
        sess = InfusionSession(
            patient_id=data.patient_id,
            chair=data.chair,
            product=product_of(order),
            state="scheduled",
            scheduled_at=data.scheduled_at,
            dose_order_id=order.id,
            planned_dose_mg=order.dose_mg,
            planned_duration_min=order.duration_min,
            concentration_mg_per_ml=order.final_concentration_mg_per_ml,
            weight_kg=order.weight_kg,
            overrides=[],
            created_by=actor.user_id,
            created_at=now,
            updated_at=now,
        )
        s.add(sess)
        s.flush()
        uow.audit(
            "create",
            "infusion_session",
            sess.id,
            patient_id=sess.patient_id,
            details={"chair": sess.chair, "dose_order_id": order.id},
        )
        local = board_changes(uow, sess.id, "state")
    board_bus.publish_after_commit(db, local)
    return session_summary(sess)


def infusion_step(*, db: Database, actor: Actor, session_id: int, data: InfusionStep) -> TransitionRead:
    """Start (from the order), pause, resume or stop the infusion: the workflow event and the pump event in one
    transaction. A refused workflow event is stored and audited as such and no pump event is recorded; a pump
    event that cannot be recorded refuses the whole action (nothing stored)."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        refuse_if_signed(s, sess)
        rows = pump_rows(s, sess.id)
        rate = data.rate_ml_per_h
        if data.kind == "start" and sess.dose_order_id is not None:
            order = usable_linked_order(s, sess.patient_id, sess.dose_order_id, "kind")
            rate = rate if rate is not None else order.rate_ml_per_h
        if data.kind == "start" and rate is None:
            raise InvalidValue("rate_ml_per_h", "enter the pump rate in mL/h")
        conc = None
        if data.kind in ("start", "resume") and bag_concentration(sess, rows) is None:
            if data.concentration_mg_per_ml is None:
                raise InvalidValue(
                    "concentration_mg_per_ml",
                    "the order gives no bag concentration: enter it from the bag label (mg/mL)",
                )
            conc = data.concentration_mg_per_ml
        result = apply_in(uow, sess, TransitionRequest(event=STEP_EVENTS[data.kind], override=data.override))
        if result.allowed and (data.kind == "start" or rows):  # no pump events yet: the workflow alone
            record_pump_event(
                uow,
                sess,
                InfusionEventCreate(
                    kind=data.kind,
                    rate_ml_per_h=rate if data.kind in ("start", "resume") else None,
                    concentration_mg_per_ml=conc,
                ),
            )
        local = board_changes(uow, sess.id, "state", "infusion")
    board_bus.publish_after_commit(db, local)
    return result
