"""The sources page: the bibliography every "Author Year" citation on a page links to (one anchor per key)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.domain import sources
from ketacare.http.access import Access
from ketacare.services.access import Actor
from ketacare.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/sources", response_class=HTMLResponse)
def sources_page(
    request: Request, actor: Actor = Depends(Access("sources", "read", patient_param=None))
) -> Response:
    """List every source Ketacare cites, with what it supports and how far it was read."""
    entries = sorted(sources.bibliography().values(), key=lambda s: (s.short.lower(), s.key))
    return render(request, "sources.html", {"entries": entries, "labels": sources.labels()})
