"""The event-loop watch (KETACARE_LOOP_LAG_LOG=1) names what held the loop and for how long."""

from __future__ import annotations

import asyncio
import logging
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


def test_a_blocked_loop_is_logged_with_how_late_and_what_it_was_running(caplog):
    with caplog.at_level(logging.WARNING, logger="ketacare.loop"):
        asyncio.run(_watched(_hold_the_loop))
    late = [r.getMessage() for r in caplog.records if "event loop late by" in r.getMessage()]
    assert late, "the stall was not logged"
    assert "_hold_the_loop" in late[0]  # the loop thread's stack, taken while it was late
    assert int(late[0].split("late by ")[1].split(" ms")[0]) >= 200

