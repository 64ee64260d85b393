"""The portal's appointments (issue 17 point 5): the patient's coming visits in plain words with what to do before
each, the past ones folded away, questionnaires due and progress linked, and a form to ask to move or cancel a
visit. Only the patient's own: a staff account is sent to its home page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain import scheduling as core
from ketacare.domain.errors import InvalidValue
from ketacare.http.access import Access
from ketacare.services import measurement
from ketacare.services.access import Actor, home
from ketacare.services.errors import NotFound
from ketacare.services.scheduling import requests
from ketacare.services.scheduling.schemas import PortalAppointment, RequestCreate
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)
Own = Access("account", "read")  # the portal's pages: the service checks that the appointment is the patient's

DAY_WORDS = [(d, d.capitalize()) for d in core.WEEKDAYS]
PART_WORDS = [("morning", "Morning"), ("afternoon", "Afternoon"), ("evening", "Early evening")]
LABELS = {"kind": "What you would like", "reason": "Why", "preferred_days": "Days that suit you",
          "preferred_times": "Times that suit you"}  # fmt: skip


def portal_context(request: Request, actor: Actor) -> dict[str, Any]:
    """Return the patient's appointments and how many questionnaires wait (the appointments page and the /me card)."""
    db = request.app.state.db
    mine = requests.my_appointments(db=db, actor=actor, patient_id=int(actor.patient_id or 0))
    return {"appts": mine, "due": len(measurement.my_due(db=db, actor=actor))}


@router.get("/me/appointments", response_class=HTMLResponse)
def my_appointments(request: Request, actor: Actor = Depends(Own)) -> Response:
    """The patient's coming appointments with their instructions, and the past ones folded away."""
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse(home(actor), status_code=303)
    return render(request, "me_appointments.html", portal_context(request, actor))


def _own(request: Request, actor: Actor, appointment_id: int) -> PortalAppointment:
    mine = requests.my_appointments(db=request.app.state.db, actor=actor, patient_id=int(actor.patient_id or 0))
    found = next((a for a in mine.upcoming if a.id == appointment_id), None)
    if found is None:
        raise NotFound("appointment")
    return found


def _form(request: Request, a: PortalAppointment, values: dict[str, Any], errors: dict[str, str],
          status: int = 200) -> Response:  # fmt: skip
    ctx = {"a": a, "values": values, "errors": errors, "labels": LABELS, "days": DAY_WORDS, "parts": PART_WORDS}
    return render(request, "me_appointment_request.html", ctx, status)


@router.get("/me/appointments/{appointment_id}/request", response_class=HTMLResponse)
def request_form(request: Request, appointment_id: int, actor: Actor = Depends(Own)) -> Response:
    """Ask to move or cancel one coming appointment."""
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse(home(actor), status_code=303)
    a = _own(request, actor, appointment_id)
    kind = request.query_params.get("kind", "move")
    values = {"kind": kind if kind in ("move", "cancel") else "move", "preferred_days": [], "preferred_times": []}
    return _form(request, a, values, {})


@router.post("/me/appointments/{appointment_id}/request", response_class=HTMLResponse)
async def send_request(request: Request, appointment_id: int, actor: Actor = Depends(Own)) -> Response:
    """Store the request; the page then shows it as requested."""
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse(home(actor), status_code=303)
    values = await form_data(request, multi=("preferred_days", "preferred_times"))
    try:
        kind = values.get("kind", "")
        if kind not in ("move", "cancel"):
            raise InvalidValue("kind", "choose whether to move or cancel the appointment")
        reason = (values.get("reason") or "").strip()
        if len(reason) < 3:
            raise InvalidValue("reason", "tell us why, in a few words")
        days, parts = values["preferred_days"], values["preferred_times"]
        requests.request_change(
            db=request.app.state.db,
            actor=actor,
            appointment_id=appointment_id,
            patient_id=actor.patient_id,
            data=RequestCreate(kind=kind, reason=reason, preferred_days=days if kind == "move" else [],
                               preferred_times=parts if kind == "move" else []),
        )
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        return _form(request, _own(request, actor, appointment_id), values, errs, status)
    return RedirectResponse(f"/me/appointments?requested={appointment_id}#appt-{appointment_id}", status_code=303)
