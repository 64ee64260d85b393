"""Dose-order use cases: compute from the patient's record, sign, independent double check, cancel.

The arithmetic and every limit live in `ketacare.domain.dosing`; this module only gathers the facts from the
record (latest weight and its date, the weight before it, height, sex, age), stores inputs and results, and
enforces the workflow: draft -> signed (prescriber) -> double_checked (a second clinician who is neither the
signer nor the author and who does not see the first entry's numbers). A mismatch keeps the order signed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ketacare.domain.dosing import WeightBasisPolicy
from ketacare.domain.dosing.body_weight import check_sex
from ketacare.domain.dosing.order import (
    DoseNotPreparable,
    DoseOrder,
    DoseRequest,
    LimitMessage,
    OrderRefused,
    Preparation,
    compute_order,
    double_check,
    weight_basis_options,
)
from ketacare.domain.dosing.protocol import Protocol, load_protocol
from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import (
    PredictedCurve,
    concentration_ranges,
    default_model_id,
    model_ids,
    predict_infusion,
)
from ketacare.services import clinic, clock
from ketacare.services.access import Actor, may, people, signing
from ketacare.services.dosing.schemas import (
    BLINDED_REASON,
    BasisOptionsRead,
    ConcentrationRangeRead,
    DoseOrderCancel,
    DoseOrderCreate,
    DoseOrderPreview,
    DoseOrderRead,
    DoseOrderSign,
    DoubleCheckCreate,
    DoubleCheckOutcome,
    DoubleCheckTask,
    LimitMessageRead,
    OrderCurveRead,
    OrderDetail,
    RecordFacts,
)
from ketacare.services.errors import Conflict, NotFound
from ketacare.services.uow import UnitOfWork
from ketacare.store.db import Database
from ketacare.store.tables import BodyMeasurement, Patient
from ketacare.store.tables.dosing import DoseOrderRecord

ACTIVE = ("signed", "double_checked")


def _patient(s: Session, patient_id: int) -> Patient:
    p = s.get(Patient, patient_id)
    if p is None:
        raise NotFound("patient")
    return p


def _age(dob: date, on: date) -> int:
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


def _facts(s: Session, patient: Patient, protocol: Protocol, start: datetime) -> RecordFacts:
    ms = s.scalars(
        select(BodyMeasurement)
        .where(BodyMeasurement.patient_id == patient.id, BodyMeasurement.entered_in_error.is_(False))
        .order_by(BodyMeasurement.measured_at, BodyMeasurement.id)
    ).all()
    weights = [m for m in ms if m.weight_kg is not None]
    heights = [m for m in ms if m.height_cm is not None]
    latest = weights[-1] if weights else None
    previous = weights[-2] if len(weights) > 1 else None
    sex = patient.sex_at_birth
    if protocol.dosing == "weight":
        if latest is None:
            raise InvalidValue(
                "weight", "no weight on the record: a nurse records a dated weight (with its unit) first"
            )
        if not heights:
            raise InvalidValue(
                "height", "no height on the record: record the height (with its unit) to compute ideal weight"
            )
        try:
            sex = check_sex(sex)
        except InvalidValue:
            raise InvalidValue(
                "sex",
                f"sex at birth is recorded as '{sex}': ideal and adjusted body weight (Devine 1974) need "
                "female or male; correct the record or choose a fixed-dose protocol",
            ) from None
    prior = s.scalars(
        select(DoseOrderRecord).where(
            DoseOrderRecord.patient_id == patient.id, DoseOrderRecord.status.in_(ACTIVE)
        )
    ).all()
    return RecordFacts(
        weight_kg=latest.weight_kg if latest else None,
        weight_measured_at=latest.measured_at if latest else None,
        previous_weight_kg=previous.weight_kg if previous else None,
        height_cm=heights[-1].height_cm if heights else None,
        sex=sex,
        age_years=_age(patient.date_of_birth, start.date()),
        previous_session_starts=sorted(o.planned_start for o in prior),
        session_number=1 + sum(1 for o in prior if o.protocol_id == protocol.id),
    )


def _request(data: DoseOrderCreate, facts: RecordFacts, start: datetime) -> DoseRequest:
    return DoseRequest(
        protocol_id=data.protocol_id,
        start=start,
        weight_kg=facts.weight_kg,
        height_cm=facts.height_cm,
        sex=facts.sex,
        weight_measured_at=facts.weight_measured_at,
        previous_weight_kg=facts.previous_weight_kg,
        weight_confirmation=data.weight_confirmation,
        weight_basis=data.weight_basis,
        weight_basis_reason=data.weight_basis_reason,
        mg_per_kg=data.mg_per_kg,
        dose_mg=data.dose_mg,
        vial_strength_mg_per_ml=data.vial_strength_mg_per_ml,
        age_years=facts.age_years,
        session_number=facts.session_number,
        previous_session_starts=tuple(facts.previous_session_starts),
        soft_limit_reason=data.soft_limit_reason,
    )


def _start(data: DoseOrderCreate) -> datetime:
    """Return the planned start, default the next whole minute (never before a weight taken just now)."""
    return data.planned_start or clock.now().replace(second=0, microsecond=0) + timedelta(minutes=1)


def _compute(
    s: Session, patient_id: int, data: DoseOrderCreate, policy: WeightBasisPolicy
) -> tuple[RecordFacts, DoseOrder]:
    protocol = load_protocol(data.protocol_id)
    start = _start(data)
    facts = _facts(s, _patient(s, patient_id), protocol, start)
    return facts, compute_order(_request(data, facts, start), policy)


def _needs(messages: Iterable[LimitMessage]) -> list[str]:
    needs = []
    if any(m.reason is None and m.level == "soft" and m.rule.startswith("weight.") for m in messages):
        needs.append("weight_confirmation")
    if any(m.reason is None and m.level == "soft" and not m.rule.startswith("weight.") for m in messages):
        needs.append("soft_limit_reason")
    return needs


def preview_order(*, db: Database, actor: Actor, patient_id: int, data: DoseOrderCreate) -> DoseOrderPreview:
    """Compute an order from the record without storing it; a refusal is returned with its messages."""
    policy = clinic.weight_policy(db)  # the clinic's weight-basis policy (clinic settings)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "dose_order", patient_id=patient_id)
        s = uow.session
        protocol = load_protocol(data.protocol_id)
        start = _start(data)
        facts = _facts(s, _patient(s, patient_id), protocol, start)
        uow.audit(
            "evaluate", "dose_order", None, patient_id=patient_id, details={"protocol": data.protocol_id}
        )
        request = _request(data, facts, start)
        try:
            options = weight_basis_options(request, policy)
        except InvalidValue:
            options = None
        basis_options = (
            BasisOptionsRead.model_validate(options.as_dict())
            if options is not None and options.choice_required
            else None
        )
        try:
            order = compute_order(request, policy)
        except OrderRefused as e:
            msgs = [LimitMessageRead(**asdict(m)) for m in e.messages]
            hard = any(m.level == "hard" for m in e.messages)
            return DoseOrderPreview(
                ok=False,
                refused_hard=hard,
                facts=facts,
                order=None,
                messages=msgs,
                needs=[] if hard else _needs(e.messages),
                error_field=e.field,
                error=e.message,
                basis_options=basis_options,
            )
        except InvalidValue as e:
            needs = [e.field] if e.field in ("weight_basis", "weight_basis_reason") else []
            return DoseOrderPreview(
                ok=False,
                refused_hard=False,
                facts=facts,
                order=None,
                messages=[],
                needs=needs,
                error_field=e.field,
                error=e.message,
                basis_options=basis_options,
                nearest_mg=list(e.nearest_mg) if isinstance(e, DoseNotPreparable) else None,
            )
        return DoseOrderPreview(
            ok=True,
            refused_hard=False,
            facts=facts,
            order=OrderDetail.model_validate(order.as_dict()),
            messages=[LimitMessageRead(**asdict(m)) for m in order.messages],
            needs=[],
            basis_options=basis_options,
        )


def create_order(*, db: Database, actor: Actor, patient_id: int, data: DoseOrderCreate) -> DoseOrderRead:
    """Compute the order from the record and store it as a draft; refused input stores nothing."""
    policy = clinic.weight_policy(db)
    with UnitOfWork(db, actor) as uow:
        uow.authorize("create", "dose_order", patient_id=patient_id)
        s = uow.session
        facts, order = _compute(s, patient_id, data, policy)
        prep = order.preparation
        row = DoseOrderRecord(
            patient_id=patient_id,
            protocol_id=order.protocol_id,
            drug=order.drug,
            route=order.route,
            status="draft",
            weight_kg=order.weight_kg,
            weight_measured_at=order.weight_measured_at,
            previous_weight_kg=facts.previous_weight_kg if order.weight_kg is not None else None,
            height_cm=facts.height_cm if order.weight_kg is not None else None,
            sex=facts.sex,
            age_years=facts.age_years,
            bmi_kg_per_m2=order.bmi_kg_per_m2,
            weight_basis=order.weight_basis,
            policy_weight_basis=order.policy_weight_basis,
            weight_basis_reason=order.weight_basis_reason,
            weight_basis_chosen=order.weight_basis_chosen if order.weight_basis is not None else None,
            weight_confirmation=order.weight_confirmation,
            soft_limit_reason=order.soft_limit_reason,
            dosing_weight_kg=order.dosing_weight_kg,
            mg_per_kg=order.mg_per_kg,
            dose_mg=order.dose_mg,
            computed_dose_mg=order.computed_dose_mg,
            mg_per_kg_actual_weight=order.mg_per_kg_actual,
            delivered_mg_per_kg=order.delivered_mg_per_kg,
            vial_strength_mg_per_ml=prep.vial_strength_mg_per_ml,
            draw_volume_ml=prep.draw_volume_ml,
            diluent=prep.diluent,
            diluent_volume_ml=prep.diluent_volume_ml,
            final_volume_ml=prep.final_volume_ml,
            final_concentration_mg_per_ml=prep.final_concentration_mg_per_ml,
            volume_ml=order.volume_ml,
            rate_ml_per_h=order.rate_ml_per_h,
            duration_min=order.duration_min,
            planned_start=order.start,
            planned_end=order.end,
            limit_messages=[asdict(m) for m in order.messages],
            order_json=order.as_dict(),
            created_by=actor.user_id,
            created_by_name=actor.username,
            created_at=clock.now(),
            double_check_entries=[],
        )
        s.add(row)
        s.flush()
        uow.audit(
            "create",
            "dose_order",
            row.id,
            patient_id=patient_id,
            details={
                "protocol": row.protocol_id,
                "dose_mg": row.dose_mg,
                "mg_per_kg": row.mg_per_kg,
                "weight_kg": row.weight_kg,
                "weight_basis": row.weight_basis,
                "weight_basis_chosen": row.weight_basis_chosen,
                "status": "draft",
            },
        )
        overrides: list[dict[str, str | None]] = [
            {"rule": m.rule, "reason": m.reason} for m in order.messages if m.level == "soft" and m.reason
        ]
        if order.weight_basis_overridden:
            overrides.append({"rule": "weight_basis.policy", "reason": order.weight_basis_reason})
        if overrides:
            uow.audit(
                "override",
                "dose_order",
                row.id,
                patient_id=patient_id,
                reason="; ".join(str(o["reason"]) for o in overrides),
                details={"overrides": overrides},
            )
        return DoseOrderRead.model_validate(row)


def _load(s: Session, patient_id: int, order_id: int) -> DoseOrderRecord:
    row = s.get(DoseOrderRecord, order_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("dose order")
    return row


def _check_version(row: DoseOrderRecord, sent: int) -> None:
    if row.version != sent:
        raise Conflict("dose order", current_version=row.version, sent_version=sent)


def _flush(s: Session, db: Database, row: DoseOrderRecord, sent: int) -> None:
    try:
        s.flush()
    except StaleDataError:
        s.rollback()
        with db.sessions() as fresh:
            current = fresh.scalar(select(DoseOrderRecord.version).where(DoseOrderRecord.id == row.id))
        raise Conflict("dose order", current_version=current or -1, sent_version=sent) from None


# What a blinded reader must not see: every number computed from (or revealing) the weight and the dose, and
# the prescriber's free-text reasons (they often quote a weight or a dose). Withheld means None, never zero.
BLINDED_FIELDS = (
    "weight_kg",
    "previous_weight_kg",
    "bmi_kg_per_m2",
    "dosing_weight_kg",
    "mg_per_kg",
    "dose_mg",
    "computed_dose_mg",
    "mg_per_kg_actual_weight",
    "delivered_mg_per_kg",
    "vial_strength_mg_per_ml",
    "draw_volume_ml",
    "diluent_volume_ml",
    "final_volume_ml",
    "final_concentration_mg_per_ml",
    "volume_ml",
    "rate_ml_per_h",
    "weight_basis_reason",
    "weight_confirmation",
    "soft_limit_reason",
    "limit_messages",
    "order_json",
)
BLINDED_ENTRY_FIELDS = ("check_weight_kg", "check_dose_mg", "check_rate_ml_per_h")


def is_blinded(actor: Actor, row: DoseOrderRecord | DoseOrderRead) -> bool:
    """Return True when this reader must not see the order's numbers: the order is a draft or awaits its
    independent double check, and the reader is neither its author nor its signer (nor the local operator).

    Drafts are blinded too: a nurse who saw the draft's numbers could not check the signed order independently.
    """
    if row.status not in ("draft", "signed") or may(actor, "read_blinded", "dose_order"):
        return False
    return not (
        _is_same_person(actor, row.created_by, row.created_by_name)
        or _is_same_person(actor, row.signed_by, row.signed_by_name)
    )


def _read(actor: Actor, row: DoseOrderRecord) -> DoseOrderRead:
    """Return the order as this reader may see it (blinded while it awaits their double check)."""
    full = DoseOrderRead.model_validate(row)
    if not is_blinded(actor, row):
        return full
    entries = [e.model_copy(update=dict.fromkeys(BLINDED_ENTRY_FIELDS)) for e in full.double_check_entries]
    return full.model_copy(
        update={
            **dict.fromkeys(BLINDED_FIELDS),
            "double_check_entries": entries,
            "blinded": True,
            "blinded_reason": BLINDED_REASON,
        }
    )


_PEOPLE = ("created_by_name", "signed_by_name", "double_checked_by_name")


def _named(s: Session, order: DoseOrderRead) -> DoseOrderRead:
    """Show who created, signed and double-checked by full name and credentials ("Dr Alice Ng, MD")."""
    names = people.names_by_username(
        s, [*(getattr(order, k) for k in _PEOPLE), *(e.by_name for e in order.double_check_entries)]
    )
    entries = [e.model_copy(update={"by_name": names.get(e.by_name, e.by_name)}) for e in order.double_check_entries]
    update: dict[str, object] = {k: names[v] for k in _PEOPLE if (v := getattr(order, k)) in names}
    return order.model_copy(update={**update, "double_check_entries": entries})


_PATIENT_ORDERS = (
    select(DoseOrderRecord)
    .where(DoseOrderRecord.patient_id == bindparam("patient_id"))
    .order_by(DoseOrderRecord.created_at.desc(), DoseOrderRecord.id.desc())
)


def rehearse(s: Session) -> None:
    """Run the orders list's reads once with a patient id no row has (a new process compiles them before its first
    list); nothing is read, written or audited."""
    s.get(Patient, -1)
    s.scalars(_PATIENT_ORDERS, {"patient_id": -1}).all()


def list_orders(*, db: Database, actor: Actor, patient_id: int) -> list[DoseOrderRead]:
    """Return the patient's dose orders, newest first (blinded where they await this reader's check)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "dose_order", patient_id=patient_id)
        s = uow.session
        _patient(s, patient_id)
        rows = s.scalars(_PATIENT_ORDERS, {"patient_id": patient_id}).all()
        reads = [_named(s, _read(actor, r)) for r in rows]
        details: dict[str, object] = {"results": len(rows)}
        blinded = [o.id for o in reads if o.blinded]
        if blinded:
            details.update(blinded=True, blinded_order_ids=blinded)
        uow.audit("list", "dose_order", None, patient_id=patient_id, details=details)
        return reads


