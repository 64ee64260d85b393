"""An app process's concurrency: how many threads run database work, how often threads trade the interpreter, and
the start-up work that keeps the first requests and the garbage collector from holding all the others."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager

from anyio import to_thread

from ketacare.config import Settings

log = logging.getLogger(__name__)


def limit_threads(settings: Settings) -> None:
    """Cap the threads the running event loop hands blocking work to (call from inside the loop: the cap is per
    loop)."""
    to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads


def set_switch_interval(settings: Settings) -> None:
    """Let a thread hold the interpreter lock for `switch_interval_ms` at most (process-wide: the server only)."""
    sys.setswitchinterval(settings.switch_interval_ms / 1000)


async def start_threads(n: int, hold: Callable[[], AbstractContextManager[object]]) -> None:
    """Start the loop's `n` worker threads now, each entering `hold()` (a pooled connection: opened now, not by a
    request) until all have, so that each is a thread of its own.

    Started on demand instead, each thread is started by the event loop, which waits until the new thread gets
    the interpreter: under the first burst of requests that held every request of the process for up to 0.6 s
    (issue 15, loop watch)."""
    barrier = threading.Barrier(n, timeout=10)

    def start() -> None:
        with hold():
            barrier.wait()

    results = await asyncio.gather(*(to_thread.run_sync(start) for _ in range(n)), return_exceptions=True)
    failed = [r for r in results if isinstance(r, BaseException)]
    if failed:  # the server still starts; threads and connections then start on demand
        log.warning("warm-up: %d of %d worker threads failed: %r", len(failed), n, failed[0])


def freeze_start_up_objects() -> None:
    """Put every object alive now (modules, routes, schemas, templates: ~350,000) out of the garbage collector's
    reach: a full collection walked them all, ~200 ms during which every request of the process waited (issue 15,
    loop watch: 200-500 ms pauses every 10-20 s under the clinic mix). Objects made later are collected as usual."""
    gc.collect()
    gc.freeze()
