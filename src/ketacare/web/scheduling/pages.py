"""Calendar pages: the front desk's week and day (chairs x time; a list on a phone), a chair's day for the nurse,
"my day" for each clinician, the booking forms (one appointment, a template's induction series) with each refusal
beside its field, and status actions (cancel, no-show, start the session)."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain import formatting as fmt
from ketacare.domain import scheduling as core
from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.plans import plan_templates
from ketacare.http.access import Access
from ketacare.services import clock, patients
from ketacare.services.access import Actor, may
from ketacare.services.scheduling import booking, calendar, requests, setup
from ketacare.services.scheduling.schemas import (
    AppointmentCreate,
    RequestDecline,
    RequestRead,
    Reschedule,
    SeriesCreate,
    StatusChange,
)
from ketacare.web.rendering import FORM_REFUSALS, clinic_zone, form_data, local_field, refusal, render
from ketacare.web.scheduling.views import by_day, cards, day_bounds, day_grid, local_days, week_of, week_rows

router = APIRouter(include_in_schema=False)
Read = Access("appointments", "read")
Write = Access("appointments", "write")
StartSession = Access("infusion_session", "schedule")
Handle = Access("appointment_requests", "handle")

LABELS = {
    "patient": "Patient",
    "type_id": "Appointment type",
    "starts_at": "Start",
    "chair_id": "Chair",
    "room_id": "Room",
    "staff_id": "Attending",
    "dose_order_id": "Dose order",
    "plan_template_id": "What to book",
    "plan_id": "Treatment plan",
    "first_day": "First day",
    "start_time": "Start time",
    "patient_id": "Patient",
}


def _day(request: Request, text: str | None) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return clock.now().astimezone(clinic_zone(request)).date()


@router.get("/schedule", response_class=HTMLResponse)
def week(
    request: Request, day: str | None = None, view: str = "week", actor: Actor = Depends(Read)
) -> Response:
    """The clinic calendar: a week (chairs x days) or a day (chairs x time slots), with a list for phones."""
    db, tz = request.app.state.db, clinic_zone(request)
    d = _day(request, day)
    days = [d] if view == "day" else week_of(d)
    start, _ = day_bounds(days[0], tz)
    _, end = day_bounds(days[-1], tz)
    res = calendar.calendar_view(db=db, actor=actor, start=start, end=end)
    items = res.appointments
    ctx: dict[str, Any] = {
        "view": "day" if view == "day" else "week",
        "d": d,
        "days": days,
        "items": items,
        "res": res,
        "prev": (d - timedelta(days=1 if view == "day" else 7)).isoformat(),
        "next": (d + timedelta(days=1 if view == "day" else 7)).isoformat(),
        "today": clock.now().astimezone(tz).date(),
    }
    if view == "day":
        ctx["grid"] = day_grid(items, res.chairs, d, tz)
        ctx["others"] = [a for a in items if a.chair_id is None]
    local = local_days(items, tz)
    if view != "day":
        ctx["rows"] = week_rows(items, res.chairs, days, local)
    ctx["by_day"] = by_day(items, days, local)
    ctx["cards"] = cards(items, tz)
    ctx["requests"] = requests.open_requests(db=db, actor=actor) if may(actor, "handle", "appointment_requests") else []
    return render(request, "schedule_calendar.html", ctx)


@router.get("/schedule/chairs/{chair_id}", response_class=HTMLResponse)
def chair_day(
    request: Request, chair_id: int, day: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    """One chair's day for the nurse, with the session to start from each infusion appointment."""
    db, tz = request.app.state.db, clinic_zone(request)
    d = _day(request, day)
    res = setup.resources(db=db, actor=actor)
    chair = next((c for c in res.chairs if c.id == chair_id), None)
    if chair is None:
        from ketacare.services.errors import NotFound

        raise NotFound("chair")
    start, end = day_bounds(d, tz)
    items = calendar.appointments_between(db=db, actor=actor, start=start, end=end, chair_id=chair_id)
    return render(
        request,
        "schedule_list.html",
        {
            "title": f"{chair.label} · {d.isoformat()}",
            "d": d,
            "items": items,
            "res": res,
            "chair": chair,
            "prev": (d - timedelta(days=1)).isoformat(),
            "next": (d + timedelta(days=1)).isoformat(),
            "base": f"/schedule/chairs/{chair_id}",
        },
    )


