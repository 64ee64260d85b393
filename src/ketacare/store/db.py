"""Database handle: engine per URL, SQLite tuned for a clinic (WAL, foreign keys, serialized writers)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

READ_ONLY = "ketacare_read_only"  # execution option of `Database.read_session`


def _test_durability() -> bool:
    """Tell whether the test suite asked not to wait for the disk at each commit."""
    # KETACARE_DURABILITY_PROFILE=test is set by tests/conftest.py alone: its databases are thrown away, and each of
    # its thousands of commits waited for the disk. A killed process loses nothing either way (only a power cut
    # could); the crash test's servers run with the production settings, and a test checks them.
    return os.environ.get("KETACARE_DURABILITY_PROFILE") == "test"


def sqlite_synchronous() -> str:
    """Name the SQLite `synchronous` level of new connections: FULL, or OFF for the test suite alone."""
    return "OFF" if _test_durability() else "FULL"


def _prepare_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(
        dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry
    ) -> None:  # pragma: no cover - exercised by every sqlite test
        # Let SQLAlchemy's "begin" event own transactions so we can BEGIN IMMEDIATE (see below).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # FULL: every commit is on disk before the clinic is told "saved" (NORMAL could lose the last commits on a
        # power cut; a killed process loses nothing either way, see tests/http/test_crash_recovery.py).
        cur.execute(f"PRAGMA synchronous={sqlite_synchronous()}")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Almost every request writes an audit event, and the audit chain needs one writer at a time:
        # taking the write lock at BEGIN avoids SQLITE_BUSY upgrades from read to write mid-transaction.
        # A reader (`Database.read_session`) takes no write lock, so it can run beside a writer (WAL).
        conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


# A pooled PostgreSQL connection idle this long is checked with a round trip before use (a restarted server has
# closed it); a busier one is not: a statement that finds it dead invalidates the whole pool (SQLAlchemy's disconnect
# handling), so under load a restart costs the requests then in flight, not a `SELECT 1` per request (issue 15).
PING_AFTER_IDLE_S = 1.0


def _prepare_postgres(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_conn: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_conn: DBAPIConnection, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_S:
            return  # a fresh connection, or one used moments ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise exc.DisconnectionError() from e  # the pool drops it and connects anew (or fails: 503)


def make_engine(url: str, connect_timeout_s: int = 10) -> Engine:
    """Create an engine for `url` (sqlite:///path or postgresql+psycopg://...)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        _prepare_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    # A short connect and pool wait: while the server is away requests answer 503 at once instead of hanging.
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_use_lifo=True,  # the most recently used connection first: the rest go idle and are checked (above)
        pool_timeout=connect_timeout_s + 3,
        connect_args={"connect_timeout": connect_timeout_s}
        | ({"options": "-c synchronous_commit=off"} if _test_durability() else {}),
    )
    _prepare_postgres(engine)
    return engine


class Database:
    """An engine and its session factory; one per process."""

    def __init__(self, url: str, *, connect_timeout_s: int = 10) -> None:
        self.url = url
        self.engine = make_engine(url, connect_timeout_s)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session in a transaction: commit on success, roll back on error."""
        with self.sessions() as s, s.begin():
            yield s

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """Yield a session for reads only (rolled back at the end); on SQLite it takes no write lock."""
        with Session(self.engine) as s:
            s.connection(execution_options={READ_ONLY: True})  # set before the connection's BEGIN
            yield s
            s.rollback()

    def dispose(self) -> None:
        self.engine.dispose()
