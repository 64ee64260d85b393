"""Sign-in, sign-out, the start page, the audit trail and a patient's access log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.http.access import PUBLIC, SESSION_COOKIE, Access, client_address
from ketacare.services.access import Actor, LoginRequest, audit_views, auth
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from ketacare.web.rendering import form_data, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, actor: Actor = Depends(PUBLIC)) -> Response:
    if actor.role == "anonymous":
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse(safe_next(None, actor), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None, actor: Actor = Depends(PUBLIC)) -> Response:
    return render(request, "login.html", {"next": next or "", "error": None, "username": ""})


@router.post("/login", response_class=HTMLResponse)
async def login_submit(request: Request, actor: Actor = Depends(PUBLIC)) -> Response:
    values = await form_data(request)
    nxt = values.get("next", "")
    try:
        data = LoginRequest(
            username=values.get("username", ""),
            password=values.get("password", ""),
            totp_code=(values.get("totp_code") or "").strip() or None,
        )
        result = auth.login(
            db=request.app.state.db,
            settings=request.app.state.settings,
            data=data,
            address=client_address(request),
        )
    except ValidationError:
        return render(
            request,
            "login.html",
            {
                "next": nxt,
                "username": values.get("username", ""),
                "error": "Enter your username and password.",
            },
            422,
        )
    except (Unauthenticated, TooManyAttempts) as e:
        status = 429 if isinstance(e, TooManyAttempts) else 401
        return render(
            request,
            "login.html",
            {"next": nxt, "username": values.get("username", ""), "error": str(e).capitalize() + "."},
            status,
        )
    response = RedirectResponse(safe_next(nxt, result.actor), status_code=303)
    settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        result.token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
        max_age=settings.session_absolute_hours * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, actor: Actor = Depends(Access("account", "logout"))) -> Response:
    auth.logout(db=request.app.state.db, actor=actor)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/welcome", response_class=HTMLResponse)
def welcome(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    """Start page for roles that read no patient record (researchers)."""
    return render(request, "welcome.html", {})


@router.get("/patients/{patient_id}/access-log", response_class=HTMLResponse)
def patient_access_log(
    request: Request, patient_id: int, actor: Actor = Depends(Access("access_log", "read"))
) -> Response:
    events = audit_views.access_log(db=request.app.state.db, actor=actor, patient_id=patient_id)
    if actor.patient_id is not None:  # the patient's own view, in plain words
        return render(request, "portal_access_log.html", {"events": events, "plain_action": PLAIN_ACTION})
    return render(request, "access_log.html", {"events": events, "patient_id": patient_id})


# What an audit event did to a record, in a patient's words.
PLAIN_ACTION = {
    "view": "looked at",
    "list": "saw your name in a list with",
    "search": "found your name in a search with",
    "create": "added to",
    "update": "changed",
    "sign": "signed something in",
    "export": "printed or saved a copy of",
    "evaluate": "checked",
    "acknowledge": "answered an alert in",
    "administer": "recorded a medicine in",
    "override": "made a decision in",
}


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    username: str | None = None,
    patient_id: str | None = None,
    action: str | None = None,
    outcome: str | None = None,
    actor: Actor = Depends(Access("audit", "read", patient_param=None)),
) -> Response:
    pid = int(patient_id) if patient_id and patient_id.isdigit() else None
    events = audit_views.list_events(
        db=request.app.state.db,
        actor=actor,
        username=username or None,
        patient_id=pid,
        action=action or None,
        outcome=outcome or None,
        limit=200,
    )
    return render(
        request,
        "audit.html",
        {
            "events": events,
            "filters": {
                "username": username or "",
                "patient_id": patient_id or "",
                "action": action or "",
                "outcome": outcome or "",
            },
        },
    )
