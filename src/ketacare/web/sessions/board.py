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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from markupsafe import escape
from starlette.concurrency import run_in_threadpool

from ketacare.http import loop_watch
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
    """Render one chair card for the user of `request` (the same partial the page uses)."""
    return _card(request, chair, **_ack_context(request))


def _card(request: Request, chair: BoardChair, *, can_chart: bool, csrf_token: str) -> str:
    tmpl = request.app.state.templates.get_template("_board_chair.html")
    with clinic_in_force(clinic_settings(request)):  # pushed outside `render`: times in the clinic's zone too
        html: str = tmpl.render(
            chair=chair, sparkline=sparkline, flags=FLAGS, can_chart=can_chart, csrf_token=csrf_token
        )
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


CSRF_SLOT = "kc-csrf-slot-4e1f9a"  # stands for each stream's own CSRF token in the card rendered once for all
# Changes arriving within this long of the last load wait for the next one (UI: on the board within 1 s).
WINDOW_S = 0.25


@dataclass(eq=False)
class _Listener:
    """One open board stream: who it is for and the rendered updates waiting to be sent to it."""

    request: Request
    actor: Actor
    can_chart: bool
    csrf_json: str  # this stream's CSRF token, escaped for HTML and then for JSON (replaces CSRF_SLOT)
    updates: asyncio.Queue[dict[bool, str]] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))


class BoardFeed:
    """The board's live updates of one app process: every chair that changed in a short window is loaded in one
    batch (a fixed number of queries) and rendered once, off the event loop, and the result goes to every open
    board stream of the process (issue 15: 50 readings a second were 50 loads and renders a second per process,
    and each one waited for a worker thread and the GIL with the requests).

    A change notice arrives after its transaction committed, and a batch is loaded after every notice it includes
    arrived, so it shows them; a notice arriving during a load waits for the next batch. What is shared is the
    chair as any staff member allowed to read the board sees it (the board is not filtered per person), rendered
    once per permission to acknowledge alarms with a slot for each stream's own CSRF token; the load runs as one
    of the open streams, and every stream checks its own member may read the board before sending.
    """

    def __init__(self, bus: board_bus.Broadcaster, db: Database) -> None:
        self.bus, self.db = bus, db
        self.loop = asyncio.get_running_loop()
        self._listeners: list[_Listener] = []
        self._task: asyncio.Task[None] | None = None
        self.batches = 0  # loads done (a figure for tests and the benchmark)
        loop_watch.add_gauge("board_streams", lambda: len(self._listeners))
        loop_watch.add_gauge(
            "board_queue_max", lambda: max((x.updates.qsize() for x in self._listeners), default=0)
        )

    def join(self, request: Request, actor: Actor) -> _Listener:
        """Start receiving updates for one stream (before its snapshot is loaded, so no change falls between)."""
        ack = _ack_context(request)
        csrf = json.dumps(str(escape(ack["csrf_token"])))[1:-1]
        listener = _Listener(request, actor, bool(ack["can_chart"]), csrf)
        self._listeners.append(listener)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(self.bus.subscribe()), name="board-feed")
        return listener

    def leave(self, listener: _Listener) -> None:
        """Stop sending to a stream; the feed stops listening when no stream is open."""
        with suppress(ValueError):
            self._listeners.remove(listener)
        if not self._listeners and self._task is not None:
            self._task.cancel()
            self._task = None

    async def _run(self, changes: asyncio.Queue[board_bus.BoardChange]) -> None:
        last = -WINDOW_S
        try:
            while True:
                ids = {(await changes.get()).session_id}
                wait = last + WINDOW_S - self.loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                while not changes.empty():
                    ids.add(changes.get_nowait().session_id)
                if not self._listeners:
                    continue
                last = self.loop.time()
                owner = self._listeners[0]
                variants = {x.can_chart for x in self._listeners}
                try:
                    texts = await run_in_threadpool(
                        _render_updates, owner.request, self.db, owner.actor, sorted(ids), variants
                    )
                except Exception:  # noqa: BLE001 - the streams stay open; the next change loads again
                    log.exception("board update failed for sessions %s", sorted(ids))
                    continue
                self.batches += 1
                if not texts:
                    continue
                for x in list(self._listeners):
                    if x.updates.full():
                        x.updates.get_nowait()  # a stream that does not read keeps only the newest updates
                    x.updates.put_nowait(texts)
        finally:
            self.bus.unsubscribe(changes)


def board_feed(request: Request, bus: board_bus.Broadcaster) -> BoardFeed:
    """Return this app's board feed for the running event loop (one per process when served)."""
    feed: BoardFeed | None = getattr(request.app.state, "board_feed", None)
    if feed is None or feed.bus is not bus or feed.loop is not asyncio.get_running_loop():
        feed = BoardFeed(bus, request.app.state.db)
        request.app.state.board_feed = feed
    return feed


def _render_updates(
    request: Request, db: Database, actor: Actor, session_ids: list[int], variants: set[bool]
) -> dict[bool, str]:
    """Load the chairs and return their `chair` events as sent, per permission to acknowledge alarms."""
    chairs = board.board_chairs(db=db, actor=actor, session_ids=session_ids)
    out: dict[bool, str] = {}
    for can in variants:
        events = []
        for sid, chair in chairs.items():
            if chair is None:
                continue  # the session is gone
            html = _card(request, chair, can_chart=can, csrf_token=CSRF_SLOT) if chair.active else ""
            events.append(_sse("chair", {"session_id": sid, "active": chair.active, "html": html}))
        if events:
            out[can] = "".join(events)
    return out


def _snapshot(request: Request, db: Database, actor: Actor) -> str:
    chairs = board.board_snapshot(db=db, actor=actor, audit_view=False)
    return "retry: 1000\n" + _sse(
        "snapshot", {"chairs": [{"session_id": c.session_id, "html": chair_html(request, c)} for c in chairs]}
    )


@router.get("/board/events")
async def board_events(request: Request, actor: Actor = Depends(ReadSessions)) -> StreamingResponse:
    db = request.app.state.db
    board_bus.ensure_listener(db)
    live = "text/event-stream" in request.headers.get("accept", "")
    feed = board_feed(request, board_bus.broadcaster(db))

    async def stream() -> AsyncIterator[str]:
        listener = feed.join(request, actor) if live else None
        try:
            yield await run_in_threadpool(_snapshot, request, db, actor)  # queries and templates off the loop
            if listener is None:
                return
            while True:
                try:
                    texts = await asyncio.wait_for(listener.updates.get(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
                    continue
                authorize(actor, "read", "infusion_session")  # as the shared load checked it for its owner
                text = texts.get(listener.can_chart)
                if text:
                    yield text.replace(CSRF_SLOT, listener.csrf_json)
        finally:
            if listener is not None:
                feed.leave(listener)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
