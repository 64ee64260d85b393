"""API documentation served offline: Swagger UI 5 (reads OpenAPI 3.1) from the installed fastapi-offline
package's static files, no CDN. The page is public (the schema is) but never linked in the patient portal."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from ketacare.http.access import PUBLIC
from ketacare.services.access import Actor

router = APIRouter(include_in_schema=False)

# swagger-ui-bundle.js and swagger-ui.css (Swagger UI 5.x) as installed with fastapi-offline.
ASSETS = Path(str(files("fastapi_offline") / "static"))

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ketacare API</title>
<link rel="stylesheet" href="/api/docs-assets/swagger-ui.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml"></head>
<body><div id="swagger-ui"></div>
<script src="/api/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/api-docs.js"></script>
</body></html>"""


@router.get("/api/docs", response_class=HTMLResponse)
def docs(_: Actor = Depends(PUBLIC)) -> HTMLResponse:
    """Interactive API documentation."""
    return HTMLResponse(PAGE)
