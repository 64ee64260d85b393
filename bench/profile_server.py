"""Serve the app under cProfile for `bench_request_cost --profile` (a benchmark tool; the app is never profiled in
place).

`python -m bench.profile_server PORT OUT_PREFIX`: the real app (`ketacare.app:factory`, settings from the
environment) on 127.0.0.1:PORT. SIGUSR1 starts a new profile, SIGUSR2 stops it and writes OUT_PREFIX.N.pstats.
cProfile follows one thread, so in this process the synchronous route code that FastAPI would hand to its thread
pool runs inline on the event loop's thread: the profile then shows the app's own work per request (the thread
pool's hand-over cost is not in it; the CPU-per-request figures of the benchmark include it). Times are the
thread's CPU time, so waiting for the database is not counted as cost.
"""

from __future__ import annotations

import asyncio
import cProfile
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import fastapi.dependencies.utils
import fastapi.routing
import uvicorn

import ketacare.api.deps


async def _inline(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


def main() -> None:
    port, prefix = int(sys.argv[1]), sys.argv[2]
    fastapi.routing.run_in_threadpool = _inline  # type: ignore[assignment]
    fastapi.dependencies.utils.run_in_threadpool = _inline  # type: ignore[assignment]
    ketacare.api.deps.run_in_threadpool = _inline  # type: ignore[assignment]  # the busiest routes' `in_thread`
    state: dict[str, Any] = {"n": 0, "prof": None}

    def start() -> None:
        state["prof"] = cProfile.Profile(time.thread_time)  # CPU, not wall: waits are not cost
        state["prof"].enable()

    def stop() -> None:
        prof = state["prof"]
        if prof is None:
            return
        prof.disable()
        prof.dump_stats(f"{prefix}.{state['n']}.pstats")
        state["n"] += 1
        state["prof"] = None

    config = uvicorn.Config(
        "ketacare.app:factory", factory=True, host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, start)
        loop.add_signal_handler(signal.SIGUSR2, stop)
        await server.serve()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
