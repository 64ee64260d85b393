"""The route index hands a request only routers that could serve its path, and never drops the one that does."""

from __future__ import annotations

import re

from fastapi import APIRouter

from ketacare.http import route_index


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]*:path\}", "a/b", re.sub(r"\{[^}:]*\}", "1", path))


def test_every_route_is_among_the_candidates_for_its_own_path_and_most_others_are_not(app):
    checked = 0
    for r in app.router.routes:  # a top-level route, or an included router holding many
        inner = getattr(r, "effective_route_contexts", None)
        for context in inner() if inner is not None else [r]:
            path = _concrete(str(getattr(context, "path", "/")))
            for variant in {path, path.rstrip("/") or "/", path + "/"}:  # the trailing-slash redirect too
                assert any(c is r for c in route_index.candidates(app, variant)), variant
            checked += 1
    assert checked > 300
    narrowed = route_index.candidates(app, "/api/v1/sessions/1/vitals/batch")
    assert len(narrowed) <= len(app.router.routes) // 5


def test_a_router_included_after_start_up_is_routed(app, clients):
    router = APIRouter()

    @router.get("/api/v1/sessions-later/ping")
    def ping() -> dict[str, str]:
        return {"ok": "yes"}

    assert clients.api(None).get("/api/v1/sessions/1").status_code in (401, 403)
    app.include_router(router)
    assert clients.api(None).get("/api/v1/sessions-later/ping").json() == {"ok": "yes"}
    assert clients.api(None).get("/api/v1/no-such-thing").status_code == 404


def test_a_remembered_path_keeps_its_route_and_other_methods_keep_their_answers(app, clients):
    api = clients.api(None)
    for _ in range(3):  # the first request finds the router, the next ones are handed the remembered one
        assert api.get("/api/v1/patients/1").status_code == 401
        assert api.delete("/api/v1/patients/1").status_code == 405  # no DELETE route: never remembered
        assert api.post("/api/v1/patients/1/allergies", json={}).status_code == 401
        assert api.get("/api/v1/no-such-thing").status_code == 404
    index = app.router.middleware_stack
    assert isinstance(index, route_index.RouteIndex)
    assert ("GET", "/api/v1/patients/1") in index.winners
    assert ("DELETE", "/api/v1/patients/1") not in index.winners
    assert ("GET", "/api/v1/no-such-thing") not in index.winners
