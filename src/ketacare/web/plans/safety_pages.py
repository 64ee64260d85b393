"""Course safety on the chart (issue 16 point 7): the panel of checks with their reasons and the cumulative dose,
and the forms that record pregnancy-test applicability and results, urine toxicology, PUF totals and the misuse
checklist (times typed in the clinic's local time; errors beside each field)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.http.access import Access
from ketacare.services import plans
from ketacare.services.access import Actor, decide
from ketacare.web.rendering import FORM_REFUSALS, form_data, local_field, refusal, render

router = APIRouter(include_in_schema=False)
Read = Access("course_safety", "read")
Write = Access("course_safety", "write")

STATUS_WORDS = {"ok": "in order", "due": "due", "hold": "on hold", "not_required": "not required"}
NOTICES = {
    "applicability": "Pregnancy-test applicability recorded.",
    "pregnancy": "Pregnancy test recorded.",
    "toxicology": "Toxicology result recorded.",
    "puf": "PUF total recorded.",
    "misuse": "Misuse checklist recorded.",
}


def _page(
    request: Request,
    actor: Actor,
    patient_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    form: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    db = request.app.state.db
    panel = plans.course_safety(db=db, actor=actor, patient_id=patient_id)
    ctx: dict[str, Any] = {
        "panel": panel,
        "status_words": STATUS_WORDS,
        "method_options": [("", "choose")] + [(m, m) for m in plans.pregnancy_methods()],
        "errors": errors or {},
        "values": values or {},
        "form": form,
        "notice": NOTICES.get(notice or ""),
        "can_write": decide(actor, "write", "course_safety", patient_id=patient_id).allowed,
    }
    return render(request, "course_safety.html", ctx, status)


@router.get("/patients/{patient_id}/course-safety", response_class=HTMLResponse)
def course_safety_page(
    request: Request, patient_id: int, notice: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    return _page(request, actor, patient_id, notice=notice)


async def _save(
    request: Request,
    actor: Actor,
    patient_id: int,
    form: str,
    build: Callable[[dict[str, Any]], Any],
    multi: tuple[str, ...] = (),
) -> Response:
    """Read the form, build and store the record; on refusal show the page again with errors beside fields."""
    values = await form_data(request, multi)
    try:
        build(values)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _page(request, actor, patient_id, errors=errors, values=values, form=form, status=status)
    return RedirectResponse(f"/patients/{patient_id}/course-safety?notice={form}#f-{form}", status_code=303)


def _when(request: Request, values: dict[str, Any], key: str, errors: dict[str, str]) -> Any:
    """Read a local date-and-time field as UTC; a blank or unreadable one is noted in `errors`."""
    try:
        at = local_field(request, values, key)
    except InvalidValue as e:
        errors[key] = e.message
        return None
    if at is None:
        errors[key] = "enter the date and time"
    return at


def _choice(values: dict[str, Any], key: str, allowed: tuple[str, ...], errors: dict[str, str]) -> str:
    value = values.get(key) or ""
    if value not in allowed:
        errors[key] = "choose one"
    return value


def _raise(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidValues(errors)


@router.post("/patients/{patient_id}/course-safety/applicability", response_class=HTMLResponse)
async def save_applicability(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    def build(v: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        _choice(v, "applicable", ("yes", "no"), errors)
        if len((v.get("reason") or "").strip()) < 3:
            errors["reason"] = "say why (at least 3 characters)"
        _raise(errors)
        data = plans.PregnancyApplicabilityIn(applicable=v["applicable"] == "yes", reason=v.get("reason") or "")
        return plans.record_pregnancy_applicability(
            db=request.app.state.db, actor=actor, patient_id=patient_id, data=data
        )

    return await _save(request, actor, patient_id, "applicability", build)


@router.post("/patients/{patient_id}/course-safety/pregnancy", response_class=HTMLResponse)
async def save_pregnancy(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    def build(v: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        at = _when(request, v, "preg_taken_at", errors)
        result = _choice(v, "preg_result", ("negative", "positive"), errors)
        method = _choice(v, "preg_method", plans.pregnancy_methods(), errors)
        _raise(errors)
        data = plans.PregnancyTestIn(taken_at=at, result=result, method=method)
        return plans.record_pregnancy_test(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)

    return await _save(request, actor, patient_id, "pregnancy", _prefixed(build, "preg_"))


@router.post("/patients/{patient_id}/course-safety/toxicology", response_class=HTMLResponse)
async def save_tox(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    def build(v: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        at = _when(request, v, "tox_taken_at", errors)
        result = _choice(v, "tox_result", ("negative", "expected", "positive"), errors)
        substances = (v.get("tox_substances") or "").strip() or None
        if result in ("expected", "positive") and not substances:
            errors["tox_substances"] = "say what was positive"
        _raise(errors)
        data = plans.ToxResultIn(taken_at=at, result=result, substances=substances)
        return plans.record_tox_result(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)

    return await _save(request, actor, patient_id, "toxicology", _prefixed(build, "tox_"))


@router.post("/patients/{patient_id}/course-safety/puf", response_class=HTMLResponse)
async def save_puf(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    def build(v: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        at = _when(request, v, "puf_taken_at", errors)
        raw = (v.get("puf_total") or "").strip()
        if not raw.isdigit() or int(raw) > 35:
            errors["puf_total"] = "enter the PUF total as a whole number from 0 to 35"
        _raise(errors)
        data = plans.PufIn(taken_at=at, total=int(raw))
        return plans.record_puf(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)

    return await _save(request, actor, patient_id, "puf", _prefixed(build, "puf_"))


@router.post("/patients/{patient_id}/course-safety/misuse", response_class=HTMLResponse)
async def save_misuse(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    def build(v: dict[str, Any]) -> Any:
        errors: dict[str, str] = {}
        at = _when(request, v, "misuse_checked_at", errors)
        _raise(errors)
        data = plans.MisuseCheckIn(
            checked_at=at, signs=v.get("misuse_signs") or [], note=(v.get("misuse_note") or "").strip() or None
        )
        return plans.record_misuse_check(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)

    return await _save(request, actor, patient_id, "misuse", _prefixed(build, "misuse_"), multi=("misuse_signs",))


def _prefixed(build: Callable[[dict[str, Any]], Any], prefix: str) -> Callable[[dict[str, Any]], Any]:
    """Name a refused field by its form field (`taken_at` -> `preg_taken_at`) so the error shows beside it."""

    def run(values: dict[str, Any]) -> Any:
        try:
            return build(values)
        except FORM_REFUSALS as e:
            errors, _ = refusal(e)
            raise InvalidValues(
                {(k if k.startswith(prefix) else prefix + k): msg for k, msg in errors.items()}
            ) from None

    return run
