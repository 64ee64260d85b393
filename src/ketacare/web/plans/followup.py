"""Follow-up pages (issue 16): the nurse's list of next-day calls, the call form, and the clinic's discharge
instructions (administrators edit them with a reason; every version kept)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidValue
from ketacare.http.access import Access
from ketacare.services import plans
from ketacare.services.access import Actor, may
from ketacare.web.rendering import FORM_REFUSALS, clinic_settings, form_data, refusal, render

router = APIRouter(include_in_schema=False)
CallList = Access("followup_call", "list")
CallRead = Access("followup_call", "read")
CallWrite = Access("followup_call", "write")
InstructionsRead = Access("discharge_instructions", "read")
InstructionsUpdate = Access("discharge_instructions", "update")

STATUS_WORDS = {"overdue": "Overdue", "due": "Due today", "done": "Done", "not_yet_due": "Not yet due"}


@router.get("/followup", response_class=HTMLResponse)
def call_list(request: Request, actor: Actor = Depends(CallList)) -> Response:
    tasks = plans.call_tasks(db=request.app.state.db, actor=actor)
    return render(request, "followup_calls.html", {"tasks": tasks, "status_words": STATUS_WORDS})


def _call_page(
    request: Request, actor: Actor, session_id: int, *, errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None, saved: plans.CallRead | None = None, status: int = 200,
) -> Response:
    sheet = plans.call_sheet(db=request.app.state.db, actor=actor, session_id=session_id)
    return render(request, "followup_call.html", {
        "sheet": sheet,
        "errors": errors or {},
        "values": values or {},
        "saved": saved,
        "status_words": STATUS_WORDS,
        "labels": {q.id: q.label for q in sheet.questions},
        "option_words": {o: w for q in sheet.questions for o, w in q.options},
        "crisis_lines": clinic_settings(request).crisis_lines,
        "can_write": may(actor, "write", "followup_call"),
    }, status)


@router.get("/followup/{session_id}", response_class=HTMLResponse)
def call_page(request: Request, session_id: int, actor: Actor = Depends(CallRead)) -> Response:
    return _call_page(request, actor, session_id)


@router.post("/followup/{session_id}", response_class=HTMLResponse)
async def post_call(request: Request, session_id: int, actor: Actor = Depends(CallWrite)) -> Response:
    multi = ("side_effects",)
    values = await form_data(request, multi=multi)
    try:
        reached = {"yes": True, "no": False}.get(values.get("reached") or "")
        if reached is None:
            raise InvalidValue("reached", "say whether the patient was reached")
        answers: dict[str, str | list[str]] = {}
        if reached:
            for q in plans.call_sheet(db=request.app.state.db, actor=actor, session_id=session_id).questions:
                answers[q.id] = values.get(q.id) or ([] if q.kind == "multi" else "")
        saved = plans.record_call(
            db=request.app.state.db, actor=actor, session_id=session_id,
            data=plans.CallCreate(reached=reached, answers=answers, notes=values.get("notes") or ""),
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _call_page(request, actor, session_id, errors=errors, values=values, status=status)
    if saved.risk_items:  # the nurse sees the escalation and the crisis lines at once
        return _call_page(request, actor, session_id, saved=saved)
    return RedirectResponse(f"/followup?saved={session_id}", status_code=303)


# --- the clinic's discharge instructions -----------------------------------------------------------------------


def _to_text(ins: plans.InstructionsRead) -> str:
    """Return the instructions as the edit box shows them: "# Title" lines, then one line per instruction."""
    return "\n\n".join(f"# {sec.title}\n" + "\n".join(sec.lines) for sec in ins.sections)


def _from_text(text: str) -> list[dict[str, Any]]:
    """Read the edit box back: "# Title" starts a section; every other non-empty line is one instruction."""
    sections: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            sections.append({"title": line.lstrip("#").strip(), "lines": []})
        elif not sections:
            raise InvalidValue("sections", "start with a section title line beginning with #")
        else:
            sections[-1]["lines"].append(line)
    if not sections:
        raise InvalidValue("sections", "write at least one section")
    return sections


def _instructions_page(request: Request, actor: Actor, *, errors: dict[str, str] | None = None,
                       values: dict[str, Any] | None = None, status: int = 200) -> Response:
    db = request.app.state.db
    current = plans.current_instructions(db=db, actor=actor)
    return render(request, "discharge_instructions_admin.html", {
        "current": current,
        "history": plans.instructions_history(db=db, actor=actor),
        "errors": errors or {},
        "values": values or {
            "heading": current.heading, "sections": _to_text(current), "base_version": current.version,
        },
        "can_edit": may(actor, "update", "discharge_instructions"),
    }, status)


@router.get("/admin/discharge-instructions", response_class=HTMLResponse)
def instructions_page(request: Request, actor: Actor = Depends(InstructionsRead)) -> Response:
    return _instructions_page(request, actor)


@router.post("/admin/discharge-instructions", response_class=HTMLResponse)
async def post_instructions(request: Request, actor: Actor = Depends(InstructionsUpdate)) -> Response:
    values = await form_data(request)
    try:
        data = plans.InstructionsUpdate(
            heading=values.get("heading") or "",
            sections=_from_text(values.get("sections") or ""),
            reason=values.get("reason") or "",
            base_version=int(values.get("base_version") or 0),
        )
        plans.save_instructions(db=request.app.state.db, actor=actor, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        errors = {k.split(".")[0]: v for k, v in errors.items()}
        return _instructions_page(request, actor, errors=errors, values=values, status=status)
    return RedirectResponse("/admin/discharge-instructions?saved=1", status_code=303)