@router.get("/schedule/mine", response_class=HTMLResponse)
def my_day(request: Request, day: str | None = None, actor: Actor = Depends(Read)) -> Response:
    """The signed-in clinician's appointments of the day."""
    db, tz = request.app.state.db, clinic_zone(request)
    d = _day(request, day)
    start, end = day_bounds(d, tz)
    items = calendar.appointments_between(db=db, actor=actor, start=start, end=end, staff_id=actor.user_id)
    return render(
        request,
        "schedule_list.html",
        {
            "title": f"My day · {d.isoformat()}",
            "d": d,
            "items": items,
            "res": None,
            "chair": None,
            "prev": (d - timedelta(days=1)).isoformat(),
            "next": (d + timedelta(days=1)).isoformat(),
            "base": "/schedule/mine",
        },
    )


def _form(
    request: Request,
    actor: Actor,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    status: int = 200,
    which: str = "one",
) -> Response:
    res = setup.resources(db=request.app.state.db, actor=actor)
    templates = [(t.id, t.name) for t in plan_templates().values()]
    return render(
        request,
        "schedule_book.html",
        {
            "res": res,
            "values": values,
            "errors": errors or {},
            "which": which,
            "templates": templates,
            "labels": LABELS,
        },
        status,
    )


@router.get("/schedule/book", response_class=HTMLResponse)
def book_form(request: Request, patient: str = "", day: str = "", actor: Actor = Depends(Write)) -> Response:
    values = {
        "patient": patient,
        "starts_at": f"{day} 09:00" if day else "",
        "first_day": day,
        "start_time": "09:00",
    }
    return _form(request, actor, values)


def _patient_id(request: Request, actor: Actor, text: str) -> int:
    q = (text or "").strip()
    if not q:
        raise InvalidValue("patient", "enter the patient's MRN")
    found = patients.search_patients(db=request.app.state.db, actor=actor, q=q, per_page=2)
    if found.total != 1:
        raise InvalidValue("patient", f"no single patient matches {q!r}: enter the MRN")
    return int(found.items[0].id)


