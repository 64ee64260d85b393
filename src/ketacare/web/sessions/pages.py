"""Session pages: the list, the session record (vitals form beside the chart, pump events, checks, transitions
with overrides, alerts, side effects, signing and addenda)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.side_effects import side_effect_types
from ketacare.http.access import Access
from ketacare.services import plans
from ketacare.services.access import Actor, decide, signing
from ketacare.services.patients import InErrorReason
from ketacare.services.sessions import (
    alerts,
    from_order,
    pump,
    record,
    side_effects,
    vital_corrections,
    vitals,
    workflow,
)
from ketacare.services.sessions.schemas import (
    AddendumCreate,
    AlertAck,
    InfusionEventCreate,
    InfusionStep,
    OverrideIn,
    SessionChecks,
    SessionDetail,
    SideEffectCreate,
    SignRequest,
    TransitionRequest,
    VitalIn,
)
from ketacare.web.rendering import (
    FORM_REFUSALS,
    clinic_zone,
    form_data,
    local_field,
    refusal,
    render,
)
from ketacare.web.sessions.live import live_context

router = APIRouter(include_in_schema=False)
# What a session form does with the submitted fields: store them, or raise a refusal; a text is a notice to show.
# A form's work: None (done), a notice to show, or where to go next.
FormAction = Callable[[dict[str, Any]], str | RedirectResponse | None]
Read = Access("infusion_session", "read")
Chart = Access("infusion_session", "chart")
# The workflow events that are also pump events (entered once: both are recorded), by the pump event's name.
STEP_KINDS = {"start_infusion": "start", "pause": "pause", "resume": "resume", "end_infusion": "stop"}
# What the pump service calls a field -> the pump form's field beside which its error shows.
PUMP_FIELDS = {"rate": "rate_ml_per_h", "rate_mg_per_min": "rate_ml_per_h", "bolus": "bolus_mg", "at": "kind",
               "bolus_ml": "bolus_mg", "event": "kind", "session": "kind"}
# The yes/no confirmations of the checks form: every boolean field of the service's SessionChecks.
BOOLS = frozenset(k for k, f in SessionChecks.model_fields.items() if f.annotation == bool | None)


@router.get("/sessions", response_class=HTMLResponse)
def session_list(request: Request, actor: Actor = Depends(Access("infusion_session", "list"))) -> Response:
    rows = workflow.list_sessions(db=request.app.state.db, actor=actor)
    return render(request, "sessions_list.html", {"rows": rows})


def _page(
    request: Request,
    actor: Actor,
    session_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form: str | None = None,
    status: int = 200,
    notice: str | None = None,
    template: str = "session.html",
) -> Response:
    s = record.get_session(db=request.app.state.db, actor=actor, session_id=session_id)
    ctx: dict[str, Any] = {
        "s": s,
        **live_context(request, s),
        "errors": errors or {},
        "values": values or {},
        "form": form,
        "notice": notice,
        "check_values": _check_values(s, clinic_zone(request)),
        "side_effect_types": side_effect_types(),
        "can_sign": decide(actor, "sign", "infusion_session").allowed,
        "credential": signing.credential_field(db=request.app.state.db, actor=actor),
        "can_chart": decide(actor, "chart", "infusion_session").allowed,
        **_followup_context(request, actor, s),
    }
    from ketacare.web.sessions.formulary import session_form_context  # its module imports this one

    ctx.update(session_form_context(request, actor, s))
    return render(request, template, ctx, status)


def _followup_context(request: Request, actor: Actor, s: SessionDetail) -> dict[str, Any]:
    """Return the discharge instructions with their acknowledgements and the session's rapid response (issue
    16), each only for an actor the policy lets read it."""
    db = request.app.state.db
    out: dict[str, Any] = {"discharge_sheet": None, "rapid": None}
    if s.infusion_started_at is None:
        return out
    if decide(actor, "read", "discharge_sheet", patient_id=s.patient_id).allowed:
        out["discharge_sheet"] = plans.discharge_sheet(db=db, actor=actor, session_id=s.id)
    if decide(actor, "read", "scores", patient_id=s.patient_id).allowed:
        out["rapid"] = plans.rapid_response_for_session(db=db, actor=actor, session_id=s.id)
    return out


def _check_values(s: SessionDetail, tz: tzinfo) -> dict[str, str]:
    """Return what the checks form shows as saved: the stored times in the clinic's zone (as they are typed)."""
    out: dict[str, str] = {}
    for key in ("last_food_at", "last_liquid_at"):
        at: datetime | None = getattr(s, key)
        if at is not None:
            out[key] = fmt.local_input(at, tz)
    for key in ("aldrete_score", "lot_number", "could_have_left_min"):
        if getattr(s, key) is not None:
            out[key] = f"{getattr(s, key):g}" if isinstance(getattr(s, key), float) else str(getattr(s, key))
    return out


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def session_page(request: Request, session_id: int, actor: Actor = Depends(Read)) -> Response:
    return _page(request, actor, session_id)


