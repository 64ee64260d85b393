"""Copy a whole database out and back: SQLite's online backup, PostgreSQL's `pg_dump` custom format."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess  # noqa: S404 - pg_dump/pg_restore with argument lists, never a shell
from pathlib import Path

from sqlalchemy import func, inspect, select, table
from sqlalchemy.engine import make_url

from ketacare.store.db import Database
from ketacare.store.tables import Base


class BackupError(Exception):
    """A backup or restore could not be done; the message says why and what to do."""


def table_counts(db: Database) -> dict[str, int]:
    """Return the number of rows of every table of the schema (and the migration table)."""
    names = [*sorted(Base.metadata.tables), "alembic_version"]
    with db.engine.connect() as c:
        return {n: c.scalar(select(func.count()).select_from(table(n))) or 0 for n in names}


def is_empty(db: Database) -> bool:
    """Tell whether the database has no tables at all (a restore never writes over data)."""
    return not inspect(db.engine).get_table_names()


def _libpq_url(db: Database) -> str:
    url = make_url(db.url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed: install the PostgreSQL client tools of the server's version"
        )
    return path


def snapshot(db: Database, dest: Path) -> None:
    """Write a consistent copy of the live database to `dest` (writers may go on meanwhile)."""
    if db.dialect == "sqlite":
        raw = db.engine.raw_connection()
        try:
            source = raw.driver_connection
            if not isinstance(source, sqlite3.Connection):
                raise BackupError("the SQLite driver connection is not sqlite3")
            with sqlite3.connect(dest) as target:
                source.backup(target)
            target.close()
        finally:
            raw.close()
        return
    _run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            "--file",
            str(dest),
            _libpq_url(db),
        ]
    )


def load(db: Database, src: Path) -> None:
    """Load a snapshot into `db`, which must be empty."""
    if not is_empty(db):
        raise BackupError("the target database is not empty: restore only into a new, empty database")
    if db.dialect == "sqlite":
        db.dispose()
        target_path = make_url(db.url).database
        if not target_path or target_path == ":memory:":
            raise BackupError("restore into an SQLite file, not into memory")
        with sqlite3.connect(src) as source, sqlite3.connect(target_path) as target:
            source.backup(target)
        source.close()
        target.close()
        return
    _run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            _libpq_url(db),
            str(src),
        ]
    )


def _run(argv: list[str]) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603 - fixed tool, no shell
    if done.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-500:]}")
