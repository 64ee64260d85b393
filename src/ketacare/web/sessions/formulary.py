"""Rescue formulary pages (issue #12): prescribers add, change and retire the clinic's rescue medicines; the
session page records a rescue dose from it and marks side effects resolved."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue
from ketacare.domain.sessions.side_effects import dose_units, routes, side_effect_types
from ketacare.http.access import Access
from ketacare.services import clock
from ketacare.services.access import Actor, decide
from ketacare.services.sessions import formulary
from ketacare.services.sessions.formulary import (
    FormularyEntryIn,
    FormularyEntryUpdate,
    FormularyRetire,
    RescueGive,
    SideEffectResolve,
)
from ketacare.services.sessions.schemas import SessionDetail
from ketacare.web.rendering import FORM_REFUSALS, clinic_zone, form_data, local_field, refusal, render
from ketacare.web.sessions.pages import _handle

router = APIRouter(include_in_schema=False)
Read = Access("rescue_formulary", "read")
Configure = Access("rescue_formulary", "configure")
Chart = Access("infusion_session", "chart")
BASE = "/admin/rescue-formulary"
LABELS = {
    "drug": "Drug",
    "route": "Route",
    "indications": "Treats (side effects)",
    "dose_min": "Lowest single dose",
    "dose_max": "Highest single dose",
    "dose_unit": "Dose unit",
    "max_doses_per_session": "Maximum doses per session",
    "max_total_per_session": "Maximum total per session",
    "approved_by": "Approved by",
    "source": "Source",
    "note": "Note",
    "version": "Version",
    "reason": "Reason for retiring",
    "entry": "Entry",
}
NUMBERS = ("dose_min", "dose_max", "max_total_per_session")


def _ctx(actor: Actor) -> dict[str, Any]:
    return {
        "routes": routes(),
        "unit_options": [(u, u) for u in dose_units()],
        "types": side_effect_types(),
        "labels": LABELS,
        "can_configure": decide(actor, "configure", "rescue_formulary").allowed,
    }


def _entry_in(v: dict[str, Any]) -> dict[str, Any]:
    """Turn the form's texts into the entry's fields; a blank optional number is no value."""
    data: dict[str, Any] = {
        k: v.get(k, "") for k in ("drug", "route", "dose_unit", "approved_by", "source", "note")
    }
    data["indications"] = v.get("indications", [])
    for k in (*NUMBERS, "max_doses_per_session"):
        raw = (v.get(k) or "").strip()
        data[k] = raw or None
    return data


@router.get(BASE, response_class=HTMLResponse)
def formulary_page(request: Request, actor: Actor = Depends(Read)) -> Response:
    entries = formulary.list_entries(db=request.app.state.db, actor=actor)
    return render(request, "formulary.html", {**_ctx(actor), "entries": entries, "values": {}, "errors": {}})


@router.post(BASE, response_class=HTMLResponse)
async def add_entry(request: Request, actor: Actor = Depends(Configure)) -> Response:
    values = await form_data(request, multi=("indications",))
    db = request.app.state.db
    try:
        e = formulary.add_entry(db=db, actor=actor, data=FormularyEntryIn(**_entry_in(values)))
    except FORM_REFUSALS as exc:
        errors, status = refusal(exc)
        entries = formulary.list_entries(db=db, actor=actor)
        ctx = {**_ctx(actor), "entries": entries, "values": values, "errors": errors}
        return render(request, "formulary.html", ctx, status)
    return RedirectResponse(f"{BASE}?added={e.id}#entry-{e.id}", status_code=303)


def _values_of(e: formulary.FormularyEntryRead) -> dict[str, Any]:
    v: dict[str, Any] = e.model_dump()
    for k in (*NUMBERS, "max_doses_per_session"):
        v[k] = "" if v[k] is None else f"{v[k]:g}"
    return v


def _entry_page(
    request: Request,
    actor: Actor,
    entry_id: int,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    form: str | None = None,
    status: int = 200,
) -> Response:
    e = formulary.get_entry(db=request.app.state.db, actor=actor, entry_id=entry_id)
    ctx = {**_ctx(actor), "e": e, "values": values or _values_of(e), "errors": errors or {}, "form": form}
    return render(request, "formulary_entry.html", ctx, status)


@router.get(BASE + "/{entry_id}", response_class=HTMLResponse)
def entry_page(request: Request, entry_id: int, actor: Actor = Depends(Read)) -> Response:
    return _entry_page(request, actor, entry_id)


@router.post(BASE + "/{entry_id}", response_class=HTMLResponse)
async def update_entry(request: Request, entry_id: int, actor: Actor = Depends(Configure)) -> Response:
    values = await form_data(request, multi=("indications",))
    try:
        data = FormularyEntryUpdate(**_entry_in(values), version=values.get("version") or 0)
        formulary.update_entry(db=request.app.state.db, actor=actor, entry_id=entry_id, data=data)
    except FORM_REFUSALS as exc:
        errors, status = refusal(exc)
        return _entry_page(request, actor, entry_id, values=values, errors=errors, form="edit", status=status)
    return RedirectResponse(f"{BASE}?changed={entry_id}#entry-{entry_id}", status_code=303)


@router.post(BASE + "/{entry_id}/retire", response_class=HTMLResponse)
async def retire_entry(request: Request, entry_id: int, actor: Actor = Depends(Configure)) -> Response:
    values = await form_data(request)
    try:
        data = FormularyRetire(version=values.get("version") or 0, reason=values.get("reason", ""))
        formulary.retire_entry(db=request.app.state.db, actor=actor, entry_id=entry_id, data=data)
    except FORM_REFUSALS as exc:
        errors, status = refusal(exc)
        return _entry_page(
            request,
            actor,
            entry_id,
            errors=errors,
            form="retire",
            status=status,
            values={**values, "retire_reason": values.get("reason", "")},
        )
    return RedirectResponse(f"{BASE}?retired={entry_id}#entry-{entry_id}", status_code=303)


# ---------------------------------------------------------------- from the session page


def _range(e: formulary.FormularyEntryRead) -> str:
    total = "" if e.max_total_per_session is None else f", at most {e.max_total_per_session:g} {e.dose_unit}"
    return (
        f"{e.drug} {e.route.upper()} {e.dose_min:g}-{e.dose_max:g} {e.dose_unit}"
        f" (max {e.max_doses_per_session} per session{total})"
    )


def _v(x: Any, key: str) -> Any:
    """Read a field of the session view, whether it is a dict or a typed model."""
    return x[key] if isinstance(x, dict) else getattr(x, key)


def _hm(at: Any, tz: tzinfo) -> str:
    """HH:MM in the clinic's zone, labelled ("14:05 CET"), as the session page shows the same side effect."""
    return fmt.clock_time(at, tz, seconds=False)


