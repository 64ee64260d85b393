"""A watch on the event loop (issue 15, off unless `KETACARE_LOOP_LAG_LOG=1`): when the loop of an app process is
late by more than `KETACARE_LOOP_LAG_MS` (50), a watchdog thread logs what the loop thread was running at that
moment (its stack, from `sys._current_frames()`), and the loop logs how late it woke. Every 5 s a summary line
gives the worst lag, the busiest moment of the thread pool and the connection pool, the garbage collector's pauses
and any gauges a capability registers (the board feed's streams and their queues).

A late loop holds every request of the process, /livez included; a full thread pool holds every request that
needs a thread. The log says which one a tail of slow requests came from.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from typing import Any

from anyio import to_thread

log = logging.getLogger("ketacare.loop")
TICK_S = 0.01
SUMMARY_S = 5.0
_gauges: dict[str, Callable[[], float]] = {}


def add_gauge(name: str, read: Callable[[], float]) -> None:
    """Report `read()` (its largest value) in the watch's summary lines, when the watch runs."""
    _gauges[name] = read


def _stack(frame: Any, limit: int = 14) -> str:
    return "".join(traceback.format_stack(frame, limit=limit)).rstrip()


def _where(frame: Any) -> tuple[str, str]:
    """Return the innermost frame and the innermost frame of ours, as `file:function`."""
    inner = f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_code.co_name}"
    f = frame
    while f is not None and "/ketacare/" not in f.f_code.co_filename:
        f = f.f_back
    ours = "-" if f is None else f"{f.f_code.co_filename.rsplit('/ketacare/', 1)[-1]}:{f.f_code.co_name}"
    return inner, ours


class LoopWatch:
    """The heartbeat task on the loop and the watchdog thread beside it."""

    def __init__(self, threshold_ms: float, pool: Any | None = None) -> None:
        self.threshold_s = threshold_ms / 1000.0
        self.pool = pool  # SQLAlchemy's QueuePool (checked-out connections), or None
        self.loop = asyncio.get_running_loop()
        self.limiter = to_thread.current_default_thread_limiter()
        self.loop_thread = threading.get_ident()
        self.due = time.monotonic() + TICK_S  # when the heartbeat should next run
        self.caught: str | None = None  # the loop thread's stack the watchdog saw while the loop was late
        self.stop = threading.Event()
        self.peak: dict[str, float] = {}
        self.gc_started = 0.0
        self.waits: Counter[str] = Counter()  # worker threads' whereabouts while requests queued
        self._task = asyncio.create_task(self._beat(), name="loop-watch")
        self._thread = threading.Thread(target=self._watch, name="loop-watch", daemon=True)
        self._thread.start()
        gc.callbacks.append(self._gc)

    def close(self) -> None:
        """Stop the heartbeat and the watchdog."""
        self.stop.set()
        self._task.cancel()
        if self._gc in gc.callbacks:
            gc.callbacks.remove(self._gc)

    def _note(self, key: str, value: float) -> None:
        if value > self.peak.get(key, float("-inf")):
            self.peak[key] = value

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self.gc_started) * 1000
        self._note(f"gc{info.get('generation', 0)}_max_ms", ms)
        self.peak["gc_total_ms"] = self.peak.get("gc_total_ms", 0.0) + ms

    async def _beat(self) -> None:
        next_summary = time.monotonic() + SUMMARY_S
        while True:
            self.due = time.monotonic() + TICK_S
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            late = now - self.due
            self._note("loop_lag_ms", late * 1000)
            self._note("threads_busy", self.limiter.borrowed_tokens)
            self._note("threads_queued", self.limiter.statistics().tasks_waiting)
            if late > self.threshold_s:
                caught, self.caught = self.caught, None
                log.warning(
                    "event loop late by %.0f ms (threads busy %d, queued %d)%s",
                    late * 1000,
                    self.limiter.borrowed_tokens,
                    self.limiter.statistics().tasks_waiting,
                    f"; the loop thread was at:\n{caught}" if caught else "",
                )
            if now >= next_summary:
                next_summary = now + SUMMARY_S
                for name, read in list(_gauges.items()):
                    self._note(name, read())
                peak, self.peak = self.peak, {}
                waits, self.waits = self.waits, Counter()
                log.info("loop watch (5 s): %s%s", ", ".join(f"{k} {v:.0f}" for k, v in sorted(peak.items())),
                         "".join(f"\n  {n} x {w}" for w, n in waits.most_common(6)))

    def _census(self) -> None:
        """Note where the worker threads are while requests queue for one (the summary names the commonest)."""
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, frame in sys._current_frames().items():
            if ident == self.loop_thread or "worker" not in names.get(ident, ""):
                continue
            where, ours = _where(frame)
            self.waits[f"{ours} > {where}"] += 1

    def _watch(self) -> None:
        n = 0
        while not self.stop.wait(TICK_S):
            n += 1
            if self.pool is not None:
                self._note("db_checked_out", self.pool.checkedout())
            if n % 5 == 0 and self.limiter.statistics().tasks_waiting:
                self._census()
            if self.caught is None and time.monotonic() - self.due > self.threshold_s:
                frame = sys._current_frames().get(self.loop_thread)
                if frame is not None:
                    self.caught = _stack(frame)


def start(threshold_ms: float, pool: Any | None = None) -> LoopWatch:
    """Start watching the running loop (call from inside it)."""
    return LoopWatch(threshold_ms, pool)
