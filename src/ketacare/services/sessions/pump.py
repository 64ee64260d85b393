"""Pump events and the dose actually delivered (mg, mg/kg, time left), with the PK curve of what was given."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta
from typing import Literal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain import pk
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions import (
    DeliveredDose,
    InfusionEvent,
    delivered_dose,
)
from ketacare.services import clock
from ketacare.services.access import Actor
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.common import board_changes, dosing_weight, open_session, refuse_if_signed
from ketacare.services.sessions.schemas import (
    DoseSummary,
    InfusionEventCreate,
    InfusionEventResult,
    PkCurve,
)
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables.sessions import (
    InfusionEventRow,
    InfusionSession,
)


def domain_events(rows: list[InfusionEventRow]) -> list[InfusionEvent]:
    return [
        InfusionEvent(
            kind=r.kind,  # type: ignore[arg-type]
            t=r.at,
            rate_ml_per_h=r.rate_ml_per_h,
            rate_mg_per_min=r.rate_mg_per_min,
            bolus_mg=r.bolus_mg,
            bolus_ml=r.bolus_ml,
        )
        for r in rows
    ]


def pump_rows(s: Session, session_id: int) -> list[InfusionEventRow]:
    return list(
        s.scalars(
            select(InfusionEventRow)
            .where(InfusionEventRow.session_id == session_id)
            .order_by(InfusionEventRow.at, InfusionEventRow.id)
        )
    )


def bag_concentration(sess: InfusionSession, rows: list[InfusionEventRow]) -> float | None:
    for r in reversed(rows):
        if r.concentration_mg_per_ml:
            return r.concentration_mg_per_ml
    return sess.concentration_mg_per_ml


class _NotLoaded(enum.Enum):
    """Marks an argument the caller did not load (None is a meaningful weight: unknown)."""

    NOT_LOADED = enum.auto()


NOT_LOADED = _NotLoaded.NOT_LOADED


def dose_summary(
    s: Session,
    sess: InfusionSession,
    now: datetime,
    *,
    with_pk: bool = False,
    rows: list[InfusionEventRow] | None = None,
    weight: float | None | Literal[_NotLoaded.NOT_LOADED] = NOT_LOADED,
) -> DoseSummary:
    """Return delivered vs ordered dose (mg, mg/kg), time left, and optionally the PK curve of what was given.

    `rows` (the session's pump events in order) and `weight` (its dosing weight, None when unknown) may be passed
    when already loaded (the board loads them for every chair at once)."""
    rows = pump_rows(s, sess.id) if rows is None else rows
    planned = sess.planned_dose_mg
    if not rows:
        return DoseSummary(planned_mg=planned)
    weight = dosing_weight(s, sess) if weight is NOT_LOADED else weight
    t0 = rows[0].at
    d = delivered_dose(
        domain_events(rows),
        concentration_mg_per_ml=bag_concentration(sess, rows),
        weight_kg=weight,
        ordered_dose_mg=planned,
        until=max(now, rows[-1].at),
        t0=t0,
    )
    out = DoseSummary(
        planned_mg=planned,
        delivered_mg=round(d.delivered_mg, 2),
        delivered_mg_per_kg=None if d.delivered_mg_per_kg is None else round(d.delivered_mg_per_kg, 3),
        difference_mg=None if d.difference_mg is None else round(d.difference_mg, 2),
        difference_pct=None if d.difference_pct is None else round(d.difference_pct, 1),
        running=d.running,
        infusing_min=round(d.infusing_min, 1),
    )
    if d.running and planned and d.segments:
        rate = d.segments[-1].mg_per_min
        left = max(planned - d.delivered_mg, 0.0)
        out.time_left_min = round(left / rate, 1) if rate > 0 else None
    if with_pk and weight and (d.segments or d.boluses):
        out.pk = _pk_curve(d, weight)
    return out


def _pk_curve(d: DeliveredDose, weight_kg: float) -> PkCurve:
    reg = pk.Regimen()
    for seg in d.segments:
        if seg.t_end_min > seg.t_start_min:
            reg = reg.infusion(max(seg.t_start_min, 0.0), seg.t_end_min, seg.mg_per_min)
    for b in d.boluses:
        reg = reg.bolus(max(b.t_min, 0.0), b.dose_mg)
    model = pk.default_model_id()
    try:
        params = pk.individualize(model, weight_kg)
    except InvalidValue as e:
        return PkCurve(model=model, error=e.message)
    end = max(d.until_min, 1.0) + 60.0
    times = np.linspace(0.0, end, 61)
    prof = pk.simulate(params, reg, times)
    return PkCurve(
        model=model,
        times_min=[round(float(t), 1) for t in times],
        plasma_ng_per_ml=[round(float(c), 1) for c in prof.plasma_ng_per_ml],
        until_min=round(d.until_min, 1),
    )


def add_infusion_event(
    *, db: Database, actor: Actor, session_id: int, data: InfusionEventCreate
) -> InfusionEventResult:
    """Record a pump event after checking the whole event sequence still makes sense."""
    with UnitOfWork(db, actor) as uow:
        sess = open_session(uow, session_id)
        s = uow.session
        refuse_if_signed(s, sess)
        if sess.state not in ("prechecks_passed", "infusing", "paused", "recovery"):
            raise InvalidValue(
                "kind", f"pump events are recorded once pre-checks have passed (session is {sess.state})"
            )
        if data.kind == "start" and sess.state == "prechecks_passed":
            raise InvalidValue(
                "kind", "start the infusion on the session first (its checks run then), then the pump"
            )
        row = record_pump_event(uow, sess, data)
        summary = dose_summary(s, sess, clock.now())
        local = board_changes(uow, sess.id, "infusion")
    board_bus.publish_after_commit(db, local)
    return InfusionEventResult(id=row.id, dose=summary)


def record_pump_event(uow: UnitOfWork, sess: InfusionSession, data: InfusionEventCreate) -> InfusionEventRow:
    """Store a pump event of a loaded, authorized session inside the caller's unit of work, after checking the
    whole event sequence (InvalidValue for an impossible one: nothing is stored)."""
    s = uow.session
    now = clock.now()
    at = data.at or now
    if at > now + timedelta(minutes=1):
        raise InvalidValue("at", "the pump event is dated in the future")
    row = InfusionEventRow(
        session_id=sess.id,
        kind=data.kind,
        at=at,
        rate_ml_per_h=data.rate_ml_per_h,
        rate_mg_per_min=data.rate_mg_per_min,
        concentration_mg_per_ml=data.concentration_mg_per_ml,
        bolus_mg=data.bolus_mg,
        bolus_ml=data.bolus_ml,
        recorded_by=uow.actor.user_id,
        created_at=now,
    )
    rows = pump_rows(s, sess.id) + [row]
    rows.sort(key=lambda r: r.at)
    delivered_dose(
        domain_events(rows),
        concentration_mg_per_ml=bag_concentration(sess, rows),
        until=max(now, rows[-1].at),
        t0=rows[0].at,
    )  # raises InvalidValue for an impossible sequence
    s.add(row)
    s.flush()
    uow.audit(
        "administer" if data.kind in ("start", "bolus") else "update",
        "infusion_event",
        row.id,
        patient_id=sess.patient_id,
        details={"kind": data.kind, "session_id": sess.id},
    )
    return row