def session_form_context(request: Request, actor: Actor, s: SessionDetail) -> dict[str, Any]:
    """Return what the session page's side-effect and rescue forms need: options and the default time (now)."""
    entries = (
        formulary.list_entries(db=request.app.state.db, actor=actor, include_retired=False)
        if decide(actor, "read", "rescue_formulary").allowed
        else []
    )
    types = side_effect_types()
    tz = clinic_zone(request)
    return {
        "rescue_entries": entries,
        "rescue_options": [(str(e.id), _range(e)) for e in entries],
        "unit_options": [(u, u) for u in dose_units()],
        "type_options": [(k, v["label"]) for k, v in types.items()],
        "side_effect_options": [
            (
                str(_v(x, "id")),
                f"{types[_v(x, 'type')]['label']}, grade {_v(x, 'grade')}, onset {_hm(_v(x, 'onset_at'), tz)}",
            )
            for x in _v(s, "side_effects")
        ],
        "now_local": fmt.local_input(clock.now(), tz),  # prefilled entry times: the clinic's wall clock
    }


@router.post("/sessions/{session_id}/rescue", response_class=HTMLResponse)
async def give_rescue(request: Request, session_id: int, actor: Actor = Depends(Chart)) -> Response:
    def run(v: dict[str, Any]) -> None:
        if not (v.get("entry_id") or "").strip():
            raise InvalidValue("entry_id", "choose a medicine from the clinic's rescue formulary")
        data = RescueGive(
            entry_id=v["entry_id"],
            dose=(v.get("dose") or "").strip() or None,
            dose_unit=v.get("dose_unit", ""),
            side_effect_id=v.get("side_effect_id") or None,
            indication=v.get("indication") or None,
            given_at=local_field(request, v, "given_at"),
        )
        formulary.give_rescue(db=request.app.state.db, actor=actor, session_id=session_id, data=data)

    return await _handle(request, actor, session_id, "rescue", run)


@router.post("/sessions/{session_id}/side-effects/{side_effect_id}/resolve", response_class=HTMLResponse)
async def resolve_side_effect(
    request: Request, session_id: int, side_effect_id: int, actor: Actor = Depends(Chart)
) -> Response:
    def run(v: dict[str, Any]) -> None:
        data = SideEffectResolve(
            resolved_at=local_field(request, v, "resolved_at"), resolution=v.get("resolution", "")
        )
        formulary.resolve_side_effect(
            db=request.app.state.db,
            actor=actor,
            session_id=session_id,
            side_effect_id=side_effect_id,
            data=data,
        )

    return await _handle(request, actor, session_id, f"resolve-{side_effect_id}", run)
