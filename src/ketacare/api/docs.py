"""API documentation served offline: Swagger UI from the installed swagger-ui-bundle package, no CDN."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ketacare.http.access import PUBLIC
from ketacare.services.access import Actor

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ketacare API</title>
<link rel="stylesheet" href="/api/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body></html>"""


@router.get("/api/docs", response_class=HTMLResponse)
def docs(_: Actor = Depends(PUBLIC)) -> HTMLResponse:
    """Interactive API documentation."""
    return HTMLResponse(PAGE)
