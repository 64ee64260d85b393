"""A flat view of the app's route table (FastAPI nests included routers), for checks and documentation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from ketacare.http.access import Access


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    access: Access | None
    name: str


def _access_of(dependant: Any) -> Access | None:
    if dependant is None:
        return None
    for dep in getattr(dependant, "dependencies", []):
        if isinstance(dep.call, Access):
            return dep.call
        found = _access_of(dep)
        if found is not None:
            return found
    return None


def _walk(routes: Iterable[BaseRoute]) -> Iterator[Any]:
    for r in routes:
        if hasattr(r, "effective_route_contexts"):
            yield from r.effective_route_contexts()
        elif hasattr(r, "methods") and hasattr(r, "path"):
            yield r


def route_table(app: Starlette) -> list[RouteInfo]:
    """Return one entry per (method, path) the app serves, with the Access it declares (None if undeclared)."""
    out = []
    for r in _walk(app.routes):
        for method in sorted(r.methods or []):
            if method == "HEAD":
                continue
            out.append(RouteInfo(method, r.path, _access_of(getattr(r, "dependant", None)), r.name))
    return out
