"""Page routes: login, patient list and search, chart, create/edit forms, access logs, audit view."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain.errors import InvalidValue
from ketacare.domain.patients.diagnoses import code_list
from ketacare.http.access import (
    CSRF_COOKIE,
    PUBLIC,
    SESSION_COOKIE,
    Access,
    client_address,
    new_csrf_token,
)
from ketacare.http.errors import clean_message, field_name
from ketacare.services.access import audit_views, auth
from ketacare.services.access.actor import Actor
from ketacare.services.access.policy import decide
from ketacare.services.errors import Conflict, TooManyAttempts, Unauthenticated
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    AllergyCreate,
    DiagnosisCreate,
    LoginRequest,
    MeasurementCreate,
    MedicationCreate,
    PatientCreate,
    PatientUpdate,
    TrialCreate,
)
from ketacare.web.charts import Point, trend_svg

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


def render(request: Request, template: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    """Render a page with the acting user and a CSRF token (set as a cookie on first visit)."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    actor = getattr(request.state, "actor", None)
    response = request.app.state.templates.TemplateResponse(
        request, template, {"actor": actor, "csrf_token": token, **ctx}, status_code=status_code
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.cookie_secure,
            path="/",
        )
    return response


def form_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        out.setdefault(field_name(e.get("loc", ())), clean_message(e.get("msg", "invalid")))
    return out


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


def _blank_to_none(values: dict[str, str], keys: list[str]) -> dict[str, Any]:
    return {k: (values.get(k) or "").strip() or None for k in keys if k in values}


def _safe_next(target: str | None, actor: Actor) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    homes = {"patient": "/me", "admin": "/admin/audit", "researcher": "/welcome"}
    return homes.get(actor.role, "/patients")


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Actor = Depends(PUBLIC)):
    if actor.role == "anonymous":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(_safe_next(None, actor), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, actor: Actor = Depends(PUBLIC)):
    return render(request, "login.html", {"next": next or "", "error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, actor: Actor = Depends(PUBLIC)):
    values = await form_data(request)
    nxt = values.get("next", "")
    try:
        data = LoginRequest(
            username=values.get("username", ""),
            password=values.get("password", ""),
            totp_code=(values.get("totp_code") or "").strip() or None,
        )
        result = auth.login(
            db=request.app.state.db,
            settings=request.app.state.settings,
            data=data,
            address=client_address(request),
        )
    except ValidationError:
        return render(
            request,
            "login.html",
            {
                "next": nxt,
                "username": values.get("username", ""),
                "error": "Enter your username and password.",
            },
            422,
        )
    except (Unauthenticated, TooManyAttempts) as e:
        status = 429 if isinstance(e, TooManyAttempts) else 401
        return render(
            request,
            "login.html",
            {"next": nxt, "username": values.get("username", ""), "error": str(e).capitalize() + "."},
            status,
        )
    response = RedirectResponse(_safe_next(nxt, result.actor), status_code=303)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, actor: Actor = Depends(Access("account", "logout"))):
    auth.logout(db=request.app.state.db, actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/patients", response_class=HTMLResponse)
def patient_list(
    request: Request,
    q: str | None = None,
    page: int = 1,
    partial: bool = False,
    actor: Actor = Depends(Access("patient", "list")),
):
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
def patient_new(request: Request, actor: Actor = Depends(Access("patient", "create"))):
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
async def patient_create(request: Request, actor: Actor = Depends(Access("patient", "create"))):
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
        unit = request.app.state.settings.weight_unit
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
def patient_chart(request: Request, patient_id: int, actor: Actor = Depends(Access("patient", "read"))):
    return render(request, "patient_chart.html", _chart_context(request, actor, patient_id))


@router.get("/patients/{patient_id}/edit", response_class=HTMLResponse)
def patient_edit(request: Request, patient_id: int, actor: Actor = Depends(Access("patient", "update"))):
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
):
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


_CLINICAL_FORMS = {
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
):
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


@router.get("/patients/{patient_id}/access-log", response_class=HTMLResponse)
def patient_access_log(
    request: Request, patient_id: int, actor: Actor = Depends(Access("access_log", "read"))
):
    events = audit_views.access_log(db=request.app.state.db, actor=actor, patient_id=patient_id)
    return render(request, "access_log.html", {"events": events, "patient_id": patient_id})


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request, actor: Actor = Depends(Access("account", "read"))):
    if actor.role != "patient" or actor.patient_id is None:
        return RedirectResponse(_safe_next(None, actor), status_code=303)
    ctx = _chart_context(request, actor, actor.patient_id)
    ctx.update(can_edit=False, can_write=False)
    return render(request, "me.html", ctx)


@router.get("/welcome", response_class=HTMLResponse)
def welcome(request: Request, actor: Actor = Depends(Access("account", "read"))):
    """Start page for roles that read no patient record (researchers)."""
    return render(request, "welcome.html", {})


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    username: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    actor: Actor = Depends(Access("audit", "read", patient_param=None)),
):
    pid = int(patient_id) if patient_id and patient_id.isdigit() else None
    events = audit_views.list_events(
        db=request.app.state.db,
        actor=actor,
        username=username or None,
        patient_id=pid,
        action=action or None,
        outcome=outcome or None,
        limit=200,
    )
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "filters": {
                "username": username or "",
                "patient_id": patient_id or "",
                "action": action or "",
                "outcome": outcome or "",
            },
        },
    )
