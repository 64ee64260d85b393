"""Page plumbing shared by every capability's pages: render with the actor and CSRF token, read forms, show errors."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from pydantic import ValidationError

from ketacare.domain import formatting as fmt
from ketacare.domain.errors import InvalidValue
from ketacare.http.access import CSRF_COOKIE, new_csrf_token
from ketacare.http.errors import field_errors
from ketacare.services import clinic
from ketacare.services.access import Actor, home
from ketacare.services.errors import Conflict, TooManyAttempts
from ketacare.web.templating import clinic_in_force

# What a form submission can be refused with: the page shows it beside the field and in the summary at the top,
# keeps what was typed, and the service has stored nothing (it raised before its transaction committed).
FORM_REFUSALS = (ValidationError, InvalidValue, Conflict, TooManyAttempts)


def clinic_settings(request: Request) -> clinic.ClinicSettingsRead:
    """Return the clinic's settings in force (read once per request)."""
    found = getattr(request.state, "clinic", None)
    if found is None:
        found = clinic.current(request.app.state.db, request.app.state.settings)
        request.state.clinic = found
    return found


def clinic_zone(request: Request) -> tzinfo:
    """Return the clinic's time zone: pages show and take times in it."""
    return fmt.zone(clinic_settings(request).timezone)


def render(request: Request, template: str, ctx: dict[str, Any], status_code: int = 200) -> Response:
    """Render a page with the acting user, the clinic's settings and a CSRF token (set as a cookie on first visit)."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    actor = getattr(request.state, "actor", None)
    settings = clinic_settings(request)
    base = {
        "actor": actor,
        "csrf_token": token,
        "clinic": settings,
        "tz_name": settings.timezone,  # IANA name, for scripts that show clock times (board.js)
        "weight_unit": settings.weight_unit,
    }
    with clinic_in_force(settings):
        response: Response = request.app.state.templates.TemplateResponse(
            request, template, {**base, **ctx}, status_code=status_code
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
    """Return field -> message in plain words (the same texts as the API's errors[].message)."""
    return {e.field: e.message for e in field_errors(exc.errors())}


async def form_data(request: Request, multi: tuple[str, ...] = ()) -> dict[str, Any]:
    """Return the submitted fields as text (without the CSRF token); fields in `multi` as lists of texts."""
    form = await request.form()
    out: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrf_token" and k not in multi}
    for k in multi:
        out[k] = [str(v) for v in form.getlist(k)]
    return out


def refusal(exc: Exception) -> tuple[dict[str, str], int]:
    """Return (field -> message, HTTP status) for a refused form: 422 for bad input, 409 for a stale version, 429
    for a signing password or code tried too often."""
    if isinstance(exc, ValidationError):
        return form_errors(exc), 422
    if isinstance(exc, InvalidValue):  # InvalidValues carries every refused field of the form
        return dict(getattr(exc, "errors", None) or {exc.field: exc.message}), 422
    if isinstance(exc, Conflict):
        return {"version": str(exc)}, 409
    if isinstance(exc, TooManyAttempts):  # a signing password or code tried too often: shown beside that field
        return {exc.field or "request": str(exc)}, 429
    raise TypeError(f"not a form refusal: {exc!r}")


def safe_next(target: str | None, actor: Actor) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return home(actor)  # each role's home page is in policy.toml


def local_field(request: Request, values: dict[str, Any], key: str) -> datetime | None:
    """Read a date-and-time field typed in the clinic's local time (labelled with its zone) as UTC; blank is None
    (the service then uses now). A time the clocks skipped or repeated that night is refused, never guessed."""
    return fmt.parse_local(values.get(key), clinic_zone(request), key)
