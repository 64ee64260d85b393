"""`Server-Timing: app;dur=<ms>, cpu;dur=<ms>` on every response: the time this process spent on the request, from
its arrival until the response headers were sent, and the CPU time the process used meanwhile (pure ASGI
middleware, so streaming responses keep working). `cpu` counts the whole process, so requests running at the same
time inflate each other's figure; on a machine shared with other work, `app` minus `cpu` is mostly waiting.

For an ordinary response (a page, a JSON body) the body is built before its headers go out, so the figure covers
authentication, the database, the audit trail and template rendering; for a stream (the board's events) it covers
only the time to the first byte. Browsers show it in their network panel; the board benchmark reads it.
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class ServerTiming:
    """Add the request's server time in milliseconds as a `Server-Timing` header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0, c0 = time.perf_counter(), time.process_time()

        async def send_with_timing(message: Message) -> None:
            if message["type"] == "http.response.start":
                dur = (time.perf_counter() - t0) * 1000.0
                cpu = (time.process_time() - c0) * 1000.0
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"server-timing"]
                headers.append((b"server-timing", f"app;dur={dur:.1f}, cpu;dur={cpu:.1f}".encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_timing)
