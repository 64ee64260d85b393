"""Liveness and database status."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from ketacare import __version__
from ketacare.api.deps import DbDep
from ketacare.http.access import PUBLIC
from ketacare.services import clinic
from ketacare.services.access import Actor

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(db: DbDep, _: Actor = Depends(PUBLIC)):
    """Return the app version and the database status (503 when the database is not usable)."""
    database = clinic.health(db)
    status = 200 if database["status"] == "ok" else 503
    return JSONResponse(
        {"status": "ok" if status == 200 else "degraded", "version": __version__, "database": database},
        status_code=status,
    )
