"""Route a request among only the routers that could serve its path (issue 15: routing was up to 15 % of a request).

FastAPI tries the app's routes in order, and each included router tries all of its own: a path served late in
the table (the sessions API, the pages) first failed against every route before it. Every route's pattern starts
with its path up to the first `{` (its literal head); a route whose head the path does not start with cannot
match, fully or partly. So the routes are grouped by the first path segments, and a request is handed to a copy
of the app's router that holds, in their original order, only the routes whose heads fit those segments: the same
route wins as before (including 405 answers and the trailing-slash redirect, which keeps the segments), at a
fraction of the work. Everything else (the route table, `url_for`, the lifespan) stays with the app's router.

FastAPI (0.165) still tried up to 14 included routers for a chart read and matched the winner twice: route matching
was about a third of the event loop's work for a chart read (issue 15, cProfile). So the router that fully matches
a method and path is remembered too (a route's match depends only on them), and the next request with that method
and path is handed a copy of the app's router holding that one router: the same route wins, since only a full match
is remembered and the first full match wins. A path that matches nothing fully (404, 405, redirects) is never
remembered and goes through the narrowed routes as before.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI
from starlette.routing import BaseRoute, Match, Mount
from starlette.types import Receive, Scope, Send

KEY_SEGMENTS = 3  # /api/v1/<capability> tells the API's routers apart
MAX_GROUPS = 2048  # distinct first segments remembered; a scan of random paths cannot grow memory past this
MAX_PATHS = 8192  # distinct (method, path) winners remembered, then forgotten all at once


def _route_path(scope: Scope) -> str:
    """Return the path the routes match against (without the app's root path), as Starlette computes it."""
    path, root = str(scope["path"]), str(scope.get("root_path", ""))
    if root and path.startswith(root) and (path == root or path[len(root)] == "/"):
        return path[len(root):]
    return path


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("/") if s)


def _head(path: str) -> str:
    return path.split("{", 1)[0]


def _heads(route: BaseRoute) -> list[str]:
    """Return the literal heads of every path `route` can match (all of them for an included router)."""
    if isinstance(route, Mount):
        return [route.path.rstrip("/") + "/"]
    contexts = getattr(route, "effective_route_contexts", None)
    if contexts is not None:
        return [_head(str(c.path)) for c in contexts()]
    path = getattr(route, "path", None)
    return [_head(path)] if isinstance(path, str) else [""]  # unknown kind: a candidate for every path


def _fits(head: str, key: tuple[str, ...]) -> bool:
    """Tell whether a path whose first segments are `key` could start with `head` (True when unsure)."""
    whole, _, partial = head.rpartition("/")
    complete = _segments(whole)
    for i, segment in enumerate(complete[:KEY_SEGMENTS]):
        if i >= len(key) or key[i] != segment:
            return False
    n = len(complete)
    if partial and n < KEY_SEGMENTS:
        return n < len(key) and key[n].startswith(partial)
    return True


class RouteIndex:
    """The app router's dispatch, narrowed to the routes whose literal heads fit the path's first segments."""

    def __init__(self, app: FastAPI) -> None:
        self.router = app.router
        self.full = self.router.middleware_stack
        self.routes: list[tuple[BaseRoute, list[str]]] = []
        self.groups: dict[tuple[str, ...], Any] = {}
        self.winners: dict[tuple[str, str], Any] = {}  # (method, path) -> a router holding the one that matched
        self.singles: dict[int, Any] = {}  # id(route) -> a copy of the app's router holding only that route

    def _group(self, key: tuple[str, ...]) -> Any:
        if len(self.routes) != len(self.router.routes):  # routes added after start-up (tests do): index afresh
            self.routes = [(r, _heads(r)) for r in self.router.routes]
            self.groups, self.winners, self.singles = {}, {}, {}
        narrowed = self.groups.get(key)
        if narrowed is None:
            narrowed = copy.copy(self.router)
            narrowed.routes = [r for r, heads in self.routes if any(_fits(h, key) for h in heads)]
            if len(self.groups) >= MAX_GROUPS:
                self.groups.clear()
            self.groups[key] = narrowed
        return narrowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.full(scope, receive, send)
            return
        path = _route_path(scope)
        scope.setdefault("router", self.router)  # url_for and friends see every route
        group = self._group(_segments(path)[:KEY_SEGMENTS])
        at = (str(scope.get("method", "")), path)
        chosen = self.winners.get(at)
        if chosen is None:
            chosen = self._winner(group, scope)
            if chosen is None:
                chosen = group
            else:
                if len(self.winners) >= MAX_PATHS:
                    self.winners.clear()
                self.winners[at] = chosen
        await chosen.app(scope, receive, send)

    def _winner(self, group: Any, scope: Scope) -> Any | None:
        """Return a router holding only the first route of `group` that fully matches the request (None if none)."""
        probe = {k: dict(v) if isinstance(v, dict) else v for k, v in scope.items()}  # matching writes to scope
        for route in group.routes:
            match, _ = route.matches(probe)
            if match == Match.FULL:
                single = self.singles.get(id(route))
                if single is None:
                    single = copy.copy(self.router)
                    single.routes = [route]
                    self.singles[id(route)] = single
                return single
            probe = {k: dict(v) if isinstance(v, dict) else v for k, v in scope.items()}
        return None


def install(app: FastAPI) -> None:
    """Dispatch the app's requests through a `RouteIndex` (call once every router is included)."""
    app.router.middleware_stack = RouteIndex(app)


def candidates(app: FastAPI, path: str) -> Iterable[BaseRoute]:
    """Return the routes a request for `path` is matched against (for tests)."""
    index = app.router.middleware_stack
    if not isinstance(index, RouteIndex):
        return list(app.router.routes)
    return list(index._group(_segments(path)[:KEY_SEGMENTS]).routes)
