"""Account security pages: failed sign-ins shown to the account owner, enrolling an authenticator, and the
sign-in delays an administrator sees and clears."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.http.access import Access
from ketacare.services.access import Actor, TotpEnrolment, notices, throttle, users
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/account/sign-in-notice", response_class=HTMLResponse)
def sign_in_notice(
    request: Request, next: str | None = None, actor: Actor = Depends(Access("account", "read"))
) -> Response:
    notice = notices.latest(db=request.app.state.db, actor=actor)
    return render(request, "sign_in_notice.html", {"notice": notice, "next": safe_next(next, actor)})


def _enrol_page(request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    actor: Actor = request.state.actor
    fresh = users.new_totp_secret(actor=actor, secret=values.get("secret") or None)
    ctx = {"enrol": fresh, "values": {"totp_code": values.get("totp_code", "")}, "errors": errors}
    return render(request, "totp_enrol.html", ctx, status)


@router.get("/account/totp", response_class=HTMLResponse)
def totp_form(request: Request, actor: Actor = Depends(Access("account", "enrol_totp"))) -> Response:
    return _enrol_page(request, {}, {})


@router.post("/account/totp", response_class=HTMLResponse)
async def totp_submit(request: Request, actor: Actor = Depends(Access("account", "enrol_totp"))) -> Response:
    values = await form_data(request)
    try:
        data = TotpEnrolment(
            secret=values.get("secret", ""),
            totp_code=(values.get("totp_code") or "").strip(),
            password=values.get("password", ""),
        )
        users.enrol_own_totp(db=request.app.state.db, actor=actor, data=data)
    except FORM_REFUSALS as exc:
        errors, status = refusal(exc)
        if isinstance(exc, ValidationError) and "secret" in errors:
            errors = {"totp_code": "the page expired: enter the code for the new secret below"}
            values = {}
        return _enrol_page(request, values, errors, status)
    return RedirectResponse(safe_next(None, actor), status_code=303)


@router.get("/admin/sign-in", response_class=HTMLResponse)
def throttle_page(
    request: Request, cleared: str | None = None, actor: Actor = Depends(Access("login_throttle", "read"))
) -> Response:
    rows = throttle.list_state(db=request.app.state.db, actor=actor)
    return render(request, "sign_in_throttle.html", {"rows": rows, "cleared": cleared})


@router.post("/admin/sign-in/clear", response_class=HTMLResponse)
async def throttle_clear(request: Request, actor: Actor = Depends(Access("login_throttle", "clear"))) -> Response:
    values = await form_data(request)
    username, key = values.get("username") or None, values.get("key") or None
    throttle.clear(db=request.app.state.db, actor=actor, username=username, key=key)
    return RedirectResponse(f"/admin/sign-in?cleared={username or 'one'}", status_code=303)
