"""A person's own account: profile, password (forced at first login), second factor; one-time password links;
emergency break-glass access."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain.errors import InvalidValue
from ketacare.http.access import PUBLIC, SESSION_COOKIE, Access
from ketacare.services.access import Actor, PasswordChange, Profile, account, accounts, emergency
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)
LABELS = {
    "current_password": "Current password",
    "new_password": "New password",
    "confirm_password": "New password again",
    "display_name": "Full name",
    "credentials": "Credentials",
    "licence_number": "Licence number",
    "code": "Code from the app",
    "secret": "Enrolment",
    "token": "Link",
    "reason": "Reason",
    "minutes": "For how long",
}
ChangePassword = Access("account", "change_password", before_password_change=True)


def _db(request: Request) -> Any:
    return request.app.state.db


def _password_errors(e: Exception) -> tuple[dict[str, str], int]:
    errors, status = refusal(e)
    if "password" in errors:  # the strength check names the password; on this form it is the new one
        errors["new_password"] = errors.pop("password")
    return errors, status


def _account_page(
    request: Request,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    form: str = "",
    values: dict[str, str] | None = None,
    enrolment: account.TotpEnrolment | None = None,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    me = accounts.detail_of(db=_db(request), actor=actor)
    return render(
        request,
        "account.html",
        {
            "me": me,
            "errors": errors or {},
            "form": form,
            "values": values or {},
            "labels": LABELS,
            "enrolment": enrolment,
            "notice": notice,
        },
        status,
    )


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, actor: Actor = Depends(Access("account", "read"))) -> Response:
    notice = {
        "password": "Password changed. Your other logins have ended.",
        "profile": "Profile saved.",
        "totp": "Second factor on: log in with a code from your app from now on.",
    }
    key = next((k for k in notice if k in request.query_params), None)
    return _account_page(request, actor, notice=notice.get(key or ""))


@router.post("/account/profile", response_class=HTMLResponse)
async def own_profile_submit(
    request: Request, actor: Actor = Depends(Access("account", "update_profile"))
) -> Response:
    values = await form_data(request)
    try:
        data = Profile(
            display_name=values.get("display_name", ""),
            credentials=values.get("credentials"),
            licence_number=values.get("licence_number"),
        )
        accounts.update_profile(db=_db(request), actor=actor, username=actor.username, data=data)
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _account_page(request, actor, errors=errors, form="profile", values=values, status=status)
    return RedirectResponse("/account?profile=1", status_code=303)


@router.post("/account/totp/start", response_class=HTMLResponse)  # /account/totp is the required enrolment
async def totp_start(request: Request, actor: Actor = Depends(Access("account", "enrol_totp"))) -> Response:
    await form_data(request)
    return _account_page(request, actor, form="totp", enrolment=account.totp_enrolment(actor))


@router.post("/account/totp/confirm", response_class=HTMLResponse)
async def totp_confirm(request: Request, actor: Actor = Depends(Access("account", "enrol_totp"))) -> Response:
    values = await form_data(request)
    secret = values.get("secret", "")
    try:
        account.confirm_totp(db=_db(request), actor=actor, secret=secret, code=values.get("code", "").strip())
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        enrolment = account.totp_enrolment(actor, secret) if "secret" not in errors else None
        return _account_page(request, actor, errors=errors, form="totp", enrolment=enrolment, status=status)
    return RedirectResponse("/account?totp=1", status_code=303)


@router.get("/account/password", response_class=HTMLResponse)
def password_page(request: Request, actor: Actor = Depends(ChangePassword)) -> Response:
    return render(
        request, "password.html", {"errors": {}, "labels": LABELS, "forced": actor.must_change_password}
    )


@router.post("/account/password", response_class=HTMLResponse)
async def password_submit(request: Request, actor: Actor = Depends(ChangePassword)) -> Response:
    values = await form_data(request)
    try:
        data = PasswordChange(
            current_password=values.get("current_password", ""),
            new_password=values.get("new_password", ""),
            confirm_password=values.get("confirm_password", ""),
        )
        account.change_password(db=_db(request), actor=actor, data=data)
    except FORM_REFUSALS as e:
        errors, status = _password_errors(e)
        return render(
            request,
            "password.html",
            {"errors": errors, "labels": LABELS, "forced": actor.must_change_password},
            status,
        )
    return RedirectResponse("/account?password=1", status_code=303)


# --- one-time links (reset, portal invitation): no login, the link is the proof ---


@router.get("/password/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str, actor: Actor = Depends(PUBLIC)) -> Response:
    target = account.check_link(db=_db(request), token=token)
    status = 200 if target is not None else 410
    return render(
        request,
        "password_link.html",
        {"target": target, "token": token, "errors": {}, "labels": LABELS},
        status,
    )


@router.post("/password/{token}", response_class=HTMLResponse)
async def link_submit(request: Request, token: str, actor: Actor = Depends(PUBLIC)) -> Response:
    values = await form_data(request)
    target = account.check_link(db=_db(request), token=token)
    try:
        account.set_password_by_link(
            db=_db(request),
            actor=actor,
            token=token,
            new_password=values.get("new_password", ""),
            confirm=values.get("confirm_password", ""),
        )
    except (ValidationError, InvalidValue) as e:
        errors, status = _password_errors(e)
        if "token" in errors:
            status = 410
        return render(
            request,
            "password_link.html",
            {"target": target, "token": token, "errors": errors, "labels": LABELS},
            status,
        )
    response = RedirectResponse("/login?password=set", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- break-glass ---


def _break_glass_page(
    request: Request,
    actor: Actor,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    current = emergency.current(db=_db(request), actor=actor)
    ctx = {
        "current": current,
        "errors": errors or {},
        "values": values or {"minutes": "30"},
        "labels": LABELS,
        "duration_options": [(str(m), f"{m} minutes") for m in emergency.DURATIONS_MIN],
    }
    return render(request, "break_glass.html", ctx, status)


@router.get("/break-glass", response_class=HTMLResponse)
def break_glass_page(
    request: Request, actor: Actor = Depends(Access("emergency_access", "break_glass"))
) -> Response:
    return _break_glass_page(request, actor)


@router.post("/break-glass", response_class=HTMLResponse)
async def break_glass_submit(
    request: Request, actor: Actor = Depends(Access("emergency_access", "break_glass"))
) -> Response:
    values = await form_data(request)
    raw = values.get("minutes", "")
    try:
        emergency.start(
            db=_db(request),
            actor=actor,
            reason=values.get("reason", ""),
            minutes=int(raw) if raw.isdigit() and len(raw) < 4 else 0,
        )
    except FORM_REFUSALS as e:
        errors, status = refusal(e)
        return _break_glass_page(request, actor, errors=errors, values=values, status=status)
    return RedirectResponse("/patients", status_code=303)


@router.post("/break-glass/end", response_class=HTMLResponse)
async def break_glass_end(
    request: Request, actor: Actor = Depends(Access("emergency_access", "break_glass"))
) -> Response:
    await form_data(request)
    emergency.end(db=_db(request), actor=actor)
    return RedirectResponse("/break-glass", status_code=303)
