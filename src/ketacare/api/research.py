"""Research export endpoint (issue 18 point 5): the de-identified export, researchers only, audited."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import research
from ketacare.services.access import Actor

router = APIRouter(prefix="/research", tags=["research"])


class ExportDownload(BaseModel):
    """What the export wrote, and its files as one zip (base64): for large cohorts use the page or the CLI."""

    result: research.ExportResult
    zip_base64: str = Field(description="The data files, data_dictionary.csv and risk_summary.json, zipped")


@router.post("/exports", response_model=ExportDownload, responses=error_responses(401, 403, 422))
def create_export(
    data: research.ExportRequest,
    request: Request,
    db: DbDep,
    actor: Actor = Depends(Access("research_export", "read")),
) -> ExportDownload:
    """De-identified data files (CSV or Parquet), `data_dictionary.csv` and `risk_summary.json`, zipped."""
    with tempfile.TemporaryDirectory(prefix="ketacare-research-") as tmp:
        result = research.export_to_dir(db=db, actor=actor, request=data, out=Path(tmp) / "export",
                                        settings=request.app.state.settings)
        body = research.zip_directory(Path(tmp) / "export")
    return ExportDownload(result=result, zip_base64=base64.b64encode(body).decode("ascii"))
