"""The live session page: the same Server-Sent Events as the board bring this session's readings, chart, alarms,
pump and dose, timers and discharge checks up to date without a reload.

`GET /sessions/{id}/events` is authorized and audited once when opened, like the page. It listens to the board's
change notices (`services.sessions.bus`: PostgreSQL LISTEN/NOTIFY across app processes, in-process on SQLite),
keeps only this session's, and sends the page's live fragments, rendered by the server, that changed since it
last sent them; `session_live.js` swaps them in. While the session is active it also renders them every
REFRESH_S seconds and at the moment the observation time is met (the dose given and the discharge checks change
with time alone). A client that does not ask for `text/event-stream` gets one event and the stream ends.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from ketacare.domain import formatting as fmt
from ketacare.domain.sessions.limits import VitalFlag
from ketacare.http.access import CSRF_COOKIE, Access
from ketacare.services import clock
from ketacare.services.access import Actor, decide
from ketacare.services.errors import Forbidden, NotFound
from ketacare.services.sessions import bus as board_bus
from ketacare.services.sessions import live
from ketacare.services.sessions.schemas import LiveSession, PkCurve, SessionDetail, VitalRow
from ketacare.web.charts import LimitLine, Panel, Point, Series, trend_svg, vitals_chart_svg
from ketacare.web.rendering import clinic_settings, clinic_zone
from ketacare.web.templating import clinic_in_force

router = APIRouter(include_in_schema=False)
Read = Access("infusion_session", "read")
KEEPALIVE_S = 15.0
REFRESH_S = 15.0
# The page's live parts: element id -> template rendering it (each template's root element carries that id).
FRAGMENTS = {
    "live-state": "_live_state.html",
    "live-times": "_live_times.html",
    "alerts": "_alarms.html",
    "live-vitals": "_live_vitals.html",
    "live-pump": "_live_pump.html",
    "live-guards": "_live_guards.html",
}
# (key, label, unit, marker) of each charted vital; the page and the board mark values beyond a limit.
VITALS = (
    ("sbp", "Systolic BP", "mmHg", "down"),
    ("dbp", "Diastolic BP", "mmHg", "up"),
    ("hr", "Heart rate", "/min", "dot"),
    ("spo2", "SpO2", "%", "square"),
    ("rr", "Respiratory rate", "/min", "diamond"),
)
PANELS = (  # key, title, unit, series, height (blood pressure has two series and five limits)
    ("bp", "Blood pressure", "mmHg", ("sbp", "dbp"), 190),
    ("hr", "Heart rate", "/min", ("hr",), 110),
    ("spo2", "SpO2", "%", ("spo2",), 80),
    ("rr", "Respiratory rate", "/min", ("rr",), 90),
)
SHORT = {"sbp": "SBP", "dbp": "DBP", "hr": "HR", "spo2": "SpO2", "rr": "RR"}
OPS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}


class VitalFlags:
    """What the templates ask about a value: `flags.of("hr", 152)`, `flags.bp(182, 112)` (the worse of the two)."""

    @staticmethod
    def of(key: str, value: float | None) -> VitalFlag | None:
        return live.vital_flag(key, value)

    @staticmethod
    def bp(sbp: float | None, dbp: float | None) -> VitalFlag | None:
        found = [f for f in (live.vital_flag("sbp", sbp), live.vital_flag("dbp", dbp)) if f is not None]
        return min(found, key=lambda f: PRIORITY_RANK[f.priority]) if found else None


FLAGS = VitalFlags()
PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}


def _word(key: str) -> Callable[[float], str | None]:
    def word(value: float) -> str | None:
        f = live.vital_flag(key, value)
        return None if f is None else f.word

    return word


def vitals_chart(s: SessionDetail | LiveSession, x_label: Callable[[datetime], str], time_note: str) -> str:
    """Return the session's chart: systolic and diastolic BP, HR, SpO2 and RR with the clinic's alert limits."""
    series = {
        key: Series(
            key=key,
            label=label,
            unit=unit,
            points=[Point(v.measured_at, getattr(v, key)) for v in s.vitals if getattr(v, key) is not None],
            marker=marker,
            flag=_word(key),
        )
        for key, label, unit, marker in VITALS
    }
    panels = [
        Panel(
            key=pk,
            title=title,
            unit=unit,
            series=tuple(series[k] for k in keys),
            limits=tuple(
                LimitLine(
                    series=lim.vital,
                    value=lim.value,
                    label=f"{SHORT[lim.vital]} {OPS[lim.op]} {lim.value:g}",
                    level=lim.priority,
                )
                for lim in live.limits()
                if lim.vital in keys
            ),
            height=height,
        )
        for pk, title, unit, keys, height in PANELS
    ]
    return vitals_chart_svg(
        panels,
        title="Vital signs: systolic and diastolic blood pressure, heart rate, SpO2 and respiratory rate",
        x_label=x_label,
        time_note=time_note,
        table_id="readings-table",
    )


def pk_chart(pk: PkCurve | None) -> str:
    """Return the predicted plasma concentration of what was given (minutes from the first pump event)."""
    if pk is None or not pk.times_min:
        return ""
    t0 = datetime(2000, 1, 1, tzinfo=UTC)
    pts = [
        Point(t0 + timedelta(minutes=t), c) for t, c in zip(pk.times_min, pk.plasma_ng_per_ml, strict=True)
    ]
    return trend_svg(
        pts,
        unit="ng/mL",
        title="Predicted plasma ketamine (what was given)",
        decimals=0,
        x_label=lambda at: f"{(at - t0).total_seconds() / 60:.0f} min",
    )


def latest_values(rows: list[VitalRow]) -> dict[str, tuple[float, datetime]]:
    """Return the newest value of each vital with when it was measured."""
    out: dict[str, tuple[float, datetime]] = {}
    for v in rows:  # oldest first
        for key, *_ in VITALS:
            val = getattr(v, key)
            if val is not None:
                out[key] = (val, v.measured_at)
    return out


def live_context(request: Request, s: SessionDetail | LiveSession) -> dict[str, Any]:
    """Return what the live parts of the session page need besides the session itself."""
    tz = clinic_zone(request)
    now = clock.now()

    header = fmt.zone_label(tz, now)

    def clock_label(at: datetime) -> str:  # the chart's time axis in the clinic's zone; named when it differs
        return fmt.clock_time(at, tz, seconds=False, label=fmt.zone_label(tz, at) != header)

    obs = live.observation_timer(s)
    return {
        "vitals_chart": vitals_chart(s, clock_label, f"({fmt.zone_label(tz, now)})"),
        "latest": latest_values(s.vitals),
        "flags": FLAGS,
        "pk_chart": pk_chart(s.dose.pk),
        "observation": obs,
        "observation_left_min": None if obs is None else obs.remaining_min(now),
    }


def render_fragments(request: Request, actor: Actor, s: SessionDetail | LiveSession) -> dict[str, str]:
    """Render every live part of the session page for `actor` (element id -> HTML)."""
    env = request.app.state.templates.env
    ctx: dict[str, Any] = {
        "s": s,
        "actor": actor,
        "csrf_token": request.cookies.get(CSRF_COOKIE, ""),
        "can_chart": decide(actor, "chart", "infusion_session").allowed,
        "errors": {},
        "values": {},
        "form": None,
        **live_context(request, s),
    }
    with clinic_in_force(clinic_settings(request)):  # times in the clinic's zone, as on the page itself
        return {fid: env.get_template(name).render(ctx) for fid, name in FRAGMENTS.items()}


def _sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _payload(s: LiveSession, kinds: list[str], fragments: dict[str, str]) -> dict[str, Any]:
    """The data of a `session` event: the state, what changed, the changed fragments and the server's time."""
    return {"state": s.state, "kinds": kinds, "fragments": fragments, "now": clock.now().isoformat()}


