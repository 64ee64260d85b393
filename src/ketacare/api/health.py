"""Liveness and database status."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from ketacare import __version__
from ketacare.api.deps import DbDep
from ketacare.http.access import PUBLIC
from ketacare.http.errors import RETRY_AFTER_DB_S
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


class LiveRead(BaseModel):
    """The process answers (says nothing about the database)."""

    status: Literal["alive"]
    version: str


@router.get("/livez", response_model=LiveRead)
async def livez(_: Actor = Depends(PUBLIC)) -> LiveRead:
    """Tell that the process answers, without touching the database (for a process supervisor).

    On the event loop, not in a worker thread: it says whether the process answers, not whether a thread is free
    (queued behind database work it timed the thread pool, issue 15)."""
    return LiveRead(status="alive", version=__version__)


@router.get(
    "/readyz",
    response_model=HealthRead,
    response_model_exclude_unset=True,
    responses={
        503: {"model": HealthRead, "description": "Not ready: the database is unreachable or not migrated"}
    },
)
def readyz(db: DbDep, _: Actor = Depends(PUBLIC)) -> JSONResponse:
    """Tell a load balancer whether to send requests here: 200 when the database is usable, else 503 + Retry-After."""
    response = healthz(db, _)
    if response.status_code != 200:
        response.headers["Retry-After"] = str(RETRY_AFTER_DB_S)
    return response
