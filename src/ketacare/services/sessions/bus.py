"""Board change notifications: which session changed, delivered to every app process serving the clinic.

PostgreSQL: the writer issues `pg_notify('ketacare_board', ...)` inside its transaction (PostgreSQL delivers a
NOTIFY only when that transaction commits), and each app process runs one listener thread (psycopg 3,
`LISTEN ketacare_board`) that hands notifications to its local subscribers. So a reading stored by process A
reaches a board connected to process B.
SQLite (single-process demo and tests): there is no cross-process channel, so the writer hands the change to an
in-process broadcaster after commit. Two processes on one SQLite file would not see each other's changes live.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass, field, replace

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from ketacare.store.db import Database

CHANNEL = "ketacare_board"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoardChange:
    session_id: int
    kind: str  # vitals | alert | state | infusion | checks
    # Numbered by this process's broadcaster as it publishes (1, 2, ...): a board load begun after notice `seq`
    # arrived shows that change. Not part of the change's identity.
    seq: int = field(default=0, compare=False)


class Broadcaster:
    """Subscribers are (event loop, asyncio.Queue) pairs; publishing is thread-safe and numbers each change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[BoardChange]]] = set()
        self.seq = 0  # the number of the last change published

    def subscribe(self) -> asyncio.Queue[BoardChange]:
        """Return a new queue fed with BoardChange values (call from the event loop)."""
        q: asyncio.Queue[BoardChange] = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._subs.add((asyncio.get_running_loop(), q))
        return q

    def unsubscribe(self, q: asyncio.Queue[BoardChange]) -> None:
        with self._lock:
            self._subs = {(lp, s) for lp, s in self._subs if s is not q}

    def publish(self, change: BoardChange) -> None:
        with self._lock:
            self.seq += 1
            change = replace(change, seq=self.seq)
            subs = list(self._subs)
        for loop, q in subs:
            try:
                loop.call_soon_threadsafe(_put, q, change)
            except RuntimeError:  # loop closed
                self.unsubscribe(q)

    @property
    def subscribers(self) -> int:
        return len(self._subs)


def _put(q: asyncio.Queue[BoardChange], change: BoardChange) -> None:
    if q.full():
        try:
            q.get_nowait()
        except asyncio.QueueEmpty:
            pass
    q.put_nowait(change)


_broadcasters: dict[str, Broadcaster] = {}
_listeners: dict[str, threading.Thread] = {}
_guard = threading.Lock()


def broadcaster(db: Database) -> Broadcaster:
    """Return this process's broadcaster for the database `db` points at."""
    with _guard:
        return _broadcasters.setdefault(db.url, Broadcaster())


def notify_in_transaction(session: Session, changes: list[BoardChange]) -> list[BoardChange]:
    """Queue change notices with the transaction; return those to publish locally after commit (SQLite)."""
    if not changes:
        return []
    unique = list(dict.fromkeys(changes))
    if session.get_bind().dialect.name == "postgresql":
        for c in unique:
            payload = json.dumps({"s": c.session_id, "k": c.kind})
            session.execute(text("SELECT pg_notify(:ch, :p)"), {"ch": CHANNEL, "p": payload})
        return []
    return unique


def publish_after_commit(db: Database, changes: list[BoardChange]) -> None:
    """Hand SQLite changes to this process's subscribers (PostgreSQL changes arrive via LISTEN)."""
    if changes:
        b = broadcaster(db)
        for c in changes:
            b.publish(c)


def _libpq_url(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


def _listen_forever(db: Database, stop: threading.Event) -> None:
    import psycopg

    b = broadcaster(db)
    while not stop.is_set():
        try:
            with psycopg.connect(_libpq_url(db), autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                while not stop.is_set():
                    for n in conn.notifies(timeout=1.0):
                        try:
                            d = json.loads(n.payload)
                            b.publish(BoardChange(int(d["s"]), str(d["k"])))
                        except (ValueError, KeyError, TypeError):
                            log.warning("ignoring malformed board notification %r", n.payload)
        except Exception:  # noqa: BLE001 - reconnect after a dropped connection
            log.exception("board listener lost its connection; reconnecting")
            stop.wait(1.0)


_stops: dict[str, threading.Event] = {}


def ensure_listener(db: Database) -> None:
    """Start (once per process and database) the LISTEN thread on PostgreSQL; nothing to do on SQLite."""
    if db.dialect != "postgresql":
        return
    with _guard:
        t = _listeners.get(db.url)
        if t is not None and t.is_alive():
            return
        stop = threading.Event()
        t = threading.Thread(target=_listen_forever, args=(db, stop), name="board-listener", daemon=True)
        _listeners[db.url], _stops[db.url] = t, stop
        t.start()


def stop_listener(db: Database) -> None:
    """Stop this process's LISTEN thread for `db` (on app shutdown)."""
    with _guard:
        stop = _stops.pop(db.url, None)
        t = _listeners.pop(db.url, None)
    if stop is not None:
        stop.set()
    if t is not None:
        t.join(timeout=3)
