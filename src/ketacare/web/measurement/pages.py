"""Measurement-based care pages: clinician entry, patient portal, one-time links, trends, due lists, dashboard."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.domain.measurement import Instrument, all_instruments, load_instrument
from ketacare.domain.measurement.safety import PREFER_NOT_TO_ANSWER
from ketacare.http.access import PUBLIC, Access, client_address
from ketacare.services import patients, plans, sessions
from ketacare.services.access import Actor, decide, may
from ketacare.services.errors import NotFound
from ketacare.services.measurement import links as measurement_links
from ketacare.services.measurement import responses as measurement
from ketacare.services.measurement import schedule as measurement_schedule
from ketacare.services.measurement.schemas import AlertAcknowledge, LinkCreate, ResponseCreate, ResponseRead
from ketacare.store.tables.measurement import CONTEXTS
from ketacare.web.measurement.charts import score_chart
from ketacare.web.rendering import FORM_REFUSALS, form_data, form_errors, refusal, render

DECLINED = "declined"  # the form value of "prefer not to answer" on a safety question
router = APIRouter(include_in_schema=False)
# The answers of a questionnaire form: item id -> the chosen option's value (None: left unanswered).
Answers = dict[str, int | None]
Stored = TypeVar("Stored")


def _instrument_or_404(instrument_id: str) -> Instrument:
    try:
        return load_instrument(instrument_id)
    except InvalidValue:
        raise NotFound("questionnaire") from None


def _parse_answers(instrument: Instrument, values: dict[str, str]) -> tuple[Answers, dict[str, str]]:
    answers: Answers = {}
    errors: dict[str, str] = {}
    for item in instrument.items:
        raw = (values.get(item.id) or "").strip()
        if raw == "" or (raw == DECLINED and item.safety):
            answers[item.id] = None
            continue
        try:
            answers[item.id] = int(raw)
        except ValueError:
            errors[item.id] = "choose one of the answers"
    if not errors and all(v is None for v in answers.values()):
        errors["request"] = "answer at least one question before sending"
    return answers, errors


def declined_items(instrument: Instrument, values: dict[str, str]) -> list[str]:
    """Return the safety questions answered "prefer not to answer" on the form."""
    return [i.id for i in instrument.items if i.safety and (values.get(i.id) or "").strip() == DECLINED]


def _form_ctx(
    instrument: Instrument,
    *,
    action: str,
    values: dict[str, Any],
    errors: dict[str, str],
    mode: str,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "instrument": instrument,
        "action": action,
        "values": values,
        "errors": errors,
        "mode": mode,  # "clinician" | "portal" | "link"
        "contexts": CONTEXTS,
        "declined_value": DECLINED,
        "prefer_not": PREFER_NOT_TO_ANSWER,
        **extra,
    }


def _submit(
    instrument: Instrument, values: dict[str, str], store: Callable[[Answers], Stored]
) -> tuple[Stored | None, dict[str, str]]:
    """Store the answers: the stored result, or None and the refusals per field (nothing stored)."""
    answers, errors = _parse_answers(instrument, values)
    if errors:
        return None, errors
    try:
        return store(answers), {}
    except InvalidValue as e:
        by_field = {item.field: item.id for item in instrument.items}
        refused = e.errors if isinstance(e, InvalidValues) else {e.field: e.message}
        return None, {by_field.get(f, f): m for f, m in refused.items()}
    except ValidationError as e:
        return None, form_errors(e)


# --- clinician entry on the chart -----------------------------------------------------------------------------


@router.get("/patients/{patient_id}/scores", response_class=HTMLResponse)
def scores_page(
    request: Request, patient_id: int, actor: Actor = Depends(Access("scores", "read"))
) -> Response:
    return render(request, "measurement_scores.html", _scores_ctx(request, actor, patient_id))


def _scores_ctx(request: Request, actor: Actor, patient_id: int, **extra: Any) -> dict[str, Any]:
    db = request.app.state.db
    chart = patients.get_chart(db=db, actor=actor, patient_id=patient_id)
    history = measurement.score_history(db=db, actor=actor, patient_id=patient_id)
    charts = [(s, score_chart(s, history.session_times)) for s in history.series]
    can_write = decide(actor, "write", "scores", patient_id=patient_id).allowed and actor.patient_id is None
    revisions = chart.clinical.revisions if chart.clinical is not None else []
    return {
        "p": chart.patient,
        "responses_in_error": [r for r in revisions if r.entity == "questionnaire_response"],
        "form": None,
        "history": history,
        "charts": charts,
        "can_write": can_write,
        "instruments": all_instruments(),
        "instrument_options": [(i.id, i.short_name) for i in all_instruments() if i.rater == "patient"],
        "link": None,
        "errors": {},
        "values": {},
        "today": date.today().isoformat(),
        **extra,
    }


@router.post("/patients/{patient_id}/responses/{response_id}/entered-in-error", response_class=HTMLResponse)
async def scores_response_in_error(
    request: Request, patient_id: int, response_id: int, actor: Actor = Depends(Access("scores", "write"))
) -> Response:
    """Set a questionnaire response aside as entered in error, with a reason."""
    values = await form_data(request)
    try:
        data = patients.InErrorReason(reason=values.get("reason") or "")
        measurement.mark_response_entered_in_error(
            db=request.app.state.db, actor=actor, patient_id=patient_id, response_id=response_id, data=data
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        ctx = _scores_ctx(
            request, actor, patient_id, errors=errors, values=values, form=f"response-{response_id}"
        )
        return render(request, "measurement_scores.html", ctx, status)
    return RedirectResponse(f"/patients/{patient_id}/scores#responses-in-error", status_code=303)


@router.post("/patients/{patient_id}/questionnaire-links", response_class=HTMLResponse)
async def scores_issue_link(
    request: Request, patient_id: int, actor: Actor = Depends(Access("scores", "write"))
) -> Response:
    values = await form_data(request)
    try:
        data = LinkCreate(
            instrument_id=values.get("instrument_id") or "",
            due_date=values.get("due_date") or "",
            context=values.get("context") or "follow_up",
            valid_days=values.get("valid_days") or 7,
        )
        link = measurement_links.issue_link(
            db=request.app.state.db,
            actor=actor,
            settings=request.app.state.settings,
            patient_id=patient_id,
            data=data,
        )
    except ValidationError as e:
        ctx = _scores_ctx(request, actor, patient_id, errors=form_errors(e), values=values)
        return render(request, "measurement_scores.html", ctx, 422)
    except InvalidValue as e:
        ctx = _scores_ctx(request, actor, patient_id, errors={e.field: e.message}, values=values)
        return render(request, "measurement_scores.html", ctx, 422)
    return render(request, "measurement_scores.html", _scores_ctx(request, actor, patient_id, link=link), 201)


@router.get("/patients/{patient_id}/questionnaires/{instrument_id}", response_class=HTMLResponse)
def clinician_form(
    request: Request,
    patient_id: int,
    instrument_id: str,
    context: str = "follow_up",
    session_id: str = "",
    actor: Actor = Depends(Access("scores", "write")),
) -> Response:
    instrument = _instrument_or_404(instrument_id)
    values = {"context": context if context in CONTEXTS else "follow_up"}
    if session_id.strip().isdigit():  # prefilled from the session page's assessment list
        values["session_id"] = session_id.strip()
    ctx = _entry_ctx(request, actor, patient_id, instrument, values, {})
    return render(request, "measurement_form.html", ctx)


def _entry_ctx(
    request: Request,
    actor: Actor,
    patient_id: int,
    instrument: Instrument,
    values: dict[str, Any],
    errors: dict[str, str],
) -> dict[str, Any]:
    base = _scores_ctx(request, actor, patient_id)
    related = next((c for s, c in base["charts"] if s.instrument_id == instrument.id), "")
    return _form_ctx(
        instrument,
        action=f"/patients/{patient_id}/questionnaires/{instrument.id}",
        values=values,
        errors=errors,
        mode="clinician",
        p=base["p"],
        related_chart=related,
    )


@router.post("/patients/{patient_id}/questionnaires/{instrument_id}", response_class=HTMLResponse)
async def clinician_submit(
    request: Request, patient_id: int, instrument_id: str, actor: Actor = Depends(Access("scores", "write"))
) -> Response:
    instrument = _instrument_or_404(instrument_id)
    values = await form_data(request)

    def store(answers: Answers) -> ResponseRead:
        session_id = (values.get("session_id") or "").strip()
        data = ResponseCreate(
            instrument_id=instrument.id,
            answers=answers,
            context=values.get("context") or "follow_up",
            session_id=int(session_id) if session_id.isdigit() else None,
            declined=declined_items(instrument, values),
        )
        return measurement.submit_response(
            db=request.app.state.db, actor=actor, patient_id=patient_id, data=data
        )

    result, errors = _submit(instrument, values, store)
    if result is None:
        return render(
            request,
            "measurement_form.html",
            _entry_ctx(request, actor, patient_id, instrument, values, errors),
            422,
        )
    if result.session_id is not None:  # entered from the session page: back to its assessment list
        return RedirectResponse(f"/sessions/{result.session_id}#assessments", status_code=303)
    return RedirectResponse(
        f"/patients/{patient_id}/scores?saved={result.response_id}#latest", status_code=303
    )


# --- patient portal -------------------------------------------------------------------------------------------


@router.get("/me/questionnaires", response_class=HTMLResponse)
def my_questionnaires(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse("/dashboard" if may(actor, "read", "safety_alert") else "/", status_code=303)
    items = measurement_schedule.my_due(db=request.app.state.db, actor=actor)
    seen: set[tuple[str, str]] = set()
    unique = []
    for d in items:
        if (d.instrument_id, d.context) not in seen:
            seen.add((d.instrument_id, d.context))
            unique.append(d)
    return render(
        request,
        "me_questionnaires.html",
        {"items": unique, "plain_context": PLAIN_CONTEXT, "plain_instrument": PLAIN_INSTRUMENT},
    )


# What a questionnaire asks about, in a patient's words (the short name follows in brackets).
PLAIN_INSTRUMENT = {
    "gad7": "Worry and anxiety",
    "phq9": "Mood",
    "pcl5": "Stress after a frightening experience",
    "mini_spin": "Feeling anxious around other people",
    "pdss_sr": "Panic attacks",
    "oasis": "Anxiety in daily life",
}

# When a questionnaire is asked, in a patient's words.
PLAIN_CONTEXT = {
    "baseline": "before your treatment starts",
    "pre_session": "before your session",
    "during_session": "during your session",
    "post_session": "after your session",
    "follow_up_24h": "one day after your session",
    "follow_up_7d": "one week after your session",
    "follow_up": "to see how you are doing",
}


@router.get("/me/questionnaires/{instrument_id}", response_class=HTMLResponse)
def my_form(
    request: Request,
    instrument_id: str,
    context: str = "follow_up",
    actor: Actor = Depends(Access("account", "read")),
) -> Response:
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse("/", status_code=303)
    instrument = _instrument_or_404(instrument_id)
    if instrument.rater != "patient":
        raise NotFound("questionnaire")
    ctx = _form_ctx(
        instrument,
        action=f"/me/questionnaires/{instrument.id}",
        values={"context": context if context in CONTEXTS else "follow_up"},
        errors={},
        mode="portal",
    )
    return render(request, "measurement_form.html", ctx)


@router.post("/me/questionnaires/{instrument_id}", response_class=HTMLResponse)
async def my_submit(
    request: Request, instrument_id: str, actor: Actor = Depends(Access("account", "read"))
) -> Response:
    if actor.patient_id is None:  # not a patient's own account
        return RedirectResponse("/", status_code=303)
    own_id: int = actor.patient_id
    instrument = _instrument_or_404(instrument_id)
    if instrument.rater != "patient":
        raise NotFound("questionnaire")
    values = await form_data(request)

    def store(answers: Answers) -> ResponseRead:
        context = values.get("context") or "follow_up"
        data = ResponseCreate(
            instrument_id=instrument.id,
            answers=answers,
            context=context,
            declined=declined_items(instrument, values),
        )
        return measurement.submit_response(
            db=request.app.state.db, actor=actor, patient_id=own_id, data=data, via="portal"
        )

    result, errors = _submit(instrument, values, store)
    if result is None:
        ctx = _form_ctx(
            instrument,
            action=f"/me/questionnaires/{instrument.id}",
            values=values,
            errors=errors,
            mode="portal",
        )
        return render(request, "measurement_form.html", ctx, 422)
    return _done(request, instrument, result.flags, mode="portal")


def _done(request: Request, instrument: Instrument, flags: list[str], *, mode: str) -> Response:
    risk = any(f in measurement.URGENT_FLAGS for f in flags)
    return render(
        request,
        "measurement_done.html",
        {"instrument": instrument, "risk": risk, "crisis": measurement.crisis_resources(), "mode": mode},
    )


# --- one-time links (public) ----------------------------------------------------------------------------------


@router.get("/q/{token}", response_class=HTMLResponse)
def link_form(request: Request, token: str, actor: Actor = Depends(PUBLIC)) -> Response:
    app = request.app
    try:
        claims = measurement_links.open_link(db=app.state.db, settings=app.state.settings, token=token)
    except measurement_links.LinkRefused as e:
        return render(request, "measurement_link_refused.html", {"message": str(e), "reason": e.reason}, 410)
    instrument = load_instrument(claims.instrument_id)
    ctx = _form_ctx(
        instrument, action=f"/q/{token}", values={}, errors={}, mode="link", due_date=claims.due_date
    )
    return render(request, "measurement_form.html", ctx)


@router.post("/q/{token}", response_class=HTMLResponse)
async def link_submit(request: Request, token: str, actor: Actor = Depends(PUBLIC)) -> Response:
    app = request.app
    values = await form_data(request)
    try:
        claims = measurement_links.open_link(db=app.state.db, settings=app.state.settings, token=token)
    except measurement_links.LinkRefused as e:
        return render(request, "measurement_link_refused.html", {"message": str(e), "reason": e.reason}, 410)
    instrument = load_instrument(claims.instrument_id)

    def store(answers: Answers) -> measurement_links.LinkSubmission:
        return measurement_links.submit_via_link(
            db=app.state.db,
            settings=app.state.settings,
            token=token,
            answers=answers,
            address=client_address(request),
            declined=declined_items(instrument, values),
        )

    try:
        result, errors = _submit(instrument, values, store)
    except measurement_links.LinkRefused as e:
        return render(request, "measurement_link_refused.html", {"message": str(e), "reason": e.reason}, 410)
    if result is None:
        ctx = _form_ctx(
            instrument,
            action=f"/q/{token}",
            values=values,
            errors=errors,
            mode="link",
            due_date=claims.due_date,
        )
        return render(request, "measurement_form.html", ctx, 422)
    return _done(request, instrument, result.flags, mode="link")


# --- staff lists and the clinician dashboard --------------------------------------------------------------------


@router.get("/questionnaires/due", response_class=HTMLResponse)
def due_page(
    request: Request, mine: bool = False, actor: Actor = Depends(Access("scores", "read", patient_param=None))
) -> Response:
    items = measurement_schedule.due_list(
        db=request.app.state.db, actor=actor, clinician_id=actor.user_id if mine else None
    )
    return render(request, "measurement_due.html", {"items": items, "mine": mine})


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(
    request: Request, actor: Actor = Depends(Access("safety_alert", "read", patient_param=None))
) -> Response:
    return render(request, "measurement_dashboard.html", _dashboard_ctx(request, actor))


def _dashboard_ctx(request: Request, actor: Actor, **extra: Any) -> dict[str, Any]:
    db = request.app.state.db
    alerts = measurement.list_alerts(db=db, actor=actor, mine=True)
    can_scores = decide(actor, "read", "scores").allowed
    items = (
        measurement_schedule.due_list(db=db, actor=actor, clinician_id=actor.user_id, limit=25)
        if can_scores
        else []
    )
    escalated = (
        sessions.escalated_alarms(db=db, actor=actor)
        if decide(actor, "read", "infusion_session").allowed
        else []
    )
    relapses = (
        plans.relapse_flags(db=db, actor=actor, mine=True) if decide(actor, "read", "treatment_plan").allowed else []
    )
    return {
        "alerts": alerts,
        "relapses": relapses,
        "items": items,
        "escalated": escalated,
        "errors": {},
        "values": {},
        "error_alert": None,
        **extra,
    }


@router.post("/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(
    request: Request,
    alert_id: int,
    actor: Actor = Depends(Access("safety_alert", "acknowledge", patient_param=None)),
) -> Response:
    values = await form_data(request)
    try:
        data = AlertAcknowledge(
            action_taken=(values.get("action_taken") or "").strip(), version=values.get("version") or 0
        )
        measurement.acknowledge_alert(db=request.app.state.db, actor=actor, alert_id=alert_id, data=data)
    except (ValidationError, InvalidValue) as e:
        errors = form_errors(e) if isinstance(e, ValidationError) else {e.field: e.message}
        if "action_taken" in errors:
            errors["action_taken"] = (
                "write what you did (at least 10 characters), e.g. called the patient, C-SSRS done"
            )
        ctx = _dashboard_ctx(request, actor, errors=errors, values=values, error_alert=alert_id)
        return render(request, "measurement_dashboard.html", ctx, 422)
    return RedirectResponse("/dashboard#alerts", status_code=303)
