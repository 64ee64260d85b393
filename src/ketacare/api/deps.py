"""Typed dependencies for API routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request

from ketacare.config import Settings
from ketacare.services.refs import MAX_RECORD_ID
from ketacare.store.db import Database


async def get_db(request: Request) -> Database:
    """Return the app's database (async: a plain attribute read needs no trip through the thread pool)."""
    db: Database = request.app.state.db
    return db


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# A record id in a path (patient, order, evaluation, medication, alert): out of range is a 422 naming the field.
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
