"""Treatment plan pages: the plan and the course against it (`/patients/{id}/plan`), a plan from a template, a new
signed version, stop, titration proposal with accept / edit / reject."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.dosing import load_protocol
from ketacare.domain.errors import InvalidValue
from ketacare.domain.measurement import load_instrument
from ketacare.domain.plans import plan_templates
from ketacare.http.access import Access
from ketacare.services import patients, scheduling, therapy
from ketacare.services.access import Actor, decide, signing
from ketacare.services.plans import plans, progress, proposals, rapid_response_for_patient
from ketacare.services.plans.schemas import Goal, PlanChange, PlanCreate, PlanStop, ProposalDecision
from ketacare.web.plans.chart import course_svg
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)

INDICATIONS = [
    ("gad", "Generalised anxiety disorder"),
    ("social-anxiety", "Social anxiety disorder"),
    ("panic", "Panic disorder"),
    ("ptsd", "PTSD"),
]
PRIMARY = ["gad7", "mini_spin", "pdss_sr", "pcl5", "oasis", "hama"]
STOP_KINDS = [
    ("no-response", "No response"),
    ("intolerable", "Intolerable effects"),
    ("patient-choice", "The patient's choice"),
]
KIND_WORDS = {
    "escalate": "Raise the dose",
    "hold": "Keep the dose",
    "reduce": "Lower the dose",
    "stop": "Stop the course",
    "review": "Review the course",
}


def _instrument_options() -> list[tuple[str, str]]:
    return [(i, load_instrument(i).short_name) for i in PRIMARY]


def _blank(v: Any) -> Any:
    return None if v is None or (isinstance(v, str) and not v.strip()) else v


def _creds(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"password": _blank(values.get("password")), "totp_code": _blank(values.get("totp_code"))}


def _page(
    request: Request,
    actor: Actor,
    patient_id: int,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, Any] | None = None,
    form: str | None = None,
    status: int = 200,
) -> Response:
    db = request.app.state.db
    chart = patients.get_chart(db=db, actor=actor, patient_id=patient_id)
    view = progress.get_course(db=db, actor=actor, patient_id=patient_id)
    pending = next((p for p in view.proposals if p.status == "pending"), None) if view else None
    ctx: dict[str, Any] = {
        "p": chart.patient,
        "view": view,
        "chart_svg": course_svg(view) if view else "",
        "pending": pending,
        "protocol": load_protocol(view.plan.protocol_id) if view else None,
        "errors": dict(errors or {}),
        "values": dict(values or {}),
        "form": form,
        "kind_words": KIND_WORDS,
        "indication_words": dict(INDICATIONS),
        "stop_kinds": STOP_KINDS,
        "instrument_name": lambda i: load_instrument(i).short_name,
        "can_write": decide(actor, "write", "treatment_plan", patient_id=patient_id).allowed,
        "can_propose": decide(actor, "propose", "treatment_plan", patient_id=patient_id).allowed,
        "can_decide": decide(actor, "decide", "treatment_plan", patient_id=patient_id).allowed,
        "can_order": decide(actor, "create", "dose_order", patient_id=patient_id).allowed,
        "credential": signing.credential_field(db=db, actor=actor),
        "rapid_responses": rapid_response_for_patient(db=db, actor=actor, patient_id=patient_id)
        if decide(actor, "read", "scores", patient_id=patient_id).allowed
        else [],
        "therapy_notes": therapy.notes_for_plan(db=db, actor=actor, patient_id=patient_id)
        if decide(actor, "read", "therapy", patient_id=patient_id).allowed
        else None,
    }
    ctx.update(_booking(db, actor, patient_id, view))
    return render(request, "plan.html", ctx, status)


def _booking(db: Any, actor: Actor, patient_id: int, view: Any) -> dict[str, Any]:
    """The plan's booked sessions and, for who books, the form that books its first phase in one go."""
    if view is None or not decide(actor, "read", "appointments", patient_id=patient_id).allowed:
        return {"plan_appts": None, "booking": None}
    since = view.plan.created_at - timedelta(days=1)
    booked = scheduling.patient_appointments(db=db, actor=actor, patient_id=patient_id, since=since)
    can_book = view.plan.status != "stopped" and decide(actor, "write", "appointments", patient_id=patient_id).allowed
    return {
        "plan_appts": [a for a in booked if a.plan_id == view.plan.id],
        "booking": scheduling.resources(db=db, actor=actor) if can_book else None,
    }


@router.get("/patients/{patient_id}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request, patient_id: int, actor: Actor = Depends(Access("treatment_plan", "read"))
) -> Response:
    return _page(request, actor, patient_id)


def _new_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    status: int = 200,
) -> Response:
    chart = patients.get_chart(db=request.app.state.db, actor=actor, patient_id=patient_id)
    templates = list(plan_templates().values())
    ctx = {
        "p": chart.patient,
        "templates": templates,
        "template_options": [(t.id, t.name) for t in templates],
        "indication_options": INDICATIONS,
        "instrument_options": [("", "The template's")] + _instrument_options(),
        "goal_options": [("", "No goal")] + _instrument_options(),
        "values": dict(values),
        "errors": dict(errors),
        "credential": signing.credential_field(db=request.app.state.db, actor=actor),
    }
    return render(request, "plan_new.html", ctx, status)


@router.get("/patients/{patient_id}/plan/new", response_class=HTMLResponse)
def new_plan_page(
    request: Request, patient_id: int, actor: Actor = Depends(Access("treatment_plan", "write"))
) -> Response:
    return _new_page(request, actor, patient_id, {"template_id": "iv-induction", "indication": "gad"}, {})


