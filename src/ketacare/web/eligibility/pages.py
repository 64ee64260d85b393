"""Screening page on the chart (issue #5): the eligibility decision with its reasons, what is missing and where
to record it, screening vitals and questions, re-evaluation with the difference, and the prescriber's review
(accept, or override with a written reason) behind a confirmation step that restates the decision."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain.datafiles import load_toml
from ketacare.domain.eligibility import rule_sets, tables
from ketacare.domain.errors import InvalidValue
from ketacare.http.access import Access
from ketacare.services.access import Actor, decide, signing
from ketacare.services.eligibility import screening as eligibility
from ketacare.services.eligibility.schemas import ReviewIn, ScreeningAnswersIn
from ketacare.services.errors import Conflict, TooManyAttempts
from ketacare.services.sessions import VitalIn, record_patient_reading
from ketacare.web.rendering import form_data, form_errors, local_field, refusal, render

router = APIRouter(include_in_schema=False)
Read = Access("eligibility", "read")
Evaluate = Access("eligibility", "evaluate")
Decide = Access("eligibility", "decide")
WriteClinical = Access("patient_clinical", "write")

DECISION_WORDS = {
    "eligible": ("Eligible", "✓"),
    "eligible_with_cautions": ("Eligible with cautions", "!"),
    "not_eligible": ("Not eligible", "✕"),
    "insufficient_information": ("Insufficient information", "?"),
}
STATUS_WORDS = {
    "pending_review": "Waiting for a prescriber's review",
    "accepted": "Accepted",
    "overridden": "Overridden",
    "superseded": "Superseded by a newer evaluation",
}
NOTICES = {
    "stored": "Evaluation stored. It waits for a prescriber's review.",
    "unchanged": "Nothing changed since the last evaluation; it still stands (no new evaluation stored).",
    "vitals": "Screening vitals saved. Re-evaluate to use them.",
    "answers": "Screening answers saved. Re-evaluate to use them.",
    "no_answers": "No answer changed.",
    "accepted": "Decision accepted and signed.",
    "overridden": "Override recorded with its reason.",
}


def _configurable(ev: dict[str, Any] | None) -> list[tuple[str, str]]:
    """Return the clinic-configurable (not guideline-verified) defaults the evaluation leaned on, in words."""
    data = "ketacare.domain.eligibility.data"
    defaults = tables.settings_defaults()
    settings = (ev or {}).get("settings", {})
    vitals_days = settings.get("vitals_max_age_days", defaults["vitals_max_age_days"]["value"])
    out = [
        (
            f"Vitals count as current for {vitals_days} days",
            defaults["vitals_max_age_days"]["source"],
        ),
        (
            f"A severity score counts as current for "
            f"{settings.get('score_max_age_days', defaults['score_max_age_days']['value'])} days",
            defaults["score_max_age_days"]["source"],
        ),
        (
            "ICD-10 codes on the chart are mapped to screening conditions",
            load_toml(data, "conditions.toml")["icd10_mapping_source"],
        ),
        (
            "ICD-11 codes on the chart are mapped to screening conditions",
            load_toml(data, "conditions.toml")["icd11_mapping_source"],
        ),
        (
            "Minimum number of psychotherapy sessions for an adequate trial",
            load_toml(data, "treatment_resistance.toml")["psychotherapy"]["source"],
        ),
    ]
    return out


def _page(
    request: Request,
    actor: Actor,
    patient_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    form: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    view = eligibility.screening_view(db=request.app.state.db, actor=actor, patient_id=patient_id)
    ctx: dict[str, Any] = {
        **dict(view),
        "errors": errors or {},
        "values": values or {},
        "form": form,
        "notice": NOTICES.get(notice or "", None),
        "decision_words": DECISION_WORDS,
        "status_words": STATUS_WORDS,
        "rule_sets": rule_sets(),
        "questions": eligibility.QUESTIONS,
        "can_evaluate": decide(actor, "evaluate", "eligibility", patient_id=patient_id).allowed,
        "can_decide": decide(actor, "decide", "eligibility", patient_id=patient_id).allowed,
        "can_write": decide(actor, "write", "patient_clinical", patient_id=patient_id).allowed,
        "configurable": _configurable(view.latest.evaluation if view.latest else None),
        "override_options": lambda current: [(k, w[0]) for k, w in DECISION_WORDS.items() if k != current],
        "answer_options": lambda allowed: [(a, a.replace("_", " ")) for a in allowed],
    }
    return render(request, "eligibility_screening.html", ctx, status)


def _back(patient_id: int, notice: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}/screening?notice={notice}{anchor}", status_code=303)


@router.get("/patients/{patient_id}/screening", response_class=HTMLResponse)
def screening_page(
    request: Request, patient_id: int, notice: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    return _page(request, actor, patient_id, notice=notice)


@router.post("/patients/{patient_id}/screening/evaluate", response_class=HTMLResponse)
def run_evaluation(request: Request, patient_id: int, actor: Actor = Depends(Evaluate)) -> Response:
    try:
        r = eligibility.evaluate_patient(db=request.app.state.db, actor=actor, patient_id=patient_id)
    except InvalidValue as e:
        return _page(
            request,
            actor,
            patient_id,
            errors={"evaluate": f"{e.field}: {e.message}"},
            form="evaluate",
            status=422,
        )
    return _back(patient_id, "stored" if r.stored else "unchanged")


def _number(values: dict[str, str], key: str, errors: dict[str, str], label: str) -> float | None:
    raw = (values.get(key) or "").strip().replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        errors[key] = f"{label} must be a number"
        return None


@router.post("/patients/{patient_id}/screening/vitals", response_class=HTMLResponse)
async def save_vitals(request: Request, patient_id: int, actor: Actor = Depends(WriteClinical)) -> Response:
    values = await form_data(request)
    errors: dict[str, str] = {}
    sbp = _number(values, "sbp", errors, "Systolic BP (mmHg)")
    dbp = _number(values, "dbp", errors, "Diastolic BP (mmHg)")
    hr = _number(values, "hr", errors, "Heart rate (/min)")
    measured_at = None
    try:
        measured_at = local_field(request, values, "measured_at")  # typed in the clinic's local time
    except InvalidValue as e:
        errors["measured_at"] = e.message
    if not errors:
        try:
            data = VitalIn(sbp=sbp, dbp=dbp, hr=hr, measured_at=measured_at, context="screening")
            record_patient_reading(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
            return _back(patient_id, "vitals", "#screening-vitals")
        except ValidationError as e:
            errors = form_errors(e)
            if "request" in errors or "" in errors:
                errors["sbp"] = errors.pop("request", "") or errors.pop("")
        except InvalidValue as e:
            key = {"sbp_mmhg": "sbp", "dbp_mmhg": "dbp", "hr_per_min": "hr"}.get(e.field, e.field)
            errors[key if key in ("sbp", "dbp", "hr", "measured_at") else "sbp"] = e.message
    return _page(request, actor, patient_id, errors=errors, values=values, form="vitals", status=422)


@router.post("/patients/{patient_id}/screening/answers", response_class=HTMLResponse)
async def save_answers(request: Request, patient_id: int, actor: Actor = Depends(WriteClinical)) -> Response:
    values = await form_data(request)
    answers = {k: v for k, v in values.items() if k in eligibility.QUESTIONS and v}
    note = (values.get("note") or "").strip() or None
    try:
        stored = eligibility.record_answers(
            db=request.app.state.db,
            actor=actor,
            patient_id=patient_id,
            data=ScreeningAnswersIn(answers=answers, note=note),
        )
    except InvalidValue as e:
        field = e.field.removeprefix("answers.")
        return _page(
            request, actor, patient_id, errors={field: e.message}, values=values, form="answers", status=422
        )
    except ValidationError as e:
        return _page(
            request, actor, patient_id, errors=form_errors(e), values=values, form="answers", status=422
        )
    return _back(patient_id, "answers" if stored else "no_answers", "#screening-answers")


@router.post("/patients/{patient_id}/screening/{evaluation_id}/review", response_class=HTMLResponse)
async def review(
    request: Request, patient_id: int, evaluation_id: int, actor: Actor = Depends(Decide)
) -> Response:
    values = await form_data(request)
    errors: dict[str, str] = {}
    try:
        data = ReviewIn(
            action=values.get("action") or "",
            version=values.get("version") or 0,
            decision=(values.get("decision") or None) if values.get("action") == "override" else None,
            reason=(values.get("reason") or "").strip() or None,
            password=values.get("password") or None,
            totp_code=(values.get("totp_code") or "").strip() or None,
        )
    except ValidationError as e:
        errors = form_errors(e)
        if "request" in errors:
            msg = errors.pop("request")
            errors["reason" if "reason" in msg else "decision"] = msg
        return _page(request, actor, patient_id, errors=errors, values=values, form="review", status=422)
    if values.get("confirmed") != "yes":
        return _confirm_page(request, actor, patient_id, evaluation_id, data, {})
    try:
        eligibility.review_evaluation(
            db=request.app.state.db,
            actor=actor,
            patient_id=patient_id,
            evaluation_id=evaluation_id,
            data=data,
        )
    except (InvalidValue, TooManyAttempts) as e:
        if (isinstance(e, InvalidValue) and e.field in signing.FIELDS) or isinstance(e, TooManyAttempts):
            errors, status = refusal(e)
            return _confirm_page(request, actor, patient_id, evaluation_id, data, errors, status)
        return _page(
            request, actor, patient_id, errors={"review": e.message}, values=values, form="review", status=422
        )
    except Conflict as e:
        return _page(request, actor, patient_id, errors={"review": str(e)}, form="review", status=409)
    return _back(patient_id, "accepted" if data.action == "accept" else "overridden", "#review")


def _confirm_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    evaluation_id: int,
    data: ReviewIn,
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    """The deliberate step before a review is signed: what will be recorded, and the signer's password again."""
    db = request.app.state.db
    view = eligibility.screening_view(db=db, actor=actor, patient_id=patient_id)
    latest = view.latest
    if latest is None or latest.id != evaluation_id:
        return _page(
            request,
            actor,
            patient_id,
            errors={"review": "a newer evaluation exists: review that one"},
            form="review",
            status=409,
        )
    ctx = {
        **dict(view),
        "data": data,
        "decision_words": DECISION_WORDS,
        "evaluation_id": evaluation_id,
        "errors": errors,
        "credential": signing.credential_field(db=db, actor=actor),
    }
    return render(request, "eligibility_confirm.html", ctx, status)
