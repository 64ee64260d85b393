"""Dose-order pages on the chart (calculate, create, sign with confirmation, blinded double check, cancel) and
the PK explorer (`/pk`): predicted plasma curves are server-rendered SVG."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain import formatting as fmt
from ketacare.domain.dosing.protocol import all_protocols, load_protocol
from ketacare.domain.errors import InvalidValue
from ketacare.domain.pk import concentration_ranges, default_model_id, model_ids, model_info, predict_infusion
from ketacare.domain.sources import plain
from ketacare.http.access import Access
from ketacare.services import clinic, patients, plans
from ketacare.services.access import Actor, decide, signing
from ketacare.services.dosing import orders as dose_orders
from ketacare.services.dosing.schemas import (
    DoseOrderCancel,
    DoseOrderCreate,
    DoseOrderPreview,
    DoseOrderRead,
    DoseOrderSign,
    DoubleCheckCreate,
    OrderDetail,
)
from ketacare.services.errors import Conflict, TooManyAttempts
from ketacare.web.dosing.pk_chart import Series, curve_svg, table_rows
from ketacare.web.rendering import (
    FORM_REFUSALS,
    clinic_zone,
    form_data,
    form_errors,
    local_field,
    refusal,
    render,
)

router = APIRouter(include_in_schema=False)
ORDER_FIELDS = [
    "protocol_id",
    "planned_start",
    "mg_per_kg",
    "dose_mg",
    "weight_basis",
    "weight_basis_reason",
    "vial_strength_mg_per_ml",
    "soft_limit_reason",
    "weight_confirmation",
]


def _iso(text: Any) -> datetime | None:
    if not text:
        return None
    value = text if isinstance(text, datetime) else datetime.fromisoformat(str(text))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _when_in(tz: tzinfo) -> Callable[[Any], str]:
    """Return the page's `when`: a stored time in the clinic's zone, labelled ("2026-11-30 14:05 CET")."""

    def when(value: Any) -> str:
        return fmt.date_time(_iso(value), tz)

    return when


def _protocol_options() -> list[tuple[str, str]]:
    return [(p.id, p.name) for p in all_protocols()]


def _vial_options() -> list[tuple[str, str]]:
    """Every strength some protocol stocks; the domain refuses one the chosen protocol does not."""
    strengths = sorted({s for p in all_protocols() for s in p.vial_strengths_mg_per_ml})
    return [("", "Protocol default")] + [(f"{s:g}", f"{s:g} mg/mL") for s in strengths]


def _protocol_facts() -> dict[str, dict[str, Any]]:
    return {
        p.id: {
            "dosing": p.dosing,
            "default_mg_per_kg": p.default_mg_per_kg,
            "default_mg": p.default_mg,
            "vials": p.vial_strengths_mg_per_ml,
            "route": p.route,
        }
        for p in all_protocols()
    }


def _chart(request: Request, actor: Actor, patient_id: int) -> patients.ChartRead:
    return patients.get_chart(db=request.app.state.db, actor=actor, patient_id=patient_id)


def _curve_ctx(
    order: OrderDetail | None, weight_kg: float | None, age: int | None, tz: tzinfo
) -> dict[str, Any]:
    """Return the predicted curve (SVG + table) of an IV order, or a note why there is none."""
    if order is None or not dose_orders.has_pk_curve(order.route) or weight_kg is None:
        return {"curve_svg": "", "curve_note": "No plasma curve: the PK core predicts IV infusions only."}
    curve = predict_infusion(default_model_id(), weight_kg, order.dose_mg, order.duration_min, age_y=age)
    start = _iso(order.start)
    return {
        "curve": curve,
        "curve_svg": curve_svg([Series("this order", curve)], concentration_ranges(), start=start, tz=tz),
        "curve_rows": table_rows(curve),
        "curve_note": "",
        "ranges": concentration_ranges(),
        "model": model_info(curve.model_id),
    }


def _new_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    values: dict[str, str],
    errors: Mapping[str, str | None],
    preview: DoseOrderPreview | None = None,
    status: int = 200,
    prefill: plans.OrderPrefill | None = None,
) -> Response:
    chart = _chart(request, actor, patient_id)
    orders = dose_orders.list_orders(db=request.app.state.db, actor=actor, patient_id=patient_id)
    ctx: dict[str, Any] = {
        "p": chart.patient,
        "clinical": chart.clinical,
        "orders": orders,
        "values": values,
        "errors": errors,
        "preview": preview,
        "prefill": prefill,
        "protocol_options": _protocol_options(),
        "vial_options": _vial_options(),
        "protocols": _protocol_facts(),
        "can_create": decide(actor, "create", "dose_order", patient_id=patient_id).allowed,
        "can_check": decide(actor, "double_check", "dose_order", patient_id=patient_id).allowed,
        "when": _when_in(clinic_zone(request)),
        "bmi_threshold": clinic.weight_policy(request.app.state.db).bmi_threshold,
    }
    if preview is not None and preview.order is not None:
        ctx.update(
            _curve_ctx(preview.order, preview.facts.weight_kg, preview.facts.age_years, clinic_zone(request))
        )
    return render(request, "dose_orders.html", ctx, status)


@router.get("/patients/{patient_id}/dose-orders", response_class=HTMLResponse)
def orders_page(
    request: Request, patient_id: int, actor: Actor = Depends(Access("dose_order", "read"))
) -> Response:
    # An accepted (or edited) titration proposal pre-fills the dose; the prescriber still calculates, checks, signs.
    prefill = plans.order_prefill(db=request.app.state.db, actor=actor, patient_id=patient_id)
    values = {"protocol_id": "iv-standard"}
    if prefill is not None and prefill.mg_per_kg is not None:
        values = {"protocol_id": prefill.protocol_id, "mg_per_kg": f"{prefill.mg_per_kg:g}"}
        soft = load_protocol(prefill.protocol_id).limit("mg_per_kg_max", "soft")
        if soft is not None and prefill.mg_per_kg > soft.value:  # the proposal's reason, for the prescriber to keep
            values["soft_limit_reason"] = prefill.reason[:500]
    return _new_page(request, actor, patient_id, values, {}, prefill=prefill)


def _create_data(request: Request, values: dict[str, str]) -> DoseOrderCreate:
    fields: dict[str, Any] = {k: (values.get(k) or "").strip() or None for k in ORDER_FIELDS}
    fields["planned_start"] = local_field(
        request, values, "planned_start"
    )  # typed in the clinic's local time
    if fields.get("protocol_id") is None:
        raise InvalidValue("protocol_id", "choose a protocol")
    return DoseOrderCreate(**fields)


@router.post("/patients/{patient_id}/dose-orders/new", response_class=HTMLResponse)
async def order_new(
    request: Request, patient_id: int, actor: Actor = Depends(Access("dose_order", "create"))
) -> Response:
    values = await form_data(request)
    db = request.app.state.db
    try:
        data = _create_data(request, values)
        if values.get("step") != "create":
            preview = dose_orders.preview_order(db=db, actor=actor, patient_id=patient_id, data=data)
            errors = {preview.error_field: preview.error} if preview.error_field else {}
            for need in preview.needs:
                errors.setdefault(need, "a reason is needed to proceed")
            return _new_page(request, actor, patient_id, values, errors, preview, 200 if preview.ok else 422)
        created = dose_orders.create_order(db=db, actor=actor, patient_id=patient_id, data=data)
    except ValidationError as e:
        return _new_page(request, actor, patient_id, values, form_errors(e), None, 422)
    except InvalidValue as e:
        return _new_page(request, actor, patient_id, values, {e.field: e.message}, None, 422)
    return RedirectResponse(f"/patients/{patient_id}/dose-orders/{created.id}", status_code=303)


def _order_page(
    request: Request,
    actor: Actor,
    order: DoseOrderRead,
    template: str = "dose_order.html",
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    chart = _chart(request, actor, order.patient_id)
    pid = order.patient_id
    ctx: dict[str, Any] = {
        "p": chart.patient,
        "o": order,
        "od": order.order_json,
        "protocol": load_protocol(order.protocol_id),
        "when": _when_in(clinic_zone(request)),
        "can_sign": decide(actor, "sign", "dose_order", patient_id=pid).allowed and order.status == "draft",
        "can_check": decide(actor, "double_check", "dose_order", patient_id=pid).allowed
        and order.status == "signed",
        "can_cancel": decide(actor, "cancel", "dose_order", patient_id=pid).allowed
        and order.status != "cancelled",
        "errors": {},
        "values": {},
        "credential": signing.credential_field(db=request.app.state.db, actor=actor),
    }
    if order.blinded:
        ctx.update(curve_svg="", curve_note="The predicted plasma curve is shown after the double check.")
    else:
        ctx.update(_curve_ctx(order.order_json, order.weight_kg, order.age_years, clinic_zone(request)))
    ctx.update(extra or {})
    return render(request, template, ctx, status)


@router.get("/patients/{patient_id}/dose-orders/{order_id}", response_class=HTMLResponse)
def order_page(
    request: Request, patient_id: int, order_id: int, actor: Actor = Depends(Access("dose_order", "read"))
) -> Response:
    order = dose_orders.get_order(
        db=request.app.state.db, actor=actor, patient_id=patient_id, order_id=order_id
    )
    return _order_page(request, actor, order)


@router.get("/patients/{patient_id}/dose-orders/{order_id}/sign", response_class=HTMLResponse)
def sign_confirm(
    request: Request, patient_id: int, order_id: int, actor: Actor = Depends(Access("dose_order", "sign"))
) -> Response:
    order = dose_orders.get_order(
        db=request.app.state.db, actor=actor, patient_id=patient_id, order_id=order_id
    )
    return _order_page(request, actor, order, "dose_order_sign.html")


@router.post("/patients/{patient_id}/dose-orders/{order_id}/sign", response_class=HTMLResponse)
async def sign_submit(
    request: Request, patient_id: int, order_id: int, actor: Actor = Depends(Access("dose_order", "sign"))
) -> Response:
    values = await form_data(request)
    db = request.app.state.db
    try:
        data = DoseOrderSign(
            version=values.get("version") or 0,
            password=values.get("password") or None,
            totp_code=(values.get("totp_code") or "").strip() or None,
        )
        dose_orders.sign_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)
    except FORM_REFUSALS as e:
        order = dose_orders.get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)
        errors, status = refusal(e)
        mine = {k: v for k, v in errors.items() if k in signing.FIELDS}
        others = [v for k, v in errors.items() if k not in mine]
        problem = (str(e) if isinstance(e, Conflict) else others[0]) if others else None
        if problem and isinstance(e, ValidationError) and not mine:
            problem = "reload the order and confirm again"
        extra = {"problem": problem, "errors": mine}
        return _order_page(request, actor, order, "dose_order_sign.html", extra, status)
    return RedirectResponse(f"/patients/{patient_id}/dose-orders/{order_id}", status_code=303)


def _check_page(
    request: Request, actor: Actor, patient_id: int, order_id: int, extra: dict[str, Any], status: int = 200
) -> Response:
    db = request.app.state.db
    task = dose_orders.double_check_task(db=db, actor=actor, patient_id=patient_id, order_id=order_id)
    chart = _chart(request, actor, patient_id)
    ctx = {
        "p": chart.patient,
        "task": task,
        "when": _when_in(clinic_zone(request)),
        "values": {},
        "errors": {},
        "outcome": None,
        "blocked": None,
    }
    ctx["blocked"] = task.blocked_reason
    ctx["credential"] = signing.credential_field(db=db, actor=actor)
    ctx.update(extra)
    return render(request, "dose_order_check.html", ctx, status)


@router.get("/patients/{patient_id}/dose-orders/{order_id}/double-check", response_class=HTMLResponse)
def check_form(
    request: Request,
    patient_id: int,
    order_id: int,
    actor: Actor = Depends(Access("dose_order", "double_check")),
) -> Response:
    return _check_page(request, actor, patient_id, order_id, {})


@router.post("/patients/{patient_id}/dose-orders/{order_id}/double-check", response_class=HTMLResponse)
async def check_submit(
    request: Request,
    patient_id: int,
    order_id: int,
    actor: Actor = Depends(Access("dose_order", "double_check")),
) -> Response:
    values = await form_data(request)
    db = request.app.state.db
    fields = {
        k: (values.get(k) or "").strip() or None
        for k in ("version", "check_weight_kg", "check_dose_mg", "check_rate_ml_per_h", "totp_code")
    }
    fields["password"] = values.get("password") or None
    try:
        data = DoubleCheckCreate(**fields)
        outcome = dose_orders.double_check_order(
            db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data
        )
    except ValidationError as e:
        return _check_page(
            request, actor, patient_id, order_id, {"values": values, "errors": form_errors(e)}, 422
        )
    except (InvalidValue, TooManyAttempts) as e:
        errors, status = refusal(e)
        return _check_page(request, actor, patient_id, order_id, {"values": values, "errors": errors}, status)
    except Conflict as e:
        return _check_page(request, actor, patient_id, order_id, {"values": {}, "problem": str(e)}, 409)
    if outcome.match:
        return RedirectResponse(f"/patients/{patient_id}/dose-orders/{order_id}", status_code=303)
    return _check_page(request, actor, patient_id, order_id, {"outcome": outcome}, 200)


@router.post("/patients/{patient_id}/dose-orders/{order_id}/cancel", response_class=HTMLResponse)
async def cancel_submit(
    request: Request, patient_id: int, order_id: int, actor: Actor = Depends(Access("dose_order", "cancel"))
) -> Response:
    values = await form_data(request)
    db = request.app.state.db
    try:
        data = DoseOrderCancel(version=values.get("version") or 0, reason=values.get("reason") or "")
        dose_orders.cancel_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id, data=data)
    except (ValidationError, InvalidValue, Conflict) as e:
        order = dose_orders.get_order(db=db, actor=actor, patient_id=patient_id, order_id=order_id)
        if isinstance(e, ValidationError):
            errors = form_errors(e)
            errors.setdefault("reason", errors.pop("version", "state why the order is cancelled"))
        elif isinstance(e, InvalidValue):
            errors = {"reason": e.message}
        else:
            errors = {"reason": str(e)}
        extra = {"errors": errors, "values": values, "cancel_open": True}
        return _order_page(request, actor, order, extra=extra, status=409 if isinstance(e, Conflict) else 422)
    return RedirectResponse(f"/patients/{patient_id}/dose-orders/{order_id}", status_code=303)


# --- PK explorer ---------------------------------------------------------------------------------------

IV_PROTOCOLS = ("iv-standard", "iv-slow")
ADULT_MODELS = tuple(m for m in model_ids() if model_info(m).population != "paediatric")


def _float(
    values: dict[str, str], key: str, default: float | None, errors: dict[str, str], label: str
) -> float | None:
    raw = (values.get(key) or "").strip()
    if not raw:
        return default
    try:
        v = float(raw)
    except ValueError:
        errors[key] = f"{label}: '{raw}' is not a number"
        return None
    if not v > 0:
        errors[key] = f"{label} must be more than 0"
        return None
    return v


@router.get("/pk", response_class=HTMLResponse)
def pk_explorer(
    request: Request, actor: Actor = Depends(Access("pk_explorer", "read", patient_param=None))
) -> Response:
    values = {k: v for k, v in request.query_params.items()}
    first_visit = not values
    errors: dict[str, str] = {}
    weight = _float(values, "weight_kg", 70.0, errors, "weight (kg)")
    if weight is not None and not 30 <= weight <= 250:
        errors["weight_kg"] = "weight must be between 30 and 250 kg"
    defaults = [("iv-standard", 0.5, 40.0), ("iv-slow", 0.5, 100.0), ("iv-standard", 0.75, 40.0)]
    regimens = []
    for i, (pid0, mgkg0, _dur0) in enumerate(defaults, start=1):
        protocol_id = values.get(f"r{i}_protocol", pid0 if i < 3 or first_visit else "")
        if not protocol_id:
            continue
        if protocol_id not in IV_PROTOCOLS:
            errors[f"r{i}_protocol"] = "choose an IV protocol"
            continue
        proto = load_protocol(protocol_id)
        mgkg = _float(values, f"r{i}_mg_per_kg", mgkg0 if protocol_id == pid0 else 0.5, errors, "mg/kg")
        dur = _float(values, f"r{i}_duration_min", proto.duration_min, errors, "duration (min)")
        model = values.get(f"r{i}_model") or default_model_id()
        if model not in ADULT_MODELS:
            errors[f"r{i}_model"] = "choose an adult PK model"
            continue
        hard = proto.limit("mg_per_kg_max", "hard")
        if mgkg is not None and hard is not None and mgkg > hard.value:
            errors[f"r{i}_mg_per_kg"] = f"above the {proto.id} hard limit {hard.value:g} mg/kg"
            continue
        if dur is not None and dur > 600:
            errors[f"r{i}_duration_min"] = "the explorer models infusions up to 600 min"
            continue
        values.setdefault(f"r{i}_protocol", protocol_id)
        values.setdefault(f"r{i}_mg_per_kg", f"{mgkg:g}" if mgkg else "")
        values.setdefault(f"r{i}_duration_min", f"{dur:g}" if dur else "")
        values.setdefault(f"r{i}_model", model)
        if weight is None or mgkg is None or dur is None or errors.get("weight_kg"):
            continue
        # each regimen keeps the weight it was checked with
        regimens.append((i, protocol_id, mgkg, dur, model, weight))
    values.setdefault("weight_kg", f"{weight:g}" if weight else "")
    horizon = max((r[3] for r in regimens), default=40.0) + 240.0
    series, rows = [], []
    for i, _protocol, mgkg, dur, model, kg in regimens:
        dose = round(mgkg * kg, 1)
        curve = predict_infusion(model, kg, dose, dur, horizon_min=horizon)
        label = f"{i}: {mgkg:g} mg/kg ({dose:g} mg) over {dur:g} min, {plain(model_info(model).citation)}"
        series.append(Series(label, curve))
        rows.append(
            {
                "i": i,
                "label": label,
                "regimen": f"{i}: {mgkg:g} mg/kg ({dose:g} mg) over {dur:g} min",
                "curve": curve,
                "dose_mg": dose,
                "model": model_info(model),
            }
        )
    ctx = {
        "values": values,
        "errors": errors,
        "svg": curve_svg(series, concentration_ranges()) if series else "",
        "rows": rows,
        "ranges": concentration_ranges(),
        "protocol_options": [(p, load_protocol(p).name) for p in IV_PROTOCOLS],
        "model_options": [(m, model_info(m).name) for m in ADULT_MODELS],
        "default_model": default_model_id(),
    }
    return render(request, "pk_explorer.html", ctx, 422 if errors else 200)
