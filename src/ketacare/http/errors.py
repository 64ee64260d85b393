"""Map refusals to HTTP: JSON for /api (field and reason), pages for the web. A failed request changes nothing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLATimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketacare.domain.errors import InvalidValue, InvalidValues
from ketacare.http.access import CsrfError
from ketacare.http.messages import field_path, plain_message
from ketacare.services.errors import (
    Conflict,
    EnrolmentRequired,
    Forbidden,
    NotFound,
    PasswordChangeRequired,
    TooManyAttempts,
    Unauthenticated,
)
from ketacare.services.refs import MAX_RECORD_ID


class FieldError(BaseModel):
    """One refused field and why, in words a clinician uses."""

    field: str
    message: str


class ErrorBody(BaseModel):
    """The body of every refusal the API sends (401, 403, 404, 429, ...)."""

    detail: str


class ValidationErrorBody(ErrorBody):
    """HTTP 422: what was wrong, field by field."""

    errors: list[FieldError]


class ConflictBody(ErrorBody):
    """HTTP 409: the record changed since the caller read it."""

    current_version: int


_ERROR_DOCS: dict[int, tuple[type[BaseModel], str]] = {
    401: (ErrorBody, "Not signed in, or the login expired"),
    403: (ErrorBody, "The caller's role may not do this"),
    404: (ErrorBody, "No such record, or one the caller may not know exists"),
    409: (ConflictBody, "Someone else changed the record; carries the current version"),
    422: (ValidationErrorBody, "A field was refused; nothing was stored"),
    413: (ValidationErrorBody, "The request body is larger than the clinic allows; nothing was stored"),
    429: (ErrorBody, "Too many attempts; retry after the Retry-After header"),
    503: (ErrorBody, "The database cannot be reached; retry after the Retry-After header"),
}

RETRY_AFTER_DB_S = 5  # seconds a client waits before retrying while the database is unreachable


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the `responses=` declaration documenting the real error bodies for `codes` (OpenAPI)."""
    return {code: {"model": _ERROR_DOCS[code][0], "description": _ERROR_DOCS[code][1]} for code in codes}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path in ("/healthz", "/livez", "/readyz")


def field_name(loc: Sequence[int | str]) -> str:
    """Turn a pydantic error location into a field name a person can read ("medications.2.dose_value")."""
    return field_path(loc)


def clean_message(msg: str) -> str:
    return msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")


def field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """Return pydantic errors as refused fields with messages in plain words (one per field, first wins)."""
    out: dict[str, FieldError] = {}
    for e in errors:
        field = field_path(e.get("loc", ()))
        out.setdefault(field, FieldError(field=field, message=plain_message(e, field)))
    return list(out.values())


def validation_errors(exc: RequestValidationError) -> list[FieldError]:
    return field_errors(exc.errors())


def _json(body: BaseModel, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """Send `body` (one of the models documented by `error_responses`) as the JSON answer."""
    return JSONResponse(body.model_dump(mode="json"), status_code=status, headers=headers)


def _page(request: Request, status: int, title: str, message: str) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"title": title, "message": message}, status_code=status
    )


def _api_or_page(request: Request, body: BaseModel, status: int, title: str, message: str) -> Response:
    """Answer an API request with `body` as JSON, a web request with the error page."""
    if _is_api(request):
        return _json(body, status)
    return _page(request, status, title, message)


_TITLES = {413: "Too much at once", 422: "Check what was entered", 429: "Too many requests"}


def refusal(request: Request, status: int, field: str, message: str) -> Response:
    """Answer a refused request naming the field (JSON for the API, the error page for the web)."""
    detail = f"{field}: {message}"
    if status == 429:
        body: BaseModel = ErrorBody(detail=detail)
    else:
        body = ValidationErrorBody(detail=detail, errors=[FieldError(field=field, message=message)])
    return _api_or_page(request, body, status, _TITLES.get(status, "Error"), detail)


def _out_of_range_param(request: Request) -> str | None:
    """Name the path or query parameter holding a number beyond any record id, or None."""
    for name, value in [*request.path_params.items(), *request.query_params.items()]:
        text = str(value).strip()
        if text.lstrip("-").isdigit() and not -MAX_RECORD_ID <= int(text) <= MAX_RECORD_ID:
            return name
    return None


async def _overflow(request: Request, exc: Exception) -> Response:
    """A number too large for the database's integers (SQLite raises OverflowError, PostgreSQL a DataError)."""
    field = _out_of_range_param(request)
    if field is None:
        raise exc
    return refusal(request, 422, field, f"a record id is a number from 1 to {MAX_RECORD_ID}")


