"""Integration therapy pages (issue 17): a patient's therapy page (visits due, notes timeline, goals, write a
note with errors beside each field), one note (sign it, correct it with an addendum), and the therapist's list
of integration visits due."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.therapy import (
    SHARING,
    goal_statuses,
    modalities,
    note_kinds,
    risk_questions,
    visit_window,
)
from ketacare.http.access import Access
from ketacare.services import therapy
from ketacare.services.access import Actor, decide, signing
from ketacare.services.therapy.schemas import TEXT_FIELDS, GoalProgressIn, GoalRead
from ketacare.web.rendering import FORM_REFUSALS, form_data, local_field, refusal, render

router = APIRouter(include_in_schema=False)
Read = Access("therapy", "read")
Write = Access("therapy", "write")
WriteNote = Access("psychotherapy_note", "create")

TEXT_LABELS = {
    "themes": "Themes",
    "insights": "Insights",
    "coping_skills": "Coping skills practised",
    "homework": "Homework",
    "intentions": "Intentions",
    "expectations": "Expectations",
    "set_and_setting": "Set and setting",
    "safety_plan": "Safety plan",
    "narrative": "Free-text note",
}
# Which free-text fields each kind of visit shows (the narrative is offered for both).
KIND_FIELDS = {
    "integration": ("themes", "insights", "coping_skills", "homework", "narrative"),
    "preparation": ("intentions", "expectations", "set_and_setting", "safety_plan", "narrative"),
}
SHARING_WORDS = {"private": "Private: only me", "care_team": "Shared with the care team"}
STATUS_WORDS = {"upcoming": "Upcoming", "due": "Due", "overdue": "Overdue", "done": "Done"}
NOTICES = {
    "saved": "Note saved. Sign it when it is complete.",
    "signed": "Note signed. Corrections are now addenda.",
    "addendum": "Addendum added.",
    "goal": "Goal added.",
}
LABELS = {
    **TEXT_LABELS,
    "kind": "Kind of visit",
    "visit_at": "Visit time",
    "session_id": "Infusion it follows",
    "modality": "Modality",
    "sharing": "Who may read it",
    **{f"risk_{q.key}": q.label for q in risk_questions()},
}


def _common(actor: Actor, patient_id: int) -> dict[str, Any]:
    return {
        "text_labels": TEXT_LABELS,
        "kind_fields": KIND_FIELDS,
        "sharing_words": SHARING_WORDS,
        "status_words": STATUS_WORDS,
        "labels": LABELS,
        "kinds": note_kinds(),
        "modalities": modalities(),
        "goal_statuses": goal_statuses(),
        "risk_questions": risk_questions(),
        "sharing_options": [(k, SHARING_WORDS[k]) for k in SHARING],
        "modality_options": [("", "Choose…"), *modalities().items()],
        "goal_options": list(goal_statuses().items()),
        "risk_options": {
            q.key: [("", "Choose…")]
            + [(a, a.replace("_", " ") + (" (escalates)" if a in q.escalate else "")) for a in q.answers]
            for q in risk_questions()
        },
        "window": visit_window(),
        "can_write_note": decide(actor, "create", "psychotherapy_note", patient_id=patient_id).allowed,
        "can_write": decide(actor, "write", "therapy", patient_id=patient_id).allowed,
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
    view = therapy.therapy_view(db=request.app.state.db, actor=actor, patient_id=patient_id)
    kind = (values or {}).get("kind") or ("preparation" if not view.infusions else "integration")
    ctx = {
        **_common(actor, patient_id),
        "v": view,
        "errors": errors or {},
        "values": {"kind": kind, "sharing": "private", **(values or {})},
        "form": form,
        "notice": NOTICES.get(notice or ""),
        "infusion_options": [("", "The latest infusion before the visit")]
        + [(str(r.session_id), f"Infusion {r.number}") for r in reversed(view.infusions)],
    }
    return render(request, "therapy_patient.html", ctx, status)


@router.get("/patients/{patient_id}/therapy", response_class=HTMLResponse)
def therapy_page(
    request: Request, patient_id: int, notice: str | None = None, kind: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    values = {"kind": kind} if kind in note_kinds() else None
    return _page(request, actor, patient_id, notice=notice, values=values)


def _note_data(request: Request, values: dict[str, Any], goals: list[GoalRead]) -> therapy.NoteCreate:
    """Build the note from the form: texts, risk answers (`risk_<question>`), goal progress (`goal_<id>_...`)."""
    kind = values.get("kind") or "integration"
    wanted = KIND_FIELDS.get(kind, TEXT_FIELDS)
    progress = []
    for g in goals:
        status = values.get(f"goal_{g.id}_status") or ""
        text = (values.get(f"goal_{g.id}_progress") or "").strip()
        if text or (status and status != g.status):
            progress.append(GoalProgressIn(goal_id=g.id, status=status or g.status, progress=text or None))
    return therapy.NoteCreate.model_validate(
        {
            "kind": kind,
            "session_id": values.get("session_id") or None,
            "visit_at": local_field(request, values, "visit_at"),
            "modality": values.get("modality") or None,
            **{f: (values.get(f) or None) for f in wanted},
            "risk": {q.key: v for q in risk_questions() if (v := values.get(f"risk_{q.key}"))}
            if kind == "integration"
            else {},
            "sharing": values.get("sharing") or "private",
            "goal_progress": progress,
        }
    )


@router.post("/patients/{patient_id}/therapy/notes", response_class=HTMLResponse)
async def write_note(request: Request, patient_id: int, actor: Actor = Depends(WriteNote)) -> Response:
    values = await form_data(request)
    db = request.app.state.db
    try:
        goals = therapy.therapy_view(db=db, actor=actor, patient_id=patient_id).goals
        data = _note_data(request, values, goals)
        note = therapy.write_note(db=db, actor=actor, patient_id=patient_id, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        errors = {_form_field(k): m for k, m in errors.items()}
        return _page(request, actor, patient_id, errors=errors, values=values, form="note", status=status)
    return RedirectResponse(f"/patients/{patient_id}/therapy/notes/{note.id}?notice=saved", status_code=303)


def _form_field(field: str) -> str:
    """Name the form field an error of the service concerns (`risk.suicidal_ideation` -> `risk_suicidal_ideation`)."""
    return field.replace("risk.", "risk_")


@router.post("/patients/{patient_id}/therapy/goals", response_class=HTMLResponse)
async def add_goal(request: Request, patient_id: int, actor: Actor = Depends(Write)) -> Response:
    values = await form_data(request)
    try:
        data = therapy.GoalCreate.model_validate({"goal": values.get("goal", ""), "status": "active"})
        therapy.add_goal(db=request.app.state.db, actor=actor, patient_id=patient_id, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _page(request, actor, patient_id, errors=errors, values=values, form="goal", status=status)
    return RedirectResponse(f"/patients/{patient_id}/therapy?notice=goal#goals", status_code=303)


def _note_page(
    request: Request,
    actor: Actor,
    patient_id: int,
    note_id: int,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> Response:
    db = request.app.state.db
    note = therapy.get_note(db=db, actor=actor, note_id=note_id, patient_id=patient_id)
    ctx = {
        **_common(actor, patient_id),
        "note": note,
        "patient_id": patient_id,
        "errors": errors or {},
        "values": values or {},
        "notice": NOTICES.get(notice or ""),
        "can_sign": note.signed_at is None and decide(actor, "create", "psychotherapy_note").allowed and note.mine,
        "can_amend": note.signed_at is not None and note.mine,
        "credential": signing.credential_field(db=db, actor=actor),
    }
    return render(request, "therapy_note.html", ctx, status)


@router.get("/patients/{patient_id}/therapy/notes/{note_id}", response_class=HTMLResponse)
def note_page(
    request: Request, patient_id: int, note_id: int, notice: str | None = None, actor: Actor = Depends(Read)
) -> Response:
    return _note_page(request, actor, patient_id, note_id, notice=notice)


@router.post("/patients/{patient_id}/therapy/notes/{note_id}/sign", response_class=HTMLResponse)
async def sign_note(request: Request, patient_id: int, note_id: int, actor: Actor = Depends(WriteNote)) -> Response:
    values = await form_data(request)
    try:
        data = therapy.NoteSign.model_validate(
            {
                "version": values.get("version") or 0,
                "password": values.get("password") or None,
                "totp_code": values.get("totp_code") or None,
            }
        )
        therapy.sign_note(db=request.app.state.db, actor=actor, note_id=note_id, data=data, patient_id=patient_id)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _note_page(request, actor, patient_id, note_id, errors=errors, status=status)
    return RedirectResponse(f"/patients/{patient_id}/therapy/notes/{note_id}?notice=signed", status_code=303)


@router.post("/patients/{patient_id}/therapy/notes/{note_id}/addenda", response_class=HTMLResponse)
async def add_addendum(request: Request, patient_id: int, note_id: int, actor: Actor = Depends(WriteNote)) -> Response:
    values = await form_data(request)
    try:
        data = therapy.NoteAddendumCreate.model_validate({"text": values.get("text", "")})
        therapy.add_addendum(db=request.app.state.db, actor=actor, note_id=note_id, data=data, patient_id=patient_id)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _note_page(request, actor, patient_id, note_id, errors=errors, values=values, status=status)
    return RedirectResponse(f"/patients/{patient_id}/therapy/notes/{note_id}?notice=addendum", status_code=303)


@router.get("/therapy", response_class=HTMLResponse)
def visits_page(request: Request, scope: str = "mine", actor: Actor = Depends(Read)) -> Response:
    mine = scope != "all"
    visits = therapy.integration_visits_due(db=request.app.state.db, actor=actor, mine=mine)
    ctx = {"visits": visits, "scope": "mine" if mine else "all", "status_words": STATUS_WORDS, "window": visit_window()}
    return render(request, "therapy_visits.html", ctx)
