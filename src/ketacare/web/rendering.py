"""Page plumbing shared by every capability's pages: render with the actor and CSRF token, read forms, show errors."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from ketacare.http.access import CSRF_COOKIE, new_csrf_token
from ketacare.http.errors import clean_message, field_name
from ketacare.services.access import Actor


def render(request: Request, template: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    """Render a page with the acting user and a CSRF token (set as a cookie on first visit)."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    actor = getattr(request.state, "actor", None)
    response = request.app.state.templates.TemplateResponse(
        request, template, {"actor": actor, "csrf_token": token, **ctx}, status_code=status_code
    )
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=request.app.state.settings.cookie_secure,
            path="/",
        )
    return response


def form_errors(exc: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for e in exc.errors():
        out.setdefault(field_name(e.get("loc", ())), clean_message(e.get("msg", "invalid")))
    return out


async def form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v) for k, v in form.items() if k != "csrf_token"}


def safe_next(target: str | None, actor: Actor) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    homes = {"patient": "/me", "admin": "/admin/audit", "researcher": "/welcome"}
    return homes.get(actor.role, "/patients")
