"""Who is asking (session cookie or Bearer token) and what each route declares it needs."""

from __future__ import annotations

import asyncio
import hmac
import secrets

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from ketacare.config import Settings
from ketacare.domain.errors import InvalidValue
from ketacare.services.access import Actor, anonymous, auth, decide, throttle
from ketacare.services.errors import (
    EnrolmentRequired,
    Forbidden,
    HiddenByPolicy,
    PasswordChangeRequired,
    Unauthenticated,
)
from ketacare.services.refs import MAX_RECORD_ID as MAX_RECORD_ID  # re-exported to http.errors and api
from ketacare.services.uow import record_denied

SESSION_COOKIE = "kc_session"
CSRF_COOKIE = "kc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# What a user the clinic requires a one-time code of may do before enrolling one.
WHILE_ENROLLING = {("account", "enrol_totp"), ("account", "logout"), ("account", "read")}


class CsrfError(Exception):
    """A cookie-authenticated form or script request without the matching CSRF token."""


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def device_cookie(request: Request) -> str | None:
    """Return the known-device cookie the browser sent, if any."""
    return request.cookies.get(throttle.DEVICE_COOKIE)


def set_device_cookie(response: Response, result: auth.LoginResult, settings: Settings) -> None:
    """Remember this browser as a device that signed in to the account (refreshed at every sign-in)."""
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        result.device_token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/",
        max_age=throttle.DEVICE_COOKIE_DAYS * 86400,
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def _request_token(request: Request) -> tuple[str | None, bool]:
    """Return the request's session token (Bearer first, then the session cookie) and whether it came as a cookie."""
    token = bearer_token(request)
    if token is not None:
        return token, False
    token = request.cookies.get(SESSION_COOKIE)
    return token, token is not None


def _keep(request: Request, actor: Actor, via_cookie: bool) -> Actor:
    request.state.actor = actor
    request.state.via_cookie = via_cookie and actor.role != "anonymous"
    return actor


def actor_for(request: Request) -> Actor:
    """Resolve the actor once per request (Bearer token first, then the session cookie); may read the database."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    app = request.app
    token, via_cookie = _request_token(request)
    actor = auth.resolve(
        db=app.state.db, settings=app.state.settings, token=token, address=client_address(request)
    ) or anonymous(client_address(request))
    return _keep(request, actor, via_cookie)


async def resolve_actor(request: Request) -> Actor:
    """Resolve the actor without blocking the event loop: a token remembered by this process at once, any other in a
    worker thread (reading the session, and sometimes writing its sliding expiry, waits on the database: on the loop
    it held every other request of the process, /livez included, behind that wait)."""
    cached: Actor | None = getattr(request.state, "actor", None)
    if cached is not None:
        return cached
    app = request.app
    token, via_cookie = _request_token(request)
    address = client_address(request)
    actor = auth.remembered(db=app.state.db, settings=app.state.settings, token=token, address=address)
    if actor is None and token is not None:
        key = (asyncio.get_running_loop(), token)
        under_way = _lookups.get(key) if app.state.settings.auth_cache_seconds else None
        if under_way is not None:  # wait for that lookup, then use what it remembered
            await asyncio.shield(under_way)
            actor = auth.remembered(db=app.state.db, settings=app.state.settings, token=token, address=address)
            if actor is not None:
                return _keep(request, actor, via_cookie)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        leads = _lookups.setdefault(key, mine) is mine  # else another request started one meanwhile: look up too
        try:
            return await run_in_threadpool(actor_for, request)
        finally:
            if leads:
                del _lookups[key]
                mine.set_result(None)
    return _keep(request, actor or anonymous(address), via_cookie)


# Token lookups under way in this process: a request whose token is being looked up waits for that lookup instead of
# starting its own (issue 15: when a token's memory lapsed, every request of a busy gateway's token looked it up at
# once, each holding a worker thread and a connection, and together they filled the thread pool).
_lookups: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[None]] = {}


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


async def check_csrf(request: Request) -> None:
    """Require the double-submit CSRF token on unsafe requests that rely on cookies."""
    if request.method not in UNSAFE:
        return
    cookie = request.cookies.get(CSRF_COOKIE)
    sent: str | UploadFile | None = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        sent = form.get(CSRF_FIELD)
    if not cookie or not sent or not hmac.compare_digest(str(cookie), str(sent)):
        raise CsrfError("the form expired or came from another site: reload the page and try again")


class Access:
    """A route's declared access: the policy resource and action it needs, or that it is public.

    Used as a FastAPI dependency; returns the acting `Actor`. The persona-matrix test reads these
    declarations from the route table, so a route without one fails the suite.
    """

    def __init__(
        self,
        resource: str | None,
        action: str | None,
        *,
        public: bool = False,
        patient_param: str | None = "patient_id",
        before_password_change: bool = False,
    ) -> None:
        if not public and (resource is None or action is None):
            raise ValueError("a route that is not public names the policy resource and action it needs")
        self.resource, self.action, self.public, self.patient_param = resource, action, public, patient_param
        # The few routes a user whose password an administrator set may use: change it, or log out.
        self.before_password_change = before_password_change

    def __repr__(self) -> str:
        return "Access(public)" if self.public else f"Access({self.resource}:{self.action})"

    async def __call__(self, request: Request) -> Actor:
        actor = await resolve_actor(request)
        # Cookie-authenticated writes need the CSRF token. A public form post (the login form) needs it too,
        # against login CSRF; a JSON post cannot be sent cross-site without a CORS preflight, which we never allow.
        is_form = request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
        )
        if getattr(request.state, "via_cookie", False) or (
            self.public and request.method in UNSAFE and is_form
        ):
            await check_csrf(request)
        if self.public:
            return actor
        if actor.role == "anonymous":
            raise Unauthenticated("log in first")
        if actor.must_change_password and not self.before_password_change:
            raise PasswordChangeRequired()
        resource, action = self._needs()
        if actor.pending == "enrol_totp" and (resource, action) not in WHILE_ENROLLING:
            raise EnrolmentRequired()
        patient_id = None
        if self.patient_param and self.patient_param in request.path_params:
            try:
                patient_id = int(request.path_params[self.patient_param])
            except ValueError:
                patient_id = None
            if patient_id is not None and not 1 <= patient_id <= MAX_RECORD_ID:
                raise InvalidValue(self.patient_param, f"a record id is a number from 1 to {MAX_RECORD_ID}")
        d = decide(actor, action, resource, patient_id=patient_id)
        if not d.allowed:
            denied = (action, resource, patient_id)
            await run_in_threadpool(record_denied, request.app.state.db, actor, denied, d.reason)
            if d.hide:
                raise HiddenByPolicy("patient")
            raise Forbidden(action, resource)
        return actor

    def _needs(self) -> tuple[str, str]:
        """The (resource, action) a route that is not public declared (checked when it was declared)."""
        if self.resource is None or self.action is None:
            raise ValueError(f"{self!r} names no policy resource or action")
        return self.resource, self.action


PUBLIC = Access(None, None, public=True)
