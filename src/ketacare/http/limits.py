"""Refuse what must never reach a use case: bodies over the cap (413), NUL characters in any field (422) and more
API requests per token than the clinic allows (429). Pure ASGI, so streaming responses keep working."""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketacare.http import errors
from ketacare.http.access import SESSION_COOKIE

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_NUL_MESSAGE = "remove the invisible control character (NUL) from this field"


def _nul_in_pairs(pairs: list[tuple[str, str]]) -> str | None:
    return next((k.replace("\x00", "") or "request" for k, v in pairs if "\x00" in k or "\x00" in v), None)


def _walk(value: Any, path: str) -> Iterator[str]:
    if isinstance(value, str) and "\x00" in value:
        yield path or "body"
    elif isinstance(value, dict):
        for k, v in value.items():
            if "\x00" in str(k):
                yield path or "body"
            yield from _walk(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]" if path else f"[{i}]")


def nul_field(content_type: str, body: bytes) -> str | None:
    """Return the first field of a JSON or form body holding a NUL character, or None."""
    if not body:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return _nul_in_pairs(parse_qsl(body.decode("latin-1"), keep_blank_values=True))
    if b"\x00" not in body and b"\\u0000" not in body:
        return None
    if content_type.startswith("application/json"):
        try:
            return next(_walk(json.loads(body), ""), None)
        except ValueError:
            return None  # not JSON: FastAPI refuses it with its own 422
    return "body"


class RateLimiter:
    """Token buckets per caller: `per_minute` requests a minute on average, bursts up to `burst`."""

    def __init__(self, per_minute: int, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = per_minute / 60.0, float(burst), clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one request for `key`; return 0 when allowed, else the seconds to wait."""
        now = self.clock()
        with self._lock:
            tokens, since = self._buckets.get(key, (self.burst, now))
            tokens = min(self.burst, tokens + (now - since) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > 50_000:  # forget callers whose bucket has refilled
                    self._buckets = {k: v for k, v in self._buckets.items() if v[0] < self.burst - 1}
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def caller_key(scope: Scope) -> str:
    """Identify the caller by its token (never stored in clear) or, without one, by its address."""
    headers = dict(scope.get("headers") or [])
    auth = headers.get(b"authorization", b"")
    token = auth[7:] if auth[:7].lower() == b"bearer " else b""
    if not token:
        for part in headers.get(b"cookie", b"").split(b";"):
            name, _, value = part.strip().partition(b"=")
            if name == SESSION_COOKIE.encode():
                token = value
    if token:
        return "t:" + hashlib.sha256(token).hexdigest()[:32]
    client = scope.get("client")
    return f"a:{client[0] if client else '-'}"


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int
    rate: RateLimiter | None


class _TooLarge(Exception):
    pass


class RequestLimits:
    """Apply `Limits` to every HTTP request before the app sees it."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app, self.limits = app, limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        field = _nul_in_pairs(query)
        if field:
            return await errors.refusal(request, 422, field, _NUL_MESSAGE)(scope, receive, send)
        if self.limits.rate is not None and scope["path"].startswith("/api/v1/"):
            wait = self.limits.rate.take(caller_key(scope))
            if wait:
                answer = errors.refusal(request, 429, "request", "too many requests: slow down and retry")
                answer.headers["Retry-After"] = str(max(1, math.ceil(wait)))
                return await answer(scope, receive, send)
        if scope["method"] not in _BODY_METHODS:
            return await self.app(scope, receive, send)
        too_big = f"the request is larger than {self.limits.max_body_bytes:,} bytes"
        try:
            declared = int(request.headers.get("content-length", "0"))
        except ValueError:
            declared = 0
        if declared > self.limits.max_body_bytes:
            return await errors.refusal(request, 413, "body", too_big)(scope, receive, send)
        try:
            body = await self._read(receive)
        except _TooLarge:
            return await errors.refusal(request, 413, "body", too_big)(scope, receive, send)
        field = nul_field(request.headers.get("content-type", ""), body)
        if field:
            return await errors.refusal(request, 422, field, _NUL_MESSAGE)(scope, receive, send)
        return await self.app(scope, _replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
