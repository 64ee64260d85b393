"""Typed dependencies for API routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Path, Request
from starlette.concurrency import run_in_threadpool

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


T = TypeVar("T")


async def in_thread(func: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a use case in the thread pool from an async route (the busiest routes, issue 15).

    FastAPI hands a plain `def` route to the thread pool and then, a second time, the check of its answer against
    the response model; an `async def` route that hands over only the use case costs one hand-over, not two."""
    return await run_in_threadpool(func, **kwargs)


DbDep = Annotated[Database, Depends(get_db)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
# A record id in a path (patient, order, evaluation, medication, alert): out of range is a 422 naming the field.
RecordId = Annotated[int, Path(ge=1, le=MAX_RECORD_ID)]