@router.get("/sessions/{session_id}/alarms", response_class=HTMLResponse)
def session_alarms(request: Request, session_id: int, actor: Actor = Depends(Read)) -> Response:
    """The session's alarm list alone (the live page receives it over `/sessions/{id}/events`)."""
    return _page(request, actor, session_id, template="_alarms.html")


def _done(session_id: int, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/sessions/{session_id}{anchor}", status_code=303)


def _num(values: dict[str, str], key: str) -> float | None:
    raw = (values.get(key) or "").strip()
    if not raw:
        return None
    try:
        return float(raw.split()[0])
    except ValueError:
        raise InvalidValue(key, "enter a number") from None


async def _handle(
    request: Request,
    actor: Actor,
    session_id: int,
    form: str,
    fn: FormAction,
    fields: dict[str, str] | None = None,
) -> Response:
    """Run a session form: on a refusal show each error beside its field (`fields` renames what the service calls a
    field to the form's own field) with the summary at the top, keep what was typed; nothing is stored."""
    values = await form_data(request)
    try:
        result = fn(values)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        errors = {(fields or {}).get(k, k): v for k, v in errors.items()}
        return _page(request, actor, session_id, errors=errors, values=values, form=form, status=status)
    if isinstance(result, str):
        return _page(request, actor, session_id, values={}, form=form, notice=result)
    if isinstance(result, RedirectResponse):
        return result
    if form.startswith("vital-"):
        return _done(session_id, "#charts")
    return _done(session_id, "#alerts" if form.startswith("alert-") else f"#{form}")


@router.post("/sessions/{session_id}/vitals", response_class=HTMLResponse)
async def post_vitals(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        bp = (v.get("bp") or "").replace(" ", "")
        sbp = dbp = None
        if bp:
            if "/" not in bp:
                raise InvalidValue("bp", "blood pressure as systolic/diastolic, e.g. 128/82")
            a, b = bp.split("/", 1)
            try:
                sbp, dbp = float(a), float(b.removesuffix("mmHg"))
            except ValueError:
                raise InvalidValue("bp", "blood pressure as systolic/diastolic, e.g. 128/82") from None
        data = VitalIn(
            sbp=sbp,
            dbp=dbp,
            hr=_num(v, "hr"),
            spo2=_num(v, "spo2"),
            rr=_num(v, "rr"),
            temp_c=_num(v, "temp_c"),
            on_oxygen=(
                {"room_air": False, "oxygen": True}.get(v.get("oxygen") or "")
                if _num(v, "spo2") is not None
                else None
            ),
        )
        vitals.record_session_reading(db=request.app.state.db, actor=actor, session_id=session_id, data=data)

    return await _handle(request, actor, session_id, "vitals", run)


@router.post("/sessions/{session_id}/vitals-in-error", response_class=HTMLResponse)
async def post_vital_in_error(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    """Set a reading aside as entered in error, with a reason (kept, listed under the readings)."""

    def run(v: dict[str, Any]) -> None:
        raw = (v.get("vital_id") or "").strip()
        if not raw.isdigit():
            raise InvalidValue("vital_id", "choose the reading entered in error")
        vital_corrections.mark_vital_entered_in_error(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            vital_id=int(raw),
            data=InErrorReason(reason=v.get("reason") or ""),
        )

    return await _handle(request, actor, session_id, "vital-in-error", run)


@router.post("/sessions/{session_id}/transition", response_class=HTMLResponse)
async def post_transition(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        override = None
        guard_ids = [g for g in (v.get("override_guards") or "").split(",") if g]
        if v.get("override_reason") or guard_ids:
            if not (v.get("override_reason") or "").strip():
                raise InvalidValue("override_reason", "an override needs a reason")
            override = OverrideIn(guard_ids=guard_ids, reason=v["override_reason"])
        event = v.get("event", "")
        if event in STEP_KINDS:  # also a pump event: recorded once, with the pump's
            r = from_order.infusion_step(
                db=request.app.state.db,
                actor=actor,
                session_id=session_id,
                data=InfusionStep(
                    kind=STEP_KINDS[event],
                    rate_ml_per_h=_num(v, "rate_ml_per_h"),
                    concentration_mg_per_ml=_num(v, "concentration_mg_per_ml"),
                    override=override,
                ),
            )
        else:
            req = TransitionRequest(event=event, reason=v.get("reason") or None, override=override)
            r = workflow.apply_event(db=request.app.state.db, actor=actor, session_id=session_id, data=req)
        if not r.allowed:
            raise InvalidValue("event", "Not done. " + " ".join(g.message for g in r.failed_guards))
        return None

    return await _handle(request, actor, session_id, "workflow", run)


@router.post("/sessions/{session_id}/step", response_class=HTMLResponse)
async def post_step(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    """Start from the order, pause, resume or stop: the workflow event and the pump event, entered once."""

    def run(v: dict[str, Any]) -> None:
        r = from_order.infusion_step(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            data=InfusionStep(
                kind=v.get("kind", ""),
                rate_ml_per_h=_num(v, "rate_ml_per_h"),
                concentration_mg_per_ml=_num(v, "concentration_mg_per_ml"),
            ),
        )
        if not r.allowed:
            raise InvalidValue("kind", "Not done. " + " ".join(g.message for g in r.failed_guards))

    return await _handle(request, actor, session_id, "pump", run, PUMP_FIELDS)


@router.post("/sessions/{session_id}/checks", response_class=HTMLResponse)
async def post_checks(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        data: dict[str, Any] = {"version": v.get("version") or 0}
        for k in BOOLS:
            if f"has_{k}" in v:
                data[k] = v.get(k) == "yes" if v.get(k) in ("yes", "no") else None
        for k in ("last_food_at", "last_liquid_at"):
            if v.get(k):
                data[k] = local_field(request, v, k)  # typed in the clinic's local time
        if v.get("aldrete_score"):
            data["aldrete_score"] = v["aldrete_score"]
        if v.get("lot_number"):
            data["lot_number"] = v["lot_number"]
        if v.get("could_have_left_min"):
            data["could_have_left_min"] = v["could_have_left_min"]
        workflow.update_checks(
            db=request.app.state.db, actor=actor, session_id=session_id, data=SessionChecks(**data)
        )

    return await _handle(request, actor, session_id, "checks", run)


@router.post("/sessions/{session_id}/pump", response_class=HTMLResponse)
async def post_pump(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        kind = v.get("kind", "")
        if kind in ("pause", "resume", "stop"):  # the workflow event goes with it
            r = from_order.infusion_step(
                db=request.app.state.db,
                actor=actor,
                session_id=session_id,
                data=InfusionStep(
                    kind=kind,
                    rate_ml_per_h=_num(v, "rate_ml_per_h"),
                    concentration_mg_per_ml=_num(v, "concentration_mg_per_ml"),
                ),
            )
            if not r.allowed:
                raise InvalidValue("kind", "Not done. " + " ".join(g.message for g in r.failed_guards))
            return
        data = InfusionEventCreate(
            kind=kind,
            rate_ml_per_h=_num(v, "rate_ml_per_h"),
            concentration_mg_per_ml=_num(v, "concentration_mg_per_ml"),
            bolus_mg=_num(v, "bolus_mg"),
        )
        pump.add_infusion_event(db=request.app.state.db, actor=actor, session_id=session_id, data=data)

    return await _handle(request, actor, session_id, "pump", run, PUMP_FIELDS)


@router.post("/sessions/{session_id}/side-effects", response_class=HTMLResponse)
async def post_side_effect(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        data = SideEffectCreate(
            type=v.get("type", ""),
            grade=v.get("grade") or 0,
            description=v.get("description", ""),
            onset_at=local_field(request, v, "onset_at"),
        )
        side_effects.add_side_effect(db=request.app.state.db, actor=actor, session_id=session_id, data=data)

    return await _handle(request, actor, session_id, "side-effects", run)


@router.post("/sessions/{session_id}/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
async def post_ack(
    request: Request, session_id: int, alert_id: int, actor: Actor = Depends(Chart)
) -> Response:
    def run(v: dict[str, Any]) -> RedirectResponse | None:
        alerts.acknowledge_alert(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            alert_id=alert_id,
            data=AlertAck(action_taken=v.get("action_taken", "")),
        )
        if v.get("back") == "board":
            return RedirectResponse(f"/board#chair-{session_id}", status_code=303)
        return None

    return await _handle(request, actor, session_id, f"alert-{alert_id}", run)


@router.post("/sessions/{session_id}/sign", response_class=HTMLResponse)
async def post_sign(
    request: Request, session_id: int, actor: Actor = Depends(Access("infusion_session", "sign"))
) -> Response:
    def run(v: dict[str, Any]) -> None:
        record.sign_session(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            data=SignRequest(
                digest=v.get("digest") or None,
                password=v.get("password") or None,
                totp_code=(v.get("totp_code") or "").strip() or None,
            ),
        )

    return await _handle(request, actor, session_id, "record", run)


@router.post("/sessions/{session_id}/addenda", response_class=HTMLResponse)
async def post_addendum(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        record.add_addendum(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            data=AddendumCreate(text=v.get("text", "")),
        )

    return await _handle(request, actor, session_id, "record", run)


@router.post("/sessions/{session_id}/discharge-acknowledgements", response_class=HTMLResponse)
async def post_acknowledgement(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    """The patient or the escort acknowledged the discharge instructions (typed name, the version shown)."""

    def run(v: dict[str, Any]) -> None:
        raw = (v.get("instructions_version") or "").strip()
        plans.acknowledge(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            data=plans.AcknowledgementIn(
                party=v.get("party") or "patient",
                name=v.get("name") or "",
                instructions_version=int(raw) if raw.isdigit() else -1,
            ),
        )

    party = (await form_data(request)).get("party") or "patient"
    return await _handle(request, actor, session_id, f"ack-{party}", run)
