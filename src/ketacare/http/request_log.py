"""The HTTP access log: one line per request with no personal data.

A line names the method, the route template (`/patients/{patient_id}`, never the raw path, so a name typed
into a URL stays out), the status, the duration and the user id; never the query string (search text), a
body, a header or a name. It replaces uvicorn's access log, which prints the raw path with its query.
"""

from __future__ import annotations

import logging
import sys
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("ketacare.http")


def _route(scope: Scope) -> str:
    """Return the path with every path parameter replaced by its name; "(no route)" when none matched."""
    params = scope.get("path_params") or {}
    if scope.get("route") is None and not params:
        return "(no route)"
    path = str(scope.get("path", ""))
    for name, value in params.items():
        text = str(value)
        if "/" in text and path.endswith("/" + text):  # a {path} parameter of a mount: the rest of the path
            path = path[: -len(text)] + "{" + name + "}"
    segments = path.split("/")
    pending = [(name, str(value)) for name, value in params.items() if "/" not in str(value)]
    for i, segment in enumerate(segments):
        if pending and segment == pending[0][1]:
            segments[i] = "{" + pending.pop(0)[0] + "}"
    return "/".join(segments)


def _user(scope: Scope) -> str:
    actor = (scope.get("state") or {}).get("actor")
    user_id = getattr(actor, "user_id", None)
    return "-" if user_id is None else str(user_id)


class RequestLog:
    """Log `METHOD /route/{template} STATUS DURATION user=ID` once each response has been sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.info("%s %s %d %.1f ms user=%s", scope.get("method", "-"), _route(scope), status,
                     (time.perf_counter() - t0) * 1000.0, _user(scope))


def configure_logging() -> None:
    """Send ketacare's log lines (the access log among them) to stderr once, as uvicorn does its own."""
    logger = logging.getLogger("ketacare")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