def _next_wait(s: LiveSession) -> float | None:
    """Seconds until the page should be rendered again without a change notice (None: only on changes)."""
    if s.state not in live.ACTIVE:
        return None
    obs = live.observation_timer(s)
    if obs is not None:
        left = (obs.ends_at - clock.now()).total_seconds()
        if 0 < left < REFRESH_S:
            return left + 0.5
    return REFRESH_S


async def _changes_of(
    queue: asyncio.Queue[board_bus.BoardChange], session_id: int, timeout: float
) -> set[str] | None:
    """Wait up to `timeout` s for change notices; return the kinds of those about `session_id` (empty when they
    were all about other sessions: nothing of those is loaded or sent), or None when none came."""
    try:
        changes = [await asyncio.wait_for(queue.get(), timeout)]
    except TimeoutError:
        return None
    while not queue.empty():  # a burst (a gateway batch, a transition) becomes one update
        changes.append(queue.get_nowait())
    return {c.kind for c in changes if c.session_id == session_id}


@router.get("/sessions/{session_id}/events")
async def session_events(request: Request, session_id: int, actor: Actor = Depends(Read)) -> StreamingResponse:
    """Stream this session's live page fragments (Server-Sent Events)."""
    db = request.app.state.db
    await run_in_threadpool(live.open_live, db=db, actor=actor, session_id=session_id)  # authorized, audited
    board_bus.ensure_listener(db)
    follow = "text/event-stream" in request.headers.get("accept", "")
    bus = board_bus.broadcaster(db)
    queue = bus.subscribe()

    def load_and_render() -> tuple[LiveSession, dict[str, str]]:
        s = live.live_session(db=db, actor=actor, session_id=session_id)
        return s, render_fragments(request, actor, s)

    async def load() -> tuple[LiveSession, dict[str, str]]:
        return await run_in_threadpool(load_and_render)  # queries and templates off the event loop

    async def stream() -> AsyncIterator[str]:
        try:
            s, sent = await load()
            yield "retry: 1000\n" + _sse("session", _payload(s, [], sent))
            if not follow:
                return
            loop = asyncio.get_running_loop()
            wait = _next_wait(s)
            due = None if wait is None else loop.time() + wait
            while True:
                timeout = KEEPALIVE_S if due is None else max(0.0, min(due - loop.time(), KEEPALIVE_S))
                kinds = await _changes_of(queue, session_id, timeout)
                timed_out = kinds is None
                if timed_out and await request.is_disconnected():
                    return
                if not kinds:
                    if due is None or loop.time() < due:
                        if timed_out:
                            yield ": keepalive\n\n"
                        continue
                    kinds = {"time"}
                try:
                    s, frags = await load()
                except (Forbidden, NotFound):
                    return  # no longer allowed, or gone: the stream ends
                wait = _next_wait(s)
                due = None if wait is None else loop.time() + wait
                changed = {k: v for k, v in frags.items() if sent.get(k) != v}
                sent = frags
                if changed:
                    yield _sse("session", _payload(s, sorted(kinds), changed))
                elif timed_out:
                    yield ": keepalive\n\n"
        finally:
            bus.unsubscribe(queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
