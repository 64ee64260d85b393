"""Booking a session from the dose order: the patient's booking form (order, chair, planned time) and, from the
sessions page, finding the patient to book for."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidValues
from ketacare.http.access import Access
from ketacare.services import patients
from ketacare.services.access import Actor, may
from ketacare.services.sessions import from_order
from ketacare.services.sessions.schemas import ScheduleFromOrder
from ketacare.web.rendering import FORM_REFUSALS, form_data, local_field, refusal, render

router = APIRouter(include_in_schema=False)
Schedule = Access("infusion_session", "schedule")


def _form(
    request: Request,
    actor: Actor,
    patient_id: int,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    options = from_order.booking_options(db=request.app.state.db, actor=actor, patient_id=patient_id)
    return render(
        request,
        "session_book.html",
        {"o": options, "values": values, "errors": errors or {}},
        status,
    )


@router.get("/patients/{patient_id}/sessions/new", response_class=HTMLResponse)
def book_form(
    request: Request, patient_id: int, order: int | None = None, actor: Actor = Depends(Schedule)
) -> Response:
    return _form(request, actor, patient_id, {"dose_order_id": "" if order is None else str(order)})


@router.post("/patients/{patient_id}/sessions/new", response_class=HTMLResponse)
async def book(request: Request, patient_id: int, actor: Actor = Depends(Schedule)) -> Response:
    values = await form_data(request)
    try:
        missing = {
            k: msg
            for k, msg in (
                ("dose_order_id", "choose the dose order the session is for"),
                ("chair", "name the chair, e.g. Chair 3"),
                ("scheduled_at", "enter the planned date and time"),
            )
            if not (values.get(k) or "").strip()
        }
        if missing:
            raise InvalidValues(missing)
        data = ScheduleFromOrder(
            patient_id=patient_id,
            dose_order_id=values.get("dose_order_id") or None,
            chair=values.get("chair", ""),
            scheduled_at=local_field(request, values, "scheduled_at"),
        )
        booked = from_order.schedule_from_order(db=request.app.state.db, actor=actor, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _form(request, actor, patient_id, values, errors, status)
    if may(actor, "read", "infusion_session"):
        return RedirectResponse(f"/sessions/{booked.id}", status_code=303)
    return RedirectResponse(f"/sessions?booked={booked.id}", status_code=303)


@router.get("/sessions/schedule", response_class=HTMLResponse)
def find_patient(request: Request, q: str = "", actor: Actor = Depends(Schedule)) -> Response:
    """Find the patient to book for (name prefix, MRN or date of birth); one match goes straight to the form."""
    found = None
    if q.strip():
        found = patients.search_patients(db=request.app.state.db, actor=actor, q=q.strip(), per_page=25)
        if found.total == 1:
            return RedirectResponse(f"/patients/{found.items[0].id}/sessions/new", status_code=303)
    return render(request, "session_find.html", {"q": q, "found": found})
