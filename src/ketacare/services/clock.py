"""The one place services read the clock (the domain never does; tests may replace `now`)."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """Return the current time, timezone-aware UTC."""
    return datetime.now(UTC)