def get_order(*, db: Database, actor: Actor, patient_id: int, order_id: int) -> DoseOrderRead:
    """Return one dose order with everything it was computed from (blinded while it awaits this reader's
    independent double check)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("read", "dose_order", patient_id=patient_id)
        row = _load(uow.session, patient_id, order_id)
        order = _named(uow.session, _read(actor, row))
        uow.audit(
            "view",
            "dose_order",
            row.id,
            patient_id=patient_id,
            details={"blinded": True} if order.blinded else None,
        )
        return order


def sign_order(
    *, db: Database, actor: Actor, patient_id: int, order_id: int, data: DoseOrderSign
) -> DoseOrderRead:
    """Sign a draft order (prescriber, re-authenticated); the order then waits for the independent double check."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="dose_order_sign",
        credentials=data,
        policy=("sign", "dose_order"),
        resource_id=order_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("sign", "dose_order", patient_id=patient_id)
        s = uow.session
        row = _load(s, patient_id, order_id)
        _check_version(row, data.version)
        if row.status != "draft":
            raise InvalidValue("status", f"only a draft order can be signed; this order is {row.status}")
        row.status = "signed"
        row.signed_by, row.signed_by_name, row.signed_at = actor.user_id, actor.username, clock.now()
        row.signed_meaning = signed.meaning
        _flush(s, db, row, data.version)
        uow.audit(
            "sign",
            "dose_order",
            row.id,
            patient_id=patient_id,
            details={
                "dose_mg": row.dose_mg,
                "protocol": row.protocol_id,
                "version": row.version,
                **signed.audit_details(),
            },
        )
        return DoseOrderRead.model_validate(row)


