"""Message pages (issue 17 point 3): the log for the front desk and administrators (/admin/messages), the
templates (/admin/messages/templates, edited by administrators) and the patient's setting (/me/messages)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain import messages as core
from ketacare.http.access import Access
from ketacare.services import messages
from ketacare.services.access import Actor, may
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)
ReadLog = Access("messages", "read")
ReadTemplates = Access("message_templates", "read")
Configure = Access("message_templates", "configure")
OwnSetting = Access("account", "read")  # the service checks the patient's own record

STATUSES = ("queued", "sending", "sent", "failed", "skipped")
KINDS = {"reminder": "Reminder", "change": "Appointment change", "questionnaire": "Questionnaire due"}
LABELS = {"subject": "Subject", "body": "Text", "reason": "Reason for the change", "version": "Version"}


@router.get("/admin/messages", response_class=HTMLResponse)
def log_page(request: Request, status: str = "", actor: Actor = Depends(ReadLog)) -> Response:
    """The newest messages: to whom, which template version, when, and the result."""
    chosen = status if status in STATUSES else None
    rows = messages.messages(db=request.app.state.db, actor=actor, status=chosen)  # type: ignore[arg-type]
    names = {t.id: t.name for t in core.shipped_templates().values()}
    names[messages.QUESTIONNAIRE_TEMPLATE] = "Questionnaire due (clinic settings)"
    return render(
        request,
        "messages_log.html",
        {"rows": rows, "status": chosen or "", "statuses": STATUSES, "kinds": KINDS, "names": names},
    )


def _templates_page(
    request: Request,
    actor: Actor,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    editing: str = "",
    status: int = 200,
    saved: str = "",
) -> Response:
    return render(
        request,
        "messages_templates.html",
        {
            "templates": messages.list_templates(db=request.app.state.db, actor=actor),
            "placeholders": core.placeholders(),
            "rules": core.reminder_rules(),
            "names": {tid: t.name for tid, t in core.shipped_templates().items()},
            "can_configure": may(actor, "configure", "message_templates"),
            "values": values or {},
            "errors": errors or {},
            "editing": editing,
            "labels": LABELS,
            "saved": saved,
        },
        status,
    )


@router.get("/admin/messages/templates", response_class=HTMLResponse)
def templates_page(request: Request, saved: str = "", actor: Actor = Depends(ReadTemplates)) -> Response:
    """Every template's wording in force, editable by administrators, and when reminders go."""
    return _templates_page(request, actor, saved=saved if saved in core.shipped_templates() else "")


@router.post("/admin/messages/templates/{template_id}", response_class=HTMLResponse)
async def template_save(request: Request, template_id: str, actor: Actor = Depends(Configure)) -> Response:
    """Save a new version of one template; a refusal shows beside its field, nothing stored."""
    values = await form_data(request)
    try:
        messages.save_template(
            db=request.app.state.db,
            actor=actor,
            template_id=template_id,
            data=messages.TemplateUpdate(
                subject=values.get("subject", ""),
                body=values.get("body", "").replace("\r\n", "\n"),
                base_version=values.get("base_version") or 0,
                reason=values.get("reason", ""),
            ),
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        if "base_version" in errors:
            errors["version"] = errors.pop("base_version")
        return _templates_page(request, actor, values, errors, template_id, status)
    return RedirectResponse(f"/admin/messages/templates?saved={template_id}#t-{template_id}", status_code=303)


@router.get("/me/messages", response_class=HTMLResponse)
def my_setting(request: Request, saved: str = "", actor: Actor = Depends(OwnSetting)) -> Response:
    """The patient's choice about reminders (essential messages always go)."""
    if actor.patient_id is None:
        return RedirectResponse("/", status_code=303)
    pref = messages.read_preference(db=request.app.state.db, actor=actor, patient_id=actor.patient_id)
    return render(request, "me_messages.html", {"pref": pref, "saved": saved == "1"})


@router.post("/me/messages", response_class=HTMLResponse)
async def my_setting_save(request: Request, actor: Actor = Depends(OwnSetting)) -> Response:
    """Save the patient's choice."""
    if actor.patient_id is None:
        return RedirectResponse("/", status_code=303)
    values = await form_data(request)
    messages.update_preference(
        db=request.app.state.db,
        actor=actor,
        patient_id=actor.patient_id,
        data=messages.PreferenceUpdate(opt_out_non_essential=values.get("reminders") == "no"),
    )
    return RedirectResponse("/me/messages?saved=1", status_code=303)
