"""The event-loop watch (KETACARE_LOOP_LAG_LOG=1) names what held the loop and for how long."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

from ketacare.http import loop_watch


def _hold_the_loop() -> None:
    time.sleep(0.3)  # what a blocking call on the event loop does to every request of the process


async def _watched(work) -> None:
    watch = loop_watch.start(threshold_ms=50)
    try:
        await asyncio.sleep(0.1)
        work()
        await asyncio.sleep(0.1)
    finally:
        watch.close()


def _run_in_a_thread_of_its_own(coro) -> None:
    """Run `coro` on a new event loop in a new thread, as a served process runs its loop (a browser test before
    this one may have left Playwright's loop running in this thread)."""
    t = threading.Thread(target=asyncio.run, args=(coro,))
    t.start()
    t.join(10)


def test_a_blocked_loop_is_logged_with_how_late_and_what_it_was_running(caplog):
    with caplog.at_level(logging.WARNING, logger="ketacare.loop"):
        _run_in_a_thread_of_its_own(_watched(_hold_the_loop))
    late = [r.getMessage() for r in caplog.records if "event loop late by" in r.getMessage()]
    assert late, "the stall was not logged"
    # the loop thread's stack, taken while it was late: on a busy machine the watchdog thread may get its turn only
    # after the first late beat was logged, so the stack can come with the next one
    assert any("_hold_the_loop" in m for m in late)
    assert max(int(m.split("late by ")[1].split(" ms")[0]) for m in late) >= 200

