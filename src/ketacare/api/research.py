"""Research export endpoint (issue 18 point 5): the de-identified export as a zip, researchers only, audited."""

from __future__ import annotations

import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import research
from ketacare.services.access import Actor

router = APIRouter(prefix="/research", tags=["research"])


@router.post(
    "/exports",
    responses={**error_responses(401, 403, 422), 200: {"content": {"application/zip": {}},
                                                      "description": "The export as a zip"}},
    response_class=Response,
)
def create_export(
    data: research.ExportRequest,
    request: Request,
    db: DbDep,
    actor: Actor = Depends(Access("research_export", "read")),
) -> Response:
    """De-identified data files (CSV or Parquet), `data_dictionary.csv` and `risk_summary.json`, zipped."""
    with tempfile.TemporaryDirectory(prefix="ketacare-research-") as tmp:
        research.export_to_dir(db=db, actor=actor, request=data, out=Path(tmp), settings=request.app.state.settings)
        body = research.zip_directory(Path(tmp))
    return Response(body, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="ketacare-research-{data.export_key}.zip"'})
