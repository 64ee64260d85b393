"""A short-lived, per-process memory of resolved session tokens, so most requests skip the token lookup.

Every request names its token; looking it up costs a pooled connection, a transaction and a query (about a
quarter of a chart read's database round trips). A resolved session is remembered for at most
`auth_cache_seconds` (5 by default, 0 turns the memory off), and only while nothing the lookup decides could have
changed meanwhile: it is forgotten before its sliding expiry needs writing, before it would idle out and before it
expires, and an actor inside a break-glass window is never remembered. A sign-out, a revoked session, a changed
role, password or one-time-code secret, a deactivated account or a break-glass window written by this process
forgets every remembered session at once (`forget_all`, called by the unit of work after such a commit); one
written by another app process or the command line takes effect there within `auth_cache_seconds`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_ENTRIES = 10_000  # a clinic has far fewer live sessions; past this the memory starts afresh


@dataclass(frozen=True)
class CachedSession:
    """What the token lookup read, minus the request's address."""

    session_id: int
    user_id: int
    username: str
    role: str
    patient_id: int | None
    enrol_totp: bool
    must_change_password: bool
    expires_at: datetime
    last_seen_at: datetime
    remembered_at: datetime


_entries: dict[tuple[str, str], CachedSession] = {}
_lock = threading.Lock()


def get(url: str, digest: str, now: datetime, ttl: timedelta, fresh_for: timedelta) -> CachedSession | None:
    """Return the remembered session of token `digest` on database `url` if it may still be used at `now`.

    `fresh_for` is how long after `last_seen_at` the lookup must run again (to write the sliding expiry or to
    judge idleness itself)."""
    entry = _entries.get((url, digest))
    if entry is None:
        return None
    # A clock that went backwards (tests move it) or any deadline passed: ask the database.
    if not (entry.remembered_at <= now < entry.remembered_at + ttl):
        return None
    if now >= entry.expires_at or now - entry.last_seen_at > fresh_for:
        return None
    return entry


def put(url: str, digest: str, entry: CachedSession) -> None:
    """Remember a resolved session."""
    with _lock:
        if len(_entries) >= MAX_ENTRIES:
            _entries.clear()
        _entries[(url, digest)] = entry


def forget_all() -> None:
    """Forget every remembered session (after a sign-out, a revocation or a change to an account)."""
    with _lock:
        _entries.clear()
