"""Dose-order endpoints: preview, create, sign, independent double check, cancel, predicted plasma curve."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep, RecordId, in_thread
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services.access import Actor
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import (
    DoseOrderCancel,
    DoseOrderCreate,
    DoseOrderPreview,
    DoseOrderRead,
    DoseOrderSign,
    DoubleCheckCreate,
    DoubleCheckOutcome,
    DoubleCheckTask,
    OrderCurveRead,
)

router = APIRouter(prefix="/patients/{patient_id}/dose-orders", tags=["dose orders"])
# What the routes can answer besides success: every route needs a login and a role allowed by the policy.
ONE = error_responses(401, 403, 404, 422)
EDIT = error_responses(401, 403, 404, 409, 422)
# A signature: also 429 after repeated wrong passwords or codes.
SIGN = error_responses(401, 403, 404, 409, 422, 429)


@router.get("", response_model=list[DoseOrderRead], responses=ONE)
async def list_orders(
    patient_id: RecordId, db: DbDep, actor: Actor = Depends(Access("dose_order", "read"))
) -> list[DoseOrderRead]:
    """List the patient's dose orders, newest first (`blinded: true` rows withhold their numbers)."""
    return await in_thread(dose_orders.list_orders, db=db, actor=actor, patient_id=patient_id)


@router.post("/preview", response_model=DoseOrderPreview, responses=ONE)
def preview_order(
    patient_id: RecordId,
    data: DoseOrderCreate,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "create")),
) -> DoseOrderPreview:
    """Compute an order from the record without storing it (limit messages and the reasons still needed)."""
    return dose_orders.preview_order(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("", response_model=DoseOrderRead, status_code=201, responses=ONE)
def create_order(
    patient_id: RecordId,
    data: DoseOrderCreate,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "create")),
) -> DoseOrderRead:
    """Create a draft order from the record's latest weight, height, sex and age.

    422 names the field: a hard limit, a soft limit without `soft_limit_reason`, a stale or changed weight
    without `weight_confirmation`, or a weight-basis override without `weight_basis_reason`. Nothing is stored.
    """
    return dose_orders.create_order(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/{order_id}", response_model=DoseOrderRead, responses=ONE)
def read_order(
    patient_id: RecordId, order_id: RecordId, db: DbDep, actor: Actor = Depends(Access("dose_order", "read"))
) -> DoseOrderRead:
    """Read one order with its inputs, results, limit messages and double-check entries.

    While the order is signed and awaits the independent double check, anyone but its author and signer gets a
    blinded read: weight, dose, rate, volumes, concentrations, limit messages and order_json are null and
    `blinded` is true (enter your own numbers on the double-check form).
    """
    return dose_orders.get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)


@router.post("/{order_id}/sign", response_model=DoseOrderRead, responses=SIGN)
def sign_order(
    patient_id: RecordId,
    order_id: RecordId,
    data: DoseOrderSign,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "sign")),
) -> DoseOrderRead:
    """Sign a draft order (meaning: approved); send the `version` you read (409 if it changed).

    Signing: send your `password` again (or `totp_code` when your account uses one); a wrong or
    missing one answers 422 naming that field and stores nothing; repeated failures answer 429 with
    Retry-After."""
    return dose_orders.sign_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)


@router.get("/{order_id}/double-check", response_model=DoubleCheckTask, responses=ONE)
def double_check_task(
    patient_id: RecordId,
    order_id: RecordId,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "double_check")),
) -> DoubleCheckTask:
    """What the second clinician sees before the check: the prescription without the order's numbers."""
    return dose_orders.double_check_task(db=db, actor=actor, patient_id=patient_id, order_id=order_id)


@router.post("/{order_id}/double-check", response_model=DoubleCheckOutcome, responses=SIGN)
def double_check_order(
    patient_id: RecordId,
    order_id: RecordId,
    data: DoubleCheckCreate,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "double_check")),
) -> DoubleCheckOutcome:
    """Enter your own weight, dose and rate; a mismatch is recorded and keeps the order signed (match=false).

    The check is signed (meaning: reviewed): send your `password` again (or `totp_code` when your account uses
    one); a wrong or missing one answers 422 naming that field and stores nothing; repeated failures answer 429 with
    Retry-After."""
    return dose_orders.double_check_order(
        db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data
    )


@router.post("/{order_id}/cancel", response_model=DoseOrderRead, responses=EDIT)
def cancel_order(
    patient_id: RecordId,
    order_id: RecordId,
    data: DoseOrderCancel,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "cancel")),
) -> DoseOrderRead:
    """Cancel an order with a reason (kept on the record)."""
    return dose_orders.cancel_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)


@router.get(
    "/{order_id}/curve", response_model=OrderCurveRead, response_model_exclude_unset=True, responses=ONE
)
def order_curve(
    patient_id: RecordId,
    order_id: RecordId,
    db: DbDep,
    model: str | None = Query(None, description="PK model id; default: the clinic default"),
    actor: Actor = Depends(Access("dose_order", "read")),
) -> OrderCurveRead:
    """Predicted plasma concentration (ng/mL) of an IV order: typical, median and 5-95% population band.

    While the order awaits your independent double check the curve is withheld (`curve: null`,
    `blinded: true`): it would reveal the dose and the weight.
    """
    return dose_orders.curve_view(
        db=db, actor=actor, patient_id=patient_id, order_id=order_id, model_id=model
    )
