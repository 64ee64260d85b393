"""The live board: every active chair, updated by Server-Sent Events within a second of a reading arriving.

Changes reach this process through `services.sessions.bus` (PostgreSQL LISTEN/NOTIFY across app processes; an
in-process broadcaster on SQLite). A client that does not ask for `text/event-stream` (EventSource always does)
gets one snapshot event and the stream ends, so scripts and tests never hang on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ketacare.http.access import Access
from ketacare.services.access import Actor
from ketacare.services.sessions import alerts, board
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.schemas import BoardChair
from ketacare.web.rendering import render

if TYPE_CHECKING:
    from ketacare.store.db import Database

log = logging.getLogger(__name__)
KEEPALIVE_S = 15.0


async def _sweep_forever(db: Database, every_s: float) -> None:
    """Raise overdue-reading alerts every `every_s` seconds, even when no reading arrives."""
    while True:
        await asyncio.sleep(every_s)
        try:
            await run_in_threadpool(alerts.sweep_overdue, db=db)
        except Exception:  # noqa: BLE001 - a failed round is logged; the next one runs
            log.exception("overdue-reading sweep failed")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start this process's board listener and overdue-reading sweep, and in the demo clinic the feeder."""
    db = app.state.db
    board_bus.ensure_listener(db)
    every_s = float(getattr(app.state.settings, "overdue_sweep_seconds", 0) or 0)
    sweep = asyncio.create_task(_sweep_forever(db, every_s), name="overdue-sweep") if every_s > 0 else None
    feeder = None
    if getattr(app.state.settings, "demo", False):
        from ketacare.demo.sessions import LiveFeeder

        feeder = LiveFeeder(db)
        feeder.start()
    try:
        yield
    finally:
        if sweep is not None:
            sweep.cancel()
            with suppress(asyncio.CancelledError):
                await sweep
        if feeder is not None:
            feeder.stop()
        board_bus.stop_listener(db)


router = APIRouter(include_in_schema=False, lifespan=lifespan)
ReadSessions = Access("infusion_session", "read")


def sparkline(values: list[float], width: int = 120, height: int = 28) -> str:
    """Return SVG polyline points for a small trend (oldest left)."""
    vals = [v for v in values if v is not None][-20:]
    if len(vals) < 2:
        return ""
    lo, hi = min(vals), max(vals)
    span = (hi - lo) or 1.0
    step = width / (len(vals) - 1)
    return " ".join(
        f"{i * step:.1f},{height - 2 - (v - lo) / span * (height - 4):.1f}" for i, v in enumerate(vals)
    )


def chair_html(request: Request, chair: BoardChair) -> str:
    """Render one chair card (the same partial the page uses)."""
    tmpl = request.app.state.templates.get_template("_board_chair.html")
    html: str = tmpl.render(chair=chair, sparkline=sparkline)
    return html


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request, actor: Actor = Depends(ReadSessions)) -> Response:
    chairs = board.board_snapshot(db=request.app.state.db, actor=actor)
    return render(request, "board.html", {"chairs": chairs, "sparkline": sparkline})


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


@router.get("/board/events")
async def board_events(request: Request, actor: Actor = Depends(ReadSessions)) -> StreamingResponse:
    db = request.app.state.db
    board_bus.ensure_listener(db)
    live = "text/event-stream" in request.headers.get("accept", "")
    bus = board_bus.broadcaster(db)
    queue = bus.subscribe()

    async def stream() -> AsyncIterator[str]:
        try:
            chairs = await run_in_threadpool(board.board_snapshot, db=db, actor=actor, audit_view=False)
            yield "retry: 1000\n" + _sse(
                "snapshot",
                {"chairs": [{"session_id": c.session_id, "html": chair_html(request, c)} for c in chairs]},
            )
            if not live:
                return
            while True:
                try:
                    change = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                ids = [change.session_id]
                while not queue.empty():  # coalesce a burst (e.g. a gateway batch) into one update per chair
                    ids.append(queue.get_nowait().session_id)
                for sid in dict.fromkeys(ids):
                    chair = await run_in_threadpool(board.board_chair, db=db, actor=actor, session_id=sid)
                    if chair is None:
                        continue
                    yield _sse(
                        "chair",
                        {
                            "session_id": sid,
                            "active": chair.active,
                            "html": chair_html(request, chair) if chair.active else "",
                        },
                    )
        finally:
            bus.unsubscribe(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
