"""The live board: every active chair, updated by Server-Sent Events within a second of a reading arriving.

Changes reach this process through `services.sessions.bus` (PostgreSQL LISTEN/NOTIFY across app processes; an
in-process broadcaster on SQLite). A client that does not ask for `text/event-stream` (EventSource always does)
gets one snapshot event and the stream ends, so scripts and tests never hang on it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from ketacare.http.access import CSRF_COOKIE, Access
from ketacare.services.access import Actor, authorize, decide
from ketacare.services.sessions import alerts, board
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions.schemas import BoardChair
from ketacare.web.rendering import clinic_settings, render
from ketacare.web.sessions.live import FLAGS
from ketacare.web.templating import clinic_in_force

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
    with clinic_in_force(clinic_settings(request)):  # pushed outside `render`: times in the clinic's zone too
        html: str = tmpl.render(chair=chair, sparkline=sparkline, flags=FLAGS, **_ack_context(request))
    return html


def _ack_context(request: Request) -> dict[str, Any]:
    """What a chair card needs to offer acknowledging its alarms: may this user chart, and the CSRF token."""
    actor = getattr(request.state, "actor", None)
    can = actor is not None and decide(actor, "chart", "infusion_session").allowed
    return {"can_chart": can, "csrf_token": request.cookies.get(CSRF_COOKIE, "")}


@router.get("/board", response_class=HTMLResponse)
def board_page(request: Request, actor: Actor = Depends(ReadSessions)) -> Response:
    chairs = board.board_snapshot(db=request.app.state.db, actor=actor)
    can = decide(actor, "chart", "infusion_session").allowed
    return render(
        request, "board.html", {"chairs": chairs, "sparkline": sparkline, "flags": FLAGS, "can_chart": can}
    )


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


ChairEvent = dict[str, Any]  # the data of a `chair` event: session_id, active, html


class SharedChairs:
    """One load and render of a changed chair per process, shared by every board stream of the process (issue #12:
    each of 12 streams loaded and rendered the same chair for every reading).

    Each change notice is numbered by the broadcaster (`BoardChange.seq`), and a notice arrives only after its
    transaction committed, so a load begun after notice n arrived shows change n. A stream reuses the newest load
    of the chair when it began at or after the stream's notice, and otherwise begins one. What is shared is the
    chair as any staff member allowed to read the board sees it (the board is not filtered per person); the load
    runs as the stream that began it, and every stream checks its own member may read the board before sending.
    """

    KEEP = 256  # chairs remembered (the newest load of each)

    def __init__(self, bus: board_bus.Broadcaster) -> None:
        self.bus = bus
        self.loop = asyncio.get_running_loop()
        self._newest: OrderedDict[int, tuple[int, asyncio.Future[ChairEvent | None]]] = OrderedDict()

    async def chair_event(
        self, session_id: int, seq: int, load: Callable[[], Awaitable[ChairEvent | None]]
    ) -> ChairEvent | None:
        """Return the `chair` event for `session_id` as of change `seq` or later (None: the session is gone)."""
        hit = self._newest.get(session_id)
        if hit is None or hit[0] < seq:
            began = self.bus.seq  # every change numbered up to here has committed
            fut = asyncio.ensure_future(load())
            hit = (began, fut)
            self._newest[session_id] = hit
            self._newest.move_to_end(session_id)
            while len(self._newest) > self.KEEP:
                self._newest.popitem(last=False)
            fut.add_done_callback(partial(self._forget_failed, session_id, hit))
        return await asyncio.shield(hit[1])  # a stream that goes away does not cancel the others' load

    def _forget_failed(
        self, session_id: int, hit: tuple[int, asyncio.Future[Any]], fut: asyncio.Future[Any]
    ) -> None:
        if (fut.cancelled() or fut.exception() is not None) and self._newest.get(session_id) is hit:
            del self._newest[session_id]  # the next notice loads again


def shared_chairs(request: Request, bus: board_bus.Broadcaster) -> SharedChairs:
    """Return this app's shared chair loads for the running event loop (one per process when served)."""
    shared: SharedChairs | None = getattr(request.app.state, "board_chairs", None)
    if shared is None or shared.bus is not bus or shared.loop is not asyncio.get_running_loop():
        shared = SharedChairs(bus)
        request.app.state.board_chairs = shared
    return shared


def _load_chair_event(request: Request, db: Any, actor: Actor, session_id: int) -> ChairEvent | None:
    chair = board.board_chair(db=db, actor=actor, session_id=session_id)
    if chair is None:
        return None
    html = chair_html(request, chair) if chair.active else ""
    return {"session_id": session_id, "active": chair.active, "html": html}


@router.get("/board/events")
async def board_events(request: Request, actor: Actor = Depends(ReadSessions)) -> StreamingResponse:
    db = request.app.state.db
    board_bus.ensure_listener(db)
    live = "text/event-stream" in request.headers.get("accept", "")
    bus = board_bus.broadcaster(db)
    queue = bus.subscribe()
    shared = shared_chairs(request, bus)

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
                seqs = {change.session_id: change.seq}
                while not queue.empty():  # coalesce a burst (e.g. a gateway batch) into one update per chair
                    c = queue.get_nowait()
                    seqs[c.session_id] = max(seqs.get(c.session_id, 0), c.seq)
                authorize(actor, "read", "infusion_session")  # as each one-chair load checks it
                for sid, seq in seqs.items():
                    event = await shared.chair_event(
                        sid,
                        seq,
                        partial(run_in_threadpool, _load_chair_event, request, db, actor, sid),
                    )
                    if event is None:
                        continue
                    yield _sse("chair", event)
        finally:
            bus.unsubscribe(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
