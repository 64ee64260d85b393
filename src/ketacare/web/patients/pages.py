"""Page routes: login, patient list and search, chart, create/edit forms, access logs, audit view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.diagnoses import code_list
from ketacare.http.access import (
    Access,
)
from ketacare.services.access import Actor, decide
from ketacare.services.errors import Conflict
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    AllergyCreate,
    DiagnosisCreate,
    MeasurementCreate,
    MedicationCreate,
    PatientCreate,
    PatientUpdate,
    TrialCreate,
)
from ketacare.web.charts import Point, trend_svg
from ketacare.web.rendering import clinic_settings, form_data, form_errors, render, safe_next

router = APIRouter(include_in_schema=False)
PATIENT_FIELDS = [
    "mrn",
    "given_name",
    "family_name",
    "date_of_birth",
    "sex_at_birth",
    "gender_identity",
    "phone",
    "email",
    "address",
    "emergency_contact_name",
    "emergency_contact_phone",
    "escort_name",
    "escort_phone",
]


def _blank_to_none(values: dict[str, str], keys: list[str]) -> dict[str, Any]:
    return {k: (values.get(k) or "").strip() or None for k in keys if k in values}


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    q: str | None = None,
    page: int = 1,
    partial: bool = False,
    actor: Actor = Depends(Access("patient", "list")),
) -> Response:
    error = None
    try:
        result = patients.search_patients(
            db=request.app.state.db, actor=actor, q=q, page=max(page, 1), per_page=25
        )
    except InvalidValue as e:
        result, error = None, e.message
    pages = 0 if result is None else (result.total + result.per_page - 1) // result.per_page
    ctx = {
        "q": q or "",
        "result": result,
        "pages": pages,
        "error": error,
        "can_create": decide(actor, "create", "patient").allowed,
        "page_link": lambda p: "/patients?" + urlencode({k: v for k, v in {"q": q, "page": p}.items() if v}),
    }
    return render(request, "patients_results.html" if partial else "patients_list.html", ctx)


@router.get("/patients/new", response_class=HTMLResponse)
def patient_new(request: Request, actor: Actor = Depends(Access("patient", "create"))) -> Response:
    return render(
        request,
        "patient_form.html",
        {
            "values": {},
            "errors": {},
            "patient_id": None,
            "can_measure": decide(actor, "write", "patient_clinical").allowed,
        },
    )


@router.post("/patients/new", response_class=HTMLResponse)
async def patient_create(request: Request, actor: Actor = Depends(Access("patient", "create"))) -> Response:
    values = await form_data(request)
    can_measure = decide(actor, "write", "patient_clinical").allowed
    try:
        data = PatientCreate(**_blank_to_none(values, PATIENT_FIELDS + ["weight", "height"]))
        created = patients.create_patient(db=request.app.state.db, actor=actor, data=data)
    except ValidationError as e:
        return render(
            request,
            "patient_form.html",
            {"values": values, "errors": form_errors(e), "patient_id": None, "can_measure": can_measure},
            422,
        )
    except InvalidValue as e:
        return render(
            request,
            "patient_form.html",
            {
                "values": values,
                "errors": {e.field: e.message},
                "patient_id": None,
                "can_measure": can_measure,
            },
            422,
        )
    return RedirectResponse(f"/patients/{created.id}", status_code=303)


def _chart_context(request: Request, actor: Actor, patient_id: int) -> dict[str, Any]:
    chart = patients.get_chart(db=request.app.state.db, actor=actor, patient_id=patient_id)
    weight_chart = ""
    if chart.clinical is not None:
        unit = clinic_settings(request).weight_unit
        from ketacare.domain.units import lb_to_kg

        factor = 1.0 if unit == "kg" else 1.0 / lb_to_kg()
        pts = [Point(m.measured_at, m.weight_kg * factor) for m in chart.clinical.measurements if m.weight_kg]
        weight_chart = trend_svg(pts, unit=unit, title="Body weight")
    return {
        "chart": chart,
        "p": chart.patient,
        "clinical": chart.clinical,
        "weight_chart": weight_chart,
        "can_write": decide(actor, "write", "patient_clinical", patient_id=patient_id).allowed,
        "can_edit": decide(actor, "update", "patient", patient_id=patient_id).allowed,
        "codes_options": [
            (c.concept, f"{c.display} — {c.icd10cm}" + (f" / {c.icd11}" if c.icd11 else ""))
            for c in code_list()
        ],
        "errors": {},
        "values": {},
        "form": None,
    }


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_chart(
    request: Request, patient_id: int, actor: Actor = Depends(Access("patient", "read"))
) -> Response:
    return render(request, "patient_chart.html", _chart_context(request, actor, patient_id))


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def patient_edit(
    request: Request, patient_id: int, actor: Actor = Depends(Access("patient", "update"))
) -> Response:
    chart = patients.get_chart(db=request.app.state.db, actor=actor, patient_id=patient_id)
    values = {
        k: ("" if getattr(chart.patient, k) is None else str(getattr(chart.patient, k)))
        for k in PATIENT_FIELDS
    }
    values["version"] = str(chart.patient.version)
    return render(
        request,
        "patient_form.html",
        {"values": values, "errors": {}, "patient_id": patient_id, "can_measure": False},
    )


@router.post("/patients/{patient_id}/edit", response_class=HTMLResponse)
async def patient_update(
    request: Request, patient_id: int, actor: Actor = Depends(Access("patient", "update"))
) -> Response:
    values = await form_data(request)
    ctx = {"values": values, "patient_id": patient_id, "can_measure": False}
    try:
        fields = _blank_to_none(values, PATIENT_FIELDS)
        data = PatientUpdate(version=values.get("version") or 0, **fields)
        patients.update_patient(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
    except ValidationError as e:
        return render(request, "patient_form.html", {**ctx, "errors": form_errors(e)}, 422)
    except InvalidValue as e:
        return render(request, "patient_form.html", {**ctx, "errors": {e.field: e.message}}, 422)
    except Conflict as e:
        return render(request, "patient_form.html", {**ctx, "errors": {}, "conflict": str(e)}, 409)
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


# A chart form: the request model its fields fill, the service that adds the entry, and the form's field names.
_CLINICAL_FORMS: dict[str, tuple[type[BaseModel], Callable[..., object], list[str]]] = {
    "measurement": (MeasurementCreate, patients.add_measurement, ["weight", "height", "measured_at"]),
    "diagnosis": (DiagnosisCreate, patients.add_diagnosis, ["code", "status", "onset_date", "note"]),
    "medication": (
        MedicationCreate,
        patients.add_medication,
        ["name", "dose_value", "dose_unit", "times_per_day", "route", "start_date", "note"],
    ),
    "allergy": (AllergyCreate, patients.add_allergy, ["substance", "reaction", "severity"]),
    "trial": (
        TrialCreate,
        patients.add_trial,
        [
            "kind",
            "name",
            "dose_mg_per_day",
            "sessions",
            "start_date",
            "end_date",
            "weeks",
            "adherence",
            "outcome",
            "reason_stopped",
            "note",
        ],
    ),
}


@router.post("/patients/{patient_id}/add/{form}", response_class=HTMLResponse)
async def patient_add_entry(
    request: Request, patient_id: int, form: str, actor: Actor = Depends(Access("patient_clinical", "write"))
) -> Response:
    if form not in _CLINICAL_FORMS:
        from ketacare.services.errors import NotFound

        raise NotFound("form")
    schema, service, keys = _CLINICAL_FORMS[form]
    values = await form_data(request)
    fields = _blank_to_none(values, keys)
    if form == "medication":
        fields["as_needed"] = values.get("as_needed") == "on"
    try:
        service(db=request.app.state.db, actor=actor, patient_id=patient_id, data=schema(**fields))
    except (ValidationError, InvalidValue) as e:
        errors = form_errors(e) if isinstance(e, ValidationError) else {e.field: e.message}
        ctx = _chart_context(request, actor, patient_id)
        ctx.update(errors=errors, values=values, form=form)
        return render(request, "patient_chart.html", ctx, 422)
    return RedirectResponse(f"/patients/{patient_id}#{form}", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse(safe_next(None, actor), status_code=303)
    ctx = _chart_context(request, actor, actor.patient_id)
    ctx.update(can_edit=False, can_write=False, plain_status=PLAIN_STATUS)
    return render(request, "me.html", ctx)


# Diagnosis statuses in a patient's words (the portal shows no codes).
PLAIN_STATUS = {
    "active": "Being treated now",
    "in_remission": "Better now (in remission)",
    "resolved": "Over",
    "history_of": "In the past",
}