async def _database_unreachable(request: Request, exc: Exception) -> Response:
    """The database did not answer (stopped, restarting, network): 503 with Retry-After, never a hang or 500."""
    orig = getattr(exc, "orig", None)
    if orig is not None and type(orig).__module__.startswith("sqlite3"):
        if not any(word in str(orig) for word in ("locked", "busy", "unable to open")):
            raise exc  # a fault in a statement, not an outage
    headers = {"Retry-After": str(RETRY_AFTER_DB_S)}
    message = (
        "the clinic's database cannot be reached just now; nothing was stored. Try again in a few seconds."
    )
    if _is_api(request):
        return _json(ErrorBody(detail=message), 503, headers)
    page = _page(request, 503, "Connection to the database lost", message.capitalize())
    page.headers.update(headers)
    return page


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors = validation_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    body = ValidationErrorBody(detail=detail, errors=errors)
    return _api_or_page(request, body, 422, "Check what was entered", detail)


async def _invalid(request: Request, exc: InvalidValue) -> Response:
    detail = f"{exc.field}: {exc.message}"
    refused = exc.errors if isinstance(exc, InvalidValues) else {exc.field: exc.message}
    body = ValidationErrorBody(detail=detail, errors=[FieldError(field=f, message=m) for f, m in refused.items()])
    return _api_or_page(request, body, 422, "Check what was entered", detail)


async def _unauth(request: Request, exc: Unauthenticated) -> Response:
    if _is_api(request):
        return _json(ErrorBody(detail=str(exc)), 401, {"WWW-Authenticate": "Bearer"})
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target)}", status_code=303)


async def _not_found(request: Request, exc: NotFound) -> Response:
    return _api_or_page(request, ErrorBody(detail=str(exc)), 404, "Not found", str(exc).capitalize())


async def _forbidden(request: Request, exc: Forbidden) -> Response:
    message = f"Your role does not allow this: {exc}."
    return _api_or_page(request, ErrorBody(detail=str(exc)), 403, "Not allowed", message)


async def _password_first(request: Request, exc: PasswordChangeRequired) -> Response:
    if _is_api(request):
        return _json(ErrorBody(detail=str(exc)), 403)
    return RedirectResponse("/account/password", status_code=303)


async def _conflict(request: Request, exc: Conflict) -> Response:
    body = ConflictBody(detail=str(exc), current_version=exc.current_version)
    return _api_or_page(request, body, 409, "Someone else changed this record", str(exc))


async def _too_many(request: Request, exc: TooManyAttempts) -> Response:
    headers = {"Retry-After": str(exc.retry_after_s)}
    if _is_api(request):
        return _json(ErrorBody(detail=str(exc)), 429, headers)
    return _page(request, 429, "Too many attempts", str(exc).capitalize())


async def _enrol(request: Request, exc: EnrolmentRequired) -> Response:
    if _is_api(request):
        return _json(ErrorBody(detail=str(exc)), 403)
    return RedirectResponse("/account/totp", status_code=303)


async def _csrf(request: Request, exc: CsrfError) -> Response:
    return _api_or_page(request, ErrorBody(detail=str(exc)), 403, "Please reload the page", str(exc).capitalize())


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    if _is_api(request) and exc.status_code == 400:
        # FastAPI's answer to a body it cannot decode (not UTF-8, not JSON): a refused field like any other.
        field = FieldError(field="body", message=str(exc.detail))
        return _json(ValidationErrorBody(detail=f"body: {exc.detail}", errors=[field]), 422)
    if _is_api(request) or exc.status_code == 405:
        return _json(ErrorBody(detail=str(exc.detail)), exc.status_code, exc.headers)
    return _page(request, exc.status_code, "Not found" if exc.status_code == 404 else "Error", str(exc.detail))


def install(app: FastAPI) -> None:
    """Register the exception handlers on `app`."""
    app.exception_handler(RequestValidationError)(_validation)
    app.exception_handler(InvalidValue)(_invalid)
    app.exception_handler(Unauthenticated)(_unauth)
    app.exception_handler(NotFound)(_not_found)
    app.exception_handler(Forbidden)(_forbidden)
    app.exception_handler(PasswordChangeRequired)(_password_first)
    app.exception_handler(Conflict)(_conflict)
    app.exception_handler(TooManyAttempts)(_too_many)
    app.exception_handler(CsrfError)(_csrf)
    app.exception_handler(EnrolmentRequired)(_enrol)
    app.exception_handler(StarletteHTTPException)(_http)
    app.exception_handler(OverflowError)(_overflow)
    app.exception_handler(DataError)(_overflow)
    for unreachable in (OperationalError, InterfaceError, DisconnectionError, SQLATimeoutError):
        app.exception_handler(unreachable)(_database_unreachable)