def _id(values: dict[str, Any], key: str) -> int | None:
    raw = (values.get(key) or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidValue(key, "choose from the list")
    return int(raw)


@router.post("/schedule/book", response_class=HTMLResponse)
async def book(request: Request, actor: Actor = Depends(Write)) -> Response:
    values = await form_data(request)
    try:
        errors: dict[str, str] = {}
        pid = None
        try:
            pid = _patient_id(request, actor, values.get("patient", ""))
        except InvalidValue as e:
            errors[e.field] = e.message
        starts = None
        try:
            starts = local_field(request, values, "starts_at")
            if starts is None:
                errors["starts_at"] = "enter the date and time"
        except InvalidValue as e:
            errors[e.field] = e.message
        if errors or pid is None or starts is None:
            raise InvalidValues(errors)
        a = booking.book(
            db=request.app.state.db,
            actor=actor,
            data=AppointmentCreate(
                patient_id=pid,
                type_id=values.get("type_id", ""),
                starts_at=starts,
                chair_id=_id(values, "chair_id"),
                room_id=_id(values, "room_id"),
                staff_id=_id(values, "staff_id"),
                dose_order_id=_id(values, "dose_order_id"),
            ),
        )
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        return _form(request, actor, values, errs, status)
    day = a.starts_at.astimezone(clinic_zone(request)).date().isoformat()
    return RedirectResponse(f"/schedule?day={day}&booked={a.id}", status_code=303)


@router.post("/schedule/series", response_class=HTMLResponse)
async def book_series(request: Request, actor: Actor = Depends(Write)) -> Response:
    values = await form_data(request)
    try:
        errors: dict[str, str] = {}
        pid = None
        try:
            pid = _patient_id(request, actor, values.get("patient", ""))
        except InvalidValue as e:
            errors[e.field] = e.message
        first: date | None = None
        at: time | None = None
        try:
            first = date.fromisoformat((values.get("first_day") or "").strip())
        except ValueError:
            errors["first_day"] = "enter the first day, e.g. 2026-12-07"
        try:
            at = time.fromisoformat((values.get("start_time") or "").strip())
        except ValueError:
            errors["start_time"] = "enter the time, 24-hour, e.g. 09:00"
        if errors or pid is None or first is None or at is None:
            raise InvalidValues(errors)
        chair_id, staff_id = _id(values, "chair_id"), _id(values, "staff_id")
        missing = {
            k: m
            for k, m, v in (
                ("chair_id", "choose a treatment chair", chair_id),
                ("staff_id", "choose the nurse who attends", staff_id),
            )
            if v is None
        }
        if missing:
            raise InvalidValues(missing)
        series = booking.book_series(
            db=request.app.state.db,
            actor=actor,
            data=SeriesCreate(
                patient_id=pid,
                plan_template_id=(values.get("plan_template_id") or "").strip() or None,
                plan_id=_id(values, "plan_id"),
                first_day=first,
                start_time=at,
                chair_id=chair_id,
                staff_id=staff_id,
                dose_order_id=_id(values, "dose_order_id"),
            ),
        )
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        return _form(request, actor, values, errs, status, which="series")
    return RedirectResponse(f"/schedule?day={first.isoformat()}&series={series.series_id}", status_code=303)


def _request_of(request: Request, actor: Actor, values: dict[str, Any]) -> RequestRead | None:
    """Return the patient's request a form answers (its id in the query or the form), if any."""
    raw = str(values.get("request_id") or request.query_params.get("request") or "").strip()
    if not raw.isdigit() or not may(actor, "handle", "appointment_requests"):
        return None
    return requests.request(db=request.app.state.db, actor=actor, request_id=int(raw))


def _status_page(request: Request, actor: Actor, appointment_id: int, kind: str | None, values: dict[str, Any],
                 errors: dict[str, str], back: str, status: int = 200) -> Response:  # fmt: skip
    db = request.app.state.db
    a = calendar.appointment(db=db, actor=actor, appointment_id=appointment_id)
    asked = _request_of(request, actor, values)
    if asked is not None and asked.appointment_id != a.id:  # a request about another appointment: not shown here
        asked = None
    ctx = {"a": a, "kind": kind, "values": values, "errors": errors, "back": back,
           "res": setup.resources(db=db, actor=actor), "asked": asked}  # fmt: skip
    return render(request, "schedule_status.html", ctx, status)


def _request_id(values: dict[str, Any]) -> int | None:
    raw = str(values.get("request_id") or "").strip()
    return int(raw) if raw.isdigit() else None


async def _status(request: Request, actor: Actor, appointment_id: int, kind: str) -> Response:
    values = await form_data(request)
    back = values.get("back") or "/schedule"
    if not back.startswith("/schedule"):
        back = "/schedule"
    fn = booking.cancel if kind == "cancel" else booking.no_show
    try:  # a form without its version is refused like any bad input (422), not a server error
        if len((values.get("reason") or "").strip()) < 3:
            raise InvalidValue("reason", "say why, in a few words")
        version = str(values.get("version") or "").strip()
        data = StatusChange(version=int(version) if version.isdigit() else 0, reason=values.get("reason") or "---",
                            request_id=_request_id(values) if kind == "cancel" else None)
        fn(db=request.app.state.db, actor=actor, appointment_id=appointment_id, data=data)
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        return _status_page(request, actor, appointment_id, kind, values, errs, back, status)
    return RedirectResponse(back, status_code=303)


@router.get("/schedule/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(request: Request, appointment_id: int, actor: Actor = Depends(Read)) -> Response:
    """One appointment, with cancel and no-show forms (reason required)."""
    a = calendar.appointment(db=request.app.state.db, actor=actor, appointment_id=appointment_id)
    tz = clinic_zone(request)
    values: dict[str, Any] = {"starts_at": fmt.local_input(a.starts_at, tz), "chair_id": a.chair_id or ""}
    asked = _request_of(request, actor, {})
    if asked is not None and asked.appointment_id == a.id and asked.status == "pending":
        values["request_id"] = asked.id
        if asked.kind == "move":  # pre-filled from what suits the patient; the front desk checks and moves
            today = clock.now().astimezone(tz).date()
            start = core.suggest_start(a.starts_at.astimezone(tz), today, asked.preferred_days, asked.preferred_times)
            values["starts_at"] = fmt.local_input(start, tz)
        else:
            values["reason"] = f"Patient asked to cancel: {asked.reason}"[:500]
    back = request.query_params.get("back", "/schedule")
    return _status_page(request, actor, appointment_id, None, values, {}, back)


@router.post("/schedule/appointments/{appointment_id}/reschedule", response_class=HTMLResponse)
async def reschedule(request: Request, appointment_id: int, actor: Actor = Depends(Write)) -> Response:
    """Move a booked appointment (new local start, and chair for an infusion), checked like a new booking."""
    values = await form_data(request)
    back = values.get("back") or "/schedule"
    back = back if back.startswith("/schedule") else "/schedule"
    try:
        starts = local_field(request, values, "starts_at")
        if starts is None:
            raise InvalidValue("starts_at", "enter the new date and time")
        version = (values.get("version") or "").strip()
        moved = booking.reschedule(db=request.app.state.db, actor=actor, appointment_id=appointment_id,
                                   data=Reschedule(version=int(version) if version.isdigit() else 0,
                                                   starts_at=starts, chair_id=_id(values, "chair_id"),
                                                   shift_later=bool(values.get("shift_later")),
                                                   request_id=_request_id(values)))
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        return _status_page(request, actor, appointment_id, "reschedule", values, errs, back, status)
    day = moved.starts_at.astimezone(clinic_zone(request)).date().isoformat()
    return RedirectResponse(f"/schedule?day={day}&moved={moved.id}", status_code=303)


@router.post("/schedule/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
async def cancel(request: Request, appointment_id: int, actor: Actor = Depends(Write)) -> Response:
    return await _status(request, actor, appointment_id, "cancel")


@router.post("/schedule/appointments/{appointment_id}/no-show", response_class=HTMLResponse)
async def no_show(request: Request, appointment_id: int, actor: Actor = Depends(Write)) -> Response:
    return await _status(request, actor, appointment_id, "no_show")


@router.post("/schedule/appointments/{appointment_id}/session", response_class=HTMLResponse)
async def start_session(
    request: Request, appointment_id: int, actor: Actor = Depends(StartSession)
) -> Response:
    """Book the infusion session from the appointment's dose order and open it."""
    a = booking.start_session(db=request.app.state.db, actor=actor, appointment_id=appointment_id)
    return RedirectResponse(f"/sessions/{a.session_id}", status_code=303)


@router.post("/schedule/requests/{request_id}/decline", response_class=HTMLResponse)
async def decline_request(request: Request, request_id: int, actor: Actor = Depends(Handle)) -> Response:
    """Decline a patient's request with the reason the patient reads; the appointment stays as it is."""
    values = await form_data(request)
    asked = requests.request(db=request.app.state.db, actor=actor, request_id=request_id)
    try:
        version = (values.get("request_version") or "").strip()
        requests.decline(db=request.app.state.db, actor=actor, request_id=request_id,
                         data=RequestDecline(version=int(version) if version.isdigit() else 0,
                                             reason=values.get("answer") or ""))
    except FORM_REFUSALS as e:
        errs, status = refusal(e)
        errs = {"answer" if k == "reason" else k: v for k, v in errs.items()}
        return render(request, "schedule_request.html", {"asked": asked, "values": values, "errors": errs}, status)
    return RedirectResponse(f"/schedule?declined={request_id}#requests", status_code=303)


@router.get("/schedule/requests/{request_id}", response_class=HTMLResponse)
def request_page(request: Request, request_id: int, actor: Actor = Depends(Handle)) -> Response:
    """A patient's request: what they asked, a link to accept it on the appointment, and the decline form."""
    asked = requests.request(db=request.app.state.db, actor=actor, request_id=request_id)
    return render(request, "schedule_request.html", {"asked": asked, "values": {}, "errors": {}})
