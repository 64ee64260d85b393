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
from ketacare.services import measurement, plans, scheduling, therapy
from ketacare.services.access import Actor, decide
from ketacare.services.errors import Conflict
from ketacare.services.patients import care_team, corrections
from ketacare.services.patients import records as patients
from ketacare.services.patients.schemas import (
    AllergyCreate,
    AllergyEdit,
    CareTeamUpdate,
    ChartRead,
    DiagnosisCreate,
    DiagnosisEdit,
    EnteredInError,
    MeasurementCreate,
    MeasurementEdit,
    MedicationCreate,
    MedicationEdit,
    MedicationStop,
    PatientCreate,
    PatientUpdate,
    RevisionRead,
    TrialCreate,
    TrialEdit,
)
from ketacare.web.charts import Point, trend_svg
from ketacare.web.rendering import (
    FORM_REFUSALS,
    clinic_settings,
    form_data,
    form_errors,
    refusal,
    render,
    safe_next,
)

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
    scope: str | None = None,
    actor: Actor = Depends(Access("patient", "list")),
) -> Response:
    """List patients: a clinician who can be on care teams sees "my patients" first; a search reaches all."""
    error = None
    has_team = any(
        decide(actor, f"care_team_{position}", "patient").allowed for position in care_team.positions()
    )
    if scope not in ("mine", "all"):
        scope = "mine" if has_team and not q else "all"
    try:
        result = patients.search_patients(
            db=request.app.state.db, actor=actor, q=q, page=max(page, 1), per_page=25, mine=scope == "mine"
        )
    except InvalidValue as e:
        result, error = None, e.message
    pages = 0 if result is None else (result.total + result.per_page - 1) // result.per_page
    # The care team's therapist sees which integration visits are due for their patients (issue 17).
    visits = None
    if scope == "mine" and not partial and decide(actor, "care_team_therapist", "patient").allowed:
        visits = therapy.integration_visits_due(db=request.app.state.db, actor=actor, mine=True)
    ctx = {
        "q": q or "",
        "result": result,
        "pages": pages,
        "error": error,
        "scope": scope,
        "has_team": has_team,
        "visits": visits,
        "window": therapy.visit_window(),
        "can_create": decide(actor, "create", "patient").allowed,
        "page_link": lambda p: (
            "/patients?" + urlencode({k: v for k, v in {"q": q, "scope": scope, "page": p}.items() if v})
        ),
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
        fields = _blank_to_none(values, PATIENT_FIELDS + ["weight", "height"])
        for box in ("confirm_not_duplicate", "confirm_under_18"):
            fields[box] = values.get(box) == "on"
        data = PatientCreate(**fields)
        created = patients.create_patient(db=request.app.state.db, actor=actor, data=data)
    except ValidationError as e:
        return render(
            request,
            "patient_form.html",
            {"values": values, "errors": form_errors(e), "patient_id": None, "can_measure": can_measure},
            422,
        )
    except InvalidValue as e:
        errors, status = refusal(e)
        return render(
            request,
            "patient_form.html",
            {"values": values, "errors": errors, "patient_id": None, "can_measure": can_measure},
            status,
        )
    return RedirectResponse(f"/patients/{created.id}", status_code=303)


_ACTIONS = {
    "edit": "corrected",
    "stop": "stopped",
    "change_dose": "dose changed",
    "entered_in_error": "marked entered in error",
}
# How an entry is named in its history line, from its snapshot.
_NAMES: dict[str, Callable[[dict[str, Any]], str]] = {
    "diagnosis": lambda v: str(v.get("display", "")),
    "medication": lambda v: (
        f"{v.get('name', '')} {v.get('dose_value', 0):g} {v.get('dose_unit', '')}"
        + (f" {v['times_per_day']:g}× a day" if v.get("times_per_day") else "")
    ),
    "allergy": lambda v: str(v.get("substance", "")),
    "trial": lambda v: str(v.get("name", "")),
    "measurement": lambda v: str(v.get("entered_as") or ""),
}
_HIDDEN = {"version", "display", "name", "substance", "entered_as"}


def _change_text(rev: RevisionRead) -> str:
    changed = [
        f"{k.replace('_', ' ')} {rev.before.get(k) if rev.before.get(k) is not None else '—'} → "
        f"{rev.after.get(k) if rev.after.get(k) is not None else '—'}"
        for k in rev.after
        if k not in _HIDDEN and rev.before.get(k) != rev.after.get(k)
    ]
    return "; ".join(changed)


def _history(chart: ChartRead) -> dict[str, list[dict[str, Any]]]:
    """Group the record's corrections by entity, each as a line a clinician reads."""
    out: dict[str, list[dict[str, Any]]] = {}
    if chart.clinical is None:
        return out
    for rev in chart.clinical.revisions:
        out.setdefault(rev.entity, []).append(
            {
                "entry_id": rev.entity_id,
                "at": rev.changed_at,
                "who": rev.changed_by_name or "—",
                "action": _ACTIONS.get(rev.action, rev.action),
                "entry": _NAMES[rev.entity](rev.before) if rev.entity in _NAMES else "",
                "change": "" if rev.action == "entered_in_error" else _change_text(rev),
                "reason": rev.reason,
                "in_error": rev.action == "entered_in_error",
            }
        )
    return out


def _team(request: Request, actor: Actor, patient_id: int) -> Any:
    if not decide(actor, "read", "care_team", patient_id=patient_id).allowed:
        return None
    return care_team.get_care_team(db=request.app.state.db, actor=actor, patient_id=patient_id)


def _consent(request: Request, actor: Actor, patient_id: int) -> Any:
    if not decide(actor, "read", "consent", patient_id=patient_id).allowed:
        return None
    return plans.patient_consents(db=request.app.state.db, actor=actor, patient_id=patient_id)


def _chart_context(request: Request, actor: Actor, patient_id: int) -> dict[str, Any]:
    chart = patients.get_chart(db=request.app.state.db, actor=actor, patient_id=patient_id)
    weight_chart = ""
    if chart.clinical is not None:
        unit = clinic_settings(request).weight_unit
        from ketacare.domain.units import lb_to_kg

        factor = 1.0 if unit == "kg" else 1.0 / lb_to_kg()
        pts = [
            Point(m.measured_at, m.weight_kg * factor)
            for m in chart.clinical.measurements
            if m.weight_kg and not m.entered_in_error
        ]
        weight_chart = trend_svg(pts, unit=unit, title="Body weight")
    course_safety = None
    if chart.clinical is not None and decide(actor, "read", "course_safety", patient_id=patient_id).allowed:
        course_safety = plans.course_safety(db=request.app.state.db, actor=actor, patient_id=patient_id)
    return {
        "chart": chart,
        "course_safety": course_safety,
        "p": chart.patient,
        "clinical": chart.clinical,
        "corrections": _history(chart),
        "team": _team(request, actor, patient_id),
        "consent": _consent(request, actor, patient_id),
        "weight_chart": weight_chart,
        "can_write": decide(actor, "write", "patient_clinical", patient_id=patient_id).allowed,
        "can_edit": decide(actor, "update", "patient", patient_id=patient_id).allowed,
        "can_manage_team": decide(actor, "manage", "care_team", patient_id=patient_id).allowed,
        "therapy_notes": (
            therapy.notes_for_plan(db=request.app.state.db, actor=actor, patient_id=patient_id)
            if decide(actor, "read", "therapy", patient_id=patient_id).allowed
            else None
        ),
        "codes_options": [
            (c.concept, f"{c.display} — {c.icd10cm}" + (f" / {c.icd11}" if c.icd11 else ""))
            for c in code_list()
        ],
        "errors": {},
        "values": {},
        "form": None,
        **_followup(request, actor, patient_id),
    }


def _followup(request: Request, actor: Actor, patient_id: int) -> dict[str, Any]:
    """Return the rapid response of each session and the next-day calls (issue 16) where the policy allows."""
    db = request.app.state.db
    out: dict[str, Any] = {"rapid_responses": None, "followup_calls": None}
    if actor.patient_id is not None:
        return out
    if decide(actor, "read", "scores", patient_id=patient_id).allowed:
        out["rapid_responses"] = plans.rapid_response_for_patient(db=db, actor=actor, patient_id=patient_id)
    if decide(actor, "read", "followup_call", patient_id=patient_id).allowed:
        out["followup_calls"] = plans.calls_for_patient(db=db, actor=actor, patient_id=patient_id)
    return out


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
        fields["name_checked"] = values.get("name_checked") == "on"
    try:
        service(db=request.app.state.db, actor=actor, patient_id=patient_id, data=schema(**fields))
    except (ValidationError, InvalidValue) as e:
        errors, status = refusal(e)
        ctx = _chart_context(request, actor, patient_id)
        ctx.update(errors=errors, values=values, form=form)
        return render(request, "patient_chart.html", ctx, status)
    return RedirectResponse(f"/patients/{patient_id}#{form}", status_code=303)


def _stop(*, db: Any, actor: Actor, patient_id: int, entry_id: int, data: MedicationStop) -> object:
    return corrections.stop_medication(
        db=db, actor=actor, patient_id=patient_id, medication_id=entry_id, data=data
    )


def _in_error(entity: str) -> Callable[..., object]:
    def mark(*, db: Any, actor: Actor, patient_id: int, entry_id: int, data: EnteredInError) -> object:
        return corrections.mark_entered_in_error(
            db=db, actor=actor, patient_id=patient_id, entity=entity, entry_id=entry_id, data=data
        )

    return mark


# A correction form: (entity, correction) -> the request model, the service, and the form's field names.
_CORRECTIONS: dict[tuple[str, str], tuple[type[BaseModel], Callable[..., object], list[str]]] = {
    ("diagnosis", "edit"): (DiagnosisEdit, corrections.edit_diagnosis, ["status", "onset_date", "note"]),
    ("medication", "edit"): (
        MedicationEdit,
        corrections.edit_medication,
        ["dose_value", "dose_unit", "times_per_day", "route", "note"],
    ),
    ("medication", "stop"): (MedicationStop, _stop, ["end_date"]),
    ("allergy", "edit"): (AllergyEdit, corrections.edit_allergy, ["reaction", "severity", "status"]),
    ("trial", "edit"): (
        TrialEdit,
        corrections.edit_trial,
        ["dose_mg_per_day", "sessions", "weeks", "adherence", "outcome", "reason_stopped", "note"],
    ),
    ("measurement", "edit"): (MeasurementEdit, corrections.edit_measurement, ["weight", "height"]),
    **{
        (entity, "entered-in-error"): (EnteredInError, _in_error(entity), [])
        for entity in corrections.ENTITIES
    },
}


@router.post("/patients/{patient_id}/correct/{entity}/{entry_id}/{correction}", response_class=HTMLResponse)
async def patient_correct_entry(
    request: Request,
    patient_id: int,
    entity: str,
    entry_id: int,
    correction: str,
    actor: Actor = Depends(Access("patient_clinical", "write")),
) -> Response:
    """Correct an entry (edit, stop, change the dose, entered in error) with a reason; the history keeps it."""
    if (entity, correction) not in _CORRECTIONS:
        from ketacare.services.errors import NotFound

        raise NotFound("correction")
    schema, service, keys = _CORRECTIONS[(entity, correction)]
    values = await form_data(request)
    fields = _blank_to_none(values, [*keys, "reason", "version"])
    try:
        service(
            db=request.app.state.db,
            actor=actor,
            patient_id=patient_id,
            entry_id=entry_id,
            data=schema(**fields),
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        ctx = _chart_context(request, actor, patient_id)
        ctx.update(errors=errors, values=values, form=f"{entity}-{entry_id}-{correction}")
        return render(request, "patient_chart.html", ctx, status)
    return RedirectResponse(f"/patients/{patient_id}#{entity}", status_code=303)


@router.post("/patients/{patient_id}/care-team", response_class=HTMLResponse)
async def patient_care_team(
    request: Request, patient_id: int, actor: Actor = Depends(Access("care_team", "manage"))
) -> Response:
    """Save a patient's care team from the chart's care-team form."""
    values = await form_data(request, multi=("nurse_ids",))
    try:
        data = CareTeamUpdate(
            prescriber_id=values.get("prescriber_id") or None,
            therapist_id=values.get("therapist_id") or None,
            nurse_ids=[n for n in values.get("nurse_ids", []) if n],
        )
        care_team.set_care_team(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        ctx = _chart_context(request, actor, patient_id)
        ctx.update(errors=errors, values=values, form="care-team")
        return render(request, "patient_chart.html", ctx, status)
    return RedirectResponse(f"/patients/{patient_id}#care-team", status_code=303)


@router.get("/me", response_class=HTMLResponse)
def my_record(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse(safe_next(None, actor), status_code=303)
    ctx = _chart_context(request, actor, actor.patient_id)
    ctx.update(can_edit=False, can_write=False, plain_status=PLAIN_STATUS, corrections={}, team=None)
    ctx["discharge_sheets"] = plans.patient_sheets(db=request.app.state.db, actor=actor, patient_id=actor.patient_id)
    ctx["appts"] = scheduling.my_appointments(db=request.app.state.db, actor=actor, patient_id=actor.patient_id)
    ctx["due"] = len(measurement.my_due(db=request.app.state.db, actor=actor))
    return render(request, "me.html", ctx)


# Diagnosis statuses in a patient's words (the portal shows no codes).
PLAIN_STATUS = {
    "active": "Being treated now",
    "in_remission": "Better now (in remission)",
    "resolved": "Over",
    "history_of": "In the past",
}
