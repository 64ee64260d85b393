"""Liveness and database status."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ketacare import __version__
from ketacare.api.deps import DbDep
from ketacare.http.access import PUBLIC
from ketacare.services import clinic
from ketacare.services.access import Actor

router = APIRouter(tags=["health"])


class HealthRead(BaseModel):
    """The app version and whether its database is usable."""

    status: Literal["ok", "degraded"]
    version: str
    database: clinic.DatabaseHealth


@router.get(
    "/healthz",
    response_model=HealthRead,
    response_model_exclude_unset=True,
    responses={503: {"model": HealthRead, "description": "The database is unreachable or not migrated"}},
)
def healthz(db: DbDep, _: Actor = Depends(PUBLIC)) -> JSONResponse:
    """Return the app version and the database status (503 when the database is not usable)."""
    database = clinic.health(db)
    status = 200 if database.status == "ok" else 503
    body = HealthRead(status="ok" if status == 200 else "degraded", version=__version__, database=database)
    return JSONResponse(body.model_dump(mode="json", exclude_unset=True), status_code=status)