def _is_same_person(actor: Actor, user_id: int | None, username: str | None) -> bool:
    if actor.user_id is not None and user_id is not None:
        return actor.user_id == user_id
    return username is not None and actor.username == username


def _check_task(actor: Actor, row: DoseOrderRecord) -> None:
    if row.status != "signed":
        what = {
            "draft": "the order is not signed yet",
            "double_checked": "the order is already double-checked",
            "cancelled": "the order is cancelled",
        }[row.status]
        raise InvalidValue("status", f"{what}: only a signed order can be double-checked")
    if _is_same_person(actor, row.signed_by, row.signed_by_name):
        raise InvalidValue("double_check", "the prescriber who signed cannot double-check their own order")
    if _is_same_person(actor, row.created_by, row.created_by_name):
        raise InvalidValue("double_check", "the author of the order cannot double-check it")


def double_check_task(*, db: Database, actor: Actor, patient_id: int, order_id: int) -> DoubleCheckTask:
    """Return what the second clinician may see before checking (no weight, dose or rate of the order)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("double_check", "dose_order", patient_id=patient_id)
        row = _load(uow.session, patient_id, order_id)
        uow.audit("view", "dose_order", row.id, patient_id=patient_id, details={"view": "double_check"})
        try:
            _check_task(actor, row)
            blocked = None
        except InvalidValue as e:
            blocked = e.message
        return DoubleCheckTask(
            order_id=row.id,
            patient_id=row.patient_id,
            protocol_id=row.protocol_id,
            protocol_name=load_protocol(row.protocol_id).name,
            route=row.route,
            status=row.status,
            version=row.version,
            mg_per_kg=row.mg_per_kg,
            weight_basis=row.weight_basis,
            height_cm=row.height_cm,
            sex=row.sex,
            duration_min=row.duration_min,
            planned_start=row.planned_start,
            signed_by_name=people.names_by_username(uow.session, [row.signed_by_name]).get(
                row.signed_by_name or "", row.signed_by_name
            ),
            signed_meaning=row.signed_meaning,
            asks_weight=row.weight_kg is not None,
            asks_rate=row.rate_ml_per_h is not None,
            attempts=len(row.double_check_entries or []),
            blocked_reason=blocked,
        )


def _domain_order(row: DoseOrderRecord) -> DoseOrder:
    """Rebuild the stored order as the domain type (the fields the double check compares are columns)."""
    prep = Preparation(**row.order_json["preparation"])
    return DoseOrder(
        protocol_id=row.protocol_id,
        drug=row.drug,
        route=row.route,
        start=row.planned_start,
        end=row.planned_end,
        duration_min=row.duration_min,
        dose_mg=row.dose_mg,
        mg_per_kg=row.mg_per_kg,
        delivered_mg_per_kg=row.delivered_mg_per_kg,
        weight_kg=row.weight_kg,
        weight_measured_at=row.weight_measured_at,
        dosing_weight_kg=row.dosing_weight_kg,
        weight_basis=row.weight_basis,  # type: ignore[arg-type]
        policy_weight_basis=row.policy_weight_basis,  # type: ignore[arg-type]
        weight_basis_overridden=bool(row.order_json.get("weight_basis_overridden")),
        weight_basis_reason=row.weight_basis_reason,
        weight_basis_chosen=bool(row.weight_basis_chosen),
        mg_per_kg_actual=row.mg_per_kg_actual_weight,
        computed_dose_mg=row.computed_dose_mg,
        bmi_kg_per_m2=row.bmi_kg_per_m2,
        candidates=(),
        preparation=prep,
        rate_ml_per_h=row.rate_ml_per_h,
        volume_ml=row.volume_ml,
        messages=(),
        soft_limit_reason=row.soft_limit_reason,
        weight_confirmation=row.weight_confirmation,
    )


def double_check_order(
    *, db: Database, actor: Actor, patient_id: int, order_id: int, data: DoubleCheckCreate
) -> DoubleCheckOutcome:
    """Record an independent double check (re-authenticated); a match completes the order, a mismatch keeps it
    signed."""
    signed = signing.confirm(
        db=db,
        actor=actor,
        action="dose_order_double_check",
        credentials=data,
        policy=("double_check", "dose_order"),
        resource_id=order_id,
        patient_id=patient_id,
    )
    with UnitOfWork(db, actor) as uow:
        uow.authorize("double_check", "dose_order", patient_id=patient_id)
        s = uow.session
        row = _load(s, patient_id, order_id)
        _check_version(row, data.version)
        _check_task(actor, row)
        if row.weight_kg is not None and data.check_weight_kg is None:
            raise InvalidValue("check_weight_kg", "enter the weight you read yourself, in kg")
        if row.rate_ml_per_h is not None and data.check_rate_ml_per_h is None:
            raise InvalidValue("check_rate_ml_per_h", "enter the pump rate you calculated, in mL/h")
        result = double_check(
            _domain_order(row), data.check_dose_mg, data.check_weight_kg, data.check_rate_ml_per_h
        )
        now = clock.now()
        differing = [d.field for d in result.differences]
        entry = {
            "by": actor.user_id,
            "by_name": actor.username,
            "role": actor.role,
            "at": now.isoformat(),
            "check_weight_kg": data.check_weight_kg,
            "check_dose_mg": data.check_dose_mg,
            "check_rate_ml_per_h": data.check_rate_ml_per_h,
            "match": result.match,
            "differing_fields": differing,
            "meaning": signed.meaning,
        }
        row.double_check_entries = [*(row.double_check_entries or []), entry]
        if result.match:
            row.status = "double_checked"
            row.double_checked_by, row.double_checked_by_name = actor.user_id, actor.username
            row.double_checked_at, row.double_checked_meaning = now, signed.meaning
        _flush(s, db, row, data.version)
        uow.audit(
            "update",
            "dose_order",
            row.id,
            patient_id=patient_id,
            outcome="success" if result.match else "failure",
            reason=None if result.match else f"double check mismatch: {', '.join(differing)}",
            details={
                "step": "double_check",
                "match": result.match,
                "differing_fields": differing,
                **signed.audit_details(),
            },
        )
        if result.match:
            message = "Double check matched: the order is ready for the session."
        else:
            names = {"dose_mg": "dose", "weight_kg": "weight", "rate_ml_per_h": "pump rate"}
            message = (
                "Double check did NOT match ("
                + ", ".join(names.get(f, f) for f in differing)
                + "): the order stays signed and cannot be given. Re-measure and recalculate, or ask the "
                "prescriber to review the order."
            )
        return DoubleCheckOutcome(
            order_id=row.id,
            match=result.match,
            differing_fields=differing,
            status=row.status,
            version=row.version,
            message=message,
        )


def cancel_order(
    *, db: Database, actor: Actor, patient_id: int, order_id: int, data: DoseOrderCancel
) -> DoseOrderRead:
    """Cancel an order with a stated reason (it stays on the record)."""
    with UnitOfWork(db, actor) as uow:
        uow.authorize("cancel", "dose_order", patient_id=patient_id)
        s = uow.session
        row = _load(s, patient_id, order_id)
        _check_version(row, data.version)
        if row.status == "cancelled":
            raise InvalidValue("status", "the order is already cancelled")
        previous = row.status
        row.status = "cancelled"
        row.cancelled_by, row.cancelled_at, row.cancel_reason = actor.user_id, clock.now(), data.reason
        _flush(s, db, row, data.version)
        uow.audit(
            "update",
            "dose_order",
            row.id,
            patient_id=patient_id,
            reason=data.reason,
            details={"step": "cancel", "previous_status": previous},
        )
        return DoseOrderRead.model_validate(row)


def usable_order(session: Session, patient_id: int) -> DoseOrderRead | None:
    """Return the newest order that is signed AND double-checked and not cancelled (no authorization here)."""
    row = session.scalars(
        select(DoseOrderRecord)
        .where(DoseOrderRecord.patient_id == patient_id, DoseOrderRecord.status == "double_checked")
        .order_by(DoseOrderRecord.created_at.desc(), DoseOrderRecord.id.desc())
        .limit(1)
    ).first()
    return None if row is None else DoseOrderRead.model_validate(row)


def has_pk_curve(route: str) -> bool:
    """Return True when the PK core can predict this route (IV infusions only)."""
    return route == "iv"


def order_curve(order: DoseOrderRead, model_id: str | None = None) -> PredictedCurve | None:
    """Return the predicted plasma curve of a stored IV order (actual weight as the PK covariate), else None
    (also for a blinded read: the curve would reveal the dose)."""
    if order.blinded or not has_pk_curve(order.route) or order.weight_kg is None or order.dose_mg is None:
        return None
    return predict_infusion(
        model_id or default_model_id(),
        order.weight_kg,
        order.dose_mg,
        order.duration_min,
        age_y=order.age_years,
    )


def curve_view(
    *, db: Database, actor: Actor, patient_id: int, order_id: int, model_id: str | None = None
) -> OrderCurveRead:
    """Return an order's predicted plasma curve, withheld while the reader's independent double check is due."""
    order = get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)
    if model_id is not None and model_id not in model_ids():
        raise InvalidValue("model", f"unknown PK model '{model_id}': use one of {', '.join(model_ids())}")
    if order.blinded:
        return OrderCurveRead(
            order_id=order_id,
            curve=None,
            blinded=True,
            blinded_reason=order.blinded_reason,
            note="the predicted curve is withheld until the independent double check has passed",
        )
    curve = order_curve(order, model_id)
    if curve is None:
        return OrderCurveRead(order_id=order_id, curve=None, note="the PK core predicts IV infusions only")
    return OrderCurveRead(
        order_id=order_id,
        model_id=curve.model_id,
        model_name=curve.model_name,
        weight_kg=curve.weight_kg,
        dose_mg=curve.dose_mg,
        duration_min=curve.duration_min,
        times_min=curve.times_min.tolist(),
        typical_ng_per_ml=curve.typical_ng_per_ml.round(2).tolist(),
        median_ng_per_ml=curve.median_ng_per_ml.round(2).tolist(),
        p5_ng_per_ml=curve.p5_ng_per_ml.round(2).tolist(),
        p95_ng_per_ml=curve.p95_ng_per_ml.round(2).tolist(),
        cmax_ng_per_ml=round(curve.cmax_ng_per_ml, 1),
        iiv_cv_percent=curve.iiv.cv_percent,
        iiv_published=curve.iiv.published,
        iiv_source=curve.iiv.source,
        ranges=[ConcentrationRangeRead(**r.__dict__) for r in concentration_ranges()],
        notes=list(curve.notes),
    )


def order_of_patient(session: Session, patient_id: int, order_id: int) -> DoseOrderRead | None:
    """Return dose order `order_id` when it belongs to this patient, else None (no authorization here)."""
    row = session.get(DoseOrderRecord, order_id)
    if row is None or row.patient_id != patient_id:
        return None
    return DoseOrderRead.model_validate(row)


def orders_by_id(session: Session, order_ids: Iterable[int]) -> dict[int, DoseOrderRead]:
    """Return the dose orders with these ids, keyed by id, in one statement (no authorization here; the caller
    checks each order's patient)."""
    ids = sorted(set(order_ids))
    if not ids:
        return {}
    rows = session.scalars(select(DoseOrderRecord).where(DoseOrderRecord.id.in_(ids)))
    return {r.id: DoseOrderRead.model_validate(r) for r in rows}


def usable_order_by_patient(session: Session, patient_ids: Iterable[int]) -> dict[int, DoseOrderRead]:
    """Return `usable_order` for many patients in one statement, keyed by patient id (patients without one are
    absent; no authorization here)."""
    ids = sorted(set(patient_ids))
    if not ids:
        return {}
    rank = (
        func.row_number()
        .over(
            partition_by=DoseOrderRecord.patient_id,
            order_by=(DoseOrderRecord.created_at.desc(), DoseOrderRecord.id.desc()),
        )
        .label("rank")
    )
    newest = (
        select(DoseOrderRecord.id, rank)
        .where(DoseOrderRecord.patient_id.in_(ids), DoseOrderRecord.status == "double_checked")
        .subquery()
    )
    rows = session.scalars(
        select(DoseOrderRecord).join(newest, newest.c.id == DoseOrderRecord.id).where(newest.c.rank == 1)
    )
    return {r.patient_id: DoseOrderRead.model_validate(r) for r in rows}


def usable_orders(session: Session, patient_id: int) -> list[DoseOrderRead]:
    """Return the patient's signed AND double-checked orders, newest first (no authorization here)."""
    rows = session.scalars(
        select(DoseOrderRecord)
        .where(DoseOrderRecord.patient_id == patient_id, DoseOrderRecord.status == "double_checked")
        .order_by(DoseOrderRecord.created_at.desc(), DoseOrderRecord.id.desc())
    )
    return [DoseOrderRead.model_validate(r) for r in rows]


def dose_step_mg(protocol_id: str) -> float | None:
    """Return the step (mg) to which the protocol rounds a dose, None when it does not round or is unknown."""
    try:
        return load_protocol(protocol_id).dose_mg_step
    except InvalidValue:
        return None
