"""An app process's concurrency: how many threads run database work, how often threads trade the interpreter."""

from __future__ import annotations

import sys

from anyio import to_thread

from ketacare.config import Settings


def limit_threads(settings: Settings) -> None:
    """Cap the threads the running event loop hands blocking work to (call from inside the loop: the cap is per
    loop)."""
    to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads


def set_switch_interval(settings: Settings) -> None:
    """Let a thread hold the interpreter lock for `switch_interval_ms` at most (process-wide: the server only)."""
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
