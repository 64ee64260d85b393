"""Dose-order endpoints: preview, create, sign, independent double check, cancel, predicted plasma curve."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from ketacare.api.deps import DbDep
from ketacare.domain.pk import concentration_ranges, model_ids
from ketacare.http.access import Access
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
)

router = APIRouter(prefix="/patients/{patient_id}/dose-orders", tags=["dose orders"])


@router.get("", response_model=list[DoseOrderRead])
def list_orders(patient_id: int, db: DbDep, actor: Actor = Depends(Access("dose_order", "read"))):
    """List the patient's dose orders, newest first (`blinded: true` rows withhold their numbers)."""
    return dose_orders.list_orders(db=db, actor=actor, patient_id=patient_id)


@router.post("/preview", response_model=DoseOrderPreview)
def preview_order(
    patient_id: int, data: DoseOrderCreate, db: DbDep, actor: Actor = Depends(Access("dose_order", "create"))
):
    """Compute an order from the record without storing it (limit messages and the reasons still needed)."""
    return dose_orders.preview_order(db=db, actor=actor, patient_id=patient_id, data=data)


@router.post("", response_model=DoseOrderRead, status_code=201)
def create_order(
    patient_id: int, data: DoseOrderCreate, db: DbDep, actor: Actor = Depends(Access("dose_order", "create"))
):
    """Create a draft order from the record's latest weight, height, sex and age.

    422 names the field: a hard limit, a soft limit without `soft_limit_reason`, a stale or changed weight
    without `weight_confirmation`, or a weight-basis override without `weight_basis_reason`. Nothing is stored.
    """
    return dose_orders.create_order(db=db, actor=actor, patient_id=patient_id, data=data)


@router.get("/{order_id}", response_model=DoseOrderRead)
def read_order(
    patient_id: int, order_id: int, db: DbDep, actor: Actor = Depends(Access("dose_order", "read"))
):
    """Read one order with its inputs, results, limit messages and double-check entries.

    While the order is signed and awaits the independent double check, anyone but its author and signer gets a
    blinded read: weight, dose, rate, volumes, concentrations, limit messages and order_json are null and
    `blinded` is true (enter your own numbers on the double-check form).
    """
    return dose_orders.get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)


@router.post("/{order_id}/sign", response_model=DoseOrderRead)
def sign_order(
    patient_id: int,
    order_id: int,
    data: DoseOrderSign,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "sign")),
):
    """Sign a draft order; send the `version` you read (409 if it changed)."""
    return dose_orders.sign_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)


@router.get("/{order_id}/double-check", response_model=DoubleCheckTask)
def double_check_task(
    patient_id: int, order_id: int, db: DbDep, actor: Actor = Depends(Access("dose_order", "double_check"))
):
    """What the second clinician sees before the check: the prescription without the order's numbers."""
    return dose_orders.double_check_task(db=db, actor=actor, patient_id=patient_id, order_id=order_id)


@router.post("/{order_id}/double-check", response_model=DoubleCheckOutcome)
def double_check_order(
    patient_id: int,
    order_id: int,
    data: DoubleCheckCreate,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "double_check")),
):
    """Enter your own weight, dose and rate; a mismatch is recorded and keeps the order signed (match=false)."""
    return dose_orders.double_check_order(
        db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data
    )


@router.post("/{order_id}/cancel", response_model=DoseOrderRead)
def cancel_order(
    patient_id: int,
    order_id: int,
    data: DoseOrderCancel,
    db: DbDep,
    actor: Actor = Depends(Access("dose_order", "cancel")),
):
    """Cancel an order with a reason (kept on the record)."""
    return dose_orders.cancel_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)


@router.get("/{order_id}/curve")
def order_curve(
    patient_id: int,
    order_id: int,
    db: DbDep,
    model: str | None = Query(None, description="PK model id; default: the clinic default"),
    actor: Actor = Depends(Access("dose_order", "read")),
):
    """Predicted plasma concentration (ng/mL) of an IV order: typical, median and 5-95% population band.

    While the order awaits your independent double check the curve is withheld (`curve: null`,
    `blinded: true`): it would reveal the dose and the weight.
    """
    order = dose_orders.get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)
    if model is not None and model not in model_ids():
        from ketacare.domain.errors import InvalidValue

        raise InvalidValue("model", f"unknown PK model '{model}': use one of {', '.join(model_ids())}")
    if order.blinded:
        return {
            "order_id": order_id,
            "curve": None,
            "blinded": True,
            "blinded_reason": order.blinded_reason,
            "note": "the predicted curve is withheld until the independent double check has passed",
        }
    curve = dose_orders.order_curve(order, model)
    if curve is None:
        return {"order_id": order_id, "curve": None, "note": "the PK core predicts IV infusions only"}
    return {
        "order_id": order_id,
        "model_id": curve.model_id,
        "model_name": curve.model_name,
        "weight_kg": curve.weight_kg,
        "dose_mg": curve.dose_mg,
        "duration_min": curve.duration_min,
        "times_min": curve.times_min.tolist(),
        "typical_ng_per_ml": curve.typical_ng_per_ml.round(2).tolist(),
        "median_ng_per_ml": curve.median_ng_per_ml.round(2).tolist(),
        "p5_ng_per_ml": curve.p5_ng_per_ml.round(2).tolist(),
        "p95_ng_per_ml": curve.p95_ng_per_ml.round(2).tolist(),
        "cmax_ng_per_ml": round(curve.cmax_ng_per_ml, 1),
        "iiv_cv_percent": curve.iiv.cv_percent,
        "iiv_published": curve.iiv.published,
        "iiv_source": curve.iiv.source,
        "ranges": [r.__dict__ for r in concentration_ranges()],
        "notes": list(curve.notes),
    }
