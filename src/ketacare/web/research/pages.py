"""The researcher's page (issue 18 point 5): what the de-identified export holds, and a form that downloads it as
a zip (CSV or Parquet, data dictionary, risk summary)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import ValidationError
from starlette.background import BackgroundTask

from ketacare.domain import research as deid
from ketacare.http.access import Access
from ketacare.services import research
from ketacare.services.access import Actor
from ketacare.services.research.columns import FILES
from ketacare.web.rendering import FORM_REFUSALS, form_data, refusal, render

router = APIRouter(include_in_schema=False)
Export = Access("research_export", "read")
LABELS = {"export_key": "Export name", "format": "File format"}


def _page(request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    settings = request.app.state.settings
    return render(request, "research.html", {
        "values": values, "errors": errors, "labels": LABELS, "files": FILES, "rules": deid.rules(),
        "min_cell_count": research.min_cell_count(settings),
    }, status_code=status)


@router.get("/research", response_class=HTMLResponse)
def research_page(request: Request, actor: Actor = Depends(Export)) -> Response:
    return _page(request, {"export_key": "", "format": "csv"}, {})


@router.post("/research/export")
async def research_export(request: Request, actor: Actor = Depends(Export)) -> Response:
    values = await form_data(request)
    try:
        data = research.ExportRequest(**values)
    except ValidationError as exc:
        errors, status = refusal(exc)
        return _page(request, values, errors, status)
    tmp = Path(tempfile.mkdtemp(prefix="ketacare-research-"))
    try:
        research.export_to_dir(db=request.app.state.db, actor=actor, request=data, out=tmp / "export",
                               settings=request.app.state.settings)
        research.zip_directory(tmp / "export", tmp / "export.zip")
    except FORM_REFUSALS as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        errors, status = refusal(exc)
        return _page(request, values, errors, status)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    name = f"ketacare-research-{data.export_key}-{data.format}.zip"
    # Sent from disk and removed after the response: the archive is never held in memory.
    return FileResponse(tmp / "export.zip", media_type="application/zip", filename=name,
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
