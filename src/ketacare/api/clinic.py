"""Clinic settings (issue 13): the settings in force, a new version, and the history of versions."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ketacare.api.deps import DbDep
from ketacare.http.access import Access
from ketacare.http.errors import error_responses
from ketacare.services import clinic
from ketacare.services.access import Actor

router = APIRouter(tags=["clinic"])
Read = Access("clinic_settings", "read")
Configure = Access("clinic_settings", "configure")


@router.get("/clinic/settings", response_model=clinic.ClinicSettingsRead, responses=error_responses(401, 403))
def get_settings(request: Request, db: DbDep, actor: Actor = Depends(Read)) -> clinic.ClinicSettingsRead:
    """The settings in force (version 0: from the environment, never saved)."""
    return clinic.read(db=db, actor=actor, seed=request.app.state.settings)


@router.put(
    "/clinic/settings",
    response_model=clinic.ClinicSettingsRead,
    responses=error_responses(401, 403, 409, 422),
)
def put_settings(
    data: clinic.ClinicSettingsUpdate, db: DbDep, actor: Actor = Depends(Configure)
) -> clinic.ClinicSettingsRead:
    """Save a new version: the whole settings, the version it replaces (`base_version`) and the reason."""
    return clinic.save(db=db, actor=actor, data=data)


@router.get(
    "/clinic/settings/history",
    response_model=list[clinic.ClinicSettingsRead],
    responses=error_responses(401, 403),
)
def get_history(db: DbDep, actor: Actor = Depends(Read)) -> list[clinic.ClinicSettingsRead]:
    """Every saved version, newest first: who, when, why."""
    return clinic.history(db=db, actor=actor)