def _goals(values: Mapping[str, Any]) -> list[Goal]:
    inst, target = _blank(values.get("goal_instrument")), _blank(values.get("goal_target"))
    if inst is None and target is None:
        return []
    if inst is None:
        raise InvalidValue("goal_instrument", "choose the instrument of the goal")
    if target is None:
        raise InvalidValue("goal_target", "enter the target score (at or below it)")
    try:
        score = float(str(target))
    except ValueError:
        raise InvalidValue("goal_target", "enter the target score as a number, e.g. 7") from None
    if score < 0:
        raise InvalidValue("goal_target", "a target score is 0 or more")
    week = _blank(values.get("goal_week"))
    return [Goal(instrument_id=str(inst), target_score=score, by_week=float(week) if week else None)]


@router.post("/patients/{patient_id}/plan/new", response_class=HTMLResponse)
async def new_plan(
    request: Request, patient_id: int, actor: Actor = Depends(Access("treatment_plan", "write"))
) -> Response:
    values = await form_data(request)
    try:
        data = PlanCreate(
            template_id=values.get("template_id") or "",
            indication=values.get("indication") or "",
            primary_instrument=_blank(values.get("primary_instrument")),
            dose_mg_per_kg=_blank(values.get("dose_mg_per_kg")),
            goals=_goals(values),
            reason=_blank(values.get("reason")) or "Plan from the template",
            **_creds(values),
        )
        plans.create_plan(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        values.pop("password", None)
        return _new_page(request, actor, patient_id, values, _goal_fields(errors), status)
    return RedirectResponse(f"/patients/{patient_id}/plan", status_code=303)


def _goal_fields(errors: dict[str, str]) -> dict[str, str]:
    """Show an error about the goals list beside the goal's target field."""
    out = dict(errors)
    for key in [k for k in out if k.startswith("goals")]:
        out["goal_target"] = out.pop(key)
    return out


@router.post("/patients/{patient_id}/plan/{plan_id}/propose", response_class=HTMLResponse)
async def propose(
    request: Request,
    patient_id: int,
    plan_id: int,
    actor: Actor = Depends(Access("treatment_plan", "propose")),
) -> Response:
    await form_data(request)
    try:
        proposals.propose(db=request.app.state.db, actor=actor, patient_id=patient_id, plan_id=plan_id)
    except InvalidValue as e:
        return _page(request, actor, patient_id, errors={"propose": e.message}, form="propose", status=422)
    return RedirectResponse(f"/patients/{patient_id}/plan#proposal", status_code=303)


@router.post("/patients/{patient_id}/plan/proposals/{proposal_id}/decision", response_class=HTMLResponse)
async def decide_proposal(
    request: Request,
    patient_id: int,
    proposal_id: int,
    actor: Actor = Depends(Access("treatment_plan", "decide")),
) -> Response:
    values = await form_data(request)
    try:
        data = ProposalDecision(
            version=values.get("version") or 0,
            decision=values.get("decision") or "",
            dose_mg_per_kg=_blank(values.get("dose_mg_per_kg")),
            interval_days=_blank(values.get("interval_days")),
            reason=_blank(values.get("reason")),
            **_creds(values),
        )
        proposals.decide(
            db=request.app.state.db, actor=actor, patient_id=patient_id, proposal_id=proposal_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        values.pop("password", None)
        return _page(request, actor, patient_id, errors=errors, values=values, form="decision", status=status)
    return RedirectResponse(f"/patients/{patient_id}/plan#proposal", status_code=303)


@router.post("/patients/{patient_id}/plan/{plan_id}/change", response_class=HTMLResponse)
async def change(
    request: Request, patient_id: int, plan_id: int, actor: Actor = Depends(Access("treatment_plan", "write"))
) -> Response:
    values = await form_data(request)
    try:
        phases = []
        for key, text in values.items():
            if key.startswith("sessions__") and _blank(text) is not None:
                phases.append({"id": key.removeprefix("sessions__"), "sessions": text})
        data = PlanChange(
            version=values.get("version") or 0,
            reason=values.get("reason") or "",
            dose_mg_per_kg=_blank(values.get("dose_mg_per_kg")),
            status=_blank(values.get("status")),
            phases=phases or None,
            goals=_goals(values)
            if _blank(values.get("goal_instrument")) or _blank(values.get("goal_target"))
            else None,
            **_creds(values),
        )
        plans.change_plan(
            db=request.app.state.db, actor=actor, patient_id=patient_id, plan_id=plan_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        values.pop("password", None)
        return _page(
            request,
            actor,
            patient_id,
            errors=_goal_fields(errors),
            values=values,
            form="change",
            status=status,
        )
    return RedirectResponse(f"/patients/{patient_id}/plan#versions", status_code=303)


@router.post("/patients/{patient_id}/plan/{plan_id}/stop", response_class=HTMLResponse)
async def stop(
    request: Request, patient_id: int, plan_id: int, actor: Actor = Depends(Access("treatment_plan", "write"))
) -> Response:
    values = await form_data(request)
    try:
        data = PlanStop(
            version=values.get("version") or 0,
            stop_kind=values.get("stop_kind") or "",
            reason=values.get("reason") or "",
            **_creds(values),
        )
        plans.stop_plan(
            db=request.app.state.db, actor=actor, patient_id=patient_id, plan_id=plan_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        values.pop("password", None)
        return _page(request, actor, patient_id, errors=errors, values=values, form="stop", status=status)
    return RedirectResponse(f"/patients/{patient_id}/plan", status_code=303)
