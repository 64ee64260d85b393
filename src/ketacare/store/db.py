"""Database handle: engine per URL, SQLite tuned for a clinic (WAL, foreign keys, serialized writers)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry


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
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Almost every request writes an audit event, and the audit chain needs one writer at a time:
        # taking the write lock at BEGIN avoids SQLITE_BUSY upgrades from read to write mid-transaction.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=connect_timeout_s + 3,
        connect_args={"connect_timeout": connect_timeout_s},
    )


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

    def dispose(self) -> None:
        self.engine.dispose()
