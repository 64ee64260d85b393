"""Apply and inspect Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from ketacare.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(db: Database) -> Config:
    """Return an Alembic config pointing at the shipped migrations and `db`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def head_revision(db: Database) -> str:
    """Return the newest migration revision(s) shipped with this version of Ketacare ("a+b" when branched)."""
    return "+".join(sorted(ScriptDirectory.from_config(alembic_config(db)).get_heads()))


def current_revision(db: Database) -> str | None:
    """Return the revision(s) the database is at (None when it was never migrated)."""
    with db.engine.connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def upgrade(db: Database, revision: str = "heads") -> None:
    """Migrate the database to `revision` (default: the newest), in one transaction.

    SQLite: foreign-key enforcement is paused while migrations rebuild tables (batch mode drops and recreates a
    table that others refer to), and `PRAGMA foreign_key_check` must find nothing before the commit.
    """
    cfg = alembic_config(db)
    sqlite = db.engine.dialect.name == "sqlite"
    with db.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        if raw is None:  # pragma: no cover - a connection that was just opened always has its DBAPI connection
            raise RuntimeError("the database connection has no DBAPI connection")
        if sqlite:
            raw.execute("PRAGMA foreign_keys=OFF")  # outside a transaction, where SQLite honours it
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").all()
                    if broken:
                        raise RuntimeError(f"migration left rows whose foreign keys name no row: {broken[:20]}")
        finally:
            if sqlite:
                raw.execute("PRAGMA foreign_keys=ON")


class NotMigrated(RuntimeError):
    """The database is not at the newest migration; the message says what to run."""


def require_current(db: Database) -> None:
    """Refuse to go on unless the database is fully migrated."""
    have, want = current_revision(db), head_revision(db)
    if have != want:
        where = db.engine.url.render_as_string(hide_password=True)
        state = (
            "has never been migrated" if have is None else f"is at revision {have}, this version needs {want}"
        )
        raise NotMigrated(
            f"The database {where} {state}. Run `ketacare db upgrade` "
            f"(with KETACARE_DATABASE_URL={where}) and start again."
        )
