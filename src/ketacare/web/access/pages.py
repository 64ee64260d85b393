"""Sign-in, sign-out, the start page, the audit trail and a patient's access log."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.http.access import (
    PUBLIC,
    SESSION_COOKIE,
    Access,
    client_address,
    device_cookie,
    set_device_cookie,
)
from ketacare.services.access import Actor, AuditFilter, LoginRequest, audit_actions, audit_views, auth
from ketacare.services.errors import TooManyAttempts, Unauthenticated
from ketacare.web.rendering import clinic_zone, form_data, refusal, render, safe_next

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
            device=device_cookie(request),
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
    target = safe_next(nxt, result.actor)
    if result.must_enrol_totp:
        target = "/account/totp"
    elif result.notice is not None:
        target = f"/account/sign-in-notice?next={quote(target)}"
    response = RedirectResponse(target, status_code=303)
    settings = request.app.state.settings
    set_device_cookie(response, result, settings)
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
def logout(
    request: Request, actor: Actor = Depends(Access("account", "logout", before_password_change=True))
) -> Response:
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


_FILTER_KEYS = ("username", "mrn", "action", "outcome", "date_from", "date_to")


def _audit_filter(request: Request) -> tuple[AuditFilter | None, dict[str, str], dict[str, str]]:
    """Read the audit filters from the query; return (filter or None, typed values, field -> message)."""
    values = {k: (request.query_params.get(k) or "").strip() for k in _FILTER_KEYS}
    try:
        return AuditFilter(**{k: v for k, v in values.items() if v}), values, {}
    except ValidationError as exc:
        return None, values, refusal(exc)[0]
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
    page: int = Query(1, ge=1, le=1_000_000),
    actor: Actor = Depends(Access("audit", "read", patient_param=None)),
) -> Response:
    filters, values, errors = _audit_filter(request)
    ctx: dict[str, object] = {"values": values, "errors": errors, "actions": sorted(audit_actions()),
                              "result": None, "query": ""}
    if filters is None:
        return render(request, "audit.html", ctx, 422)
    tz = clinic_zone(request)
    result = audit_views.search_events(db=request.app.state.db, actor=actor, filters=filters, tz=tz, page=page)
    ctx["result"] = result
    ctx["query"] = urlencode({k: v for k, v in values.items() if v})
    return render(request, "audit.html", ctx)


_CSV_COLUMNS = ("seq", "occurred_at_utc", "occurred_at_local", "user", "role", "action", "resource", "resource_id",
                "mrn", "outcome", "address", "reason")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text  # no formulas in a spreadsheet


@router.get("/admin/audit/export.csv")
def audit_export(request: Request, actor: Actor = Depends(Access("audit", "read", patient_param=None))) -> Response:
    filters, _, errors = _audit_filter(request)
    if filters is None:
        return Response("; ".join(f"{k}: {v}" for k, v in errors.items()), status_code=422, media_type="text/plain")
    tz = clinic_zone(request)
    rows = audit_views.export_events(db=request.app.state.db, actor=actor, filters=filters, tz=tz)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_CSV_COLUMNS)
    for e in rows:
        at = e.occurred_at.astimezone(UTC)
        writer.writerow([_cell(v) for v in (
            e.seq, at.strftime("%Y-%m-%dT%H:%M:%SZ"), at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
            e.actor_username, e.actor_role, e.action, e.resource_type, e.resource_id, e.mrn, e.outcome, e.address,
            e.reason)])
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"',
                             "Cache-Control": "no-store"})
